/**
 * What a task is: documents, each turned into lm-eval requests plus a scoring function over their results, and
 * how per-document metric values aggregate. One file per task family under ./tasks notes the lm-eval definition
 * it follows.
 */
import type { LoglikelihoodResult, RollingResult } from "./lm.ts";
import type { Aggregation, MetricValue } from "./metrics.ts";

export type EvalRequest =
  | { kind: "loglikelihood"; context: string; continuation: string }
  /** `addBos` overrides the evaluation's addBos for this text (our own perplexity tasks always use plain text) */
  | { kind: "rolling"; text: string; addBos?: boolean };

export type RequestResult = LoglikelihoodResult | RollingResult;

/** One evaluation document. */
export interface TaskDoc {
  requests: EvalRequest[];
  /** Per-document metric values from the results of `requests` (same order). */
  score(results: RequestResult[]): Record<string, MetricValue>;
  /** Stratum for stratified subsets and per-group metrics (MMLU: the subject). */
  group?: string;
}

export interface TaskLoadOptions {
  /** Few-shot examples per prompt (only tasks with `fewshot` accept > 0). */
  numFewshot: number;
}

export interface TaskDefinition {
  /** lm-eval task name */
  name: string;
  /** data used and the lm-eval definition followed */
  about: string;
  /** reported metrics and how they aggregate over documents */
  metrics: Record<string, Aggregation>;
  /** `limit` subsets are stratified by TaskDoc.group, and per-group metrics are reported */
  stratified?: boolean;
  /** few-shot support: default number of shots and the most the data allows */
  fewshot?: { default: number; max: number };
  /** group -> the aggregate groups it belongs to (MMLU: subject -> [subject, category]) */
  groupsOf?(group: string): string[];
  /** Every document of the evaluation split, in dataset order. */
  load(dataDir: string, options: TaskLoadOptions): TaskDoc[];
}

/** Narrow a result to a loglikelihood result (throws if a task mixed up its request kinds). */
export function llOf(r: RequestResult): LoglikelihoodResult {
  if (!("isGreedy" in r)) throw new TypeError("expected a loglikelihood result");
  return r;
}

/** Narrow a result to a rolling result. */
export function rollingOf(r: RequestResult): RollingResult {
  if (!("tokens" in r)) throw new TypeError("expected a rolling loglikelihood result");
  return r;
}
