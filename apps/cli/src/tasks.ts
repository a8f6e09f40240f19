/**
 * The evaluation tasks the CLI's model evaluator measures a sub-network on (lm-eval names). A task is
 * prepared once per process (read + tokenized, a fixed, deterministic subset) and then scored for many
 * sub-networks through any TokenScorer (the GPU engine, or the float64 CPU reference).
 *
 * - `tinystories` / `wikitext2`: perplexity (exp of the mean token NLL) over the first `tokens` tokens of the
 *   text, cut into windows of `window` tokens, each starting with BOS.
 * - `arc_easy` / `arc_challenge`: lm-eval's zero-shot multiple choice on the test split: context
 *   "Question: {q}\nAnswer:", continuation " {choice}", the choice with the highest summed log-likelihood wins (acc).
 *
 * These four are fixed-budget search proxies (cheap enough for hundreds of candidates). Every other task of
 * @nas/eval's lm-eval registry (piqa, hellaswag, mmlu, ...), and the four too with `lmEval: true`, is scored by
 * @nas/eval's faithful implementation on its seeded `limit` subset; the objective is `acc` when the task
 * has it (max), else its perplexity (min).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { getTask as getLmEvalTask, evaluate as lmEvaluate, taskNames as lmEvalTaskNames, type EvalModelInfo } from "@nas/eval";
import { sharedDir, type SubNetwork, type TokenScorer, type Tokenizer } from "@nas/model";

/** Options of task preparation; defaults documented per field. */
export interface TaskOptions {
  /** Multiple-choice questions used (first N of the split). Default 20. */
  limit?: number;
  /** Tokens of text scored for perplexity tasks. Default 512. */
  tokens?: number;
  /** Perplexity window length in tokens (BOS included). Default 128. */
  window?: number;
  /** Sequences per scoreTokens call. Default 16. */
  batch?: number;
  /** Score every task with @nas/eval (lm-eval faithful, slower) instead of the fast proxies. Default false. */
  lmEval?: boolean;
}
export const taskDefaults = { limit: 20, tokens: 512, window: 128, batch: 16, lmEval: false } satisfies Required<TaskOptions>;

/** What one task measured. `value` is the task's objective value (perplexity or accuracy). */
export interface TaskResult {
  metric: string;
  value: number;
  /** Scored tokens (perplexity) or questions (accuracy). */
  n: number;
}

export interface PreparedTask {
  name: string;
  metric: TaskResult["metric"];
  direction: "min" | "max";
  score(scorer: TokenScorer, subnet: SubNetwork, signal?: AbortSignal): Promise<TaskResult>;
}

interface TaskDef {
  metric: TaskResult["metric"];
  direction: "min" | "max";
  prepare(tokenizer: Tokenizer, o: Required<TaskOptions>): PreparedTask["score"];
}

const text = (rel: string) => readFileSync(join(sharedDir(), "data", rel), "utf8");

const tasks: Record<string, TaskDef> = {
  tinystories: perplexityTask("tinystories/tinystories_validation_sample.txt"),
  wikitext2: perplexityTask("wikitext2/wiki.test.raw"),
  arc_easy: arcTask("arc_easy/ARC-Easy-test.jsonl"),
  arc_challenge: arcTask("arc_challenge/ARC-Challenge-test.jsonl"),
};

/** Task names this build knows: the fast proxies and @nas/eval's registry. */
export const TASK_NAMES: readonly string[] = [...new Set([...Object.keys(tasks), ...lmEvalTaskNames()])];

/** Thrown for an unknown task name (the message lists the known ones). */
export class UnknownTaskError extends Error {
  override name = "UnknownTaskError";
}

/**
 * Check task names without reading any data.
 *
 * @example
 * checkTaskNames(["tinystories", "arc_easy"]); // ok; ["mmlu"] throws UnknownTaskError
 */
export function checkTaskNames(names: readonly string[]): void {
  if (names.length === 0) throw new UnknownTaskError(`no task given (known tasks: ${TASK_NAMES.join(", ")})`);
  for (const n of names) {
    if (!TASK_NAMES.includes(n)) throw new UnknownTaskError(`unknown task "${n}" (known tasks: ${TASK_NAMES.join(", ")})`);
  }
}

/** Metric and direction of a task (for objective specs). */
export function taskMetric(name: string, lmEval = false): { metric: string; direction: "min" | "max" } {
  checkTaskNames([name]);
  if (!lmEval && Object.hasOwn(tasks, name)) return { metric: tasks[name].metric, direction: tasks[name].direction };
  const metrics = Object.keys(getLmEvalTask(name).metrics);
  if (metrics.includes("acc")) return { metric: "acc", direction: "max" };
  const ppl = metrics.find((m) => m === "perplexity") ?? metrics.find((m) => m.endsWith("perplexity"));
  if (ppl) return { metric: ppl, direction: "min" };
  return { metric: metrics[0], direction: "max" };
}

/**
 * Read and tokenize a task once.
 *
 * @example
 * const t = prepareTask("tinystories", tokenizer, engineModel, { tokens: 512 });
 * const { value: ppl } = await t.score(engineModel, subnet);
 */
export function prepareTask(name: string, tokenizer: Tokenizer, model: EvalModelInfo, options: TaskOptions = {}): PreparedTask {
  checkTaskNames([name]);
  const o = { ...taskDefaults, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as Required<TaskOptions>;
  if (o.lmEval || !Object.hasOwn(tasks, name)) return lmEvalTask(name, tokenizer, model, o);
  const def = tasks[name];
  return { name, metric: def.metric, direction: def.direction, score: def.prepare(tokenizer, o) };
}

function checkAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw signal.reason ?? new Error("aborted");
}

function perplexityTask(file: string): TaskDef {
  return {
    metric: "perplexity",
    direction: "min",
    prepare(tokenizer, o) {
      const ids = tokenizer.encode(text(file).slice(0, o.tokens * 8), { bos: false });
      if (ids.length < o.tokens) throw new Error(`${file}: only ${ids.length} tokens, ${o.tokens} requested`);
      // Windows of (window - 1) text tokens each behind BOS, so every scored token has a real context.
      const step = o.window - 1;
      const windows: number[][] = [];
      for (let i = 0; i < o.tokens; i += step) windows.push([tokenizer.bosId, ...ids.slice(i, Math.min(i + step, o.tokens))]);
      return async (scorer, subnet, signal) => {
        let nll = 0;
        let n = 0;
        for (let b = 0; b < windows.length; b += o.batch) {
          checkAborted(signal);
          for (const s of await scorer.scoreTokens(windows.slice(b, b + o.batch), subnet)) {
            for (const lp of s.logprobs) nll -= lp;
            n += s.logprobs.length;
          }
        }
        return { metric: "perplexity", value: Math.exp(nll / n), n };
      };
    },
  };
}

interface ArcRow {
  question: string;
  choices: { text: string[]; label: string[] };
  answerKey: string;
}

function arcTask(file: string): TaskDef {
  return {
    metric: "acc",
    direction: "max",
    prepare(tokenizer, o) {
      const rows = text(file)
        .split("\n")
        .filter((l) => l.trim() !== "")
        .slice(0, o.limit)
        .map((l, i) => {
          try {
            return JSON.parse(l) as ArcRow;
          } catch (e) {
            throw new Error(`${file}:${i + 1}: ${(e as Error).message}`);
          }
        });
      // One sequence per (question, choice): context ids + continuation ids; only the continuation is summed.
      const items = rows.map((r) => {
        const ctx = tokenizer.encode(`Question: ${r.question}\nAnswer:`, { bos: true });
        const gold = r.choices.label.indexOf(r.answerKey);
        const conts = r.choices.text.map((c) => {
          const full = tokenizer.encode(`Question: ${r.question}\nAnswer: ${c}`, { bos: true });
          // Continuation = tokens after the longest common prefix with the context (SentencePiece merges at the seam).
          let k = 0;
          while (k < ctx.length && k < full.length - 1 && ctx[k] === full[k]) k++;
          return { ids: full, from: k };
        });
        return { gold, conts };
      });
      const seqs = items.flatMap((it) => it.conts);
      return async (scorer, subnet, signal) => {
        const ll: number[] = [];
        for (let b = 0; b < seqs.length; b += o.batch) {
          checkAborted(signal);
          const chunk = seqs.slice(b, b + o.batch);
          const scores = await scorer.scoreTokens(chunk.map((c) => c.ids), subnet);
          scores.forEach((s, j) => {
            let sum = 0;
            // logprobs[t - 1] = log p(ids[t] | ids[<t]).
            for (let t = chunk[j].from; t < chunk[j].ids.length; t++) sum += s.logprobs[t - 1];
            ll.push(sum);
          });
        }
        let at = 0;
        let correct = 0;
        for (const it of items) {
          const mine = ll.slice(at, at + it.conts.length);
          at += it.conts.length;
          if (mine.indexOf(Math.max(...mine)) === it.gold) correct++;
        }
        return { metric: "acc", value: correct / items.length, n: items.length };
      };
    },
  };
}

/** A task scored by @nas/eval on its seeded `limit` subset (no result cache: every sub-network is new). */
function lmEvalTask(name: string, tokenizer: Tokenizer, model: EvalModelInfo, o: Required<TaskOptions>): PreparedTask {
  const { metric, direction } = taskMetric(name, true);
  return {
    name,
    metric,
    direction,
    async score(scorer, subnet, signal) {
      checkAborted(signal);
      const r = (await lmEvaluate(scorer, tokenizer, model, subnet, [name], { limit: o.limit, cache: null }))[name];
      const value = r.metrics[metric];
      if (typeof value !== "number") throw new Error(`task ${name} returned no ${metric} metric`);
      return { metric, value, n: r.samples };
    },
  };
}
