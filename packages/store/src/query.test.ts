import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { SearchRow } from "@nas/db";
import { candidatesByKey, insertPending, recomputeFront, storeOutcome } from "./candidates.ts";
import { InvalidInputError } from "./errors.ts";
import { firstFront } from "./pareto.ts";
import { queryCandidates, queryCandidatesJson, type CandidateQuery } from "./candidate-query.ts";
import { getCandidate, paretoFront, searchProgress, type CandidateView } from "./query.ts";
import { createSearch } from "./searches.ts";
import { storePerTest, toyProposal, toySpec } from "./testing.ts";

const store = storePerTest();

/** Store `values[i]` (or a failure when null) for candidate k<i>. */
function fill(search: SearchRow, values: ([number, number] | null)[]): void {
  const props = values.map((_, i) => toyProposal(i, i >> 3));
  insertPending(store.db, search.id, props);
  const rows = candidatesByKey(store.db, search.id, props.map((p) => p.key));
  values.forEach((v, i) => {
    const id = rows.get(`k${i}`)!.id;
    storeOutcome(store.db, search, id, v ? { objectives: v, metrics: { t: { i } } } : { error: `boom ${i}` }, 1, "test");
  }, 30_000);
}

function allPages(search: SearchRow, q: CandidateQuery): CandidateView[] {
  const out: CandidateView[] = [];
  let cursor: string | undefined;
  for (let guard = 0; guard < 1000; guard++) {
    const page = queryCandidates(store.db, search, { ...q, cursor });
    out.push(...page.items);
    if (!page.nextCursor) return out;
    cursor = page.nextCursor;
  }
  throw new Error("pagination did not terminate");
}

const valuesArb = fc.array(fc.option(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 9 })), { freq: 6 }), {
  maxLength: 60,
});

describe("front flag", () => {
  test("after any sequence of stored results it equals the first front of the done candidates", () => {
    fc.assert(
      fc.property(valuesArb, (values) => {
        const search = createSearch(store.db, toySpec());
        fill(search, values);
        const done = values.flatMap((v, i) => (v ? [{ key: `k${i}`, objectives: v }] : []));
        const expected = firstFront(done, ["min", "max"]).map((p) => p.key).sort();
        expect(paretoFront(store.db, search).map((c) => c.key).sort()).toEqual(expected);
        expect(queryCandidates(store.db, search, { pareto: true, limit: 1000 }).items.map((c) => c.key).sort()).toEqual(expected);
        // The bulk sweep agrees with the incremental flags.
        expect(recomputeFront(store.db, search)).toBe(expected.length);
        expect(paretoFront(store.db, search).map((c) => c.key).sort()).toEqual(expected);
      }),
      { numRuns: 40 },
    );
  }, 30_000);

  test("a stored result is never overwritten", () => {
    const search = createSearch(store.db, toySpec());
    fill(search, [[1, 1]]);
    const id = candidatesByKey(store.db, search.id, ["k0"]).get("k0")!.id;
    storeOutcome(store.db, search, id, { objectives: [0, 9] }, 1, null);
    expect(getCandidate(store.db, id).row.objectives).toEqual([1, 1]);
  }, 30_000);

  test("invalid evaluator output is stored as a failure with the reason", () => {
    const search = createSearch(store.db, toySpec());
    insertPending(store.db, search.id, [toyProposal(0), toyProposal(1)]);
    const rows = candidatesByKey(store.db, search.id, ["k0", "k1"]);
    const a = storeOutcome(store.db, search, rows.get("k0")!.id, { objectives: [1, Number.NaN] }, 1, null);
    const b = storeOutcome(store.db, search, rows.get("k1")!.id, { objectives: [1] }, 1, null);
    expect([a.status, a.error]).toEqual(["failed", "evaluator returned objective 1 = NaN, which is not a finite number"]);
    expect([b.status, b.error]).toEqual(["failed", "evaluator returned 1 objective values, the search has 2"]);
    expect(a.onFront).toBe(0);
  }, 30_000);
});

describe("queryCandidates", () => {
  test("pages through every match exactly once, in order, for any sort, order, filter and page size", () => {
    const search = createSearch(store.db, toySpec());
    const values = Array.from({ length: 120 }, (_, i) => (i % 9 === 4 ? null : ([(i * 37) % 11, (i * 53) % 7] as [number, number])));
    fill(search, values);
    const all = queryCandidates(store.db, search, { limit: 1000 }).items;
    fc.assert(
      fc.property(
        fc.record({
          sort: fc.constantFrom("id", "generation", "loss", "accuracy"),
          order: fc.constantFrom("asc" as const, "desc" as const),
          limit: fc.integer({ min: 1, max: 30 }),
          status: fc.option(fc.subarray(["pending", "running", "done", "failed"] as const, { minLength: 1 }), { nil: undefined }),
          pareto: fc.option(fc.boolean(), { nil: undefined }),
          lossMin: fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }),
          accMax: fc.option(fc.integer({ min: 0, max: 7 }), { nil: undefined }),
        }),
        (q) => {
          const ranges = [];
          if (q.lossMin !== undefined) ranges.push({ objective: "loss", min: q.lossMin });
          if (q.accMax !== undefined) ranges.push({ objective: "accuracy", max: q.accMax });
          const got = allPages(search, { sort: q.sort, order: q.order, limit: q.limit, status: q.status ? [...q.status] : undefined, pareto: q.pareto, ranges });
          const key = (c: CandidateView): number =>
            q.sort === "id" ? c.id : q.sort === "generation" ? c.generation : (c.objectives?.[q.sort] as number);
          const expected = all
            .filter((c) => !q.status || (q.status as readonly string[]).includes(c.status))
            .filter((c) => !q.pareto || c.onFront)
            .filter((c) => q.lossMin === undefined || (c.objectives !== null && c.objectives.loss >= q.lossMin))
            .filter((c) => q.accMax === undefined || (c.objectives !== null && c.objectives.accuracy <= q.accMax))
            .filter((c) => q.sort === "id" || q.sort === "generation" || c.objectives !== null)
            .sort((a, b) => (key(a) - key(b) || a.id - b.id) * (q.order === "asc" ? 1 : -1));
          expect(got.map((c) => c.id)).toEqual(expected.map((c) => c.id));
          // The API's JSON renderer gives exactly the serialised views.
          const one = { sort: q.sort, order: q.order, limit: q.limit, status: q.status ? [...q.status] : undefined, pareto: q.pareto, ranges };
          expect(queryCandidatesJson(store.db, search, one)).toBe(JSON.stringify(queryCandidates(store.db, search, one)));
        },
      ),
      { numRuns: 150 },
    );
  }, 30_000);

  test("views carry objectives by name, metrics, device and errors", () => {
    const search = createSearch(store.db, toySpec());
    fill(search, [[3, 4], null]);
    const [a, b] = queryCandidates(store.db, search).items;
    expect(a).toMatchObject({ key: "k0", status: "done", objectives: { loss: 3, accuracy: 4 }, metrics: { t: { i: 0 } }, device: "test", onFront: true });
    expect(b).toMatchObject({ key: "k1", status: "failed", objectives: null, error: "boom 1", onFront: false });
  }, 30_000);

  test("bad queries are InvalidInputErrors naming the problem", () => {
    const search = createSearch(store.db, toySpec());
    const bad: [CandidateQuery, RegExp][] = [
      [{ sort: "nope" }, /unknown objective "nope"; search \d+ has objectives loss, accuracy/],
      [{ limit: 0 }, /limit must be an integer in \[1, 1000\]/],
      [{ ranges: [{ objective: "loss", min: 2, max: 1 }] }, /min 2 is greater than max 1/],
      [{ cursor: "%%%" }, /cursor is malformed/],
      [{ cursor: Buffer.from(JSON.stringify(["loss", "asc", 1, 2])).toString("base64url") }, /cursor belongs to sort=loss/],
      [{ status: ["bogus" as never] }, /status must be one of/],
    ];
    for (const [q, re] of bad) {
      expect(() => queryCandidates(store.db, search, q)).toThrow(InvalidInputError);
      expect(() => queryCandidates(store.db, search, q)).toThrow(re);
    }
  }, 30_000);
});

describe("searchProgress", () => {
  test("counts by status, front size and best per objective direction", () => {
    const search = createSearch(store.db, toySpec());
    fill(search, [[5, 0], [2, 0], null, [9, 8]]); // k0 is dominated by k1
    insertPending(store.db, search.id, [toyProposal(10)]);
    const p = searchProgress(store.db, search);
    expect(p.candidates).toEqual({ pending: 1, running: 0, done: 3, failed: 1, total: 5 });
    expect(p.best.loss?.key).toBe("k1");
    expect(p.best.accuracy?.key).toBe("k3");
    expect(p.frontSize).toBe(2);
    expect(p.budget).toBe(32);
    expect(p.generation).toBeNull();
  }, 30_000);
});
