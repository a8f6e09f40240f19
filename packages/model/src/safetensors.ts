/**
 * safetensors reading with strict validation. Layout: u64 little-endian header length N, N bytes of JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {..}}`, then the data section; offsets
 * are relative to the data section and must tile it exactly (no gaps, no overlap, no trailing bytes), as the
 * reference Rust implementation requires. Tensor bytes are kept raw (`Tensor.data`), zero-copy where possible.
 */
import { open, type FileHandle } from "node:fs/promises";
import { byteSize, isDType, numel } from "./dtypes.ts";
import type { DType, Tensor } from "./types.ts";

/** Thrown for a malformed or unsupported safetensors file; the message names the file and, where known, the tensor. */
export class SafetensorsError extends Error {
  override name = "SafetensorsError";
}

/** Largest header we accept (the reference implementation's limit); a bigger length field is a lie. */
const MAX_HEADER_BYTES = 100_000_000;
/** Data sections up to this size are read in one piece and sliced zero-copy; bigger ones per tensor. */
const WHOLE_READ_LIMIT = 1 << 30;
/** dtypes that safetensors defines but a LLaMA weight loader cannot use. */
const OTHER_SAFETENSORS_DTYPES = ["F64", "I64", "I32", "I16", "I8", "U64", "U32", "U16", "U8", "BOOL", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "C64"];

/** One validated header entry; `begin`/`end` are byte offsets into the data section. */
export interface SafetensorsEntry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

/** A parsed header: entries sorted by offset, and the optional string metadata. */
export interface SafetensorsHeader {
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
}

/** Receives every byte of a file exactly once, in file order (used for the model hash). */
export interface ByteSink {
  update(bytes: Uint8Array): unknown;
}

/** How a file is read. */
export interface ReadOptions {
  /** Receives every byte of each file read, in order (the model hash). Default: none. */
  sink?: ByteSink;
  /** Data sections up to this many bytes are read in one piece and sliced zero-copy; bigger ones tensor by tensor. Default 1 GiB. */
  wholeReadLimit?: number;
}
const readDefaults = { sink: { update: () => undefined }, wholeReadLimit: WHOLE_READ_LIMIT } satisfies Required<ReadOptions>;

/** Tensors of one safetensors file. */
export interface SafetensorsFile {
  path: string;
  metadata: Record<string, string>;
  tensors: Map<string, Tensor>;
}

const isNonNegInt = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/**
 * Parse and validate a header's JSON against a data section of `dataBytes` bytes.
 *
 * @example
 * const { entries } = parseSafetensorsHeader(jsonBytes, fileSize - 8 - jsonBytes.length, "model.safetensors");
 */
export function parseSafetensorsHeader(json: Uint8Array, dataBytes: number, file: string): SafetensorsHeader {
  let text: string;
  let raw: unknown;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(json);
  } catch {
    throw new SafetensorsError(`${file}: safetensors header is not valid UTF-8 (corrupt header or header length)`);
  }
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(`${file}: safetensors header is not valid JSON (${(e as Error).message}); corrupt header or wrong header length`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new SafetensorsError(`${file}: safetensors header must be a JSON object`);
  }
  const metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof value !== "object" || value === null || Array.isArray(value)) throw new SafetensorsError(`${file}: __metadata__ must be an object of strings`);
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== "string") throw new SafetensorsError(`${file}: __metadata__.${k} must be a string`);
        metadata[k] = v;
      }
      continue;
    }
    entries.push(parseEntry(name, value, file));
  }
  checkLayout(entries, dataBytes, file);
  return { entries, metadata };
}

function parseEntry(name: string, value: unknown, file: string): SafetensorsEntry {
  const where = `${file}: tensor "${name}"`;
  if (typeof value !== "object" || value === null) throw new SafetensorsError(`${where}: header entry must be an object`);
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (!isDType(dtype) || dtype === "Q8_0") {
    const known = typeof dtype === "string" && OTHER_SAFETENSORS_DTYPES.includes(dtype);
    throw new SafetensorsError(`${where}: ${known ? "unsupported" : "unknown"} dtype ${JSON.stringify(dtype)} (supported: F32, F16, BF16)`);
  }
  if (!Array.isArray(shape) || !shape.every(isNonNegInt)) throw new SafetensorsError(`${where}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegInt) || offsets[0] > offsets[1]) {
    throw new SafetensorsError(`${where}: data_offsets must be [begin, end] with 0 <= begin <= end, got ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  const expected = byteSize(dtype, numel(shape));
  if (end - begin !== expected) {
    throw new SafetensorsError(`${where}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes but ${dtype} [${shape}] needs ${expected}`);
  }
  return { name, dtype, shape: [...shape], begin, end };
}

/** Offsets must tile [0, dataBytes) exactly: sorted, contiguous, in range. */
function checkLayout(entries: SafetensorsEntry[], dataBytes: number, file: string): void {
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let previous = "";
  for (const e of entries) {
    if (e.end > dataBytes) {
      throw new SafetensorsError(`${file}: tensor "${e.name}" data_offsets [${e.begin}, ${e.end}] extend past the data section (${dataBytes} bytes): file truncated or offsets corrupt`);
    }
    if (e.begin < cursor) throw new SafetensorsError(`${file}: tensor "${e.name}" data_offsets [${e.begin}, ${e.end}] overlap tensor "${previous}" (ends at ${cursor})`);
    if (e.begin > cursor) throw new SafetensorsError(`${file}: tensor "${e.name}" starts at ${e.begin} but the previous tensor ends at ${cursor} (gap in the data section)`);
    cursor = e.end;
    previous = e.name;
  }
  if (cursor !== dataBytes) {
    throw new SafetensorsError(`${file}: data section has ${dataBytes} bytes but the tensors cover ${cursor} (trailing bytes or a wrong header length)`);
  }
}

/** Header length from the 8-byte prefix, checked against the bytes that follow it. */
function headerLength(prefix: Uint8Array, fileBytes: number, file: string): number {
  if (fileBytes < 8) throw new SafetensorsError(`${file}: file has ${fileBytes} bytes, too short for the 8-byte safetensors header length (truncated)`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) throw new SafetensorsError(`${file}: header length field says ${n} bytes (limit ${MAX_HEADER_BYTES}); corrupt header length`);
  if (Number(n) + 8 > fileBytes) {
    throw new SafetensorsError(`${file}: header length field says ${n} bytes but only ${fileBytes - 8} follow it (truncated file or header length lie)`);
  }
  return Number(n);
}

/**
 * Parse a whole safetensors file held in memory; tensor data are zero-copy views of `bytes`.
 *
 * @example
 * const { tensors } = parseSafetensors(readFileSync("model.safetensors"), "model.safetensors");
 */
export function parseSafetensors(bytes: Uint8Array, file = "<memory>"): SafetensorsFile {
  const n = headerLength(bytes, bytes.byteLength, file);
  const dataStart = 8 + n;
  const header = parseSafetensorsHeader(bytes.subarray(8, dataStart), bytes.byteLength - dataStart, file);
  const tensors = new Map<string, Tensor>();
  for (const e of header.entries) {
    tensors.set(e.name, { name: e.name, dtype: e.dtype, shape: e.shape, data: bytes.subarray(dataStart + e.begin, dataStart + e.end) });
  }
  return { path: file, metadata: header.metadata, tensors };
}

async function readExactly(fh: FileHandle, position: number, length: number, file: string): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(out, done, length - done, position + done);
    if (bytesRead === 0) throw new SafetensorsError(`${file}: unexpected end of file at byte ${position + done} (file shrank while reading?)`);
    done += bytesRead;
  }
  return out;
}

/**
 * Read and validate one safetensors file. Data sections up to `wholeReadLimit` (1 GiB) are read in one piece
 * (tensors are views of it); bigger ones are read tensor by tensor so no buffer exceeds a tensor (Node caps a
 * single read at 2 GiB). `sink` sees every byte.
 *
 * @example
 * const { tensors } = await readSafetensorsFile("../shared/models/stories260K-hf/model.safetensors");
 */
export async function readSafetensorsFile(path: string, options: ReadOptions = {}): Promise<SafetensorsFile> {
  const sink = options.sink ?? readDefaults.sink;
  const wholeReadLimit = options.wholeReadLimit ?? readDefaults.wholeReadLimit;
  const file = path;
  let fh: FileHandle;
  try {
    fh = await open(path, "r");
  } catch (e) {
    throw new SafetensorsError(`${file}: cannot open safetensors file (${(e as Error).message})`);
  }
  try {
    const size = (await fh.stat()).size;
    const prefix = await readExactly(fh, 0, Math.min(8, size), file);
    const n = headerLength(prefix, size, file);
    const json = await readExactly(fh, 8, n, file);
    const dataStart = 8 + n;
    const header = parseSafetensorsHeader(json, size - dataStart, file);
    sink.update(prefix);
    sink.update(json);
    const tensors = new Map<string, Tensor>();
    const dataBytes = size - dataStart;
    if (dataBytes <= wholeReadLimit) {
      const data = await readExactly(fh, dataStart, dataBytes, file);
      sink.update(data);
      for (const e of header.entries) tensors.set(e.name, { name: e.name, dtype: e.dtype, shape: e.shape, data: data.subarray(e.begin, e.end) });
    } else {
      // Entries tile the data section in order, so reading them in turn feeds the sink the whole file.
      for (const e of header.entries) {
        const data = await readExactly(fh, dataStart + e.begin, e.end - e.begin, file);
        sink.update(data);
        tensors.set(e.name, { name: e.name, dtype: e.dtype, shape: e.shape, data });
      }
    }
    return { path, metadata: header.metadata, tensors };
  } finally {
    await fh.close();
  }
}

