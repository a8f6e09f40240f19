/**
 * Model weights on the device, uploaded once and shared by every sub-network (slicing is done by kernel
 * strides, never by copying). Linear weights keep a BF16/F16 checkpoint's 16-bit values (the matmul converts
 * them exactly in-kernel: half the memory of f32, the same numbers), Q8_0 stays Q8_0, everything else is f32.
 * A tensor larger than the storage-binding limit (e.g. a 32000 x 4096 embedding, 512 MiB, vs lavapipe's
 * 128 MiB) is split into row chunks, one buffer each.
 */
import { f16BitsToNumber, tensorToFloat32, type LlamaConfig, type Tensor } from "@nas/model";
import type { Gpu } from "./device.ts";

export interface WeightChunk {
  /** f32 rows; bf16/f16: two values per u32 word; Q8_0: the int8 values packed four per u32 word. */
  buffer: GPUBuffer;
  /** Q8_0 only: one f32 scale per 32-value block of each row. */
  scales?: GPUBuffer;
  rowStart: number;
  rows: number;
}
/** A row-major [rows, cols] matrix (PyTorch Linear weight [out, in]) as one or more row chunks. */
export interface Matrix {
  name: string;
  rows: number;
  cols: number;
  /** "q8_0": dequantised in kernels/matmul_q8.wgsl; "bf16"/"f16": converted in kernels/matmul.wgsl (W16). */
  format?: "f32" | "q8_0" | "bf16" | "f16";
  chunks: WeightChunk[];
}

export interface LayerWeights {
  attnNorm: GPUBuffer;
  q: Matrix;
  k: Matrix;
  v: Matrix;
  o: Matrix;
  mlpNorm: GPUBuffer;
  gate: Matrix;
  up: Matrix;
  down: Matrix;
}

export interface DeviceWeights {
  embed: Matrix;
  layers: LayerWeights[];
  norm: GPUBuffer;
  lmHead: Matrix;
  bytes: number;
  /** Device bytes per value of the decoder layers' linear weights (4 f32, 2 bf16/f16, 34/32 Q8_0). */
  layerBytesPerValue: number;
}

/** Options of {@link uploadWeights}. */
export interface UploadOptions {
  /** Keep BF16/F16 linear weights 16-bit on the device (exact; half the memory). Default true; false uploads f32. */
  keep16?: boolean;
}

/** Upload every tensor of a loaded model. `tensors` uses HF names; a tied lm_head reuses the embedding. */
export function uploadWeights(gpu: Gpu, config: LlamaConfig, tensors: Map<string, Tensor>, options: UploadOptions = {}): DeviceWeights {
  const keep16 = options.keep16 ?? true;
  let bytes = 0;
  const get = (name: string): Tensor => {
    const t = tensors.get(name);
    if (!t) throw new Error(`model is missing tensor "${name}"`);
    return t;
  };
  const vector = (name: string): GPUBuffer => {
    const data = tensorToFloat32(get(name));
    bytes += data.byteLength;
    return gpu.uploadStorage(data, name);
  };
  const matrix = (name: string): Matrix => {
    const t = get(name);
    if (t.shape.length !== 2) throw new Error(`tensor "${name}" must be 2-D, has shape [${t.shape}]`);
    if (t.dtype === "Q8_0") {
      const m = uploadQ8Matrix(gpu, t);
      bytes += (t.shape[0] * t.shape[1] * 5) / 4;
      return m;
    }
    if (keep16 && (t.dtype === "BF16" || t.dtype === "F16")) {
      bytes += t.shape[0] * t.shape[1] * 2;
      return uploadMatrix16(gpu, t);
    }
    const data = tensorToFloat32(t);
    bytes += data.byteLength;
    return uploadMatrix(gpu, name, data, t.shape[0], t.shape[1]);
  };
  // The embedding is gathered by row, so it lives as f32 (a Q8_0 table is dequantised once, same values).
  const embedTensor = get("model.embed_tokens.weight");
  const embedData = tensorToFloat32(embedTensor);
  bytes += embedData.byteLength;
  const embed = uploadMatrix(gpu, embedTensor.name, embedData, embedTensor.shape[0], embedTensor.shape[1]);
  const layers: LayerWeights[] = [];
  for (let i = 0; i < config.numLayers; i++) {
    const p = `model.layers.${i}.`;
    layers.push({
      attnNorm: vector(`${p}input_layernorm.weight`),
      q: matrix(`${p}self_attn.q_proj.weight`),
      k: matrix(`${p}self_attn.k_proj.weight`),
      v: matrix(`${p}self_attn.v_proj.weight`),
      o: matrix(`${p}self_attn.o_proj.weight`),
      mlpNorm: vector(`${p}post_attention_layernorm.weight`),
      gate: matrix(`${p}mlp.gate_proj.weight`),
      up: matrix(`${p}mlp.up_proj.weight`),
      down: matrix(`${p}mlp.down_proj.weight`),
    });
  }
  const norm = vector("model.norm.weight");
  const tied = config.tieWordEmbeddings && !tensors.has("lm_head.weight");
  const lmHead = tied ? (embedTensor.dtype === "Q8_0" ? matrix("model.embed_tokens.weight") : embed) : matrix("lm_head.weight");
  const f = layers[0]?.q.format ?? "f32";
  const layerBytesPerValue = f === "q8_0" ? 34 / 32 : f === "bf16" || f === "f16" ? 2 : 4;
  return { embed, layers, norm, lmHead, bytes, layerBytesPerValue };
}

export function destroyWeights(gpu: Gpu, w: DeviceWeights): void {
  const seen = new Set<GPUBuffer>();
  const drop = (b: GPUBuffer) => {
    if (!seen.has(b)) {
      seen.add(b);
      gpu.releaseBuffer(b);
    }
  };
  const dropM = (m: Matrix) =>
    m.chunks.forEach((c) => {
      drop(c.buffer);
      if (c.scales) drop(c.scales);
    });
  dropM(w.embed);
  dropM(w.lmHead);
  drop(w.norm);
  for (const l of w.layers) {
    [l.attnNorm, l.mlpNorm].forEach(drop);
    [l.q, l.k, l.v, l.o, l.gate, l.up, l.down].forEach(dropM);
  }
}

/** Upload a row-major [rows, cols] f32 matrix, split into row chunks that each fit one storage binding. */
export function uploadMatrix(gpu: Gpu, name: string, data: Float32Array, rows: number, cols: number): Matrix {
  const maxRows = Math.max(1, Math.floor(gpu.info.limits.maxStorageBufferBindingSize / (cols * 4)));
  const chunks: WeightChunk[] = [];
  for (let r = 0; r < rows; r += maxRows) {
    const n = Math.min(maxRows, rows - r);
    chunks.push({ buffer: gpu.uploadStorage(data.subarray(r * cols, (r + n) * cols), `${name}[${r}:${r + n}]`), rowStart: r, rows: n });
  }
  return { name, rows, cols, chunks };
}

/**
 * Upload a BF16/F16 [rows, cols] tensor as its raw 16-bit values, two per u32 word, in row chunks within the
 * binding limit. Chunks start on an even element (whole words); a chunk with an odd value count is padded.
 */
export function uploadMatrix16(gpu: Gpu, t: Tensor): Matrix {
  const [rows, cols] = t.shape;
  const src = t.data.byteOffset % 2 === 0 ? t.data : t.data.slice(); // a 16-bit view needs an even offset
  if (src.byteLength !== rows * cols * 2) throw new Error(`${t.dtype} tensor "${t.name}" has ${src.byteLength} bytes, expected ${rows * cols * 2}`);
  const halves = new Uint16Array(src.buffer, src.byteOffset, rows * cols);
  let maxRows = Math.max(1, Math.floor(gpu.info.limits.maxStorageBufferBindingSize / (cols * 2)));
  if (cols % 2 === 1 && maxRows > 1) maxRows -= maxRows % 2; // keep chunk starts on whole words
  const chunks: WeightChunk[] = [];
  for (let r = 0; r < rows; r += maxRows) {
    const n = Math.min(maxRows, rows - r);
    const part = new Uint16Array(Math.ceil((n * cols) / 2) * 2);
    part.set(halves.subarray(r * cols, (r + n) * cols));
    chunks.push({ buffer: gpu.uploadStorage(new Uint32Array(part.buffer), `${t.name}.${t.dtype.toLowerCase()}[${r}:${r + n}]`), rowStart: r, rows: n });
  }
  return { name: t.name, rows, cols, format: t.dtype === "BF16" ? "bf16" : "f16", chunks };
}

const Q8_BLOCK = 32;
const Q8_BLOCK_BYTES = 34; // f16 scale + 32 int8, GGUF's block_q8_0

/** Split GGUF Q8_0 blocks into device-friendly arrays: int8 values four per u32, and f32 block scales. */
function repackQ8(t: Tensor): { scales: Float32Array; words: Uint32Array } {
  const [rows, cols] = t.shape.length === 2 ? t.shape : [1, t.shape[0]];
  if (cols % Q8_BLOCK !== 0) throw new Error(`Q8_0 tensor "${t.name}" has rows of ${cols} values, not a multiple of ${Q8_BLOCK}`);
  const blocks = (rows * cols) / Q8_BLOCK;
  if (t.data.byteLength !== blocks * Q8_BLOCK_BYTES) throw new Error(`Q8_0 tensor "${t.name}" has ${t.data.byteLength} bytes, expected ${blocks * Q8_BLOCK_BYTES}`);
  const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const scales = new Float32Array(blocks);
  const bytes = new Uint8Array(blocks * Q8_BLOCK);
  for (let b = 0; b < blocks; b++) {
    scales[b] = f16BitsToNumber(view.getUint16(b * Q8_BLOCK_BYTES, true));
    bytes.set(t.data.subarray(b * Q8_BLOCK_BYTES + 2, (b + 1) * Q8_BLOCK_BYTES), b * Q8_BLOCK);
  }
  return { scales, words: new Uint32Array(bytes.buffer) };
}

/** Upload a Q8_0 [rows, cols] matrix as packed int8 words + f32 scales, in row chunks within the binding limit. */
export function uploadQ8Matrix(gpu: Gpu, t: Tensor): Matrix {
  const [rows, cols] = t.shape;
  const { scales, words } = repackQ8(t);
  const maxRows = Math.max(1, Math.floor(gpu.info.limits.maxStorageBufferBindingSize / cols));
  const chunks: WeightChunk[] = [];
  const wpr = cols / 4, spr = cols / Q8_BLOCK;
  for (let r = 0; r < rows; r += maxRows) {
    const n = Math.min(maxRows, rows - r);
    chunks.push({
      buffer: gpu.uploadStorage(words.subarray(r * wpr, (r + n) * wpr), `${t.name}.q8[${r}:${r + n}]`),
      scales: gpu.uploadStorage(scales.subarray(r * spr, (r + n) * spr), `${t.name}.scales[${r}:${r + n}]`),
      rowStart: r,
      rows: n,
    });
  }
  return { name: t.name, rows, cols, format: "q8_0", chunks };
}
