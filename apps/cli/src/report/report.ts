/**
 * The Pareto report of a search: every candidate read from the store, a front table for the terminal, and
 * files (SVG plot, CSV and JSON of all candidates) written atomically into an output directory.
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Db, SearchRow } from "@nas/db";
import { queryCandidates, type CandidateView } from "@nas/store";
import { formatNumber, formatTable } from "./table.ts";
import { scatterSvg, type PlotPanel } from "./svg.ts";

const COSTS = new Set(["params", "macs", "throughput"]);

/** A candidate plus whether it is the full super-network. */
export type ReportCandidate = CandidateView & { isFull: boolean };

/** Every candidate of a search (all pages), in id order. */
export function allCandidates(db: Db, search: SearchRow): ReportCandidate[] {
  const out: ReportCandidate[] = [];
  let cursor: string | undefined;
  do {
    const page = queryCandidates(db, search, { limit: 1000, cursor });
    for (const c of page.items) out.push({ ...c, isFull: isFullNetwork(search, c) });
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out;
}

/** The all-zero genome is the full network in the search package's encoding (index 0 = largest choice). */
function isFullNetwork(_search: SearchRow, c: CandidateView): boolean {
  return Array.isArray(c.genome) && c.genome.every((g) => g === 0);
}

/** The plot panels: the first quality objective (a task) against each cost objective. */
export function reportPanels(search: SearchRow): PlotPanel[] {
  const names = search.objectives.map((o) => o.name);
  const quality = names.find((n) => !COSTS.has(n)) ?? names[0];
  const costs = names.filter((n) => n !== quality && COSTS.has(n));
  const others = costs.length ? costs : names.filter((n) => n !== quality);
  return others.map((x) => ({ x, y: quality }));
}

/**
 * The front as a terminal table, sorted by the first objective.
 *
 * @example
 * process.stdout.write(frontTable(search, candidates));
 */
export function frontTable(search: SearchRow, candidates: ReportCandidate[]): string {
  const names = search.objectives.map((o) => o.name);
  const front = candidates.filter((c) => c.onFront && c.objectives).sort((a, b) => a.objectives![names[0]] - b.objectives![names[0]] || a.id - b.id);
  const header = ["id", "gen", ...names.map((n, i) => `${n}(${search.objectives[i].direction})`), "layers", "mlp", "kv", "full"];
  const rows = front.map((c) => {
    const s = c.subnet as { layers: boolean[]; mlp: number[]; kvHeads: number[] };
    return [
      c.id,
      c.generation,
      ...names.map((n) => formatNumber(c.objectives![n])),
      s.layers.map((k) => (k ? "1" : "0")).join(""),
      s.mlp.join(","),
      s.kvHeads.join(","),
      c.isFull ? "yes" : "",
    ];
  });
  return formatTable(header, rows);
}

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? "" : typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" ? String(v) : JSON.stringify(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CSV of all candidates: ids, status, front flag, every objective, the sub-network and the error. */
export function candidatesCsv(search: SearchRow, candidates: ReportCandidate[]): string {
  const names = search.objectives.map((o) => o.name);
  const header = ["id", "key", "generation", "status", "on_front", "is_full", ...names, "eval_ms", "subnet", "error"];
  const lines = candidates.map((c) =>
    [c.id, c.key, c.generation, c.status, c.onFront ? 1 : 0, c.isFull ? 1 : 0, ...names.map((n) => c.objectives?.[n]), c.evalMs, c.subnet, c.error]
      .map(csvCell)
      .join(","),
  );
  return `${[header.join(","), ...lines].join("\n")}\n`;
}

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export interface ReportFiles {
  svg: string;
  csv: string;
  json: string;
}

/**
 * Write `search-<id>.svg`, `search-<id>-candidates.csv` and `search-<id>-candidates.json` into `outDir`.
 *
 * @example
 * const files = writeReport(db, search, "runs/report");
 */
export function writeReport(search: SearchRow, candidates: ReportCandidate[], outDir: string): ReportFiles {
  mkdirSync(outDir, { recursive: true });
  const base = join(outDir, `search-${search.id}`);
  const files = { svg: `${base}.svg`, csv: `${base}-candidates.csv`, json: `${base}-candidates.json` };
  const points = candidates
    .filter((c) => c.status === "done" && c.objectives)
    .map((c) => ({ id: c.id, values: c.objectives!, onFront: c.onFront, isFull: c.isFull }));
  writeAtomic(files.svg, scatterSvg(points, reportPanels(search), `search ${search.id} (${search.name})`));
  writeAtomic(files.csv, candidatesCsv(search, candidates));
  const json = {
    search: {
      id: search.id,
      name: search.name,
      status: search.status,
      model: { path: search.modelPath, hash: search.modelHash },
      algorithm: search.algorithm,
      options: search.options,
      seed: search.seed,
      objectives: search.objectives,
      evaluator: search.evaluator,
    },
    candidates,
  };
  writeAtomic(files.json, `${JSON.stringify(json, null, 2)}\n`);
  return files;
}
