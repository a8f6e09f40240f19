/**
 * The search state: one plain JSON value holding everything a search needs to continue (space, objectives,
 * settings, RNG, archive of every proposed candidate, current population, counters, per-generation log).
 * It never contains Infinity, NaN, -0 or undefined, so `JSON.parse(JSON.stringify(state))` is an exact copy.
 */
import type { Genome, ObjectiveSpec } from "./contract.ts";
import { checkGenome, genomeKey } from "./genome.ts";
import { checkRngState, seedRng, type RngState } from "./rng.ts";
import { checkSearchSpace, type SearchSpace } from "./space.ts";

/** Algorithms this package implements. */
export type AlgorithmName = "nsga2" | "random" | "linas";
export const ALGORITHM_NAMES: readonly AlgorithmName[] = ["nsga2", "random", "linas"];

/** Thrown for bad algorithm options, a malformed stored state, or a tell that breaks the contract. */
export class SearchStateError extends Error {
  override name = "SearchStateError";
}

/** LINAS settings (only used when the algorithm is "linas"). */
export interface LinasSettings {
  /** Population of the predictor-only inner NSGA-II. Default max(2 * population, 50). */
  innerPopulation: number;
  /** Generations of the inner NSGA-II per outer generation. Default 20. */
  innerGenerations: number;
  /** Ridge penalty on the one-hot weights (the intercept is not penalised). Default 1. */
  ridgeLambda: number;
  /** Share of each batch given to ordinary NSGA-II offspring instead of predicted-best genomes. Default 0.2. */
  exploration: number;
}

/** Resolved algorithm settings stored in the state. */
export interface AlgorithmSettings {
  /** Candidates per generation (and NSGA-II population size). */
  population: number;
  /** Budget: total candidates proposed (failed ones count: they used evaluation time). */
  evaluations: number;
  crossover: "uniform" | "n-point";
  crossoverPoints: number;
  crossoverRate: number;
  /** Per-gene mutation probability. */
  mutationRate: number;
  linas: LinasSettings;
}

/** One proposed candidate and, once told, its outcome. Objectives are stored as told (caller's directions). */
export interface ArchiveEntry {
  key: string;
  genome: Genome;
  generation: number;
  status: "pending" | "ok" | "failed";
  objectives?: number[];
  /** 0 when feasible. Present when status is "ok". */
  constraintViolation?: number;
  error?: string;
  /** LINAS: the predictor's objective values at proposal time. */
  predicted?: number[];
}

/** One line of the per-generation log, written when a generation's last result is told. */
export interface GenerationLog {
  generation: number;
  proposed: number;
  evaluated: number;
  failed: number;
  /** Size of the archive's first front after this generation. */
  frontSize: number;
  /** Genomes drawn at random because variation found no new ones. */
  immigrants: number;
  /** LINAS: candidates the predictor was fitted on (null when no predictor was used). */
  trainSize: number | null;
  /** LINAS: mean absolute percentage error of the predictions per objective (null: nothing to compare). */
  mape: (number | null)[] | null;
}

/** Facts about the batch in flight that its log line needs. */
export interface BatchInfo {
  immigrants: number;
  trainSize: number | null;
}

export interface SearchState {
  format: "nas-search-state";
  version: 1;
  algorithm: AlgorithmName;
  space: SearchSpace;
  objectives: ObjectiveSpec[];
  settings: AlgorithmSettings;
  seed: number;
  rng: RngState;
  /** Index of the next generation to propose (0 before the initial population). */
  generation: number;
  /** Every proposed candidate in proposal order; never shrinks, so nothing is proposed twice. */
  archive: ArchiveEntry[];
  /** Archive index where the current (latest) batch starts. */
  batchStart: number;
  batchInfo: BatchInfo;
  /** Archive indices of the first non-dominated front over all closed generations, ascending. */
  front: number[];
  /** Archive indices of the current NSGA-II population, best first (empty for random search). */
  population: number[];
  counters: { proposed: number; evaluated: number; failed: number };
  /** True when no new genome could be found (the space is used up). */
  exhausted: boolean;
  log: GenerationLog[];
}

/** User options for a new search; see {@link AlgorithmSettings} for meanings. */
export interface SearchOptions {
  name: AlgorithmName;
  space: SearchSpace;
  objectives: ObjectiveSpec[];
  /** Default 50 (LLaMA-NAS). */
  population?: number;
  /** Default 250 (LLaMA-NAS). */
  evaluations?: number;
  /** Non-negative safe integer. Default 0. */
  seed?: number;
  /** Default "uniform". */
  crossover?: "uniform" | "n-point";
  /** Cut points of n-point crossover. Default 2. */
  crossoverPoints?: number;
  /** Default 0.9. */
  crossoverRate?: number;
  /** Default 1 / (number of genes with more than one choice). */
  mutationRate?: number;
  linas?: Partial<LinasSettings>;
}

/** Defaults of {@link SearchOptions} (mutationRate and linas.innerPopulation depend on the space/population). */
export const defaultSearchOptions = {
  population: 50,
  evaluations: 250,
  seed: 0,
  crossover: "uniform",
  crossoverPoints: 2,
  crossoverRate: 0.9,
  linas: { innerGenerations: 20, ridgeLambda: 1, exploration: 0.2 },
} satisfies Partial<SearchOptions>;

const OPTION_KEYS = new Set([
  "name", "space", "objectives", "population", "evaluations", "seed", "crossover", "crossoverPoints", "crossoverRate", "mutationRate", "linas",
]);
const LINAS_KEYS = new Set(["innerPopulation", "innerGenerations", "ridgeLambda", "exploration"]);

/**
 * Validate options and build the state of a search that has not proposed anything yet.
 *
 * @example
 * const state = initialState({ name: "nsga2", space, objectives: [{ name: "ppl", direction: "min" }, { name: "params", direction: "min" }] });
 */
export function initialState(options: SearchOptions): SearchState {
  if (options === null || typeof options !== "object") throw new SearchStateError("search options must be an object");
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) throw new SearchStateError(`unknown search option "${key}" (expected one of ${[...OPTION_KEYS].join(", ")})`);
  }
  for (const key of Object.keys(options.linas ?? {})) {
    if (!LINAS_KEYS.has(key)) throw new SearchStateError(`unknown LINAS option "${key}" (expected one of ${[...LINAS_KEYS].join(", ")})`);
  }
  if (!ALGORITHM_NAMES.includes(options.name)) {
    throw new SearchStateError(`unknown algorithm ${JSON.stringify(options.name)} (expected one of ${ALGORITHM_NAMES.join(", ")})`);
  }
  const space = checkSearchSpace(options.space);
  const objectives = checkObjectives(options.objectives);
  const o = { ...defaultSearchOptions, ...definedOnly(options), linas: { ...defaultSearchOptions.linas, ...definedOnly(options.linas ?? {}) } };
  const population = int(o.population, "population", 2);
  const evaluations = int(o.evaluations, "evaluations", 1);
  const seed = o.seed;
  if (typeof seed !== "number" || !Number.isSafeInteger(seed) || seed < 0) throw new SearchStateError(`seed must be a non-negative safe integer, got ${JSON.stringify(seed)}`);
  if (o.crossover !== "uniform" && o.crossover !== "n-point") throw new SearchStateError(`crossover must be "uniform" or "n-point", got ${JSON.stringify(o.crossover)}`);
  const searchable = space.genes.filter((g) => g.values.length > 1).length;
  const settings: AlgorithmSettings = {
    population,
    evaluations,
    crossover: o.crossover,
    crossoverPoints: int(o.crossoverPoints, "crossoverPoints", 1),
    crossoverRate: probability(o.crossoverRate, "crossoverRate"),
    mutationRate: probability(o.mutationRate ?? 1 / Math.max(1, searchable), "mutationRate"),
    linas: {
      innerPopulation: int(o.linas.innerPopulation ?? Math.max(2 * population, 50), "linas.innerPopulation", 2),
      innerGenerations: int(o.linas.innerGenerations, "linas.innerGenerations", 1),
      ridgeLambda: positive(o.linas.ridgeLambda, "linas.ridgeLambda"),
      exploration: probability(o.linas.exploration, "linas.exploration"),
    },
  };
  return {
    format: "nas-search-state",
    version: 1,
    algorithm: options.name,
    space,
    objectives,
    settings,
    seed,
    rng: seedRng(seed),
    generation: 0,
    archive: [],
    batchStart: 0,
    batchInfo: { immigrants: 0, trainSize: null },
    front: [],
    population: [],
    counters: { proposed: 0, evaluated: 0, failed: 0 },
    exhausted: false,
    log: [],
  };
}

/**
 * Validate a parsed stored state (e.g. `JSON.parse` of a checkpoint) and return it typed. Checks the
 * structure, every archive genome against the space and its key, and that counters agree with the archive.
 *
 * @example
 * const state = checkSearchState(JSON.parse(checkpointText));
 */
export function checkSearchState(value: unknown): SearchState {
  const fail = (why: string): never => {
    throw new SearchStateError(`invalid search state: ${why}`);
  };
  if (value === null || typeof value !== "object" || Array.isArray(value)) return fail("not an object");
  const s = value as SearchState;
  if (s.format !== "nas-search-state") fail(`format is ${JSON.stringify(s.format)}, expected "nas-search-state"`);
  if (s.version !== 1) fail(`unsupported version ${JSON.stringify(s.version)}`);
  if (!ALGORITHM_NAMES.includes(s.algorithm)) fail(`unknown algorithm ${JSON.stringify(s.algorithm)}`);
  try {
    checkSearchSpace(s.space);
    checkObjectives(s.objectives);
    checkRngState(s.rng, "rng");
  } catch (e) {
    fail((e as Error).message);
  }
  const st = s.settings;
  if (!st || typeof st !== "object" || !st.linas) fail("settings missing");
  for (const [k, min] of [["population", 2], ["evaluations", 1], ["crossoverPoints", 1]] as const) {
    if (!Number.isInteger(st[k]) || st[k] < min) fail(`settings.${k} = ${JSON.stringify(st[k])}`);
  }
  if (st.crossover !== "uniform" && st.crossover !== "n-point") fail(`settings.crossover = ${JSON.stringify(st.crossover)}`);
  for (const k of ["crossoverRate", "mutationRate"] as const) if (!(st[k] >= 0 && st[k] <= 1)) fail(`settings.${k} = ${JSON.stringify(st[k])}`);
  const ln = st.linas;
  if (!(Number.isInteger(ln.innerPopulation) && ln.innerPopulation >= 2 && Number.isInteger(ln.innerGenerations) && ln.innerGenerations >= 1
    && ln.ridgeLambda > 0 && Number.isFinite(ln.ridgeLambda) && ln.exploration >= 0 && ln.exploration <= 1)) {
    fail(`settings.linas = ${JSON.stringify(ln)}`);
  }
  if (!Array.isArray(s.archive)) fail("archive must be an array");
  const keys = new Set<string>();
  const m = s.objectives.length;
  let evaluated = 0;
  let failed = 0;
  s.archive.forEach((e, i) => {
    const where = `archive[${i}]`;
    if (!e || typeof e.key !== "string") fail(`${where}.key must be a string`);
    const problems = checkGenome(s.space, e.genome);
    if (problems.length > 0) fail(`${where}.genome: ${problems[0]}`);
    if (genomeKey(s.space, e.genome) !== e.key) fail(`${where}.key does not match its genome`);
    if (keys.has(e.key)) fail(`${where}.key ${e.key} appears twice`);
    keys.add(e.key);
    if (e.status === "ok") {
      evaluated++;
      if (!finiteArray(e.objectives, m)) fail(`${where}.objectives must be ${m} finite numbers`);
      if (!(typeof e.constraintViolation === "number" && e.constraintViolation >= 0 && Number.isFinite(e.constraintViolation))) fail(`${where}.constraintViolation must be a finite number >= 0`);
    } else if (e.status === "failed") {
      failed++;
      if (typeof e.error !== "string") fail(`${where}.error must be a string`);
    } else if (e.status === "pending") {
      if (i < s.batchStart) fail(`${where} is pending but belongs to a finished generation`);
    } else fail(`${where}.status ${JSON.stringify(e.status)}`);
    if (e.predicted !== undefined && !finiteArray(e.predicted, m)) fail(`${where}.predicted must be ${m} finite numbers`);
  });
  if (!Number.isInteger(s.batchStart) || s.batchStart < 0 || s.batchStart > s.archive.length) fail(`batchStart ${s.batchStart}`);
  if (!Number.isInteger(s.generation) || s.generation < 0) fail(`generation ${JSON.stringify(s.generation)}`);
  const c = s.counters;
  if (!c || c.proposed !== s.archive.length || c.evaluated !== evaluated || c.failed !== failed) {
    fail(`counters ${JSON.stringify(c)} disagree with the archive (${s.archive.length} proposed, ${evaluated} evaluated, ${failed} failed)`);
  }
  if (!Array.isArray(s.population) || !s.population.every((i) => Number.isInteger(i) && s.archive[i]?.status === "ok")) {
    fail("population must list archive indices of evaluated candidates");
  }
  if (!Array.isArray(s.front) || !s.front.every((i, j) => Number.isInteger(i) && s.archive[i]?.status === "ok" && (j === 0 || i > s.front[j - 1]))) {
    fail("front must list ascending archive indices of evaluated candidates");
  }
  if (typeof s.exhausted !== "boolean") fail("exhausted must be a boolean");
  if (!Array.isArray(s.log)) fail("log must be an array");
  if (!s.batchInfo || !Number.isInteger(s.batchInfo.immigrants)) fail("batchInfo missing");
  return s;
}

/** Throws unless objectives is a non-empty list of {name, direction} with distinct names. */
export function checkObjectives(value: unknown): ObjectiveSpec[] {
  if (!Array.isArray(value) || value.length === 0) throw new SearchStateError("objectives must be a non-empty array of {name, direction}");
  const names = new Set<string>();
  for (const o of value) {
    if (!o || typeof o.name !== "string" || o.name === "") throw new SearchStateError(`objective ${JSON.stringify(o)} needs a non-empty name`);
    if (o.direction !== "min" && o.direction !== "max") throw new SearchStateError(`objective "${o.name}" direction must be "min" or "max", got ${JSON.stringify(o.direction)}`);
    if (names.has(o.name)) throw new SearchStateError(`objective "${o.name}" appears twice`);
    names.add(o.name);
  }
  return value.map((o) => ({ name: o.name, direction: o.direction }));
}

function finiteArray(v: unknown, m: number): boolean {
  return Array.isArray(v) && v.length === m && v.every((x) => typeof x === "number" && Number.isFinite(x));
}

function int(v: unknown, name: string, min: number): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) throw new SearchStateError(`${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return v;
}

function probability(v: unknown, name: string): number {
  if (typeof v !== "number" || !(v >= 0 && v <= 1)) throw new SearchStateError(`${name} must be a number in [0, 1], got ${JSON.stringify(v)}`);
  return v + 0;
}

function positive(v: unknown, name: string): number {
  if (typeof v !== "number" || !(v > 0) || !Number.isFinite(v)) throw new SearchStateError(`${name} must be a finite number > 0, got ${JSON.stringify(v)}`);
  return v;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
