/**
 * @nas/eval: lm-evaluation-harness-faithful task scoring on any TokenScorer (GPU engine or CPU reference), and
 * the cost objectives of sub-networks.
 */
export { evaluate, toLmEvalJson, tokenizerFingerprint, type EvalModelInfo, type EvaluateOptions, type EvalResults, type TaskResult, type DocDetail } from "./evaluate.ts";
export { getTask, taskNames, TASKS, UnknownTaskError } from "./registry.ts";
export { LoglikelihoodRunner, RequestError, hasPrefixSharing, rollingWindows, type PrefixTokenScorer, type RunnerOptions, type RunnerStats, type LoglikelihoodResult, type RollingResult, type TokenRequest } from "./lm.ts";
export { MemoryCache, FileCache, cacheKey, type EvalCache } from "./cache.ts";
export { limitForTokens, seededSubset, subsetInfo, type SubsetInfo } from "./subset.ts";
export { aggregate, argmax, meanStderr, multipleChoiceScores, truthfulqaMc2, type Aggregation, type MetricValue } from "./metrics.ts";
export { countParams, macsPerToken, prefillMacs, costObjectives, type ParamCount, type MacCount, type LatencyProbe, type MeasuredLatency, type CostObjectives } from "./cost.ts";
export { DataError, defaultDataDir } from "./data.ts";
export type { TaskDefinition, TaskDoc, EvalRequest, RequestResult } from "./task.ts";
