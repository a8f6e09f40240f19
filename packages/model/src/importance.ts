/**
 * Calibration-based importance of MLP channels, KV-head groups and layers (Minitron-style activation
 * statistics), measured with a float64 forward pass of the full model over calibration tokens.
 *
 * Scores (all averaged over every calibration token; higher = more important):
 * - MLP channel j of layer l, metric "contribution" (default): mean_t |silu(gate_j) * up_j| * ||down[:, j]||_2,
 *   the exact L2 norm of that channel's write into the residual stream. Metric "activation": mean_t
 *   |silu(gate_j) * up_j| (Minitron's neuron score, blind to the scale of down_proj).
 * - KV group g (KV head g and its query heads): "contribution": mean_t ||o_proj[:, cols_g] * attn_g||_2, the L2
 *   norm of the group's write into the residual stream; "activation": mean_t ||attn_g||_2, the norm of the
 *   group's attention output before o_proj (Minitron's head score).
 * - Layer l: mean_t (1 - cos(x_in, x_out)) of the residual stream through the whole layer (ShortGPT's block
 *   influence). Reported only: layers are skipped by the search, never reordered.
 *
 * The forward repeats ./reference.ts's per-layer loop (full model, no KV cache) on the ./reference-math.ts
 * helpers so it can observe activations without hooks in the reference model.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { tensorToFloat32 } from "./dtypes.ts";
import { sharedDir } from "./paths.ts";
import type { ImportancePermutation } from "./permute.ts";
import { addInPlace, applyRope, linear, rmsNorm, ropeInvFreqF32, swiglu } from "./reference-math.ts";
import type { LlamaConfig, Tensor, Tokenizer } from "./types.ts";

/** Raw importance scores per layer (see the module comment for their definitions). */
export interface ImportanceScores {
  mlp: number[][];
  kvHeads: number[][];
  layers: number[];
}

/** Options for {@link measureImportance}. */
export interface ImportanceOptions {
  /** "contribution" (default): norm of what a channel/group writes into the residual; "activation": Minitron's raw activation norm. */
  metric?: "contribution" | "activation";
}
const importanceDefaults = { metric: "contribution" } satisfies Required<ImportanceOptions>;

/** Thrown for unusable calibration input (no tokens, ids out of range, sequence longer than the model allows). */
export class ImportanceError extends Error {
  override name = "ImportanceError";
}

/** Full-precision copy of one tensor; a clear error when missing. */
function f64(tensors: ReadonlyMap<string, Tensor>, name: string): Float64Array {
  const t = tensors.get(name);
  if (!t) throw new ImportanceError(`importance: missing tensor "${name}"`);
  return Float64Array.from(tensorToFloat32(t));
}

/** Mean over tokens of each column's |value| (act [n, k] -> [k]), accumulated into `acc`. */
function accumulateAbs(acc: Float64Array, act: Float64Array, n: number, k: number): void {
  for (let t = 0; t < n; t++) for (let j = 0; j < k; j++) acc[j] += Math.abs(act[t * k + j]);
}

/** Per-token L2 norm of rows of y [n, d], summed over tokens. */
function sumRowNorms(y: Float64Array, n: number, d: number): number {
  let s = 0;
  for (let t = 0; t < n; t++) {
    let ss = 0;
    for (let c = 0; c < d; c++) ss += y[t * d + c] ** 2;
    s += Math.sqrt(ss);
  }
  return s;
}

/** Sum over tokens of 1 - cos(a_t, b_t) for rows of [n, d]. */
function sumCosineDistance(a: Float64Array, b: Float64Array, n: number, d: number): number {
  let s = 0;
  for (let t = 0; t < n; t++) {
    let ab = 0, aa = 0, bb = 0;
    for (let c = 0; c < d; c++) {
      const x = a[t * d + c], y = b[t * d + c];
      ab += x * y; aa += x * x; bb += y * y;
    }
    s += 1 - ab / Math.sqrt(aa * bb || 1);
  }
  return s;
}

/** Columns [c0, c0 + w) of a row-major [rows, stride] matrix as a dense [rows, w] one. */
function columns(m: Float64Array, rows: number, stride: number, c0: number, w: number): Float64Array {
  const out = new Float64Array(rows * w);
  for (let r = 0; r < rows; r++) out.set(m.subarray(r * stride + c0, r * stride + c0 + w), r * w);
  return out;
}

/**
 * Measure importance scores of a model (HF-named tensors, any dtype) over calibration sequences.
 * Cost: one float64 forward pass of every sequence (plain loops; fine for small models).
 *
 * @example
 * const m = await loadModel(defaultModelPath());
 * const scores = measureImportance(m.config, m.tensors, calibrationSequences(loadTokenizer(defaultModelPath())));
 * scores.mlp[0].length // 172
 */
export function measureImportance(
  config: LlamaConfig,
  tensors: ReadonlyMap<string, Tensor>,
  sequences: number[][],
  options: ImportanceOptions = {},
): ImportanceScores {
  const o = { ...importanceDefaults, ...options };
  if (o.metric !== "contribution" && o.metric !== "activation") throw new ImportanceError(`importance metric must be "contribution" or "activation", got ${JSON.stringify(o.metric)}`);
  const d = config.hiddenSize;
  const hd = config.headDim;
  const embed = f64(tensors, "model.embed_tokens.weight"); // [vocab, hidden]
  const invFreq = ropeInvFreqF32(config.rope, hd);
  let tokens = 0;
  sequences.forEach((ids, b) => {
    if (!Array.isArray(ids) || ids.length === 0) throw new ImportanceError(`calibration sequence ${b} is empty`);
    if (ids.length > config.maxPositions) throw new ImportanceError(`calibration sequence ${b} has ${ids.length} tokens, more than max positions ${config.maxPositions}`);
    ids.forEach((id, t) => {
      if (!Number.isInteger(id) || id < 0 || id >= config.vocabSize) throw new ImportanceError(`calibration sequence ${b} position ${t}: token id ${id} is not in [0, ${config.vocabSize})`);
    });
    tokens += ids.length;
  });
  if (tokens === 0) throw new ImportanceError("no calibration tokens");

  // Residual streams of all sequences, advanced layer by layer so each layer's weights are upcast once.
  const streams = sequences.map((ids) => {
    const x = new Float64Array(ids.length * d); // [n, hidden]
    ids.forEach((id, t) => x.set(embed.subarray(id * d, (id + 1) * d), t * d));
    return x;
  });
  const scores: ImportanceScores = { mlp: [], kvHeads: [], layers: [] };
  for (let i = 0; i < config.numLayers; i++) {
    const p = `model.layers.${i}.`;
    const heads = config.perLayer?.numHeads[i] ?? config.numHeads;
    const kvHeads = config.perLayer?.numKvHeads[i] ?? config.numKvHeads;
    const ff = config.perLayer?.intermediateSize[i] ?? config.intermediateSize;
    const ratio = heads / kvHeads;
    const w = {
      attnNorm: f64(tensors, `${p}input_layernorm.weight`),
      q: f64(tensors, `${p}self_attn.q_proj.weight`), // [heads * hd, hidden]
      k: f64(tensors, `${p}self_attn.k_proj.weight`), // [kvHeads * hd, hidden]
      v: f64(tensors, `${p}self_attn.v_proj.weight`),
      o: f64(tensors, `${p}self_attn.o_proj.weight`), // [hidden, heads * hd]
      mlpNorm: f64(tensors, `${p}post_attention_layernorm.weight`),
      gate: f64(tensors, `${p}mlp.gate_proj.weight`), // [ff, hidden]
      up: f64(tensors, `${p}mlp.up_proj.weight`),
      down: f64(tensors, `${p}mlp.down_proj.weight`), // [hidden, ff]
    };
    // o_proj columns of each group, [hidden, ratio * hd] each, for the contribution metric.
    const oGroups = Array.from({ length: kvHeads }, (_, g) => columns(w.o, d, heads * hd, g * ratio * hd, ratio * hd));
    const downNorm = new Float64Array(ff).fill(1);
    if (o.metric === "contribution") {
      for (let j = 0; j < ff; j++) {
        let ss = 0;
        for (let r = 0; r < d; r++) ss += w.down[r * ff + j] ** 2;
        downNorm[j] = Math.sqrt(ss);
      }
    }
    const mlpAcc = new Float64Array(ff);
    const kvAcc = new Float64Array(kvHeads);
    let layerAcc = 0;
    for (const x of streams) {
      const n = x.length / d;
      const before = x.slice();
      // Attention (causal, GQA), as ReferenceModel.attention with start = 0 and no cache.
      const h = rmsNorm(x, n, d, w.attnNorm, config.rmsNormEps);
      const q = linear(h, n, d, w.q, d, heads * hd); // [n, heads * hd]
      const k = linear(h, n, d, w.k, d, kvHeads * hd); // [n, kvHeads * hd]
      const v = linear(h, n, d, w.v, d, kvHeads * hd);
      applyRope(q, n, heads, hd, 0, invFreq);
      applyRope(k, n, kvHeads, hd, 0, invFreq);
      const att = new Float64Array(n * heads * hd); // [n, heads * hd]
      const scale = 1 / Math.sqrt(hd);
      const scores1 = new Float64Array(n);
      for (let t = 0; t < n; t++) {
        for (let qh = 0; qh < heads; qh++) {
          const kh = Math.floor(qh / ratio);
          const qo = t * heads * hd + qh * hd;
          let max = -Infinity;
          for (let s = 0; s <= t; s++) {
            let dot = 0;
            for (let e = 0; e < hd; e++) dot += q[qo + e] * k[s * kvHeads * hd + kh * hd + e];
            scores1[s] = dot * scale;
            if (scores1[s] > max) max = scores1[s];
          }
          let sum = 0;
          for (let s = 0; s <= t; s++) sum += scores1[s] = Math.exp(scores1[s] - max);
          for (let s = 0; s <= t; s++) {
            const a = scores1[s] / sum;
            for (let e = 0; e < hd; e++) att[qo + e] += a * v[s * kvHeads * hd + kh * hd + e];
          }
        }
      }
      for (let g = 0; g < kvHeads; g++) {
        const part = columns(att, n, heads * hd, g * ratio * hd, ratio * hd); // [n, ratio * hd]
        kvAcc[g] += o.metric === "contribution" ? sumRowNorms(linear(part, n, ratio * hd, oGroups[g], ratio * hd, d), n, d) : sumRowNorms(part, n, ratio * hd);
      }
      addInPlace(x, linear(att, n, heads * hd, w.o, heads * hd, d));
      // MLP.
      const h2 = rmsNorm(x, n, d, w.mlpNorm, config.rmsNormEps);
      const act = swiglu(linear(h2, n, d, w.gate, d, ff), linear(h2, n, d, w.up, d, ff)); // [n, ff]
      accumulateAbs(mlpAcc, act, n, ff);
      addInPlace(x, linear(act, n, ff, w.down, ff, d));
      layerAcc += sumCosineDistance(before, x, n, d);
    }
    scores.mlp.push(Array.from(mlpAcc, (s, j) => (s * downNorm[j]) / tokens));
    scores.kvHeads.push(Array.from(kvAcc, (s) => s / tokens));
    scores.layers.push(layerAcc / tokens);
  }
  return scores;
}

/** Indices sorted by descending score (ties keep the lower index first, so the result is deterministic). */
function rankDescending(scores: readonly number[]): number[] {
  return scores.map((_, j) => j).sort((a, b) => scores[b] - scores[a] || a - b);
}

/**
 * The permutation that puts the highest-scoring channels / groups first in every layer (layer scores are
 * carried along as `layerScores`).
 *
 * @example
 * const perm = permutationFromScores(scores);
 * const reordered = applyPermutation(m.config, m.tensors, perm);
 */
export function permutationFromScores(scores: ImportanceScores): ImportancePermutation {
  return { mlp: scores.mlp.map(rankDescending), kvHeads: scores.kvHeads.map(rankDescending), layerScores: scores.layers.slice() };
}

/** Options for {@link calibrationSequences}; defaults in the comments. */
export interface CalibrationOptions {
  /** Number of sequences. Default 8. */
  count?: number;
  /** Tokens per sequence, BOS included. Default 128. */
  length?: number;
  /** Character offset into the TinyStories sample where calibration text starts. Default 400000 (the second half, away from evaluation text that starts at 0). */
  offset?: number;
  /** Text file to draw from. Default ../shared/data/tinystories/tinystories_validation_sample.txt. */
  file?: string;
}
const calibrationDefaults = { count: 8, length: 128, offset: 400_000, file: "" } satisfies Required<CalibrationOptions>;

/**
 * Calibration token sequences from TinyStories: consecutive windows of `length - 1` tokens of the text after
 * `offset`, each with BOS prepended.
 *
 * @example
 * calibrationSequences(loadTokenizer(defaultModelPath()), { count: 4, length: 64 }) // 4 arrays of 64 ids
 */
export function calibrationSequences(tokenizer: Tokenizer, options: CalibrationOptions = {}): number[][] {
  const o = { ...calibrationDefaults, ...options };
  const file = o.file || join(sharedDir(), "data/tinystories/tinystories_validation_sample.txt");
  if (!Number.isInteger(o.count) || o.count < 1) throw new ImportanceError(`calibration count must be a positive integer, got ${o.count}`);
  if (!Number.isInteger(o.length) || o.length < 2) throw new ImportanceError(`calibration length must be an integer >= 2, got ${o.length}`);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ImportanceError(`cannot read calibration text ${file}: ${(e as Error).message}`);
  }
  // Roughly 3 characters per token for a small vocabulary; take generously and check below.
  const want = o.count * (o.length - 1);
  const chunk = text.slice(o.offset, o.offset + want * 8);
  const ids = tokenizer.encode(chunk, { bos: false });
  if (ids.length < want) throw new ImportanceError(`${file}: only ${ids.length} tokens after offset ${o.offset}, need ${want}`);
  return Array.from({ length: o.count }, (_, s) => [tokenizer.bosId, ...ids.slice(s * (o.length - 1), (s + 1) * (o.length - 1))]);
}
