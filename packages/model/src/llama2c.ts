/**
 * llama2.c "version 0" (legacy) checkpoints: a header of 7 int32 (dim, hidden_dim, n_layers, n_heads,
 * n_kv_heads, vocab_size, seq_len; a negative vocab_size means the classifier is stored separately), then
 * float32 weights grouped by kind across layers, in run.c's order:
 *   token_embedding [vocab, dim]; rms_att [L, dim]; wq [L, dim, dim]; wk [L, kv_dim, dim]; wv [L, kv_dim, dim];
 *   wo [L, dim, dim]; rms_ffn [L, dim]; w1 [L, hidden, dim]; w2 [L, dim, hidden]; w3 [L, hidden, dim];
 *   rms_final [dim]; freq_cis_real [seq, head/2]; freq_cis_imag [seq, head/2]; wcls [vocab, dim] if unshared.
 * Matrices are already [out, in] like PyTorch Linear. We convert to HF names and HF layout: llama2.c rotates
 * interleaved pairs (2i, 2i+1) of each head, HF rotates halves (i, i + head/2), so q/k rows are permuted.
 */
import type { LlamaConfig, Tensor } from "./types.ts";

/** Thrown for a malformed llama2.c file; the message names the file and the header field or tensor. */
export class Llama2cError extends Error {
  override name = "Llama2cError";
}

const HEADER_BYTES = 28;

/** The header fields; `sharedClassifier` is the sign of the stored vocab_size. */
export interface Llama2cHeader {
  dim: number;
  hiddenDim: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  vocabSize: number;
  seqLen: number;
  sharedClassifier: boolean;
}

/**
 * Read and sanity-check the 28-byte header.
 *
 * @example
 * parseLlama2cHeader(bytes, "stories260K.bin").dim // 64
 */
export function parseLlama2cHeader(bytes: Uint8Array, file: string): Llama2cHeader {
  if (bytes.byteLength < HEADER_BYTES) throw new Llama2cError(`${file}: ${bytes.byteLength} bytes, too short for the 28-byte llama2.c header (truncated)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  const names = ["dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"];
  const v = names.map((_, i) => view.getInt32(i * 4, true));
  v.forEach((x, i) => {
    if (i !== 5 && x <= 0) throw new Llama2cError(`${file}: header ${names[i]} = ${x} must be positive (not a llama2.c v0 file?)`);
  });
  const [dim, hiddenDim, numLayers, numHeads, numKvHeads, vocab, seqLen] = v;
  if (vocab === 0) throw new Llama2cError(`${file}: header vocab_size is 0`);
  if (dim % numHeads !== 0) throw new Llama2cError(`${file}: header dim ${dim} is not divisible by n_heads ${numHeads}`);
  if ((dim / numHeads) % 2 !== 0) throw new Llama2cError(`${file}: head size ${dim / numHeads} must be even for RoPE`);
  if (numHeads % numKvHeads !== 0) throw new Llama2cError(`${file}: header n_heads ${numHeads} is not a multiple of n_kv_heads ${numKvHeads}`);
  return { dim, hiddenDim, numLayers, numHeads, numKvHeads, vocabSize: Math.abs(vocab), seqLen, sharedClassifier: vocab > 0 };
}

/** The LlamaConfig a llama2.c header implies (run.c's constants: RoPE theta 10000, RMSNorm eps 1e-5, BOS 1, EOS 2). */
export function llama2cConfig(h: Llama2cHeader): LlamaConfig {
  return {
    architecture: "llama",
    hiddenSize: h.dim,
    intermediateSize: h.hiddenDim,
    numLayers: h.numLayers,
    numHeads: h.numHeads,
    numKvHeads: h.numKvHeads,
    headDim: h.dim / h.numHeads,
    vocabSize: h.vocabSize,
    maxPositions: h.seqLen,
    rmsNormEps: 1e-5,
    rope: { theta: 10000 },
    tieWordEmbeddings: h.sharedClassifier,
    bosTokenId: 1,
    eosTokenId: 2,
  };
}

/**
 * Reorder the rows of a q/k projection [heads * headDim, cols] from interleaved RoPE pairs to HF's
 * rotate-half order: within each head, HF row j * headDim/2 + i is llama2.c row 2i + j (j = 0, 1).
 *
 * @example
 * interleavedToHalves(Float32Array.from([0, 1, 2, 3]), 4, 1, 4) // [0, 2, 1, 3]
 */
export function interleavedToHalves(w: Float32Array, rows: number, cols: number, headDim: number): Float32Array {
  return permuteRows(w, rows, cols, headDim, false);
}

/** Inverse of interleavedToHalves: HF rotate-half rows -> llama2.c interleaved rows. */
export function halvesToInterleaved(w: Float32Array, rows: number, cols: number, headDim: number): Float32Array {
  return permuteRows(w, rows, cols, headDim, true);
}

function permuteRows(w: Float32Array, rows: number, cols: number, headDim: number, inverse: boolean): Float32Array {
  if (rows % headDim !== 0 || w.length !== rows * cols) throw new Llama2cError(`cannot permute a [${rows}, ${cols}] matrix in heads of ${headDim}`);
  const half = headDim / 2;
  const out = new Float32Array(w.length);
  for (let h = 0; h < rows / headDim; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const hfRow = h * headDim + j * half + i;
        const l2cRow = h * headDim + 2 * i + j;
        const [dst, src] = inverse ? [l2cRow, hfRow] : [hfRow, l2cRow];
        out.set(w.subarray(src * cols, (src + 1) * cols), dst * cols);
      }
    }
  }
  return out;
}

/** Bytes a file with this header must have. */
export function llama2cFileBytes(h: Llama2cHeader): number {
  const kvDim = (h.dim / h.numHeads) * h.numKvHeads;
  const perLayer = 2 * h.dim + 2 * h.dim * h.dim + 2 * kvDim * h.dim + 3 * h.dim * h.hiddenDim;
  const floats = h.vocabSize * h.dim + h.numLayers * perLayer + h.dim + h.seqLen * (h.dim / h.numHeads) + (h.sharedClassifier ? 0 : h.vocabSize * h.dim);
  return HEADER_BYTES + 4 * floats;
}

/**
 * Convert a whole llama2.c v0 file (in memory) to config + HF-named, HF-layout F32 tensors. Tensors other
 * than q/k are zero-copy views of `bytes`. A tied classifier adds no lm_head tensor.
 *
 * @example
 * const { config, tensors } = parseLlama2c(readFileSync("stories260K.bin"), "stories260K.bin");
 */
export function parseLlama2c(bytes: Uint8Array, file: string): { config: LlamaConfig; tensors: Map<string, Tensor> } {
  const h = parseLlama2cHeader(bytes, file);
  const expected = llama2cFileBytes(h);
  if (bytes.byteLength !== expected) {
    const what = bytes.byteLength < expected ? "truncated" : "has trailing bytes";
    throw new Llama2cError(
      `${file}: ${bytes.byteLength} bytes, but the header (dim ${h.dim}, hidden_dim ${h.hiddenDim}, n_layers ${h.numLayers}, n_heads ${h.numHeads}, ` +
        `n_kv_heads ${h.numKvHeads}, vocab ${h.vocabSize}${h.sharedClassifier ? " shared" : " unshared"}, seq_len ${h.seqLen}) needs ${expected}: file ${what}`,
    );
  }
  // A copy when the data start is not 4-aligned in the backing buffer, so F32 views stay possible downstream.
  const base = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  const config = llama2cConfig(h);
  const kvDim = config.headDim * h.numKvHeads;
  const tensors = new Map<string, Tensor>();
  let offset = HEADER_BYTES;
  const take = (count: number): Uint8Array => {
    const out = base.subarray(offset, offset + count * 4);
    offset += count * 4;
    return out;
  };
  const add = (name: string, shape: number[], data: Uint8Array) => tensors.set(name, { name, dtype: "F32", shape, data });
  /** One kind of weight for every layer: [L, ...shape]. */
  const perLayer = (suffix: string, shape: number[], permute = false) => {
    const count = shape[0] * (shape[1] ?? 1);
    for (let l = 0; l < h.numLayers; l++) {
      let data = take(count);
      if (permute) {
        const w = new Float32Array(data.buffer, data.byteOffset, count);
        data = new Uint8Array(interleavedToHalves(w, shape[0], shape[1], config.headDim).buffer);
      }
      add(`model.layers.${l}.${suffix}`, shape, data);
    }
  };
  add("model.embed_tokens.weight", [h.vocabSize, h.dim], take(h.vocabSize * h.dim));
  perLayer("input_layernorm.weight", [h.dim]);
  perLayer("self_attn.q_proj.weight", [h.dim, h.dim], true);
  perLayer("self_attn.k_proj.weight", [kvDim, h.dim], true);
  perLayer("self_attn.v_proj.weight", [kvDim, h.dim]);
  perLayer("self_attn.o_proj.weight", [h.dim, h.dim]);
  perLayer("post_attention_layernorm.weight", [h.dim]);
  perLayer("mlp.gate_proj.weight", [h.hiddenDim, h.dim]);
  perLayer("mlp.down_proj.weight", [h.dim, h.hiddenDim]);
  perLayer("mlp.up_proj.weight", [h.hiddenDim, h.dim]);
  add("model.norm.weight", [h.dim], take(h.dim));
  take(h.seqLen * config.headDim); // freq_cis_real + freq_cis_imag: RoPE tables we recompute from theta
  if (!h.sharedClassifier) add("lm_head.weight", [h.vocabSize, h.dim], take(h.vocabSize * h.dim));
  return { config, tensors };
}
