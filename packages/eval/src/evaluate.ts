/**
 * The evaluator contract: (model, sub-network, task list + options) -> metrics record, lm-eval-faithful, with
 * seeded `limit` subsets and results cached by (model hash, sub-network key, task, options).
 */
import { createHash } from "node:crypto";
import { normalizeSubnet, subnetKey, type LlamaConfig, type SubNetwork, type SubNetworkSpec, type TokenScorer, type Tokenizer } from "@nas/model";
import { cacheKey, MemoryCache, type EvalCache } from "./cache.ts";
import { defaultDataDir } from "./data.ts";
import { LoglikelihoodRunner, type RunnerStats } from "./lm.ts";
import { aggregate, meanStderr, type MetricValue } from "./metrics.ts";
import { getTask } from "./registry.ts";
import { seededSubset, subsetInfo, type SubsetInfo } from "./subset.ts";
import type { RequestResult, TaskDefinition, TaskDoc } from "./task.ts";

/** What evaluation needs to know about the model besides its scorer. EngineModel and LoadedModel fit. */
export interface EvalModelInfo {
  config: LlamaConfig;
  /** ModelSource.hash; without it results are not cached (nothing identifies the weights) */
  source?: { hash: string };
}

/** Options of {@link evaluate}; every field is optional. */
export interface EvaluateOptions {
  /** Documents per task (a seeded fixed subset; stratified by subject for MMLU). Default null: the full set. */
  limit?: number | null;
  /** Seed of the `limit` subsets. Default 1234. */
  seed?: number;
  /** Few-shot examples (MMLU only). Default null: the task's default (MMLU 5, others 0). */
  numFewshot?: number | null;
  /** Model context for truncation and rolling windows (lm-eval max_length). Default config.maxPositions. */
  maxLength?: number;
  /** Encode with BOS, as lm-eval 0.4.13 does with HF LLaMA tokenizers. Default true. */
  addBos?: boolean;
  /**
   * Most tokens / sequences per scorer call. Defaults 16384 / 256: the token budget is the working limit, and 256
   * sequences let short continuations fill it (ARC-Easy limit 200: 4 engine calls instead of 13 at 64, ~5% faster).
   */
  batchTokens?: number;
  batchSize?: number;
  /** Share a context's work between its choices when the scorer supports it. Default true. */
  sharePrefixes?: boolean;
  /** Continuations longer than maxLength: "truncate" (default; counted in stats.overlong) or "error" (lm-eval). */
  overlong?: "truncate" | "error";
  /** Folder with the task data. Default ../shared/data. */
  dataDir?: string;
  /** Result cache; null disables. Default: a process-wide in-memory cache. */
  cache?: EvalCache | null;
  /** Identity of the tokenizer in cache keys. Default: a fingerprint of its behaviour on a probe string. */
  tokenizerKey?: string;
  /** Keep per-document request results and metric values in the result (faithfulness checks). Default false. */
  keepDocs?: boolean;
}
const defaults = {
  limit: null,
  seed: 1234,
  numFewshot: null,
  addBos: true,
  batchTokens: 16384,
  batchSize: 256,
  sharePrefixes: true,
  overlong: "truncate",
  keepDocs: false,
} satisfies Partial<EvaluateOptions>;

/** Per-document detail, kept when `keepDocs`. */
export interface DocDetail {
  index: number;
  results: RequestResult[];
  values: Record<string, MetricValue>;
}

/** The result of one task. */
export interface TaskResult {
  /** lm-eval metric names; `<m>_stderr` for mean-aggregated metrics (n >= 2); MMLU adds acc_macro */
  metrics: Record<string, number>;
  /** documents scored */
  samples: number;
  /** documents in the full evaluation split */
  total: number;
  /** the seeded subset used, null for the full set */
  subset: SubsetInfo | null;
  numFewshot: number;
  /** MMLU: per-subject and per-category metrics */
  groups?: Record<string, { metrics: Record<string, number>; samples: number }>;
  docs?: DocDetail[];
  /** true when served from the cache */
  cached: boolean;
  /** scorer work for this task (absent when cached) */
  stats?: RunnerStats;
}

export type EvalResults = Record<string, TaskResult>;

const sharedCache = new MemoryCache();
const docsMemo = new Map<string, TaskDoc[]>();

function loadDocs(def: TaskDefinition, dataDir: string, numFewshot: number): TaskDoc[] {
  const key = `${def.name}\u0000${dataDir}\u0000${numFewshot}`;
  let docs = docsMemo.get(key);
  if (!docs) {
    docs = def.load(dataDir, { numFewshot });
    docsMemo.set(key, docs);
  }
  return docs;
}

/** A tokenizer's identity for cache keys: its class, sizes and ids of a probe that exercises its options. */
export function tokenizerFingerprint(t: Tokenizer): string {
  const probe = t.encode(" Hello,\n  world <s> \u00e9\u4e2d\ud83d\ude00 \u2581x ");
  return createHash("sha256").update(JSON.stringify([t.constructor?.name, t.vocabSize, t.bosId, t.eosId, probe])).digest("hex").slice(0, 16);
}

/**
 * Evaluate a (sub-)network on lm-eval tasks. Throws UnknownTaskError (listing valid names) for a bad task name.
 *
 * @example
 * const results = await evaluate(scorer, tokenizer, { config, source }, null, ["arc_easy", "piqa"], { limit: 200 });
 * results.arc_easy.metrics.acc_norm;
 */
export async function evaluate(
  scorer: TokenScorer,
  tokenizer: Tokenizer,
  model: EvalModelInfo,
  subnet: SubNetwork | SubNetworkSpec,
  tasks: string[],
  options: EvaluateOptions = {},
): Promise<EvalResults> {
  const o = { ...defaults, ...options };
  const defs = tasks.map(getTask); // fail on any unknown name before doing work
  const sub = normalizeSubnet(model.config, subnet);
  const maxLength = o.maxLength ?? model.config.maxPositions;
  const dataDir = o.dataDir ?? defaultDataDir();
  const cache = o.cache === undefined ? sharedCache : o.cache;
  const tokKey = o.tokenizerKey ?? tokenizerFingerprint(tokenizer);
  if (o.limit !== null && (!Number.isInteger(o.limit) || o.limit < 1)) throw new RangeError(`limit must be a positive integer or null, got ${o.limit}`);

  const results: EvalResults = {};
  for (const def of defs) {
    const numFewshot = o.numFewshot ?? def.fewshot?.default ?? 0;
    if (!Number.isInteger(numFewshot) || numFewshot < 0) throw new RangeError(`numFewshot must be a non-negative integer, got ${numFewshot}`);
    if (numFewshot > 0 && !def.fewshot) throw new RangeError(`task ${def.name} has no few-shot examples (numFewshot must be 0)`);
    if (def.fewshot && numFewshot > def.fewshot.max) throw new RangeError(`task ${def.name} allows at most ${def.fewshot.max} few-shot examples, got ${numFewshot}`);
    const key =
      cache && model.source?.hash
        ? cacheKey({ v: 1, model: model.source.hash, subnet: subnetKey(sub), task: def.name, numFewshot, limit: o.limit, seed: o.seed, maxLength, addBos: o.addBos, tokenizer: tokKey, keepDocs: o.keepDocs, overlong: o.overlong })
        : null;
    const hit = key ? (cache!.get(key) as TaskResult | undefined) : undefined;
    if (hit) {
      results[def.name] = { ...hit, cached: true };
      continue;
    }
    const runner = new LoglikelihoodRunner(scorer, tokenizer, sub, { maxLength, addBos: o.addBos, batchTokens: o.batchTokens, batchSize: o.batchSize, sharePrefixes: o.sharePrefixes, overlong: o.overlong });
    const result = await runTask(def, loadDocs(def, dataDir, numFewshot), runner, o.limit, o.seed, numFewshot, o.keepDocs);
    if (key) cache!.set(key, { ...result, stats: undefined });
    results[def.name] = result;
  }
  return results;
}

async function runTask(def: TaskDefinition, all: TaskDoc[], runner: LoglikelihoodRunner, limit: number | null, seed: number, numFewshot: number, keepDocs: boolean): Promise<TaskResult> {
  const indices = limit === null ? all.map((_, i) => i) : seededSubset(all.length, limit, seed, def.stratified ? all.map((d) => d.group ?? "") : undefined);
  const docs = indices.map((i) => all[i]);

  // Gather every request of the chosen documents; run loglikelihood ones together, rolling ones per BOS setting.
  const perDoc: RequestResult[][] = docs.map((d) => new Array<RequestResult>(d.requests.length));
  const ll: { d: number; r: number; context: string; continuation: string }[] = [];
  const rolling = new Map<boolean | undefined, { d: number; r: number; text: string }[]>();
  docs.forEach((doc, d) =>
    doc.requests.forEach((req, r) => {
      if (req.kind === "loglikelihood") ll.push({ d, r, context: req.context, continuation: req.continuation });
      else {
        const list = rolling.get(req.addBos) ?? [];
        list.push({ d, r, text: req.text });
        rolling.set(req.addBos, list);
      }
    }),
  );
  if (ll.length > 0) (await runner.loglikelihood(ll)).forEach((res, k) => (perDoc[ll[k].d][ll[k].r] = res));
  for (const [addBos, list] of rolling) {
    (await runner.rolling(list.map((x) => x.text), addBos)).forEach((res, k) => (perDoc[list[k].d][list[k].r] = res));
  }

  const values = docs.map((doc, d) => doc.score(perDoc[d]));
  const result: TaskResult = {
    metrics: summarize(def, values),
    samples: docs.length,
    total: all.length,
    subset: limit === null ? null : subsetInfo(indices, limit, seed, def.stratified === true),
    numFewshot,
    cached: false,
    stats: { ...runner.stats },
  };
  if (def.groupsOf) {
    const members = new Map<string, Record<string, MetricValue>[]>();
    docs.forEach((doc, d) => {
      for (const g of def.groupsOf!(doc.group ?? "")) {
        const list = members.get(g) ?? [];
        list.push(values[d]);
        members.set(g, list);
      }
    });
    result.groups = Object.fromEntries([...members].sort(([a], [b]) => a.localeCompare(b)).map(([g, vs]) => [g, { metrics: summarize(def, vs), samples: vs.length }]));
    // macro average over the documents' own groups (MMLU subjects), next to lm-eval's size-weighted acc
    const subjects = [...new Set(docs.map((doc) => doc.group ?? ""))];
    for (const m of Object.keys(def.metrics)) {
      if (def.metrics[m] === "mean") result.metrics[`${m}_macro`] = subjects.reduce((a, s) => a + result.groups![s].metrics[m], 0) / subjects.length;
    }
  }
  if (keepDocs) result.docs = docs.map((_, d) => ({ index: indices[d], results: perDoc[d], values: values[d] }));
  return result;
}

function summarize(def: TaskDefinition, values: Record<string, MetricValue>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [m, how] of Object.entries(def.metrics)) {
    const vs = values.map((v) => v[m]);
    out[m] = aggregate(vs, how);
    if (how === "mean" && vs.length >= 2) out[`${m}_stderr`] = meanStderr(vs as number[]);
  }
  return out;
}

/**
 * The CLI's JSON shape: `{"<task>": {"acc": x, "acc_norm": y, ..., "samples": n, "limit": k|null}}`.
 *
 * @example
 * console.log(JSON.stringify(toLmEvalJson(results)));
 */
export function toLmEvalJson(results: EvalResults): Record<string, Record<string, number | null>> {
  return Object.fromEntries(Object.entries(results).map(([task, r]) => [task, { ...r.metrics, samples: r.samples, limit: r.subset?.limit ?? null }]));
}
