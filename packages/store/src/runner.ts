/**
 * The search runner: drives an ask/tell algorithm, evaluates proposals, and makes every step durable.
 *
 * Crash/resume invariant. The algorithm is pure, so generation g's proposals are a function of the state
 * after generation g-1's `tell`, which is exactly what the checkpoint holds. On (re)start the runner
 * restores that state and asks again: it gets the same proposals, finds those already stored done/failed
 * in the DB (stored before the crash but never told) and tells them from there, and evaluates only the
 * rest. `tell` always receives the whole generation, in proposal order, read back from the DB, so an
 * interrupted run and an uninterrupted one feed the algorithm identical inputs.
 */
import { eq } from "drizzle-orm";
import { checkpoints, searches, type CandidateRow, type Db, type SearchRow } from "@nas/db";
import type { Algorithm, EvalResult, Proposal } from "@nas/search";
import { createAlgorithmFromSearchPackage } from "./algorithms.ts";
import { candidatesByKey, insertPending, markRunning, resetRunning, storeOutcome, type CandidateOutcome } from "./candidates.ts";
import { InvalidInputError, SearchMismatchError } from "./errors.ts";
import { isBatchEvaluator, type Evaluator } from "./evaluator.ts";
import { canonicalJson, claimSearch, getSearch, loadCheckpoint, processOwner, releaseSearch, spaceHash } from "./searches.ts";

/** An algorithm instance for a stored search, and its initial state. */
export interface AlgorithmSetup {
  algorithm: Algorithm<unknown>;
  initialState: unknown;
  /** Validate a checkpointed state before continuing from it (throw to refuse). Default: use as is. */
  restore?(stored: unknown): unknown;
}

/** Builds the algorithm a search names. The default is ./algorithms.ts (the search package's factory). */
export type AlgorithmFactory = (spec: {
  name: string;
  space: unknown;
  objectives: SearchRow["objectives"];
  options: Record<string, unknown>;
  seed: number;
}) => AlgorithmSetup | Promise<AlgorithmSetup>;

export interface RunProgress {
  searchId: number;
  /** Generation being evaluated (or just checkpointed). */
  generation: number;
  /** Results stored for this search so far (done + failed). */
  evaluated: number;
  /** The result just stored, if this progress event is about one. */
  stored?: CandidateRow;
  /** True right after a generation's checkpoint was written. */
  checkpointed?: boolean;
}

export interface RunOptions {
  /** Abort to pause: the current evaluation is given the signal, the state stays at the last checkpoint. */
  signal?: AbortSignal;
  onProgress?: (p: RunProgress) => void;
  /** How to build the algorithm. Default: `createAlgorithmFromSearchPackage` (./algorithms.ts). */
  algorithms?: AlgorithmFactory;
  /** Refuse (SearchMismatchError) unless the stored search has this model hash / space. */
  expect?: { modelHash?: string; space?: unknown };
  /** `host:pid` recorded as the owner while running. Default this process. */
  owner?: string;
}

export type RunOutcome = { searchId: number; status: "done" | "paused"; generation: number; evaluated: number };

/**
 * Refuse to continue `search` with another model or space (SearchMismatchError names which).
 *
 * @example
 * checkResumable(getSearch(db, id), { modelHash: source.hash, space }); // throws on mismatch
 */
export function checkResumable(search: SearchRow, expect: { modelHash?: string; space?: unknown }): void {
  if (expect.modelHash !== undefined && expect.modelHash !== search.modelHash) {
    throw new SearchMismatchError(search.id, "model.hash", search.modelHash, expect.modelHash);
  }
  if (expect.space !== undefined) {
    const given = spaceHash(expect.space);
    if (given !== search.spaceHash) throw new SearchMismatchError(search.id, "space", search.spaceHash, given);
  }
}

/**
 * Run (or continue) search `searchId` until the algorithm is done or `signal` aborts. Safe to call again
 * after any crash: nothing stored done or failed is evaluated twice.
 *
 * @example
 * const ac = new AbortController();
 * process.on("SIGINT", () => ac.abort());
 * const out = await runSearch(db, id, evaluator, { signal: ac.signal, onProgress: (p) => console.log(p.evaluated) });
 */
export async function runSearch(db: Db, searchId: number, evaluator: Evaluator, options: RunOptions = {}): Promise<RunOutcome> {
  const before = getSearch(db, searchId);
  if (options.expect) checkResumable(before, options.expect);
  if (evaluator.modelHash !== undefined) checkResumable(before, { modelHash: evaluator.modelHash });
  if (before.status === "done") {
    const cp = loadCheckpoint(db, searchId);
    return { searchId, status: "done", generation: cp?.generation ?? 0, evaluated: cp?.evaluations ?? 0 };
  }
  const factory = options.algorithms ?? createAlgorithmFromSearchPackage;
  const search = claimSearch(db, searchId, options.owner ?? processOwner());
  try {
    const outcome = await drive(db, search, evaluator, factory, options);
    releaseSearch(db, searchId, outcome.status);
    return outcome;
  } catch (e) {
    resetRunning(db, searchId);
    releaseSearch(db, searchId, "failed", e instanceof Error ? `${e.name}: ${e.message}` : String(e));
    throw e;
  } finally {
    await evaluator.close?.();
  }
}

/**
 * `runSearch` after checking the stored search matches the model and space the caller has now.
 *
 * @example
 * await resumeSearch(db, id, evaluator, { modelHash: source.hash, space });
 */
export function resumeSearch(
  db: Db,
  searchId: number,
  evaluator: Evaluator,
  expect: { modelHash: string; space?: unknown },
  options: Omit<RunOptions, "expect"> = {},
): Promise<RunOutcome> {
  return runSearch(db, searchId, evaluator, { ...options, expect });
}

async function drive(db: Db, search: SearchRow, evaluator: Evaluator, factory: AlgorithmFactory, options: RunOptions): Promise<RunOutcome> {
  const { signal, onProgress } = options;
  const setup = await factory({
    name: search.algorithm,
    space: search.space,
    objectives: search.objectives,
    options: search.options,
    seed: search.seed,
  });
  const algo = setup.algorithm;
  const cp = loadCheckpoint(db, search.id);
  let state: unknown = cp ? (setup.restore ? setup.restore(cp.state) : cp.state) : setup.initialState;
  let generation = cp?.generation ?? 0;
  let evaluated = countEvaluated(db, search.id);
  resetRunning(db, search.id); // leftovers of a killed run: their evaluation never finished
  let idleRounds = 0;
  while (!algo.isDone(state)) {
    if (signal?.aborted) return { searchId: search.id, status: "paused", generation, evaluated };
    const asked = algo.ask(state);
    const proposals = asked.proposals;
    if (proposals.length === 0) {
      // Nothing to evaluate yet not done: let the algorithm advance; a stuck one would spin forever.
      const next = algo.tell(asked.state, []);
      if (canonicalJson(next) === canonicalJson(state) && ++idleRounds > 2) {
        throw new Error(`algorithm ${search.algorithm} proposes nothing but is not done (state does not change)`);
      }
      state = next;
      continue;
    }
    idleRounds = 0;
    checkProposals(proposals);
    generation = proposals[0].generation;
    insertPending(db, search.id, proposals);
    const rows = candidatesByKey(db, search.id, proposals.map((p) => p.key));
    const todo = proposals.filter((p) => {
      const s = rows.get(p.key)?.status;
      return s !== "done" && s !== "failed";
    });
    const aborted = await evaluateAll(db, search, evaluator, todo, rows, signal, (stored) => {
      evaluated++;
      onProgress?.({ searchId: search.id, generation, evaluated, stored });
    });
    if (aborted) return { searchId: search.id, status: "paused", generation, evaluated };
    const results = resultsFromDb(db, search.id, proposals);
    state = algo.tell(asked.state, results);
    saveCheckpoint(db, search.id, generation, state);
    onProgress?.({ searchId: search.id, generation, evaluated, checkpointed: true });
  }
  return { searchId: search.id, status: "done", generation, evaluated };
}

function checkProposals(proposals: Proposal[]): void {
  const seen = new Set<string>();
  for (const p of proposals) {
    if (typeof p.key !== "string" || p.key === "") throw new InvalidInputError(`algorithm proposed a candidate without a key: ${JSON.stringify(p)}`);
    if (seen.has(p.key)) throw new InvalidInputError(`algorithm proposed key ${p.key} twice in one generation`);
    if (!Number.isInteger(p.generation) || p.generation < 0) throw new InvalidInputError(`proposal ${p.key} has generation ${p.generation}`);
    seen.add(p.key);
  }
}

/** Evaluate `todo`, storing each result as it arrives. Returns true when aborted before finishing. */
async function evaluateAll(
  db: Db,
  search: SearchRow,
  evaluator: Evaluator,
  todo: Proposal[],
  rows: Map<string, CandidateRow>,
  signal: AbortSignal | undefined,
  stored: (row: CandidateRow) => void,
): Promise<boolean> {
  const ctx = { signal: signal ?? new AbortController().signal, search };
  const idOf = (p: Proposal) => rows.get(p.key)!.id;
  if (isBatchEvaluator(evaluator)) {
    if (todo.length === 0) return false;
    if (signal?.aborted) return true;
    const ids = todo.map(idOf);
    markRunning(db, ids);
    const t0 = performance.now();
    let outcomes: (CandidateOutcome & { key: string })[];
    try {
      outcomes = await evaluator.evaluateBatch(todo, ctx);
    } catch (e) {
      if (signal?.aborted) return (resetRunning(db, search.id, ids), true);
      outcomes = todo.map((p) => ({ key: p.key, error: errorText(e) }));
    }
    const perCandidate = (performance.now() - t0) / todo.length;
    const byKey = new Map((Array.isArray(outcomes) ? outcomes : []).map((o) => [o?.key, o]));
    for (const p of todo) {
      const o = byKey.get(p.key) ?? { error: `evaluator returned no result for ${p.key}` };
      stored(storeOutcome(db, search, idOf(p), o, perCandidate, evaluator.device));
    }
    return false;
  }
  for (const p of todo) {
    if (signal?.aborted) return true;
    const id = idOf(p);
    markRunning(db, [id]);
    const t0 = performance.now();
    let outcome: CandidateOutcome;
    try {
      outcome = await evaluator.evaluate(p, ctx);
    } catch (e) {
      if (signal?.aborted) return (resetRunning(db, search.id, [id]), true);
      outcome = { error: errorText(e) };
    }
    stored(storeOutcome(db, search, id, outcome, performance.now() - t0, evaluator.device));
  }
  return false;
}

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** The generation's results in proposal order, exactly as stored. */
function resultsFromDb(db: Db, searchId: number, proposals: Proposal[]): EvalResult[] {
  const rows = candidatesByKey(db, searchId, proposals.map((p) => p.key));
  return proposals.map((p): EvalResult => {
    const r = rows.get(p.key);
    if (!r || (r.status !== "done" && r.status !== "failed")) throw new Error(`candidate ${p.key} has no stored result after evaluation`);
    if (r.status === "failed") return { key: p.key, error: r.error ?? "failed" };
    return r.constraintViolation === null
      ? { key: p.key, objectives: r.objectives ?? [] }
      : { key: p.key, objectives: r.objectives ?? [], constraintViolation: r.constraintViolation };
  });
}

function countEvaluated(db: Db, searchId: number): number {
  const row = db.$client
    .query<{ n: number }, [number]>("SELECT count(*) AS n FROM candidates WHERE search_id = ? AND status IN ('done', 'failed')")
    .get(searchId);
  return row?.n ?? 0;
}

function saveCheckpoint(db: Db, searchId: number, generation: number, state: unknown): void {
  const now = Date.now();
  const evaluations = countEvaluated(db, searchId);
  db.transaction(
    (tx) => {
      tx.insert(checkpoints)
        .values({ searchId, generation, evaluations, state, updatedAt: now })
        .onConflictDoUpdate({ target: checkpoints.searchId, set: { generation, evaluations, state, updatedAt: now } })
        .run();
      tx.update(searches).set({ updatedAt: now }).where(eq(searches.id, searchId)).run();
    },
    { behavior: "immediate" },
  );
}
