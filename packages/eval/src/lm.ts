/**
 * lm-evaluation-harness request semantics on a TokenScorer (lm-eval 0.4.13 `TemplateLM.loglikelihood`,
 * `_encode_pair`, `HFLM._loglikelihood_tokens`, `HFLM.loglikelihood_rolling`, `utils.get_rolling_token_windows`):
 *
 * - loglikelihood(context, continuation): trailing whitespace of the context (Python `str.rstrip()`) moves to the
 *   front of the continuation; `whole = encode(context + continuation)`, `ctx = encode(context)` and the
 *   continuation tokens are `whole[len(ctx):]`. An empty context uses the BOS token as context. The scored
 *   sequence is `(ctx + cont)[-(maxLength + 1):]`: the model sees at most maxLength inputs and the last token is only
 *   a target. ll = sum of the continuation tokens' log-probs; is_greedy = every continuation token is the argmax.
 * - loglikelihood_rolling(text): `encode(text)` split into windows of maxLength predictions: the first window is
 *   BOS + tokens[:maxLength-1] predicting tokens[:maxLength], later windows predict the next (up to maxLength)
 *   tokens with the longest context that fits. ll = sum over windows.
 *
 * `encode` adds BOS when `addBos` (default true): lm-eval 0.4.13 passes no add_special_tokens, so HF's LLaMA
 * tokenizer adds its BOS (tokenizer_config add_bos_token=true). Older 0.4.x releases passed
 * add_special_tokens=False; set addBos=false to reproduce those.
 */
import { hasPrefixSharing, type PrefixGroup, type PrefixTokenScorer, type SubNetwork, type TokenScorer, type TokenScores, type Tokenizer } from "@nas/model";
import { pyRstrip } from "./pytext.ts";

// The prefix-sharing contract lives in @nas/model (the engine implements it); re-exported for eval's users.
export { hasPrefixSharing, type PrefixTokenScorer };

/** Thrown for a request that cannot be scored (empty continuation; an over-long one when overlong = "error"). */
export class RequestError extends Error {
  override name = "RequestError";
}

export interface LoglikelihoodResult {
  ll: number;
  isGreedy: boolean;
}

export interface RollingResult {
  ll: number;
  /** tokens predicted (the length of the encoded text) */
  tokens: number;
}

/** A request already in tokens, as lm-eval's `_loglikelihood_tokens` receives it. */
export interface TokenRequest {
  context: number[];
  continuation: number[];
}

/** Options of {@link LoglikelihoodRunner}. */
export interface RunnerOptions {
  /** The model's context length (lm-eval `max_length`). Required: normally config.maxPositions. */
  maxLength: number;
  /** Tokenizer adds BOS when encoding (lm-eval 0.4.13 with an HF LLaMA tokenizer). Default true. */
  addBos?: boolean;
  /** Most tokens in one scorer call (sum of sequence lengths). Default 16384. */
  batchTokens?: number;
  /** Most sequences in one scorer call. Default 256 (see EvaluateOptions.batchSize). */
  batchSize?: number;
  /** Use the scorer's scoreContinuations for requests sharing a context, when it has one. Default true. */
  sharePrefixes?: boolean;
  /**
   * A continuation longer than maxLength tokens: lm-eval aborts the whole run (`assert len(continuation_enc) <=
   * max_length`; PIQA on a 512-position model has two such documents). "truncate" (default) scores its last
   * maxLength tokens and counts it in stats.overlong; "error" throws like lm-eval.
   */
  overlong?: "truncate" | "error";
}
const runnerDefaults = { addBos: true, batchTokens: 16384, batchSize: 256, sharePrefixes: true, overlong: "truncate" } satisfies Omit<Required<RunnerOptions>, "maxLength">;

/**
 * Work counters; `tokensUnshared` is what the same requests cost without prefix sharing; `overlong` counts
 * continuations longer than maxLength that were scored on their last maxLength tokens only.
 */
export interface RunnerStats {
  calls: number;
  sequences: number;
  tokens: number;
  tokensUnshared: number;
  ms: number;
  overlong: number;
}

/**
 * encode() results per tokenizer, shared by every runner (the same texts recur for every candidate). Bounded by
 * the tokens it holds; when full it starts over (a search re-reads the same few thousand texts per candidate).
 */
const encodeCache = new WeakMap<Tokenizer, { map: Map<string, number[]>; tokens: number }>();
const ENCODE_CACHE_MAX_TOKENS = 4_000_000;
/** Requests tokenised and scored per round, bounding memory for large tasks (full MMLU 5-shot: 56K requests). */
const CHUNK = 4096;

/**
 * Computes lm-eval loglikelihoods with one TokenScorer and sub-network.
 *
 * @example
 * const runner = new LoglikelihoodRunner(scorer, tokenizer, subnet, { maxLength: 512 });
 * const [r] = await runner.loglikelihood([{ context: "Question: 2+2?\nAnswer:", continuation: " 4" }]);
 */
export class LoglikelihoodRunner {
  readonly stats: RunnerStats = { calls: 0, sequences: 0, tokens: 0, tokensUnshared: 0, ms: 0, overlong: 0 };
  private readonly opts: Required<RunnerOptions>;

  constructor(
    private readonly scorer: TokenScorer,
    private readonly tokenizer: Tokenizer,
    private readonly subnet: SubNetwork,
    options: RunnerOptions,
  ) {
    this.opts = { ...runnerDefaults, ...options };
    if (!Number.isInteger(this.opts.maxLength) || this.opts.maxLength < 2) throw new RequestError(`maxLength must be an integer >= 2, got ${this.opts.maxLength}`);
  }

  /** lm-eval `tok_encode`: encode with BOS when addBos (memoised per tokenizer). */
  encode(text: string, addBos = this.opts.addBos): number[] {
    let cache = encodeCache.get(this.tokenizer);
    if (!cache) encodeCache.set(this.tokenizer, (cache = { map: new Map(), tokens: 0 }));
    const key = (addBos ? "1" : "0") + text;
    let ids = cache.map.get(key);
    if (!ids) {
      ids = this.tokenizer.encode(text, { bos: addBos });
      if (cache.tokens + ids.length > ENCODE_CACHE_MAX_TOKENS) {
        cache.map.clear();
        cache.tokens = 0;
      }
      cache.map.set(key, ids);
      cache.tokens += ids.length;
    }
    return ids;
  }

  /** lm-eval `loglikelihood` request tokenisation (see the file comment). */
  encodePair(context: string, continuation: string): TokenRequest {
    if (context === "") {
      const cont = this.encode(continuation, false);
      const bos = this.tokenizer.bosId;
      return cont[0] !== bos ? { context: [bos], continuation: cont } : { context: cont.slice(0, 1), continuation: cont.slice(1) };
    }
    const stripped = pyRstrip(context);
    const moved = context.slice(stripped.length);
    const whole = this.encode(stripped + moved + continuation);
    const ctx = this.encode(stripped);
    return { context: ctx, continuation: whole.slice(ctx.length) };
  }

  /** Loglikelihoods of text requests (tokenised and scored in rounds of a few thousand to bound memory). */
  async loglikelihood(requests: { context: string; continuation: string }[]): Promise<LoglikelihoodResult[]> {
    const out: LoglikelihoodResult[] = [];
    for (let i = 0; i < requests.length; i += CHUNK) {
      const chunk = requests.slice(i, i + CHUNK).map((r) => this.encodePair(r.context, r.continuation));
      for (const r of await this.loglikelihoodTokens(chunk)) out.push(r);
    }
    return out;
  }

  /** Rolling loglikelihoods of whole texts (perplexity tasks). `addBos` overrides the runner's setting. */
  async rolling(texts: string[], addBos = this.opts.addBos): Promise<RollingResult[]> {
    const windows: TokenRequest[] = [];
    const owner: number[] = [];
    const counts = texts.map((text, i) => {
      const tokens = this.encode(text, addBos);
      for (const w of rollingWindows(tokens, this.tokenizer.bosId, this.opts.maxLength)) {
        windows.push(w);
        owner.push(i);
      }
      return tokens.length;
    });
    const results = await this.loglikelihoodTokens(windows);
    const ll = new Float64Array(texts.length);
    results.forEach((r, k) => (ll[owner[k]] += r.ll));
    return texts.map((_, i) => ({ ll: ll[i], tokens: counts[i] }));
  }

  /** lm-eval `_loglikelihood_tokens`: truncation, batching (longest first) and optional prefix sharing. */
  async loglikelihoodTokens(requests: TokenRequest[]): Promise<LoglikelihoodResult[]> {
    const L = this.opts.maxLength;
    const seqs = requests.map((r, i) => {
      if (r.context.length === 0) throw new RequestError(`request ${i}: empty context tokens`);
      if (r.continuation.length === 0) throw new RequestError(`request ${i}: the continuation encodes to no tokens`);
      let contLen = r.continuation.length;
      if (contLen > L) {
        if (this.opts.overlong === "error") throw new RequestError(`request ${i}: continuation of ${contLen} tokens exceeds the max length ${L} (raise maxLength, or use overlong: "truncate")`);
        this.stats.overlong++;
        contLen = L; // the window holds L + 1 tokens: one of context-or-continuation, then the last L scored
      }
      const all = r.context.concat(r.continuation);
      const seq = all.length > L + 1 ? all.slice(all.length - (L + 1)) : all;
      return { seq, contLen, index: i };
    });
    const out: LoglikelihoodResult[] = new Array(requests.length);
    const finish = (index: number, seq: number[], contLen: number, s: TokenScores, offset: number) => {
      // s holds scores for targets seq[offset + 1 ..]; the continuation is the last contLen targets
      let ll = 0;
      let greedy = true;
      for (let t = seq.length - contLen; t < seq.length; t++) {
        const k = t - 1 - offset;
        ll += s.logprobs[k];
        if (s.argmax[k] !== seq[t]) greedy = false;
      }
      out[index] = { ll, isGreedy: greedy };
    };

    const groups = this.opts.sharePrefixes && hasPrefixSharing(this.scorer) ? groupByPrefix(seqs) : seqs.map((s) => [s]);
    for (const g of groups) {
      const shared = g[0].seq.length - g[0].contLen;
      this.stats.tokensUnshared += g.reduce((a, s) => a + s.seq.length, 0);
      if (g.length > 1) this.stats.tokens += shared + g.reduce((a, s) => a + s.contLen, 0);
    }
    // Singletons go through plain batched scoring, longest first (lm-eval's order).
    const singles = groups.filter((g) => g.length === 1).map((g) => g[0]);
    singles.sort((a, b) => b.seq.length - a.seq.length || compareIds(a.seq, b.seq));
    for (const batch of this.batches(singles.map((s) => s.seq.length))) {
      const items = batch.map((k) => singles[k]);
      const scores = await this.call(() => this.scorer.scoreTokens(items.map((s) => s.seq), this.subnet), items.length, items.reduce((a, s) => a + s.seq.length, 0));
      items.forEach((s, k) => finish(s.index, s.seq, s.contLen, scores[k], 0));
    }
    // Groups sharing a context: several groups per scorer call, within the same token and sequence budgets.
    const multi = groups.filter((g) => g.length > 1);
    const prefixLenOf = (g: (typeof multi)[number]) => g[0].seq.length - g[0].contLen;
    const groupTokens = multi.map((g) => prefixLenOf(g) + g.reduce((a, s) => a + s.contLen, 0));
    for (const batch of this.batches(groupTokens, multi.map((g) => g.length))) {
      const scorer = this.scorer as PrefixTokenScorer;
      const request: PrefixGroup[] = batch.map((k) => {
        const g = multi[k];
        return { prefix: g[0].seq.slice(0, prefixLenOf(g)), continuations: g.map((s) => s.seq.slice(prefixLenOf(g))) };
      });
      const scores = await this.call(() => scorer.scoreContinuations(request, this.subnet), request.reduce((a, r) => a + r.continuations.length, 0), 0);
      // scores[b][k] covers targets seq[prefixLen ..]: offset so that target t maps to index t - prefixLen
      batch.forEach((gk, b) => multi[gk].forEach((s, k) => finish(s.index, s.seq, s.contLen, scores[b][k], prefixLenOf(multi[gk]) - 1)));
    }
    return out;
  }

  private async call<T>(fn: () => Promise<T>, sequences: number, tokens: number): Promise<T> {
    const t0 = performance.now();
    const r = await fn();
    this.stats.ms += performance.now() - t0;
    this.stats.calls++;
    this.stats.sequences += sequences;
    this.stats.tokens += tokens;
    return r;
  }

  /**
   * Split indices 0..n-1 into consecutive batches within the token and sequence budgets; item i costs
   * lengths[i] tokens and sequences[i] sequences (default 1).
   */
  private *batches(lengths: number[], sequences?: number[]): Generator<number[]> {
    let cur: number[] = [];
    let tokens = 0;
    let seqs = 0;
    for (let i = 0; i < lengths.length; i++) {
      const n = sequences?.[i] ?? 1;
      if (cur.length > 0 && (seqs + n > this.opts.batchSize || tokens + lengths[i] > this.opts.batchTokens)) {
        yield cur;
        cur = [];
        tokens = 0;
        seqs = 0;
      }
      cur.push(i);
      tokens += lengths[i];
      seqs += n;
    }
    if (cur.length > 0) yield cur;
  }
}

function compareIds(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** Group sequences whose context part (everything before the continuation) is identical. */
function groupByPrefix<T extends { seq: number[]; contLen: number }>(seqs: T[]): T[][] {
  const byKey = new Map<string, T[]>();
  for (const s of seqs) {
    const key = s.seq.slice(0, s.seq.length - s.contLen).join(",");
    const g = byKey.get(key);
    if (g) g.push(s);
    else byKey.set(key, [s]);
  }
  return [...byKey.values()];
}

/**
 * lm-eval `get_rolling_token_windows(tokens, prefix, maxLength, context_len=1)` followed by `make_disjoint_window`.
 *
 * @example
 * rollingWindows([5, 6, 7], 1, 2) // [{context:[1], continuation:[5,6]}, {context:[5], continuation:[7]}]
 */
export function rollingWindows(tokens: number[], prefixToken: number, maxLength: number): TokenRequest[] {
  const out: TokenRequest[] = [];
  if (tokens.length === 0) return out;
  const first = Math.min(maxLength, tokens.length);
  out.push({ context: [prefixToken], continuation: tokens.slice(0, first) });
  let predicted = first;
  while (predicted < tokens.length) {
    const predLen = Math.min(tokens.length - predicted, maxLength);
    const end = predicted + predLen;
    // window input is tokens[end - maxLength - 1, end - 1); made disjoint: context stops where predictions start
    out.push({ context: tokens.slice(end - maxLength - 1, end - predLen), continuation: tokens.slice(end - predLen, end) });
    predicted = end;
  }
  return out;
}
