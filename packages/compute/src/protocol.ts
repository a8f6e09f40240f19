/**
 * Binary framing between the Bun side (client.ts) and the Node engine worker (worker/main.ts).
 *
 * Why a worker: Bun 1.4 segfaults in dawn.node's promise settlement (mapAsync / onSubmittedWorkDone) once GPU
 * work is still running at the first await (reproduced here at 64^3 matmul; Node 20 is fine), so the GPU lives
 * in a Node process and the Bun process talks to it over stdin/stdout.
 *
 * Frame: u32 LE header length | u32 LE payload length | header (UTF-8 JSON) | payload bytes.
 * Typed arrays travel in the payload: the header names them as `{ $buf: index, type, length }` entries, so large
 * tensors (logits, scores) are never JSON-encoded.
 */

export type TypedArray = Float32Array | Int32Array | Uint32Array | Uint8Array | Float64Array;
const ctors = { Float32Array, Int32Array, Uint32Array, Uint8Array, Float64Array } as const;
type CtorName = keyof typeof ctors;

interface BufRef {
  $buf: number;
  type: CtorName;
  length: number;
}

/** Encode a message (any JSON-like value that may contain typed arrays) into one frame. */
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
  const frame = new Uint8Array(8 + headerPadded + payloadLength);
  const view = new DataView(frame.buffer);
  view.setUint32(0, headerPadded, true);
  view.setUint32(4, payloadLength, true);
  frame.set(headerBytes, 8);
  frame.fill(0x20, 8 + headerBytes.length, 8 + headerPadded); // pad with JSON whitespace
  buffers.forEach((b, i) => frame.set(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), 8 + headerPadded + offsets[i]));
  return frame;
}

/** Decode one complete frame (header + payload) back into a message; typed arrays are views into `frame`. */
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
 * Incremental reader: feed chunks from a stream, get complete frames out.
 * @example
 * const r = new FrameReader(); for (const chunk of chunks) for (const msg of r.push(chunk)) handle(msg);
 */
export class FrameReader {
  private chunks: Uint8Array[] = [];
  private size = 0;

  push(chunk: Uint8Array): unknown[] {
    this.chunks.push(chunk);
    this.size += chunk.length;
    const out: unknown[] = [];
    for (;;) {
      if (this.size < 8) break;
      const head = this.peek(8);
      const dv = new DataView(head.buffer, head.byteOffset, 8);
      const total = 8 + dv.getUint32(0, true) + dv.getUint32(4, true);
      if (this.size < total) break;
      out.push(decodeFrame(this.take(total)));
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
