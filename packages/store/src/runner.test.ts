import { describe, expect, test } from "bun:test";
import { integrityCheck, type SearchRow } from "@nas/db";
import type { Proposal } from "@nas/search";
import { createAlgorithmFromSearchPackage } from "./algorithms.ts";
import { NotFoundError, SearchBusyError, SearchMismatchError } from "./errors.ts";
import type { CandidateOutcome, Evaluator } from "./evaluator.ts";
import { createFakeEvaluator } from "./fake-evaluator.ts";
import { firstFront } from "./pareto.ts";
import { queryCandidates } from "./candidate-query.ts";
import { paretoFront, searchProgress } from "./query.ts";
import { resumeSearch, runSearch } from "./runner.ts";
import { claimSearch, createSearch, getSearch, loadCheckpoint, releaseSearch } from "./searches.ts";
import { nsgaSpec, stories260KSpace, storePerTest } from "./testing.ts";

const store = storePerTest();

/** The fake evaluator, counting how often each key is evaluated. */
function countingEvaluator(search: SearchRow, calls: Map<string, number>, failEvery = 0): Evaluator {
  const inner = createFakeEvaluator(search, { failEvery });
  return {
    device: inner.device,
    evaluate(p: Proposal, ctx) {
      calls.set(p.key, (calls.get(p.key) ?? 0) + 1);
      return inner.evaluate(p, ctx);
    },
  };
}

/** Everything the issue says must match between runs: candidates (key, status, values) and the front. */
function snapshot(search: SearchRow) {
  const all = queryCandidates(store.db, search, { limit: 1000 }).items;
  return {
    candidates: all.map((c) => [c.key, c.status, c.generation, c.objectives, c.error]).sort(),
    front: paretoFront(store.db, search).map((c) => c.key).sort(),
    checkpoint: loadCheckpoint(store.db, search.id)?.state,
  };
}

async function uninterrupted(failEvery = 0) {
  const search = createSearch(store.db, nsgaSpec());
  await runSearch(store.db, search.id, createFakeEvaluator(search, { failEvery }));
  return snapshot(search);
}

describe("runSearch", () => {
  test("runs NSGA-II to its budget, storing every candidate once with a consistent front", async () => {
    const search = createSearch(store.db, nsgaSpec());
    const calls = new Map<string, number>();
    const progress: number[] = [];
    const out = await runSearch(store.db, search.id, countingEvaluator(search, calls), { onProgress: (p) => progress.push(p.evaluated) });
    expect(out.status).toBe("done");
    expect(getSearch(store.db, search.id).status).toBe("done");
    const all = queryCandidates(store.db, search, { limit: 1000 }).items;
    expect(all).toHaveLength(30);
    expect([...calls.values()].every((n) => n === 1)).toBe(true);
    expect(all.every((c) => c.status === "done" && c.evalMs !== null && c.device !== null && c.metrics !== null)).toBe(true);
    // The stored front flag, a from-scratch front of the stored rows, and the algorithm's own front agree.
    const fromRows = firstFront(all.map((c) => ({ key: c.key, objectives: [c.objectives!.loss, c.objectives!.accuracy] })), ["min", "max"]);
    const setup = await createAlgorithmFromSearchPackage({ ...search, name: search.algorithm });
    const state = loadCheckpoint(store.db, search.id)!.state;
    const algoFront = setup.algorithm.front(setup.restore!(state)).map((f) => f.key).sort();
    expect(paretoFront(store.db, search).map((c) => c.key).sort()).toEqual(fromRows.map((p) => p.key).sort());
    expect(algoFront).toEqual(fromRows.map((p) => p.key).sort());
    expect(searchProgress(store.db, search).generation).toBe(4);
    expect(progress.at(-1)).toBe(30);
    expect(integrityCheck(store.db)).toBe("ok");
  }, 30_000);

  test("a paused run resumed later ends exactly like an uninterrupted one", async () => {
    const reference = await uninterrupted();
    store.reset();
    const search = createSearch(store.db, nsgaSpec());
    const calls = new Map<string, number>();
    // Pause right after the 9th result: mid-generation, so stored results are not yet told to the algorithm.
    const ac = new AbortController();
    const first = await runSearch(store.db, search.id, countingEvaluator(search, calls), {
      signal: ac.signal,
      onProgress: (p) => p.evaluated === 9 && ac.abort(),
    });
    expect(first.status).toBe("paused");
    expect(getSearch(store.db, search.id).status).toBe("paused");
    expect(searchProgress(store.db, search).candidates.done).toBe(9);
    const second = await resumeSearch(store.db, search.id, countingEvaluator(search, calls), { modelHash: search.modelHash, space: stories260KSpace() });
    expect(second.status).toBe("done");
    expect([...calls.values()].every((n) => n === 1)).toBe(true); // nothing evaluated twice
    expect(snapshot(search)).toEqual(reference);
  }, 30_000);

  test("failed evaluations are stored with their error, told once, and never retried", async () => {
    const reference = await uninterrupted(3);
    expect(reference.candidates.some((c) => c[1] === "failed")).toBe(true);
    const search = createSearch(store.db, nsgaSpec({ name: "again" }));
    const calls = new Map<string, number>();
    const ac = new AbortController();
    await runSearch(store.db, search.id, countingEvaluator(search, calls, 3), { signal: ac.signal, onProgress: (p) => p.evaluated === 14 && ac.abort() });
    await runSearch(store.db, search.id, countingEvaluator(search, calls, 3));
    expect([...calls.values()].every((n) => n === 1)).toBe(true);
    expect(snapshot(search)).toEqual(reference);
  }, 30_000);

  test("an abort during an evaluation leaves that candidate pending and unevaluated in the store", async () => {
    const search = createSearch(store.db, nsgaSpec());
    const ac = new AbortController();
    let started = 0;
    const evaluator: Evaluator = {
      evaluate: (_p, ctx) =>
        new Promise<CandidateOutcome>((resolve, reject) => {
          if (++started === 3) ac.abort(new Error("pause"));
          if (ctx.signal.aborted) return reject(ctx.signal.reason);
          resolve({ objectives: [1, started] });
        }),
    };
    const out = await runSearch(store.db, search.id, evaluator, { signal: ac.signal });
    expect(out.status).toBe("paused");
    const counts = searchProgress(store.db, search).candidates;
    expect(counts).toMatchObject({ done: 2, running: 0, failed: 0 });
    expect(counts.pending).toBe(4);
  }, 30_000);

  test("a batch evaluator's results are matched by key; missing ones are stored as failures", async () => {
    const search = createSearch(store.db, nsgaSpec({ options: { population: 4, evaluations: 8 } }));
    const evaluator: Evaluator = {
      device: "batch-test",
      evaluateBatch: async (ps) =>
        ps
          .slice(1)
          .reverse()
          .map((p, i) => ({ key: p.key, objectives: [i, i] })),
    };
    await runSearch(store.db, search.id, evaluator);
    const counts = searchProgress(store.db, search).candidates;
    expect(counts).toMatchObject({ done: 6, failed: 2, total: 8 });
    const failed = queryCandidates(store.db, search, { status: ["failed"] }).items;
    expect(failed[0].error).toMatch(/evaluator returned no result for /);
    expect(failed[0].device).toBe("batch-test");
  }, 30_000);
});

describe("resume guards", () => {
  test("a different model hash or search space is refused with a typed error, leaving the search untouched", async () => {
    const search = createSearch(store.db, nsgaSpec());
    const ev = createFakeEvaluator(search);
    const otherSpace = { ...stories260KSpace(), minKeptLayers: 5 };
    await expect(resumeSearch(store.db, search.id, ev, { modelHash: "b".repeat(64) })).rejects.toBeInstanceOf(SearchMismatchError);
    await expect(resumeSearch(store.db, search.id, ev, { modelHash: search.modelHash })).resolves.toMatchObject({ status: "done" });
    const s2 = createSearch(store.db, nsgaSpec());
    const err = await resumeSearch(store.db, s2.id, ev, { modelHash: s2.modelHash, space: otherSpace }).catch((e) => e);
    expect(err).toBeInstanceOf(SearchMismatchError);
    expect((err as SearchMismatchError).field).toBe("space");
    expect((err as Error).message).toMatch(/refusing to mix candidates from a different search space/);
    expect(getSearch(store.db, s2.id).status).toBe("pending");
    // The evaluator knows which model it loaded: that is checked too.
    const err2 = await runSearch(store.db, s2.id, { ...ev, evaluate: ev.evaluate, modelHash: "c".repeat(64) }).catch((e) => e);
    expect(err2).toBeInstanceOf(SearchMismatchError);
    expect((err2 as SearchMismatchError).field).toBe("model.hash");
  }, 30_000);

  test("a search owned by another live process is refused; one owned by a dead process is taken over", async () => {
    const search = createSearch(store.db, nsgaSpec());
    claimSearch(store.db, search.id, `${require("node:os").hostname()}:1`); // pid 1 is alive
    await expect(runSearch(store.db, search.id, createFakeEvaluator(search))).rejects.toBeInstanceOf(SearchBusyError);
    const dead = Bun.spawnSync(["true"]).pid;
    releaseSearch(store.db, search.id, "paused");
    claimSearch(store.db, search.id, `${require("node:os").hostname()}:${dead}`);
    await expect(runSearch(store.db, search.id, createFakeEvaluator(search))).resolves.toMatchObject({ status: "done" });
  }, 30_000);

  test("an unknown search id is NotFoundError", async () => {
    await expect(runSearch(store.db, 999, createFakeEvaluator({ objectives: [] }))).rejects.toBeInstanceOf(NotFoundError);
  }, 30_000);

  test("a bad algorithm option fails the search with the reason stored", async () => {
    const search = createSearch(store.db, nsgaSpec({ options: { population: 0 } }));
    await expect(runSearch(store.db, search.id, createFakeEvaluator(search))).rejects.toThrow(/population/);
    const row = getSearch(store.db, search.id);
    expect(row.status).toBe("failed");
    expect(row.error).toMatch(/population/);
  }, 30_000);
});
