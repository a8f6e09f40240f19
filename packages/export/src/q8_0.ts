/**
 * GGUF Q8_0 quantization: each run of 32 consecutive values along a row becomes one block of an f16 scale
 * d = amax / 127 followed by 32 int8 q = round(x / d) (ties away from zero), 34 bytes per block. The
 * arithmetic mirrors ggml's reference quantizer in float32 (scale inverse taken before the scale is
 * rounded to f16), so blocks match what llama.cpp's own converter writes.
 */
import { f16BitsToNumber, f32BitsToF16, tensorToFloat32, type Tensor } from "@nas/model";
import { Q8_0_BLOCK, Q8_0_BLOCK_BYTES } from "./gguf-format.ts";

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Can this tensor be stored as Q8_0? Rows (the last axis) must be whole 32-value blocks. */
export function canQuantizeQ8_0(shape: readonly number[]): boolean {
  const cols = shape[shape.length - 1] ?? 0;
  return shape.length >= 1 && cols > 0 && cols % Q8_0_BLOCK === 0;
}

/**
 * Quantize float32 values (length a multiple of 32) to Q8_0 block bytes.
 *
 * @example
 * const blocks = quantizeQ8_0(new Float32Array(64)); // 68 bytes
 */
export function quantizeQ8_0(values: Float32Array): Uint8Array {
  if (values.length % Q8_0_BLOCK !== 0) throw new Error(`Q8_0 needs a multiple of ${Q8_0_BLOCK} values, got ${values.length}`);
  const blocks = values.length / Q8_0_BLOCK;
  const out = new Uint8Array(blocks * Q8_0_BLOCK_BYTES);
  const view = new DataView(out.buffer);
  for (let b = 0; b < blocks; b++) {
    const base = b * Q8_0_BLOCK;
    let amax = 0;
    for (let j = 0; j < Q8_0_BLOCK; j++) amax = Math.max(amax, Math.abs(values[base + j]));
    const d = Math.fround(amax / 127);
    const id = d !== 0 ? Math.fround(1 / d) : 0;
    f32[0] = d;
    view.setUint16(b * Q8_0_BLOCK_BYTES, f32BitsToF16(u32[0]), true);
    for (let j = 0; j < Q8_0_BLOCK; j++) {
      const x = Math.fround(values[base + j] * id);
      // C roundf: half away from zero (Math.round would send -2.5 to -2).
      const q = Math.sign(x) * Math.floor(Math.abs(x) + 0.5);
      view.setInt8(b * Q8_0_BLOCK_BYTES + 2 + j, Math.max(-127, Math.min(127, q)));
    }
  }
  return out;
}

/**
 * Decode Q8_0 block bytes to float32 (value = f16(d) * q, computed in float32 like ggml).
 *
 * @example
 * dequantizeQ8_0(quantizeQ8_0(new Float32Array([1, ...]))) // ~ input, error <= d/2 per value
 */
export function dequantizeQ8_0(bytes: Uint8Array): Float32Array {
  if (bytes.length % Q8_0_BLOCK_BYTES !== 0) throw new Error(`Q8_0 data must be whole ${Q8_0_BLOCK_BYTES}-byte blocks, got ${bytes.length} bytes`);
  const blocks = bytes.length / Q8_0_BLOCK_BYTES;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(blocks * Q8_0_BLOCK);
  for (let b = 0; b < blocks; b++) {
    const d = f16BitsToNumber(view.getUint16(b * Q8_0_BLOCK_BYTES, true));
    for (let j = 0; j < Q8_0_BLOCK; j++) out[b * Q8_0_BLOCK + j] = Math.fround(d * view.getInt8(b * Q8_0_BLOCK_BYTES + 2 + j));
  }
  return out;
}

/**
 * Quantize a tensor (any unquantized dtype) to a Q8_0 tensor with the same name and shape.
 *
 * @example
 * const q = quantizeTensorQ8_0(tensors.get("model.layers.0.mlp.up_proj.weight")!); // q.dtype === "Q8_0"
 */
export function quantizeTensorQ8_0(t: Tensor): Tensor {
  if (t.dtype === "Q8_0") return t;
  if (!canQuantizeQ8_0(t.shape)) throw new Error(`tensor "${t.name}" [${t.shape}]: rows are not a multiple of ${Q8_0_BLOCK} values, cannot store as Q8_0`);
  return { name: t.name, dtype: "Q8_0", shape: [...t.shape], data: quantizeQ8_0(tensorToFloat32(t)) };
}

/**
 * Turn every Q8_0 tensor of a model back into F32 (for CPU evaluation of a quantized export).
 *
 * @example
 * const f32Tensors = dequantizeTensors(ggufModel.tensors);
 */
export function dequantizeTensors(tensors: Map<string, Tensor>): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, t] of tensors) {
    out.set(name, t.dtype === "Q8_0" ? { name, dtype: "F32", shape: [...t.shape], data: new Uint8Array(dequantizeQ8_0(t.data).buffer) } : t);
  }
  return out;
}
