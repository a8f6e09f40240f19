/**
 * A minimal protobuf wire-format reader: enough to walk SentencePiece's ModelProto without generated code.
 * Wire types handled: 0 (varint), 1 (64-bit), 2 (length-delimited), 5 (32-bit). Groups (3/4) are rejected.
 */

/** One field occurrence: its number, wire type and raw value (a number for varint/fixed, bytes for type 2). */
export interface ProtoField {
  field: number;
  wireType: 0 | 1 | 2 | 5;
  /** varint value (exact up to 2^53; SentencePiece's ints are small) */
  varint: number;
  /** the varint's low 32 bits as a signed int32 (exact even for negative int32 values, which use 10 bytes) */
  int32: number;
  /** payload for wire type 2 (a view, not a copy), or the 4/8 raw bytes for fixed types */
  bytes: Uint8Array;
}

/** Thrown for bytes that are not a well-formed protobuf message; the message says where (`what` + byte offset). */
export class ProtoError extends Error {
  override name = "ProtoError";
}

/**
 * Iterate the fields of one message in `buf`. `what` names the message in errors (e.g. "tokenizer.model ModelProto").
 *
 * @example
 * for (const f of readFields(bytes, "ModelProto")) if (f.field === 1) pieces.push(f.bytes);
 */
export function* readFields(buf: Uint8Array, what: string): Generator<ProtoField> {
  let pos = 0;
  let low32 = 0;
  const readVarint = (): number => {
    let result = 0;
    let scale = 1;
    low32 = 0;
    for (let i = 0; i < 10; i++) {
      if (pos >= buf.length) throw new ProtoError(`${what}: truncated varint at byte ${pos}`);
      const b = buf[pos++];
      result += (b & 0x7f) * scale;
      if (i < 5) low32 |= (b & 0x7f) << (7 * i); // bits beyond 32 fall off the shift, as intended
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
    throw new ProtoError(`${what}: varint longer than 10 bytes at byte ${pos}`);
  };
  while (pos < buf.length) {
    const start = pos;
    const key = readVarint();
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    if (field === 0) throw new ProtoError(`${what}: field number 0 at byte ${start}`);
    if (wireType === 0) {
      const v = readVarint();
      yield { field, wireType, varint: v, int32: low32 | 0, bytes: new Uint8Array(0) };
    } else if (wireType === 1 || wireType === 5) {
      const n = wireType === 1 ? 8 : 4;
      if (pos + n > buf.length) throw new ProtoError(`${what}: truncated fixed${n * 8} field ${field} at byte ${start}`);
      yield { field, wireType, varint: 0, int32: 0, bytes: buf.subarray(pos, pos + n) };
      pos += n;
    } else if (wireType === 2) {
      const len = readVarint();
      if (pos + len > buf.length) {
        throw new ProtoError(`${what}: field ${field} claims ${len} bytes at byte ${start}, only ${buf.length - pos} left`);
      }
      yield { field, wireType, varint: 0, int32: 0, bytes: buf.subarray(pos, pos + len) };
      pos += len;
    } else {
      throw new ProtoError(`${what}: unsupported wire type ${wireType} for field ${field} at byte ${start}`);
    }
  }
}

/** Decode a little-endian float32 from a wire-type-5 field. */
export function fieldFloat32(f: ProtoField): number {
  return new DataView(f.bytes.buffer, f.bytes.byteOffset, 4).getFloat32(0, true);
}

