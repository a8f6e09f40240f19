/**
 * GGUF v3 constants and value types shared by the writer (./gguf-write.ts) and reader (./gguf-read.ts).
 * Layout: magic "GGUF", u32 version, u64 tensor count, u64 metadata count, metadata (key string, u32 type,
 * value), tensor infos (name, u32 n_dims, u64 ne[n_dims] with ne[0] the fastest-varying axis, u32 ggml
 * type, u64 offset into the data section), zero padding to `general.alignment`, then the tensor data,
 * each tensor starting at an aligned offset.
 */
import { byteSize, numel, type DType, type Tensor } from "@nas/model";

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** GGUF metadata value type ids. */
export const GGUF_VALUE_TYPE = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  string: 8,
  array: 9,
  u64: 10,
  i64: 11,
  f64: 12,
} as const;

export type GgufScalarType = Exclude<keyof typeof GGUF_VALUE_TYPE, "array">;
export type GgufScalar = number | bigint | boolean | string;

/** One metadata value with its explicit GGUF type (JS numbers alone cannot say u32 vs f32). */
export type GgufValue =
  | { type: GgufScalarType; value: GgufScalar }
  | { type: "array"; itemType: GgufScalarType; value: GgufScalar[] };

/** ggml tensor type ids for the element types this project reads and writes. */
export const GGML_TYPE: Record<DType, number> = { F32: 0, F16: 1, Q8_0: 8, BF16: 30 };

/** Q8_0: blocks of 32 values, each an f16 scale followed by 32 int8 (34 bytes). */
export const Q8_0_BLOCK = 32;
export const Q8_0_BLOCK_BYTES = 34;

/**
 * Bytes of a tensor of `dtype` with `shape` (row-major; the last axis is GGUF's ne[0]). Sizes come from
 * @nas/model's `byteSize`; GGUF adds that Q8_0 blocks run along ne[0], so each row must be whole blocks
 * (a total that is a multiple of 32 is not enough).
 */
export function tensorByteSize(dtype: DType, shape: readonly number[]): number {
  if (dtype === "Q8_0") {
    const cols = shape[shape.length - 1] ?? 1;
    if (cols % Q8_0_BLOCK !== 0) throw new Error(`Q8_0 tensor rows must be a multiple of ${Q8_0_BLOCK} long, got shape [${shape}]`);
  }
  return byteSize(dtype, numel(shape));
}

/** A parsed or to-be-written GGUF file: ordered metadata and tensors (GGUF names, row-major shapes). */
export interface GgufFile {
  metadata: Map<string, GgufValue>;
  tensors: Tensor[];
}
