/**
 * GGUF (v2/v3) reader: metadata plus tensors as zero-copy views of the file bytes. Used by the export
 * round-trip tests and by engines that load exported (e.g. Q8_0) models. Every malformed field raises a
 * GgufFormatError naming the file and what is wrong.
 */
import { readFileSync } from "node:fs";
import type { DType, Tensor } from "@nas/model";
import {
  GGML_TYPE,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_VALUE_TYPE,
  tensorByteSize,
  type GgufFile,
  type GgufScalar,
  type GgufScalarType,
  type GgufValue,
} from "./gguf-format.ts";

/** Thrown for a file that is not valid GGUF; the message names the file and the field. */
export class GgufFormatError extends Error {
  override name = "GgufFormatError";
}

const TYPE_BY_ID = new Map<number, keyof typeof GGUF_VALUE_TYPE>(
  Object.entries(GGUF_VALUE_TYPE).map(([k, v]) => [v, k as keyof typeof GGUF_VALUE_TYPE]),
);
const DTYPE_BY_GGML = new Map<number, DType>(Object.entries(GGML_TYPE).map(([k, v]) => [v, k as DType]));
const utf8 = new TextDecoder("utf-8", { fatal: true });

class Cursor {
  pos = 0;
  private view: DataView;
  constructor(
    private bytes: Uint8Array,
    private source: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  fail(what: string): never {
    throw new GgufFormatError(`${this.source}: ${what} (at byte ${this.pos})`);
  }
  need(n: number, what: string): void {
    if (this.pos + n > this.bytes.length) this.fail(`truncated while reading ${what}`);
  }
  u8(what: string) { this.need(1, what); return this.view.getUint8(this.pos++); }
  i8(what: string) { this.need(1, what); return this.view.getInt8(this.pos++); }
  u16(what: string) { this.need(2, what); const v = this.view.getUint16(this.pos, true); this.pos += 2; return v; }
  i16(what: string) { this.need(2, what); const v = this.view.getInt16(this.pos, true); this.pos += 2; return v; }
  u32(what: string) { this.need(4, what); const v = this.view.getUint32(this.pos, true); this.pos += 4; return v; }
  i32(what: string) { this.need(4, what); const v = this.view.getInt32(this.pos, true); this.pos += 4; return v; }
  f32(what: string) { this.need(4, what); const v = this.view.getFloat32(this.pos, true); this.pos += 4; return v; }
  f64(what: string) { this.need(8, what); const v = this.view.getFloat64(this.pos, true); this.pos += 8; return v; }
  u64big(what: string) { this.need(8, what); const v = this.view.getBigUint64(this.pos, true); this.pos += 8; return v; }
  i64big(what: string) { this.need(8, what); const v = this.view.getBigInt64(this.pos, true); this.pos += 8; return v; }
  /** A u64 that must fit a JS number (counts, sizes, offsets). */
  u64(what: string): number {
    const v = this.u64big(what);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${what} = ${v} is too large`);
    return Number(v);
  }
  string(what: string): string {
    const n = this.u64(`${what} length`);
    this.need(n, what);
    try {
      return utf8.decode(this.bytes.subarray(this.pos, (this.pos += n)));
    } catch {
      this.fail(`${what} is not valid UTF-8`);
    }
  }
}

function readScalar(c: Cursor, type: GgufScalarType, key: string): GgufScalar {
  const what = `value of "${key}"`;
  switch (type) {
    case "u8": return c.u8(what);
    case "i8": return c.i8(what);
    case "u16": return c.u16(what);
    case "i16": return c.i16(what);
    case "u32": return c.u32(what);
    case "i32": return c.i32(what);
    case "f32": return c.f32(what);
    case "f64": return c.f64(what);
    case "bool": return c.u8(what) !== 0;
    case "string": return c.string(what);
    case "u64": { const v = c.u64big(what); return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v; }
    case "i64": { const v = c.i64big(what); return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v; }
  }
}

function readValueType(c: Cursor, key: string): keyof typeof GGUF_VALUE_TYPE {
  const id = c.u32(`type of "${key}"`);
  const t = TYPE_BY_ID.get(id);
  if (!t) c.fail(`metadata "${key}" has unknown value type ${id}`);
  return t;
}

function readValue(c: Cursor, key: string): GgufValue {
  const type = readValueType(c, key);
  if (type !== "array") return { type, value: readScalar(c, type, key) };
  const itemType = readValueType(c, key);
  if (itemType === "array") c.fail(`metadata "${key}" is a nested array, which this reader does not support`);
  const n = c.u64(`length of "${key}"`);
  if (n > c.pos + 1e12) c.fail(`metadata "${key}" claims ${n} items`);
  const value: GgufScalar[] = new Array(n);
  for (let i = 0; i < n; i++) value[i] = readScalar(c, itemType, key);
  return { type: "array", itemType, value };
}

/**
 * Parse GGUF bytes. Tensor `data` are views into `bytes` (no copy); shapes are row-major (GGUF's ne
 * reversed) and names are GGUF's (`blk.0.attn_q.weight`, ...).
 *
 * @example
 * const { metadata, tensors } = parseGguf(readFileSync("m.gguf"), "m.gguf");
 * metadata.get("general.architecture")?.value; // "llama"
 */
export function parseGguf(bytes: Uint8Array, source = "<gguf>"): GgufFile & { version: number; alignment: number } {
  const c: Cursor = new Cursor(bytes, source); // explicit type: lets `c.fail` (never) narrow
  const magic = c.u32("magic");
  if (magic !== GGUF_MAGIC) c.fail(`not a GGUF file (magic 0x${magic.toString(16)})`);
  const version = c.u32("version");
  if (version !== 2 && version !== 3) c.fail(`unsupported GGUF version ${version} (this reader handles 2 and 3)`);
  const tensorCount = c.u64("tensor count");
  const kvCount = c.u64("metadata count");
  if (tensorCount > bytes.length || kvCount > bytes.length) c.fail(`implausible counts (${tensorCount} tensors, ${kvCount} metadata entries)`);
  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < kvCount; i++) {
    const key = c.string(`metadata key #${i}`);
    if (metadata.has(key)) c.fail(`metadata key "${key}" appears twice`);
    metadata.set(key, readValue(c, key));
  }
  const align = metadata.get("general.alignment");
  const alignment = align ? Number(align.value) : GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isInteger(alignment) || alignment <= 0) c.fail(`bad general.alignment ${String(align?.value)}`);
  const infos: { name: string; shape: number[]; dtype: DType; offset: number }[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = c.string(`tensor #${i} name`);
    const nDims = c.u32(`tensor "${name}" dimension count`);
    if (nDims < 1 || nDims > 4) c.fail(`tensor "${name}" has ${nDims} dimensions (expected 1..4)`);
    const ne: number[] = [];
    for (let d = 0; d < nDims; d++) ne.push(c.u64(`tensor "${name}" ne[${d}]`));
    const typeId = c.u32(`tensor "${name}" type`);
    const dtype = DTYPE_BY_GGML.get(typeId);
    if (!dtype) c.fail(`tensor "${name}" has ggml type ${typeId}, which this reader does not support (F32, F16, BF16, Q8_0)`);
    const offset = c.u64(`tensor "${name}" offset`);
    if (offset % alignment !== 0) c.fail(`tensor "${name}" offset ${offset} is not a multiple of the alignment ${alignment}`);
    infos.push({ name, shape: ne.reverse(), dtype, offset });
  }
  const dataStart = Math.ceil(c.pos / alignment) * alignment;
  const tensors: Tensor[] = infos.map((info) => {
    let size: number;
    try {
      size = tensorByteSize(info.dtype, info.shape);
    } catch (err) {
      throw new GgufFormatError(`${source}: tensor "${info.name}": ${(err as Error).message}`);
    }
    const begin = dataStart + info.offset;
    if (begin + size > bytes.length) {
      throw new GgufFormatError(`${source}: tensor "${info.name}" (${info.dtype} [${info.shape}]) runs past the end of the file`);
    }
    return { name: info.name, dtype: info.dtype, shape: info.shape, data: bytes.subarray(begin, begin + size) };
  });
  return { metadata, tensors, version, alignment };
}

/**
 * Read a GGUF file from disk.
 *
 * @example
 * const gguf = readGguf("out/stories.q8_0.gguf");
 * gguf.tensors.find((t) => t.name === "token_embd.weight")?.dtype; // "Q8_0"
 */
export function readGguf(path: string): GgufFile & { version: number; alignment: number } {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new GgufFormatError(`cannot read GGUF file "${path}": ${(err as Error).message}`);
  }
  return parseGguf(bytes, path);
}

/** A metadata value by key, or a clear error when it is missing. */
export function ggufGet(file: GgufFile, key: string): GgufValue {
  const v = file.metadata.get(key);
  if (!v) throw new GgufFormatError(`GGUF metadata "${key}" is missing`);
  return v;
}
