/**
 * llama2.c "version 0" checkpoint (the format run.c reads): seven int32 header fields
 * (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size — negative when the classifier is not
 * shared — and seq_len), then float32 arrays: token embedding [vocab, dim], rms_att [L, dim],
 * wq [L, dim, dim], wk [L, kv_dim, dim], wv [L, kv_dim, dim], wo [L, dim, dim], rms_ffn [L, dim],
 * w1 [L, hidden, dim], w2 [L, dim, hidden], w3 [L, hidden, dim], rms_final [dim], the legacy
 * freq_cis_real / freq_cis_imag [seq_len, head_size / 2] tables, and wcls [vocab, dim] when not shared.
 * Q/K rows are in the interleaved RoPE order (Meta's layout). run.c hard-codes head_size = dim / n_heads,
 * RoPE theta 10000 and RMSNorm eps 1e-5, and has one hidden_dim / head count for every layer, so only
 * models within those limits can be written; anything else is refused with the reason.
 */
import { tensorToFloat32, type Tensor } from "@nas/model";
import { ExportError, writeFileAtomic } from "./atomic.ts";
import { ByteWriter } from "./byte-writer.ts";
import { hfToInterleavedRows } from "./rope-order.ts";
import type { ModelTensors } from "./slice.ts";
import { gatherRows } from "./tensor-ops.ts";

/** Why a standalone model cannot be stored as a llama2.c v0 checkpoint, or undefined if it can. */
export function llama2cRefusal(model: ModelTensors): string | undefined {
  const c = model.config;
  if (c.perLayer) {
    return `llama2.c stores one hidden_dim and head count for all layers, but this sub-network's layers differ (intermediate ${c.perLayer.intermediateSize.join("/")}, heads ${c.perLayer.numHeads.join("/")}, kv heads ${c.perLayer.numKvHeads.join("/")}); use --format gguf or hf`;
  }
  if (c.numHeads * c.headDim !== c.hiddenSize) {
    return `llama2.c derives head_size = dim / n_heads, but this sub-network keeps ${c.numHeads} heads of size ${c.headDim} in a dim of ${c.hiddenSize}; use --format gguf or hf`;
  }
  if (c.rope.theta !== 10000 || c.rope.scaling) return `llama2.c hard-codes RoPE theta 10000 without scaling; this model uses theta ${c.rope.theta}${c.rope.scaling ? " with llama3 scaling" : ""}`;
  if (Math.abs(c.rmsNormEps - 1e-5) > 1e-12) return `llama2.c hard-codes RMSNorm eps 1e-5; this model uses ${c.rmsNormEps}`;
  return undefined;
}

/**
 * Write a standalone uniform model as a llama2.c v0 `.bin` (atomically).
 *
 * @example
 * writeLlama2c("out/small.bin", sliceModel(model, { layers: [true, true, true, false, true] }));
 */
export function writeLlama2c(path: string, model: ModelTensors): { bytes: number } {
  const refusal = llama2cRefusal(model);
  if (refusal) throw new ExportError(`cannot export as llama2c: ${refusal}`);
  const c = model.config;
  const get = (name: string): Tensor => {
    const t = model.tensors.get(name);
    if (!t) throw new ExportError(`model is missing tensor "${name}"`);
    return t;
  };
  const layer = (i: number, s: string) => get(`model.layers.${i}.${s}`);
  const f32Bytes = (t: Tensor): Uint8Array => (t.dtype === "F32" ? t.data : new Uint8Array(tensorToFloat32(t).buffer));
  const header = new ByteWriter();
  const shared = c.tieWordEmbeddings;
  for (const v of [c.hiddenSize, c.intermediateSize, c.numLayers, c.numHeads, c.numKvHeads, shared ? c.vocabSize : -c.vocabSize, c.maxPositions]) header.i32(v);
  const L = Array.from({ length: c.numLayers }, (_, i) => i);
  const qOrder = hfToInterleavedRows(c.numHeads, c.headDim);
  const kOrder = hfToInterleavedRows(c.numKvHeads, c.headDim);
  // Legacy RoPE tables run.c skips over but expects to be present: cos/sin of pos * theta^(-2i/head_size).
  const half = c.headDim / 2;
  const freqReal = new Float32Array(c.maxPositions * half);
  const freqImag = new Float32Array(c.maxPositions * half);
  for (let pos = 0; pos < c.maxPositions; pos++) {
    for (let i = 0; i < half; i++) {
      const angle = pos / 10000 ** ((2 * i) / c.headDim);
      freqReal[pos * half + i] = Math.cos(angle);
      freqImag[pos * half + i] = Math.sin(angle);
    }
  }
  let bytes = 0;
  writeFileAtomic(path, (sink) => {
    sink.write(header.finish());
    sink.write(f32Bytes(get("model.embed_tokens.weight")));
    for (const i of L) sink.write(f32Bytes(layer(i, "input_layernorm.weight")));
    for (const i of L) sink.write(f32Bytes(gatherRows(layer(i, "self_attn.q_proj.weight"), qOrder)));
    for (const i of L) sink.write(f32Bytes(gatherRows(layer(i, "self_attn.k_proj.weight"), kOrder)));
    for (const i of L) sink.write(f32Bytes(layer(i, "self_attn.v_proj.weight")));
    for (const i of L) sink.write(f32Bytes(layer(i, "self_attn.o_proj.weight")));
    for (const i of L) sink.write(f32Bytes(layer(i, "post_attention_layernorm.weight")));
    for (const i of L) sink.write(f32Bytes(layer(i, "mlp.gate_proj.weight")));
    for (const i of L) sink.write(f32Bytes(layer(i, "mlp.down_proj.weight")));
    for (const i of L) sink.write(f32Bytes(layer(i, "mlp.up_proj.weight")));
    sink.write(f32Bytes(get("model.norm.weight")));
    sink.write(new Uint8Array(freqReal.buffer));
    sink.write(new Uint8Array(freqImag.buffer));
    if (!shared) sink.write(f32Bytes(get("lm_head.weight")));
    bytes = sink.written;
  });
  return { bytes };
}
