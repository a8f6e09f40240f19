/**
 * Binary framing between the Bun side (client.ts) and the Node engine worker (worker/main.ts).
 *
 * Why a worker: Bun 1.4 segfaults in dawn.node's promise settlement (mapAsync / onSubmittedWorkDone) once GPU
 * work is still running at the first await (reproduced here at 64^3 matmul; Node 20 is fine), so the GPU lives
 * in a Node process and the Bun process talks to it over stdin/stdout.
 *
 * Frame: 8-byte marker | u32 LE header length | u32 LE payload length | header (UTF-8 JSON) | payload bytes.
 * Typed arrays travel in the payload: the header names them as `{ $buf: index, type, length }` entries, so large
 * tensors (logits, scores) are never JSON-encoded.
 *
 * The marker is there because native code in the worker writes to the same stdout: Dawn prints WGSL compiler
 * warnings there (seen: "warning: code is unreachable" for a new kernel variant), and before the marker those
 * bytes were read as a frame length and the engine waited forever for a frame that never completed. Bytes
 * outside frames are handed to the reader's `stray` callback (the client shows them as worker output) and the
 * reader resynchronises on the next marker. It ends in 0xff, which no UTF-8 text contains.
 */

export type TypedArray = Float32Array | Int32Array | Uint32Array | Uint8Array | Float64Array;
const ctors = { Float32Array, Int32Array, Uint32Array, Uint8Array, Float64Array } as const;
type CtorName = keyof typeof ctors;

interface BufRef {
  $buf: number;
  type: CtorName;
  length: number;
}

export class FrameError extends Error {
  override name = "FrameError";
}

/** Start of every frame: "NASFRM", 0, 0xff. */
export const FRAME_MARKER = new Uint8Array([0x4e, 0x41, 0x53, 0x46, 0x52, 0x4d, 0x00, 0xff]);
const M = FRAME_MARKER.length;

/** Encode a message (any JSON-like value that may contain typed arrays) into one frame (marker included). */
export function encodeFrame(message: unknown): Uint8Array {
  const buffers: TypedArray[] = [];
  const header = JSON.stringify(message, (_key, value) => {
    if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
      const type = value.constructor.name as CtorName;
      if (!(type in ctors)) throw new Error(`protocol: cannot send ${type}`);
      buffers.push(value as TypedArray);
      return { $buf: buffers.length - 1, type, length: (value as TypedArray).length } satisfies BufRef;
    }
    return value;
  });
  const headerBytes = new TextEncoder().encode(header);
  // Each buffer is 8-byte aligned inside the payload so the receiver can view it without copying.
  let payloadLength = 0;
  const offsets: number[] = [];
  for (const b of buffers) {
    payloadLength = align8(payloadLength);
    offsets.push(payloadLength);
    payloadLength += b.byteLength;
  }
  const headerPadded = align8(headerBytes.length);
  const frame = new Uint8Array(M + 8 + headerPadded + payloadLength);
  frame.set(FRAME_MARKER, 0);
  const body = frame.subarray(M);
  const view = new DataView(frame.buffer, M);
  view.setUint32(0, headerPadded, true);
  view.setUint32(4, payloadLength, true);
  body.set(headerBytes, 8);
  body.fill(0x20, 8 + headerBytes.length, 8 + headerPadded); // pad with JSON whitespace
  buffers.forEach((b, i) => body.set(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), 8 + headerPadded + offsets[i]));
  return frame;
}

/**
 * Decode one complete frame body (lengths + header + payload, the marker already taken off) back into a message;
 * typed arrays are views into `frame`.
 */
export function decodeFrame(frame: Uint8Array): unknown {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const headerLength = view.getUint32(0, true);
  const payloadStart = 8 + headerLength;
  const header = new TextDecoder().decode(frame.subarray(8, payloadStart));
  // Recompute the same aligned offsets as the encoder, in order of appearance.
  let cursor = 0;
  return JSON.parse(header, (_key, value) => {
    if (value && typeof value === "object" && typeof value.$buf === "number" && value.type in ctors) {
      const ref = value as BufRef;
      const C = ctors[ref.type];
      cursor = align8(cursor);
      const start = frame.byteOffset + payloadStart + cursor;
      cursor += ref.length * C.BYTES_PER_ELEMENT;
      if (start % C.BYTES_PER_ELEMENT === 0) return new C(frame.buffer as ArrayBuffer, start, ref.length);
      return new C(frame.slice(start - frame.byteOffset, start - frame.byteOffset + ref.length * C.BYTES_PER_ELEMENT).buffer);
    }
    return value;
  });
}

/**
 * Incremental reader: feed chunks from a stream, get complete frames out. Bytes before a frame marker are not
 * part of any frame: they go to `stray` (in order, possibly split across calls).
 * @example
 * const r = new FrameReader((b) => process.stderr.write(b)); for (const chunk of chunks) for (const msg of r.push(chunk)) handle(msg);
 */
export class FrameReader {
  private chunks: Uint8Array[] = [];
  private size = 0;

  /** Bytes (marker included) of the frame at the front once its lengths are known; 0 between frames. */
  private need = 0;

  constructor(private readonly stray: (bytes: Uint8Array) => void = () => {}) {}

  push(chunk: Uint8Array): unknown[] {
    this.chunks.push(chunk);
    this.size += chunk.length;
    const out: unknown[] = [];
    for (;;) {
      if (this.need === 0) {
        if (this.size < M) break;
        // Usually the front starts with a marker; only stray output (rare) makes the reader look further.
        const front = this.chunks[0];
        const at = front.length >= M && startsWithMarker(front, 0) ? 0 : indexOfMarker(this.peek(this.size));
        if (at < 0) {
          // No marker: all but a possible marker start at the end is stray output.
          this.stray(this.take(this.size - (M - 1)));
          break;
        }
        if (at > 0) this.stray(this.take(at));
        if (this.size < M + 8) break;
        const head = this.peek(M + 8);
        const dv = new DataView(head.buffer, head.byteOffset + M, 8);
        this.need = M + 8 + dv.getUint32(0, true) + dv.getUint32(4, true);
      }
      if (this.size < this.need) break;
      const total = this.need;
      this.need = 0;
      this.take(M);
      const body = this.take(total - M);
      try {
        out.push(decodeFrame(body));
      } catch (e) {
        // Foreign bytes landed inside this frame: which request it answered is lost, so the caller must fail them all.
        throw new FrameError(`corrupt frame of ${total} bytes (${e instanceof Error ? e.message : String(e)})`);
      }
    }
    return out;
  }

  private peek(n: number): Uint8Array {
    if (this.chunks[0].length >= n) return this.chunks[0];
    this.chunks = [concat(this.chunks, this.size)];
    return this.chunks[0];
  }

  private take(n: number): Uint8Array {
    const all = this.chunks.length === 1 ? this.chunks[0] : concat(this.chunks, this.size);
    // Copy the frame out so its typed-array views are 8-byte aligned (offset 0 of a fresh buffer).
    const frame = all.slice(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.size = rest.length;
    return frame;
  }
}

function startsWithMarker(b: Uint8Array, i: number): boolean {
  for (let j = 0; j < M; j++) if (b[i + j] !== FRAME_MARKER[j]) return false;
  return true;
}

/** Index of the first frame marker in `b`, or -1. */
function indexOfMarker(b: Uint8Array): number {
  for (let i = b.indexOf(FRAME_MARKER[0]); i >= 0 && i + M <= b.length; i = b.indexOf(FRAME_MARKER[0], i + 1)) {
    if (startsWithMarker(b, i)) return i;
  }
  return -1;
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

/** Request sent to the worker. `op` selects the handler; `id` pairs it with its response. */
export interface Request {
  id: number;
  op: string;
  args: unknown;
}

/** Response from the worker: either `result` or `error` (message + name + optional stack). */
export type Response =
  | { id: number; result: unknown }
  | { id: number; error: { name: string; message: string; stack?: string } };
