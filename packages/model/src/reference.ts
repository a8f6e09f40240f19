/**
 * The float64 CPU reference forward pass of the elastic LLaMA: the ground truth for GPU kernel tests and
 * evaluation tests. Weights are upcast to float64 once; a sub-network is applied by prefix slicing of the
 * stored order (../../../shared/README.md, fixtures section), reading weight prefixes in place:
 * - `layers[i] === false`: layer i is skipped (the residual stream passes through);
 * - `mlp[i] = k`: first k rows of gate/up, first k columns of down;
 * - `kvHeads[i] = g`: first g KV heads (rows of k/v) and their g * heads/kvHeads query heads (rows of q,
 *   columns of o).
 * Plain loops, meant for small models (a float64 copy of the weights is held in memory).
 */
import { tensorToFloat32 } from "./dtypes.ts";
import { lmHeadWeight, loadModel } from "./load.ts";
import { addInPlace, applyRope, argmax, linear, logSoftmax, rmsNorm, ropeInvFreqF32, swiglu } from "./reference-math.ts";
import type { TokenScorer, TokenScores } from "./scorer.ts";
import { normalizeSubnet, queryHeadsFor } from "./subnet.ts";
import type { LlamaConfig, SubNetwork, SubNetworkSpec, Tensor } from "./types.ts";

/** Thrown for token ids or lengths the model cannot take; the message names the sequence and position. */
export class ReferenceInputError extends Error {
  override name = "ReferenceInputError";
}

interface LayerWeights {
  attnNorm: Float64Array;
  q: Float64Array; // [heads * headDim, hidden]
  k: Float64Array; // [kvHeads * headDim, hidden]
  v: Float64Array; // [kvHeads * headDim, hidden]
  o: Float64Array; // [hidden, heads * headDim]
  mlpNorm: Float64Array;
  gate: Float64Array; // [ff, hidden]
  up: Float64Array; // [ff, hidden]
  down: Float64Array; // [hidden, ff]
  fullQ: number; // heads * headDim: the row stride of o
  fullFf: number; // ff: the row stride of down
}

/** Keys and values (after RoPE) of the positions seen so far, per layer: [positions, kvDim] each. */
interface LayerCache {
  k: Float64Array;
  v: Float64Array;
}

/** Greedy generation settings. */
export interface GreedyOptions {
  /** Stop after emitting the EOS token (it is included). Default false: always produce `maxNew` tokens. */
  stopAtEos?: boolean;
}
const greedyDefaults = { stopAtEos: false } satisfies Required<GreedyOptions>;

/**
 * @example
 * const ref = await ReferenceModel.load("../shared/models/stories260K-hf");
 * const rows = ref.logits([1, 403, 407], { mlp: [172, 128, 96, 64, 172] }); // 3 rows of 512 logits
 */
export class ReferenceModel implements TokenScorer {
  readonly config: LlamaConfig;
  private readonly embed: Float64Array; // [vocab, hidden]
  private readonly lmHead: Float64Array; // [vocab, hidden]
  private readonly norm: Float64Array;
  private readonly layers: LayerWeights[] = [];
  private readonly invFreq: Float64Array;

  constructor(config: LlamaConfig, tensors: Map<string, Tensor>) {
    this.config = config;
    const get = (name: string): Float64Array => {
      const t = tensors.get(name);
      if (!t) throw new Error(`reference model: missing tensor "${name}"`);
      return Float64Array.from(tensorToFloat32(t));
    };
    this.embed = get("model.embed_tokens.weight");
    const head = lmHeadWeight(config, tensors);
    this.lmHead = head.name === "model.embed_tokens.weight" ? this.embed : Float64Array.from(tensorToFloat32(head));
    this.norm = get("model.norm.weight");
    for (let i = 0; i < config.numLayers; i++) {
      const p = `model.layers.${i}.`;
      this.layers.push({
        attnNorm: get(`${p}input_layernorm.weight`),
        q: get(`${p}self_attn.q_proj.weight`),
        k: get(`${p}self_attn.k_proj.weight`),
        v: get(`${p}self_attn.v_proj.weight`),
        o: get(`${p}self_attn.o_proj.weight`),
        mlpNorm: get(`${p}post_attention_layernorm.weight`),
        gate: get(`${p}mlp.gate_proj.weight`),
        up: get(`${p}mlp.up_proj.weight`),
        down: get(`${p}mlp.down_proj.weight`),
        fullQ: (config.perLayer?.numHeads[i] ?? config.numHeads) * config.headDim,
        fullFf: config.perLayer?.intermediateSize[i] ?? config.intermediateSize,
      });
    }
    this.invFreq = ropeInvFreqF32(config.rope, config.headDim);
  }

  /** Load a model directory or llama2.c file (see loadModel) into a reference model. */
  static async load(path: string): Promise<ReferenceModel> {
    const m = await loadModel(path);
    return new ReferenceModel(m.config, m.tensors);
  }

  /**
   * Logits at every position of `ids` under a sub-network: one Float64Array of vocabSize per position.
   *
   * @example
   * ref.logits([1, 5, 9], null).length // 3
   */
  logits(ids: number[], subnet?: SubNetworkSpec): Float64Array[] {
    const s = normalizeSubnet(this.config, subnet);
    this.checkIds(ids, 0);
    return this.forward(ids, s, this.emptyCache(s), 0);
  }

  /** Sum over t >= 1 of -log p(ids[t] | ids[<t]) (natural log), as the fixtures' `sum_nll`. */
  sumNll(ids: number[], subnet?: SubNetworkSpec): number {
    const rows = this.logits(ids, subnet);
    let nll = 0;
    for (let t = 1; t < ids.length; t++) nll -= logSoftmax(rows[t - 1])[ids[t]];
    return nll;
  }

  /**
   * TokenScorer: per-token log-probs and argmax for ragged sequences (computed in float64, returned as f32). The
   * last token is only a target, so a sequence may hold maxPositions + 1 tokens (lm-eval's truncation window).
   */
  async scoreTokens(sequences: number[][], subnet: SubNetworkSpec): Promise<TokenScores[]> {
    const s = normalizeSubnet(this.config, subnet);
    return sequences.map((ids, b) => {
      this.checkIds(ids, b, this.config.maxPositions + 1);
      if (ids.length === 1) return { logprobs: new Float32Array(0), argmax: new Int32Array(0) };
      const rows = this.forward(ids.slice(0, -1), s, this.emptyCache(s), 0);
      const logprobs = new Float32Array(ids.length - 1);
      const best = new Int32Array(ids.length - 1);
      for (let t = 1; t < ids.length; t++) {
        logprobs[t - 1] = logSoftmax(rows[t - 1])[ids[t]];
        best[t - 1] = argmax(rows[t - 1]);
      }
      return { logprobs, argmax: best };
    });
  }

  /**
   * Greedy decoding with a KV cache: returns the `maxNew` new tokens (fewer if EOS stops it).
   *
   * @example
   * ref.generateGreedy([1], null, 200) // stories260K: [403, 407, 261, ...]
   */
  generateGreedy(prompt: number[], subnet: SubNetworkSpec, maxNew: number, options: GreedyOptions = {}): number[] {
    const o = { ...greedyDefaults, ...options };
    const s = normalizeSubnet(this.config, subnet);
    if (!Number.isSafeInteger(maxNew) || maxNew < 0) throw new ReferenceInputError(`maxNew must be a non-negative integer, got ${maxNew}`);
    this.checkIds(prompt, 0);
    if (prompt.length + maxNew > this.config.maxPositions) {
      throw new ReferenceInputError(`prompt (${prompt.length}) + maxNew (${maxNew}) exceeds max positions ${this.config.maxPositions}`);
    }
    const cache = this.emptyCache(s);
    const out: number[] = [];
    let rows = this.forward(prompt, s, cache, 0);
    for (let pos = prompt.length; out.length < maxNew; pos++) {
      const next = argmax(rows[rows.length - 1]);
      out.push(next);
      if (o.stopAtEos && next === this.config.eosTokenId) break;
      if (out.length < maxNew) rows = this.forward([next], s, cache, pos);
    }
    return out;
  }

  private checkIds(ids: number[], seq: number, limit = this.config.maxPositions): void {
    if (!Array.isArray(ids) || ids.length === 0) throw new ReferenceInputError(`sequence ${seq} is empty`);
    if (ids.length > limit) throw new ReferenceInputError(`sequence ${seq} has ${ids.length} tokens, more than ${limit === this.config.maxPositions ? `max positions ${limit}` : `max positions + 1 (${limit})`}`);
    ids.forEach((id, t) => {
      if (!Number.isInteger(id) || id < 0 || id >= this.config.vocabSize) {
        throw new ReferenceInputError(`sequence ${seq} position ${t}: token id ${id} is not in [0, ${this.config.vocabSize})`);
      }
    });
  }

  private emptyCache(s: SubNetwork): LayerCache[] {
    return s.kvHeads.map(() => ({ k: new Float64Array(0), v: new Float64Array(0) }));
  }

  /** Run `ids` at positions start.. through the network, appending to `cache`; returns their logits. */
  private forward(ids: number[], s: SubNetwork, cache: LayerCache[], start: number): Float64Array[] {
    const c = this.config;
    const d = c.hiddenSize;
    const n = ids.length;
    const x = new Float64Array(n * d); // residual stream [n, hidden]
    ids.forEach((id, t) => x.set(this.embed.subarray(id * d, (id + 1) * d), t * d));
    for (let i = 0; i < c.numLayers; i++) {
      if (!s.layers[i]) continue;
      this.attention(x, n, i, s.kvHeads[i], cache[i], start);
      this.mlp(x, n, i, s.mlp[i]);
    }
    const h = rmsNorm(x, n, d, this.norm, c.rmsNormEps);
    const logits = linear(h, n, d, this.lmHead, d, c.vocabSize); // [n, vocab]
    return Array.from({ length: n }, (_, t) => logits.slice(t * c.vocabSize, (t + 1) * c.vocabSize));
  }

  private attention(x: Float64Array, n: number, i: number, g: number, cache: LayerCache, start: number): void {
    const c = this.config;
    const w = this.layers[i];
    const d = c.hiddenSize;
    const hd = c.headDim;
    const qHeads = queryHeadsFor(c, i, g);
    const group = qHeads / g; // query heads per KV head
    const kvDim = g * hd;
    const h = rmsNorm(x, n, d, w.attnNorm, c.rmsNormEps);
    const q = linear(h, n, d, w.q, d, qHeads * hd); // [n, qHeads * hd]
    const k = linear(h, n, d, w.k, d, kvDim); // [n, g * hd]
    const v = linear(h, n, d, w.v, d, kvDim);
    applyRope(q, n, qHeads, hd, start, this.invFreq);
    applyRope(k, n, g, hd, start, this.invFreq);
    cache.k = concat(cache.k, k);
    cache.v = concat(cache.v, v);
    const scale = 1 / Math.sqrt(hd);
    const out = new Float64Array(n * qHeads * hd); // [n, qHeads * hd]
    const scores = new Float64Array(start + n);
    for (let t = 0; t < n; t++) {
      const len = start + t + 1; // causal: positions 0..start+t
      for (let qh = 0; qh < qHeads; qh++) {
        const kh = Math.floor(qh / group);
        const qo = t * qHeads * hd + qh * hd;
        let max = -Infinity;
        for (let p = 0; p < len; p++) {
          let dot = 0;
          for (let e = 0; e < hd; e++) dot += q[qo + e] * cache.k[p * kvDim + kh * hd + e];
          scores[p] = dot * scale;
          if (scores[p] > max) max = scores[p];
        }
        let sum = 0;
        for (let p = 0; p < len; p++) sum += scores[p] = Math.exp(scores[p] - max);
        for (let p = 0; p < len; p++) {
          const wgt = scores[p] / sum;
          for (let e = 0; e < hd; e++) out[qo + e] += wgt * cache.v[p * kvDim + kh * hd + e];
        }
      }
    }
    addInPlace(x, linear(out, n, qHeads * hd, w.o, w.fullQ, d));
  }

  private mlp(x: Float64Array, n: number, i: number, k: number): void {
    const c = this.config;
    const w = this.layers[i];
    const d = c.hiddenSize;
    const h = rmsNorm(x, n, d, w.mlpNorm, c.rmsNormEps);
    const act = swiglu(linear(h, n, d, w.gate, d, k), linear(h, n, d, w.up, d, k)); // [n, k]
    addInPlace(x, linear(act, n, k, w.down, w.fullFf, d));
  }
}

function concat(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
