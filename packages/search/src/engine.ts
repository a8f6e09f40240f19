/**
 * Ask/tell over {@link SearchState} for NSGA-II, random search and LINAS (./linas.ts), implementing the
 * contract in ./contract.ts. Every function is pure: states are never mutated (new arrays/objects are made
 * for whatever changes), so any earlier state can be kept, stored or resumed.
 *
 * A generation: `ask` proposes up to `population` new genomes (never seen before); the caller tells results
 * in any order and batching; when the last one arrives, the generation is closed: NSGA-II survival over
 * parents + successful offspring (failed ones are dropped, i.e. treated as infeasible forever), and a log line.
 * Closing depends only on proposal order, so tell order and batching never change the trajectory.
 */
import type { Algorithm, EvalResult, Proposal } from "./contract.ts";
import { genomeToSubnet } from "./genome.ts";
import { linasBatch, linasMape } from "./linas.ts";
import { Rng } from "./rng.ts";
import { nonDominatedSort, selectSurvivors, toMinimization } from "./sort.ts";
import { SearchStateError, checkSearchState, initialState, type AlgorithmName, type ArchiveEntry, type SearchOptions, type SearchState } from "./state.ts";
import { nsga2Batch, randomBatch, type BatchProposal } from "./nsga2.ts";
import { initialBatch } from "./variation.ts";

/**
 * Next proposals. Returns the untold proposals of the current generation again while there are any;
 * otherwise proposes a new generation, or nothing when the search is done.
 *
 * @example
 * const { state: next, proposals } = askSearch(state);
 */
export function askSearch(state: SearchState): { state: SearchState; proposals: Proposal[] } {
  const pending = pendingIndices(state);
  if (pending.length > 0) return { state, proposals: pending.map((i) => toProposal(state, state.archive[i])) };
  if (isSearchDone(state)) return { state, proposals: [] };

  const count = Math.min(state.settings.population, state.settings.evaluations - state.counters.proposed);
  const rng = new Rng(state.rng);
  const seen = new Set(state.archive.map((e) => e.key));
  const proposal = proposeBatch(state, rng, count, (key) => seen.has(key));

  const { genomes, keys } = proposal.batch;
  if (genomes.length === 0) return { state: { ...state, rng: rng.state(), exhausted: true }, proposals: [] };
  const entries: ArchiveEntry[] = genomes.map((genome, j) => ({
    key: keys[j],
    genome,
    generation: state.generation,
    status: "pending" as const,
    ...(proposal.predicted ? { predicted: proposal.predicted[j].map((v) => v + 0) } : {}),
  }));
  const next: SearchState = {
    ...state,
    rng: rng.state(),
    generation: state.generation + 1,
    archive: state.archive.concat(entries),
    batchStart: state.archive.length,
    batchInfo: proposal.info,
    counters: { ...state.counters, proposed: state.counters.proposed + entries.length },
  };
  return { state: next, proposals: entries.map((e) => toProposal(next, e)) };
}

/**
 * Record results for pending proposals (any subset, any order). A failure (`{ key, error }`) or non-finite
 * objective/violation values mark the candidate failed: it is never proposed again and never selected.
 * Throws {@link SearchStateError} (leaving nothing changed) for a key that is not pending, a key told twice,
 * or an objectives array of the wrong length or type.
 *
 * @example
 * state = tellSearch(state, [{ key, objectives: [12.3, 2.1e5] }, { key: other, error: "CUDA OOM" }]);
 */
export function tellSearch(state: SearchState, results: readonly EvalResult[]): SearchState {
  if (!Array.isArray(results)) throw new SearchStateError("tell: results must be an array");
  const archive = state.archive.slice();
  const where = new Map<string, number>();
  for (let i = state.batchStart; i < archive.length; i++) if (archive[i].status === "pending") where.set(archive[i].key, i);
  const m = state.objectives.length;
  let evaluated = 0;
  let failed = 0;
  for (const r of results) {
    const key = (r as { key?: unknown } | null)?.key;
    const i = typeof key === "string" ? where.get(key) : undefined;
    if (i === undefined) throw new SearchStateError(`tell: ${JSON.stringify(key)} is not a pending proposal (never proposed, or already told)`);
    where.delete(key as string);
    const outcome = resultToEntry(r, m, state.objectives.map((o) => o.name));
    archive[i] = { ...archive[i], ...outcome };
    if (outcome.status === "ok") evaluated++;
    else failed++;
  }
  const told: SearchState = {
    ...state,
    archive,
    counters: { ...state.counters, evaluated: state.counters.evaluated + evaluated, failed: state.counters.failed + failed },
  };
  return results.length > 0 && where.size === 0 ? closeGeneration(told) : told;
}

/** True when nothing is pending and the budget is spent or the space is used up. */
export function isSearchDone(state: SearchState): boolean {
  return pendingIndices(state).length === 0 && (state.exhausted || state.counters.proposed >= state.settings.evaluations);
}

/**
 * The first non-dominated front of all successfully evaluated candidates (constraint domination: if none is
 * feasible, the least-violating ones), in proposal order, objectives as told.
 *
 * @example
 * searchFront(state); // [{ key: "L11111|M172,...", objectives: [5.1, 260000] }, ...]
 */
export function searchFront(state: SearchState): { key: string; objectives: number[] }[] {
  return frontIndices(state).map((i) => ({ key: state.archive[i].key, objectives: state.archive[i].objectives!.slice() }));
}

/**
 * Archive indices of the first front: the stored front of closed generations merged with the successful
 * results told so far in the current one (a union's first front is the first front of the parts' fronts,
 * since constraint domination is transitive), so this costs O(front + batch), not O(archive).
 */
export function frontIndices(state: SearchState): number[] {
  const candidates = state.front.slice();
  const inFront = new Set(candidates);
  for (let i = state.batchStart; i < state.archive.length; i++) {
    if (state.archive[i].status === "ok" && !inFront.has(i)) candidates.push(i);
  }
  candidates.sort((a, b) => a - b);
  const dirs = state.objectives.map((o) => o.direction);
  const { fronts } = nonDominatedSort(
    candidates.map((i) => toMinimization(state.archive[i].objectives!, dirs)),
    candidates.map((i) => state.archive[i].constraintViolation!),
  );
  return (fronts[0] ?? []).map((j) => candidates[j]);
}

/**
 * The {@link Algorithm} object for a name. Its functions work on any {@link SearchState} of that algorithm.
 *
 * @example
 * const algo = algorithmFor("nsga2");
 */
export function algorithmFor(name: AlgorithmName): Algorithm<SearchState> {
  const guard = (state: SearchState) => {
    if (state.algorithm !== name) throw new SearchStateError(`this state belongs to algorithm "${state.algorithm}", not "${name}"`);
  };
  return {
    name,
    ask: (state) => (guard(state), askSearch(state)),
    tell: (state, results) => (guard(state), tellSearch(state, results)),
    isDone: (state) => (guard(state), isSearchDone(state)),
    front: (state) => (guard(state), searchFront(state)),
  };
}

/**
 * Create a search: the algorithm plus its initial state (nothing proposed yet). Defaults follow LLaMA-NAS:
 * population 50, 250 evaluations; see {@link SearchOptions} for every option.
 *
 * @example
 * const { algorithm, initialState } = createAlgorithm({
 *   name: "nsga2",
 *   space: createSearchSpace(config, { preset: "paper" }),
 *   objectives: [{ name: "perplexity", direction: "min" }, { name: "params", direction: "min" }],
 *   population: 50, evaluations: 250, seed: 1,
 * });
 * let state = initialState;
 * while (!algorithm.isDone(state)) {
 *   const asked = algorithm.ask(state);
 *   state = asked.state;
 *   const results = await Promise.all(asked.proposals.map(evaluate)); // EvalResult[]
 *   state = algorithm.tell(state, results);
 *   await save(JSON.stringify(state));          // checkpoint; resume with restoreAlgorithm(text)
 * }
 * algorithm.front(state);
 */
export function createAlgorithm(options: SearchOptions): { algorithm: Algorithm<SearchState>; initialState: SearchState } {
  const state = initialState(options);
  return { algorithm: algorithmFor(state.algorithm), initialState: state };
}

/**
 * Resume from a checkpoint: the JSON text (or its parsed value) of any state. Validates it and returns the
 * matching algorithm; continuing gives exactly what the original run would have produced.
 *
 * @example
 * const { algorithm, state } = restoreAlgorithm(await readFile("search.json", "utf8"));
 */
export function restoreAlgorithm(stored: string | unknown): { algorithm: Algorithm<SearchState>; state: SearchState } {
  let value = stored;
  if (typeof stored === "string") {
    try {
      value = JSON.parse(stored);
    } catch (e) {
      throw new SearchStateError(`stored search state is not valid JSON: ${(e as Error).message}`);
    }
  }
  const state = checkSearchState(value);
  return { algorithm: algorithmFor(state.algorithm), state };
}

/** The next generation's genomes: the shared initial population first, then per algorithm. */
function proposeBatch(state: SearchState, rng: Rng, count: number, isTaken: (key: string) => boolean): BatchProposal {
  if (state.generation === 0) return { batch: initialBatch(state.space, count, rng, isTaken), info: { immigrants: 0, trainSize: null } };
  switch (state.algorithm) {
    case "random":
      return { batch: randomBatch(state, rng, count, isTaken), info: { immigrants: 0, trainSize: null } };
    case "linas":
      return linasBatch(state, rng, count, isTaken);
    case "nsga2":
      return nsga2Batch(state, rng, count, isTaken);
  }
}

function pendingIndices(state: SearchState): number[] {
  const out: number[] = [];
  for (let i = state.batchStart; i < state.archive.length; i++) if (state.archive[i].status === "pending") out.push(i);
  return out;
}

function toProposal(state: SearchState, e: ArchiveEntry): Proposal {
  return { key: e.key, genome: e.genome.slice(), subnet: genomeToSubnet(state.space, e.genome), generation: e.generation };
}

type Outcome = Pick<ArchiveEntry, "status" | "objectives" | "constraintViolation" | "error">;

function resultToEntry(r: EvalResult, m: number, names: string[]): Outcome {
  if ("error" in r) return { status: "failed", error: String(r.error) };
  const obj: unknown = (r as { objectives?: unknown }).objectives;
  if (!Array.isArray(obj) || obj.length !== m || obj.some((v) => typeof v !== "number")) {
    throw new SearchStateError(`tell: result for ${r.key} must have objectives: ${m} numbers (${names.join(", ")}), got ${JSON.stringify(obj)}`);
  }
  const bad = obj.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) return { status: "failed", error: `objective "${names[bad]}" is ${obj[bad]} (not finite)` };
  const cv = r.constraintViolation ?? 0;
  if (typeof cv !== "number" || !Number.isFinite(cv) || cv < 0) {
    return { status: "failed", error: `constraintViolation is ${cv} (must be a finite number >= 0)` };
  }
  return { status: "ok", objectives: obj.map((v: number) => v + 0), constraintViolation: cv + 0 };
}

function closeGeneration(state: SearchState): SearchState {
  const batch: number[] = [];
  for (let i = state.batchStart; i < state.archive.length; i++) batch.push(i);
  const ok = batch.filter((i) => state.archive[i].status === "ok");
  let population = state.population;
  if (state.algorithm !== "random") {
    const candidates = [...state.population, ...ok];
    const dirs = state.objectives.map((o) => o.direction);
    const points = candidates.map((i) => toMinimization(state.archive[i].objectives!, dirs));
    const violations = candidates.map((i) => state.archive[i].constraintViolation!);
    population = selectSurvivors(points, violations, state.settings.population).map((j) => candidates[j]);
  }
  const front = frontIndices(state);
  const generation = state.archive[state.batchStart].generation;
  return {
    ...state,
    population,
    front,
    log: state.log.concat({
      generation,
      proposed: batch.length,
      evaluated: ok.length,
      failed: batch.length - ok.length,
      frontSize: front.length,
      immigrants: state.batchInfo.immigrants,
      trainSize: state.batchInfo.trainSize,
      mape: state.algorithm === "linas" ? linasMape(state, batch) : null,
    }),
  };
}
