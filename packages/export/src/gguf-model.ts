/**
 * A standalone LLaMA model (HF names/layout) <-> GGUF tensors and metadata as llama.cpp reads them.
 * Uniform models use architecture `llama`; models whose layers differ use `deci` (llama.cpp's DeciLM /
 * Nemotron-NAS support), whose head_count, head_count_kv and feed_forward_length are per-layer arrays.
 * Q/K rows are stored in llama.cpp's interleaved RoPE order.
 */
import { encodeTensor, tensorToFloat32, type LlamaConfig, type Tensor } from "@nas/model";
import { ExportError } from "./atomic.ts";
import type { GgufFile, GgufValue } from "./gguf-format.ts";
import { GgufFormatError } from "./gguf-read.ts";
import { canQuantizeQ8_0, quantizeTensorQ8_0 } from "./q8_0.ts";
import { hfToInterleavedRows, interleavedToHfRows } from "./rope-order.ts";
import { layerSizes, type ModelTensors } from "./slice.ts";
import { gatherRows } from "./tensor-ops.ts";
import type { GgufVocab } from "./vocab.ts";

/** Storage type of the 2-D weights in a GGUF export; "keep" stores each tensor in its source dtype. */
export type GgufWeightType = "keep" | "F32" | "F16" | "BF16" | "Q8_0";

export interface GgufBuildOptions {
  /** Weight storage (default "keep"). 1-D tensors (norms) are always F32, as llama.cpp's converter does. */
  weightType?: GgufWeightType;
  /** Tokenizer metadata; without it the file says `tokenizer.ggml.model = "none"` (token ids only). */
  vocab?: GgufVocab;
  /** `general.name` (default "llama-nas-export"). */
  name?: string;
}

const defaults = { weightType: "keep", name: "llama-nas-export" } satisfies Partial<GgufBuildOptions>;

const LAYER_NAMES: Record<string, string> = {
  "input_layernorm.weight": "attn_norm.weight",
  "self_attn.q_proj.weight": "attn_q.weight",
  "self_attn.k_proj.weight": "attn_k.weight",
  "self_attn.v_proj.weight": "attn_v.weight",
  "self_attn.o_proj.weight": "attn_output.weight",
  "post_attention_layernorm.weight": "ffn_norm.weight",
  "mlp.gate_proj.weight": "ffn_gate.weight",
  "mlp.up_proj.weight": "ffn_up.weight",
  "mlp.down_proj.weight": "ffn_down.weight",
};
const GLOBAL_NAMES: Record<string, string> = {
  "model.embed_tokens.weight": "token_embd.weight",
  "model.norm.weight": "output_norm.weight",
  "lm_head.weight": "output.weight",
};

/** HF tensor name -> GGUF tensor name. */
export function ggufTensorName(hfName: string): string {
  const g = GLOBAL_NAMES[hfName];
  if (g) return g;
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(hfName);
  const suffix = m && LAYER_NAMES[m[2]];
  if (!m || !suffix) throw new ExportError(`tensor "${hfName}" has no GGUF name`);
  return `blk.${m[1]}.${suffix}`;
}

/** GGUF tensor name -> HF tensor name. */
export function hfTensorName(ggufName: string): string {
  for (const [hf, g] of Object.entries(GLOBAL_NAMES)) if (g === ggufName) return hf;
  const m = /^blk\.(\d+)\.(.+)$/.exec(ggufName);
  const hf = m && Object.entries(LAYER_NAMES).find(([, g]) => g === m[2])?.[0];
  if (!m || !hf) throw new GgufFormatError(`GGUF tensor "${ggufName}" is not a LLaMA tensor this reader knows`);
  return `model.layers.${m[1]}.${hf}`;
}

/**
 * llama.cpp's `rope_freqs` factors for "llama3" RoPE scaling: each frequency's wavelength multiplier
 * (1 for high frequencies, `factor` for low ones, a smooth blend between).
 */
export function llama3RopeFactors(config: LlamaConfig): Float32Array {
  const s = config.rope.scaling;
  if (!s) throw new Error("model has no rope scaling");
  const half = config.headDim / 2;
  const out = new Float32Array(half);
  const lowWavelen = s.originalMaxPositions / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositions / s.highFreqFactor;
  for (let i = 0; i < half; i++) {
    const freq = 1 / config.rope.theta ** ((2 * i) / config.headDim);
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < highWavelen) out[i] = 1;
    else if (wavelen > lowWavelen) out[i] = s.factor;
    else {
      const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
      out[i] = 1 / ((1 - smooth) / s.factor + smooth);
    }
  }
  return out;
}

function convertWeight(t: Tensor, type: GgufWeightType, fallbacks: string[]): Tensor {
  if (t.shape.length === 1) return t.dtype === "F32" ? t : encodeTensor(t.name, "F32", t.shape, tensorToFloat32(t));
  if (type === "keep" || type === t.dtype) return t;
  if (type === "Q8_0") {
    if (canQuantizeQ8_0(t.shape)) return quantizeTensorQ8_0(t);
    // Like llama.cpp's converter: rows that are not whole 32-value blocks fall back to F16.
    fallbacks.push(`${t.name} [${t.shape}] stored as F16: rows of ${t.shape[t.shape.length - 1]} values are not whole Q8_0 blocks`);
    return t.dtype === "F16" ? t : encodeTensor(t.name, "F16", t.shape, tensorToFloat32(t));
  }
  return encodeTensor(t.name, type, t.shape, tensorToFloat32(t));
}

const u32 = (value: number): GgufValue => ({ type: "u32", value });
const f32 = (value: number): GgufValue => ({ type: "f32", value });
const str = (value: string): GgufValue => ({ type: "string", value });
const i32s = (value: number[]): GgufValue => ({ type: "array", itemType: "i32", value });

function fileType(tensors: Tensor[]): number {
  const counts = new Map<string, number>();
  for (const t of tensors) if (t.shape.length === 2) counts.set(t.dtype, (counts.get(t.dtype) ?? 0) + t.data.length);
  const top = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? "F32";
  return { F32: 0, F16: 1, Q8_0: 7, BF16: 32 }[top as "F32"] ?? 0;
}

/**
 * Build the GGUF form of a standalone model (as produced by `sliceModel`).
 *
 * @example
 * const { file, architecture } = modelToGguf(sliceModel(model, subnet), { weightType: "Q8_0", vocab });
 * writeGguf("out.gguf", file);
 */
export function modelToGguf(model: ModelTensors, options: GgufBuildOptions = {}): { file: GgufFile; architecture: "llama" | "deci"; fallbacks: string[] } {
  const opts = { ...defaults, ...options };
  const c = model.config;
  const arch = c.perLayer ? "deci" : "llama";
  const fallbacks: string[] = [];
  const tensors: Tensor[] = [];
  for (const [name, t0] of model.tensors) {
    if (name === "lm_head.weight" && c.tieWordEmbeddings) continue;
    let t = t0;
    const m = /^model\.layers\.(\d+)\.self_attn\.([qk])_proj\.weight$/.exec(name);
    if (m) {
      const sizes = layerSizes(c, Number(m[1]));
      t = gatherRows(t, hfToInterleavedRows(m[2] === "q" ? sizes.heads : sizes.kvHeads, c.headDim));
    }
    t = convertWeight(t, opts.weightType, fallbacks);
    tensors.push({ ...t, name: ggufTensorName(name) });
  }
  if (c.rope.scaling) tensors.push(encodeTensor("rope_freqs.weight", "F32", [c.headDim / 2], llama3RopeFactors(c)));

  const md = new Map<string, GgufValue>();
  md.set("general.architecture", str(arch));
  md.set("general.name", str(opts.name));
  md.set("general.alignment", u32(32));
  md.set("general.file_type", u32(fileType(tensors)));
  if (tensors.some((t) => t.dtype === "Q8_0")) md.set("general.quantization_version", u32(2));
  md.set(`${arch}.context_length`, u32(c.maxPositions));
  md.set(`${arch}.embedding_length`, u32(c.hiddenSize));
  md.set(`${arch}.block_count`, u32(c.numLayers));
  md.set(`${arch}.vocab_size`, u32(c.vocabSize));
  if (c.perLayer) {
    md.set(`${arch}.feed_forward_length`, i32s(c.perLayer.intermediateSize));
    md.set(`${arch}.attention.head_count`, i32s(c.perLayer.numHeads));
    md.set(`${arch}.attention.head_count_kv`, i32s(c.perLayer.numKvHeads));
  } else {
    md.set(`${arch}.feed_forward_length`, u32(c.intermediateSize));
    md.set(`${arch}.attention.head_count`, u32(c.numHeads));
    md.set(`${arch}.attention.head_count_kv`, u32(c.numKvHeads));
  }
  // Explicit head size: after head slicing hidden_size / head_count no longer equals it.
  md.set(`${arch}.attention.key_length`, u32(c.headDim));
  md.set(`${arch}.attention.value_length`, u32(c.headDim));
  md.set(`${arch}.rope.dimension_count`, u32(c.headDim));
  md.set(`${arch}.rope.freq_base`, f32(c.rope.theta));
  md.set(`${arch}.attention.layer_norm_rms_epsilon`, f32(c.rmsNormEps));
  const v = opts.vocab;
  if (v) {
    md.set("tokenizer.ggml.model", str("llama"));
    md.set("tokenizer.ggml.tokens", { type: "array", itemType: "string", value: v.tokens });
    md.set("tokenizer.ggml.scores", { type: "array", itemType: "f32", value: v.scores });
    md.set("tokenizer.ggml.token_type", i32s(v.types));
    md.set("tokenizer.ggml.bos_token_id", u32(c.bosTokenId));
    md.set("tokenizer.ggml.eos_token_id", u32(c.eosTokenId));
    md.set("tokenizer.ggml.unknown_token_id", u32(v.unkId));
    md.set("tokenizer.ggml.add_bos_token", { type: "bool", value: true });
    md.set("tokenizer.ggml.add_eos_token", { type: "bool", value: false });
  } else {
    md.set("tokenizer.ggml.model", str("none"));
  }
  return { file: { metadata: md, tensors }, architecture: arch, fallbacks };
}

function num(file: GgufFile, key: string): number {
  const v = file.metadata.get(key);
  if (!v || v.type === "array" || typeof v.value !== "number") throw new GgufFormatError(`GGUF metadata "${key}" is missing or not a number`);
  return v.value;
}

function numOrArray(file: GgufFile, key: string, n: number): number[] {
  const v = file.metadata.get(key);
  if (v?.type === "array") {
    if (v.value.length !== n) throw new GgufFormatError(`GGUF metadata "${key}" has ${v.value.length} entries, block_count is ${n}`);
    return v.value.map(Number);
  }
  return new Array<number>(n).fill(num(file, key));
}

/**
 * Read a llama/deci GGUF back as a model in HF names and layout (Q/K rows back in rotate-half order).
 * Tensors keep their GGUF dtype (Q8_0 stays Q8_0; see `dequantizeTensors`).
 *
 * @example
 * const model = ggufToModel(readGguf("out.gguf")); // model.config.perLayer set for a deci file
 */
export function ggufToModel(file: GgufFile): ModelTensors {
  const archValue = file.metadata.get("general.architecture")?.value;
  if (archValue !== "llama" && archValue !== "deci") throw new GgufFormatError(`GGUF architecture "${String(archValue)}" is not llama or deci`);
  const a = archValue;
  const n = num(file, `${a}.block_count`);
  const ff = numOrArray(file, `${a}.feed_forward_length`, n);
  const heads = numOrArray(file, `${a}.attention.head_count`, n);
  const kv = numOrArray(file, `${a}.attention.head_count_kv`, n);
  const hidden = num(file, `${a}.embedding_length`);
  const headDim = file.metadata.has(`${a}.attention.key_length`) ? num(file, `${a}.attention.key_length`) : hidden / heads[0];
  const byName = new Map(file.tensors.map((t) => [t.name, t]));
  const embd = byName.get("token_embd.weight");
  if (!embd) throw new GgufFormatError(`GGUF file has no "token_embd.weight"`);
  const uniform = [ff, heads, kv].every((arr) => arr.every((x) => x === arr[0]));
  const config: LlamaConfig = {
    architecture: "llama",
    hiddenSize: hidden,
    intermediateSize: Math.max(...ff),
    numLayers: n,
    numHeads: Math.max(...heads),
    numKvHeads: Math.max(...kv),
    headDim,
    vocabSize: embd.shape[0],
    maxPositions: num(file, `${a}.context_length`),
    rmsNormEps: num(file, `${a}.attention.layer_norm_rms_epsilon`),
    rope: { theta: file.metadata.has(`${a}.rope.freq_base`) ? num(file, `${a}.rope.freq_base`) : 10000 },
    tieWordEmbeddings: !byName.has("output.weight"),
    bosTokenId: file.metadata.has("tokenizer.ggml.bos_token_id") ? num(file, "tokenizer.ggml.bos_token_id") : 1,
    eosTokenId: file.metadata.has("tokenizer.ggml.eos_token_id") ? num(file, "tokenizer.ggml.eos_token_id") : 2,
  };
  if (!uniform) config.perLayer = { intermediateSize: ff, numHeads: heads, numKvHeads: kv };
  if (byName.has("rope_freqs.weight")) {
    throw new GgufFormatError(`GGUF file has "rope_freqs.weight" (llama3 RoPE scaling); reading it back as a config is not supported`);
  }
  const tensors = new Map<string, Tensor>();
  for (const t of file.tensors) {
    const name = hfTensorName(t.name);
    const m = /^model\.layers\.(\d+)\.self_attn\.([qk])_proj\.weight$/.exec(name);
    const layer = m ? Number(m[1]) : 0;
    const rows = m ? interleavedToHfRows(m[2] === "q" ? heads[layer] : kv[layer], headDim) : undefined;
    tensors.set(name, rows ? gatherRows(t, rows, name) : { ...t, name });
  }
  return { config, tensors };
}
