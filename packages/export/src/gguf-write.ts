/**
 * GGUF v3 writer. Metadata and tensor infos are assembled in memory; tensor data is streamed to the file
 * in order, each tensor padded to the alignment. The file appears under its final name only when complete.
 */
import { ExportError, writeFileAtomic } from "./atomic.ts";
import { ByteWriter } from "./byte-writer.ts";
import {
  GGML_TYPE,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_VALUE_TYPE,
  GGUF_VERSION,
  tensorByteSize,
  type GgufFile,
  type GgufScalar,
  type GgufScalarType,
  type GgufValue,
} from "./gguf-format.ts";

const utf8 = new TextEncoder();

function writeString(w: ByteWriter, s: string): void {
  const b = utf8.encode(s);
  w.u64(b.length).bytes(b);
}

function writeScalar(w: ByteWriter, type: GgufScalarType, v: GgufScalar, key: string): void {
  const num = (): number => {
    if (typeof v !== "number" || !Number.isFinite(v)) throw new ExportError(`GGUF metadata "${key}": ${type} value must be a finite number, got ${String(v)}`);
    return v;
  };
  const int = (lo: number, hi: number): number => {
    const n = num();
    if (!Number.isInteger(n) || n < lo || n > hi) throw new ExportError(`GGUF metadata "${key}": ${n} does not fit ${type}`);
    return n;
  };
  switch (type) {
    case "u8": w.u8(int(0, 0xff)); break;
    case "i8": w.i8(int(-0x80, 0x7f)); break;
    case "u16": w.u16(int(0, 0xffff)); break;
    case "i16": w.i16(int(-0x8000, 0x7fff)); break;
    case "u32": w.u32(int(0, 0xffffffff)); break;
    case "i32": w.i32(int(-0x80000000, 0x7fffffff)); break;
    case "f32": w.f32(num()); break;
    case "f64": w.f64(num()); break;
    case "u64": w.u64(typeof v === "bigint" ? v : int(0, Number.MAX_SAFE_INTEGER)); break;
    case "i64": w.i64(typeof v === "bigint" ? v : int(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)); break;
    case "bool":
      if (typeof v !== "boolean") throw new ExportError(`GGUF metadata "${key}": bool value expected, got ${String(v)}`);
      w.u8(v ? 1 : 0);
      break;
    case "string":
      if (typeof v !== "string") throw new ExportError(`GGUF metadata "${key}": string value expected, got ${String(v)}`);
      writeString(w, v);
      break;
  }
}

function writeValue(w: ByteWriter, key: string, value: GgufValue): void {
  w.u32(GGUF_VALUE_TYPE[value.type]);
  if (value.type === "array") {
    w.u32(GGUF_VALUE_TYPE[value.itemType]).u64(value.value.length);
    for (const item of value.value) writeScalar(w, value.itemType, item, key);
  } else {
    writeScalar(w, value.type, value.value, key);
  }
}

/** The alignment a file declares (`general.alignment`), or GGUF's default of 32. */
export function ggufAlignment(metadata: Map<string, GgufValue>): number {
  const a = metadata.get("general.alignment");
  if (!a) return GGUF_DEFAULT_ALIGNMENT;
  if (a.type !== "u32" || typeof a.value !== "number" || a.value <= 0 || a.value % 8 !== 0) {
    throw new ExportError(`GGUF metadata "general.alignment" must be a u32 multiple of 8, got ${JSON.stringify(a)}`);
  }
  return a.value;
}

/**
 * Serialise everything before the data section: header, metadata, tensor infos, padding.
 * Returns the bytes and each tensor's offset within the data section.
 */
export function encodeGgufHeader(file: GgufFile): { header: Uint8Array; offsets: number[]; alignment: number } {
  const alignment = ggufAlignment(file.metadata);
  const w = new ByteWriter();
  w.u32(GGUF_MAGIC).u32(GGUF_VERSION).u64(file.tensors.length).u64(file.metadata.size);
  for (const [key, value] of file.metadata) {
    writeString(w, key);
    writeValue(w, key, value);
  }
  const offsets: number[] = [];
  const seen = new Set<string>();
  let offset = 0;
  for (const t of file.tensors) {
    if (seen.has(t.name)) throw new ExportError(`GGUF tensor "${t.name}" appears twice`);
    seen.add(t.name);
    const size = tensorByteSize(t.dtype, t.shape);
    if (size !== t.data.length) {
      throw new ExportError(`GGUF tensor "${t.name}": ${t.dtype} [${t.shape}] needs ${size} bytes, has ${t.data.length}`);
    }
    writeString(w, t.name);
    // GGUF lists dimensions fastest-first (ne[0] = columns), the reverse of row-major shape order.
    const ne = [...t.shape].reverse();
    w.u32(ne.length);
    for (const d of ne) w.u64(d);
    w.u32(GGML_TYPE[t.dtype]);
    w.u64(offset);
    offsets.push(offset);
    offset += Math.ceil(size / alignment) * alignment;
  }
  w.pad(alignment);
  return { header: w.finish(), offsets, alignment };
}

/**
 * Write a GGUF v3 file atomically (temp name, then rename).
 *
 * @example
 * writeGguf("m.gguf", { metadata: new Map([["general.architecture", { type: "string", value: "llama" }]]), tensors });
 */
export function writeGguf(path: string, file: GgufFile): { bytes: number } {
  const { header, alignment } = encodeGgufHeader(file);
  let bytes = 0;
  writeFileAtomic(path, (sink) => {
    sink.write(header);
    for (const t of file.tensors) {
      sink.write(t.data);
      const pad = (alignment - (t.data.length % alignment)) % alignment;
      if (pad) sink.write(new Uint8Array(pad));
    }
    bytes = sink.written;
  });
  return { bytes };
}
