/**
 * Element types of weight tensors: sizes, decoding to float32 and the round-to-nearest-even encoders the
 * export code needs. All byte data is little-endian (safetensors, llama2.c and GGUF all are), and typed-array
 * views assume a little-endian host, which every platform we run on (x86-64, arm64) is.
 */
import type { DType, Tensor } from "./types.ts";

/** Thrown for a tensor whose dtype or byte length is not what its shape needs. */
export class DTypeError extends Error {
  override name = "DTypeError";
}

const Q8_0_BLOCK = 32; // values per Q8_0 block
const Q8_0_BLOCK_BYTES = 34; // f16 scale + 32 x int8

/** The dtypes tensors may be stored in (DType as a runtime list). */
export const DTYPES: readonly DType[] = ["F32", "F16", "BF16", "Q8_0"];

/** Is `s` one of our DType names? */
export function isDType(s: unknown): s is DType {
  return typeof s === "string" && (DTYPES as readonly string[]).includes(s);
}

/** Product of a shape's dimensions (1 for a scalar `[]`). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Bytes that `count` elements of `dtype` occupy. Q8_0 needs whole 32-value blocks.
 *
 * @example
 * byteSize("BF16", 1024) // 2048
 */
export function byteSize(dtype: DType, count: number): number {
  switch (dtype) {
    case "F32":
      return count * 4;
    case "F16":
    case "BF16":
      return count * 2;
    case "Q8_0":
      if (count % Q8_0_BLOCK !== 0) throw new DTypeError(`Q8_0 needs a multiple of ${Q8_0_BLOCK} values, got ${count}`);
      return (count / Q8_0_BLOCK) * Q8_0_BLOCK_BYTES;
  }
}

/** `data` itself when its offset is a multiple of `align`, else an aligned copy (typed views need alignment). */
function aligned(data: Uint8Array, align: number): Uint8Array {
  return data.byteOffset % align === 0 ? data : data.slice();
}

let f16Table: Float32Array | null = null;

/** IEEE half bits -> value, exact for zeros, subnormals, infinities and NaN. */
export function f16BitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24; // zero or subnormal
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** All 65536 half values as float32 (every half is exactly representable in float32). */
function halfTable(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16BitsToNumber(h);
  }
  return f16Table;
}

/**
 * Decode a tensor to float32 values in row-major order (always a fresh array; never shares `t.data`).
 * F16 and BF16 decode exactly (both are subsets of float32); Q8_0 computes scale * q in float32.
 *
 * @example
 * tensorToFloat32({ name: "w", dtype: "BF16", shape: [1], data: new Uint8Array([0x80, 0x3f]) }) // Float32Array [1]
 */
export function tensorToFloat32(t: Tensor): Float32Array {
  const n = numel(t.shape);
  const expected = byteSize(t.dtype, n);
  if (t.data.byteLength !== expected) {
    throw new DTypeError(`tensor "${t.name}" (${t.dtype} [${t.shape}]) has ${t.data.byteLength} bytes, its shape needs ${expected}`);
  }
  switch (t.dtype) {
    case "F32": {
      const d = aligned(t.data, 4);
      return new Float32Array(d.buffer, d.byteOffset, n).slice();
    }
    case "BF16": {
      // bf16 is the top half of a float32: shift the bits up and reinterpret.
      const d = aligned(t.data, 2);
      const src = new Uint16Array(d.buffer, d.byteOffset, n);
      const bits = new Uint32Array(n);
      for (let i = 0; i < n; i++) bits[i] = src[i] << 16;
      return new Float32Array(bits.buffer);
    }
    case "F16": {
      const d = aligned(t.data, 2);
      const src = new Uint16Array(d.buffer, d.byteOffset, n);
      const table = halfTable();
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = table[src[i]];
      return out;
    }
    case "Q8_0": {
      const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      const table = halfTable();
      const out = new Float32Array(n);
      for (let b = 0; b < n / Q8_0_BLOCK; b++) {
        const base = b * Q8_0_BLOCK_BYTES;
        const scale = table[view.getUint16(base, true)];
        for (let j = 0; j < Q8_0_BLOCK; j++) out[b * Q8_0_BLOCK + j] = Math.fround(scale * view.getInt8(base + 2 + j));
      }
      return out;
    }
  }
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** Bits of `x` rounded to float32. */
function f32Bits(x: number): number {
  f32Scratch[0] = x;
  return u32Scratch[0];
}

/**
 * float32 bits -> bfloat16 bits, round to nearest even; NaN stays a (quiet) NaN with its sign.
 *
 * @example
 * f32BitsToBf16(0x3f808000) // 0x3f80 (tie rounds to even)
 */
export function f32BitsToBf16(u: number): number {
  u >>>= 0;
  if ((u & 0x7f800000) === 0x7f800000 && (u & 0x7fffff) !== 0) return ((u >>> 16) | 0x40) & 0xffff;
  const lsb = (u >>> 16) & 1;
  return ((u + 0x7fff + lsb) >>> 16) & 0xffff; // overflow of the mantissa carries into the exponent (-> inf), as it should
}

/**
 * float32 bits -> IEEE half bits, round to nearest even, with subnormal results, overflow to infinity and NaN
 * kept quiet.
 *
 * @example
 * f32BitsToF16(0x3f800000) // 0x3c00 (1.0)
 */
export function f32BitsToF16(u: number): number {
  u >>>= 0;
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  const mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15; // half exponent field if the result is normal
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half: the integer count of 2^-24 units is (1.mant * 2^23) >> (14 - e), rounded to even.
    const shift = 14 - e;
    if (shift > 24) return sign; // below half of the smallest subnormal
    const m = mant | 0x800000;
    return sign | roundShiftEven(m, shift); // a carry to 0x400 is exactly the smallest normal
  }
  // Normal: keep 10 mantissa bits, round on the 13 dropped; a carry may bump the exponent (to inf at the top).
  return (sign | ((e << 10) + roundShiftEven(mant, 13))) & 0xffff;
}

/** `m >> shift` rounded to nearest, ties to even (m < 2^24, 1 <= shift <= 24). */
function roundShiftEven(m: number, shift: number): number {
  const q = m >>> shift;
  const rem = m - q * 2 ** shift;
  const half = 2 ** (shift - 1);
  return rem > half || (rem === half && (q & 1) === 1) ? q + 1 : q;
}

/** Encode float32 values as half bytes (round to nearest even). */
export function float32ToF16Bytes(values: Float32Array | readonly number[]): Uint8Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f32BitsToF16(f32Bits(values[i]));
  return new Uint8Array(out.buffer);
}

/** Encode float32 values as bfloat16 bytes (round to nearest even). */
export function float32ToBf16Bytes(values: Float32Array | readonly number[]): Uint8Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f32BitsToBf16(f32Bits(values[i]));
  return new Uint8Array(out.buffer);
}

/**
 * Encode float32 values in `dtype` (F32, F16 or BF16) and wrap them as a tensor.
 *
 * @example
 * const t = encodeTensor("model.norm.weight", "F16", [64], new Float32Array(64).fill(1));
 */
export function encodeTensor(name: string, dtype: DType, shape: number[], values: Float32Array): Tensor {
  if (values.length !== numel(shape)) {
    throw new DTypeError(`tensor "${name}": ${values.length} values do not fill shape [${shape}]`);
  }
  let data: Uint8Array;
  if (dtype === "F32") data = new Uint8Array(Float32Array.from(values).buffer);
  else if (dtype === "F16") data = float32ToF16Bytes(values);
  else if (dtype === "BF16") data = float32ToBf16Bytes(values);
  else throw new DTypeError(`tensor "${name}": encoding to ${dtype} is not supported here (GGUF export quantizes Q8_0)`);
  return { name, dtype, shape: [...shape], data };
}
