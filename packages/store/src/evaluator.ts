/**
 * What the runner needs from whoever measures candidates. Two shapes: one candidate at a time (each
 * result is stored as soon as it exists, the finest crash granularity) or a batch (results are stored as
 * the batch returns).
 */
import type { SearchRow } from "@nas/db";
import type { Proposal } from "@nas/search";
import type { CandidateOutcome } from "./candidates.ts";

export type { CandidateOutcome };

export interface EvalContext {
  /** Aborted when the search is paused; an evaluator should stop promptly (throwing is fine: nothing is stored). */
  signal: AbortSignal;
  search: SearchRow;
}

interface EvaluatorCommon {
  /** Device / adapter description stored with each result unless the outcome carries its own. */
  readonly device?: unknown;
  /**
   * Content hash of the model this evaluator actually loaded. When set, the runner refuses to continue a
   * search created with another model hash (SearchMismatchError).
   */
  readonly modelHash?: string;
  /** Release resources (GPU device, worker processes); called once when the run ends. */
  close?(): void | Promise<void>;
}

/** Evaluates one proposal. `evalMs` defaults to the wall time the call took. */
export interface SingleEvaluator extends EvaluatorCommon {
  evaluate(proposal: Proposal, ctx: EvalContext): Promise<CandidateOutcome>;
}

/** Evaluates several proposals at once; results are matched to proposals by `key`. */
export interface BatchEvaluator extends EvaluatorCommon {
  evaluateBatch(proposals: Proposal[], ctx: EvalContext): Promise<(CandidateOutcome & { key: string })[]>;
}

export type Evaluator = SingleEvaluator | BatchEvaluator;

/**
 * How an evaluator module (the seam a worker process loads by path) must look: a default-free ESM module
 * exporting `createEvaluator`. The built-in "fake" kind is ./fake-evaluator.ts; the CLI provides "model".
 *
 * @example
 * // my-evaluator.ts
 * export const createEvaluator: EvaluatorFactory = async (options, { search }) => ({
 *   device: "cpu", evaluate: async (p) => ({ objectives: [p.genome.length] }),
 * });
 */
export type EvaluatorFactory = (options: unknown, ctx: { search: SearchRow }) => Evaluator | Promise<Evaluator>;

/**
 * Whether an evaluator takes whole batches.
 *
 * @example
 * if (isBatchEvaluator(evaluator)) await evaluator.evaluateBatch(proposals, ctx);
 */
export function isBatchEvaluator(e: Evaluator): e is BatchEvaluator {
  return typeof (e as BatchEvaluator).evaluateBatch === "function";
}
