/**
 * The ask/tell contract between a search algorithm and whoever evaluates candidates (pymoo's
 * Problem/Algorithm split). The algorithm never evaluates anything itself; its whole state is a plain
 * JSON value, so a caller can checkpoint it after any step and resume exactly.
 *
 * Flow:
 *   let { algorithm: algo, initialState: state } = createAlgorithm({ name, space, objectives, seed }); // ./engine.ts
 *   while (!algo.isDone(state)) {
 *     const { state: s1, proposals } = algo.ask(state);      // proposals: genomes not evaluated before
 *     ...evaluate (async, batched, any order)...
 *     state = algo.tell(s1, results);                         // results for some or all proposals
 *   }
 * `ask` returns the pending proposals again (not new ones) until all of them were told.
 * Resume from a checkpoint with `restoreAlgorithm(JSON.stringify(state))` (./engine.ts).
 */
import type { SubNetwork } from "@nas/model";

/** One integer per gene; the search space defines each gene's choice count. */
export type Genome = number[];

/** Whether an objective is minimised or maximised. */
export type Direction = "min" | "max";

export interface ObjectiveSpec {
  name: string;
  direction: Direction;
}

export interface Proposal {
  /** Canonical key (the sub-network key), unique per search: used for dedup and as the DB key. */
  key: string;
  genome: Genome;
  subnet: SubNetwork;
  /** Generation that proposed it (0 = initial population). */
  generation: number;
}

/** What the caller tells back: objective values in the order of the problem's objectives, or a failure. */
export type EvalResult =
  | { key: string; objectives: number[]; constraintViolation?: number }
  | { key: string; error: string };

/** A search algorithm over a plain, serialisable state value `S`. All functions are pure. */
export interface Algorithm<S> {
  readonly name: string;
  ask(state: S): { state: S; proposals: Proposal[] };
  tell(state: S, results: EvalResult[]): S;
  isDone(state: S): boolean;
  /** Evaluated, non-failed candidates on the first non-dominated front. */
  front(state: S): { key: string; objectives: number[] }[];
}
