import { expect, test } from "bun:test";
import fc from "fast-check";
import type { SearchRow } from "@nas/db";
import { candidatesCsv, frontTable, reportPanels, type ReportCandidate } from "./report.ts";
import { scatterSvg } from "./svg.ts";
import { formatNumber, formatTable } from "./table.ts";

const search = {
  id: 7,
  name: "t",
  objectives: [
    { name: "tinystories", direction: "min" },
    { name: "params", direction: "min" },
    { name: "throughput", direction: "max" },
  ],
} as unknown as SearchRow;

function candidate(id: number, values: [number, number, number] | null, extra: Partial<ReportCandidate> = {}): ReportCandidate {
  return {
    id,
    searchId: 7,
    key: `k${id}`,
    generation: 0,
    status: values ? "done" : "failed",
    genome: [id === 1 ? 0 : 1, 0],
    subnet: { layers: [true, id !== 2], mlp: [172, 80], kvHeads: [4, 4] },
    objectives: values ? { tinystories: values[0], params: values[1], throughput: values[2] } : null,
    constraintViolation: null,
    onFront: false,
    metrics: null,
    evalMs: 5,
    device: null,
    error: values ? null : 'boom, "quoted"\nline',
    createdAt: 0,
    updatedAt: 0,
    isFull: id === 1,
    ...extra,
  };
}

test("panels put the task objective against each cost objective", () => {
  expect(reportPanels(search)).toEqual([{ x: "params", y: "tinystories" }, { x: "throughput", y: "tinystories" }]);
});

test("front table lists only front members, sorted by the first objective, and marks the full network", () => {
  const cs = [candidate(1, [4.5, 260032, 300], { onFront: true }), candidate(2, [9.25, 143936, 800], { onFront: true }), candidate(3, [50, 200000, 100])];
  const lines = frontTable(search, cs).trimEnd().split("\n");
  expect(lines).toHaveLength(3);
  expect(lines[0]).toMatch(/^id\s+gen\s+tinystories\(min\)\s+params\(min\)\s+throughput\(max\)\s+layers\s+mlp\s+kv\s+full$/);
  expect(lines[1]).toMatch(/^ 1\s+0\s+4\.5\s+260,032\s+300\s+11\s+172,80\s+4,4\s+yes$/);
  expect(lines[2]).toMatch(/^ 2\s+0\s+9\.25\s+143,936\s+800\s+10\s+172,80\s+4,4$/);
});

test("CSV quotes commas, quotes and newlines so every row parses back to the header's width", () => {
  const csv = candidatesCsv(search, [candidate(1, [4.5, 260032, 300]), candidate(4, null)]);
  const rows = parseCsv(csv);
  expect(rows[0]).toEqual(["id", "key", "generation", "status", "on_front", "is_full", "tinystories", "params", "throughput", "eval_ms", "subnet", "error"]);
  expect(rows).toHaveLength(3);
  for (const r of rows) expect(r).toHaveLength(12);
  expect(JSON.parse(rows[1][10])).toEqual({ layers: [true, true], mlp: [172, 80], kvHeads: [4, 4] });
  expect(rows[2][11]).toBe('boom, "quoted"\nline');
  expect(rows[2][6]).toBe("");
});

test("SVG has one dot per candidate per panel, front dots and the full-network ring", () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.double({ min: 1, max: 1e3, noNaN: true }), fc.integer({ min: 1, max: 1e6 }), fc.boolean()), { minLength: 1, maxLength: 30 }), (pts) => {
      const points = pts.map(([y, x, front], i) => ({ id: i + 1, values: { tinystories: y, params: x, throughput: x / 2 }, onFront: front, isFull: i === 0 }));
      const svg = scatterSvg(points, reportPanels(search), "t");
      expect(svg.match(/class="(candidate|front)"/g)?.length ?? 0).toBe(2 * points.length);
      expect(svg.match(/class="front"/g)?.length ?? 0).toBe(2 * points.filter((p) => p.onFront).length);
      expect(svg.match(/class="full"/g)?.length ?? 0).toBe(2);
      expect(svg).not.toContain("NaN");
    }),
  );
});

test("SVG of values a few ulps apart ends (it used to loop, filling memory), with the same dots", () => {
  for (const [a, b] of [[1, 1 + Number.EPSILON], [1000, 1000 + 2 ** -40], [5, 5], [1e6, 1e6 + 1e-6]]) {
    const points = [a, b].map((y, i) => ({ id: i + 1, values: { tinystories: y, params: 1000 + i, throughput: 500 }, onFront: i === 0, isFull: i === 0 }));
    const svg = scatterSvg(points, reportPanels(search), "t");
    expect(svg.match(/class="(candidate|front)"/g)?.length ?? 0).toBe(2 * points.length);
    expect(svg).not.toContain("NaN");
    expect(svg.length).toBeLessThan(20_000);
  }
});

test("number formatting and table alignment", () => {
  expect(formatNumber(260032)).toBe("260,032");
  expect(formatNumber(3.978687)).toBe("3.979");
  expect(formatNumber(null)).toBe("-");
  expect(formatTable(["a", "name"], [[1, "x"], [100, "yy"]])).toBe("  a  name\n  1  x\n100  yy\n");
});

/** Minimal RFC 4180 reader for the test. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") row.push(cell), (cell = "");
    else if (ch === "\n") row.push(cell), rows.push(row), (row = []), (cell = "");
    else cell += ch;
  }
  return rows;
}
