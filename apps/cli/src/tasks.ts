/**
 * The evaluation tasks the CLI's model evaluator measures a sub-network on: every task of @nas/eval's
 * lm-evaluation-harness-faithful registry (arc_easy, piqa, mmlu, ..., wikitext, tinystories), scored on a
 * seeded subset that is the same for every candidate. A task is prepared once per process (its subset chosen)
 * and then scored for many sub-networks through any TokenScorer (the GPU engine, which shares each multiple-
 * choice context across its choices, or the float64 CPU reference).
 *
 * Budgets: multiple-choice and other document tasks score `limit` documents; the perplexity tasks (tinystories,
 * wikitext) score the smallest seeded subset of documents holding at least `tokens` tokens. The objective is
 * `acc` when the task has it (max), else its perplexity (min).
 */
import { evaluate, defaultDataDir, getTask, limitForTokens, taskNames, type EvalModelInfo } from "@nas/eval";
import type { SubNetwork, TokenScorer, Tokenizer } from "@nas/model";

/** Options of task preparation; defaults documented per field. */
export interface TaskOptions {
  /** Documents scored per non-perplexity task (a seeded subset). Default 20. */
  limit?: number;
  /** Tokens of text (at least) scored per perplexity task: whole documents, a seeded subset. Default 512. */
  tokens?: number;
  /** Seed of the subsets. Default 1234 (@nas/eval's). */
  seed?: number;
}
export const taskDefaults = { limit: 20, tokens: 512, seed: 1234 } satisfies Required<TaskOptions>;

/** What one task measured. `value` is the task's objective value (perplexity or accuracy). */
export interface TaskResult {
  metric: string;
  value: number;
  /** Documents scored. */
  n: number;
  /** Every metric @nas/eval reported (acc_norm, word_perplexity, ...). */
  metrics: Record<string, number>;
}

export interface PreparedTask {
  name: string;
  metric: string;
  direction: "min" | "max";
  /** Documents this task scores for every candidate. */
  limit: number;
  score(scorer: TokenScorer, subnet: SubNetwork, signal?: AbortSignal): Promise<TaskResult>;
}

/** Task names this build knows (@nas/eval's registry). */
export const TASK_NAMES: readonly string[] = taskNames();

/** Thrown for an unknown task name (the message lists the known ones). */
export class UnknownTaskError extends Error {
  override name = "UnknownTaskError";
}

/**
 * Check task names without reading any data.
 *
 * @example
 * checkTaskNames(["tinystories", "arc_easy"]); // ok; ["mmlu_x"] throws UnknownTaskError
 */
export function checkTaskNames(names: readonly string[]): void {
  if (names.length === 0) throw new UnknownTaskError(`no task given (known tasks: ${TASK_NAMES.join(", ")})`);
  for (const n of names) {
    if (!TASK_NAMES.includes(n)) throw new UnknownTaskError(`unknown task "${n}" (known tasks: ${TASK_NAMES.join(", ")})`);
  }
}

/** Metric and direction of a task (for objective specs): acc when it has one, else its token perplexity. */
export function taskMetric(name: string): { metric: string; direction: "min" | "max" } {
  checkTaskNames([name]);
  const metrics = Object.keys(getTask(name).metrics);
  if (metrics.includes("acc")) return { metric: "acc", direction: "max" };
  const ppl = metrics.find((m) => m === "perplexity") ?? metrics.find((m) => m.endsWith("perplexity"));
  if (ppl) return { metric: ppl, direction: "min" };
  return { metric: metrics[0], direction: "max" };
}

/**
 * Choose a task's subset once (for perplexity tasks: tokenize the documents to meet the token budget).
 *
 * @example
 * const t = prepareTask("tinystories", tokenizer, engineModel, { tokens: 512 });
 * const { value: ppl } = await t.score(engineModel, subnet);
 */
export function prepareTask(name: string, tokenizer: Tokenizer, model: EvalModelInfo, options: TaskOptions = {}): PreparedTask {
  checkTaskNames([name]);
  const o = { ...taskDefaults, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as Required<TaskOptions>;
  const { metric, direction } = taskMetric(name);
  let limit = o.limit;
  const docs = getTask(name).load(defaultDataDir(), { numFewshot: 0 });
  // Perplexity tasks (documents scored by rolling loglikelihood) are budgeted in tokens.
  if (docs.length > 0 && docs[0].requests.every((r) => r.kind === "rolling")) {
    const counts = docs.map((d) => {
      const r = d.requests[0] as { text: string; addBos?: boolean };
      return tokenizer.encode(r.text, { bos: r.addBos ?? true }).length;
    });
    limit = limitForTokens(counts, o.tokens, o.seed);
  }
  return {
    name,
    metric,
    direction,
    limit,
    async score(scorer, subnet, signal) {
      if (signal?.aborted) throw signal.reason ?? new Error("aborted");
      const r = (await evaluate(scorer, tokenizer, model, subnet, [name], { limit, seed: o.seed, cache: null }))[name];
      const value = r.metrics[metric];
      if (typeof value !== "number") throw new Error(`task ${name} returned no ${metric} metric`);
      return { metric, value, n: r.samples, metrics: r.metrics };
    },
  };
}
