/**
 * A growable little-endian byte buffer for file headers (GGUF metadata, llama2.c header). Tensor payloads
 * are not copied through it: writers stream them straight to the file.
 */
export class ByteWriter {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  private pos = 0;

  /** Bytes written so far. */
  get length(): number {
    return this.pos;
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): this {
    this.reserve(1);
    this.view.setUint8(this.pos, v);
    this.pos += 1;
    return this;
  }
  i8(v: number): this {
    this.reserve(1);
    this.view.setInt8(this.pos, v);
    this.pos += 1;
    return this;
  }
  u16(v: number): this {
    this.reserve(2);
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
    return this;
  }
  i16(v: number): this {
    this.reserve(2);
    this.view.setInt16(this.pos, v, true);
    this.pos += 2;
    return this;
  }
  u32(v: number): this {
    this.reserve(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
    return this;
  }
  i32(v: number): this {
    this.reserve(4);
    this.view.setInt32(this.pos, v, true);
    this.pos += 4;
    return this;
  }
  f32(v: number): this {
    this.reserve(4);
    this.view.setFloat32(this.pos, v, true);
    this.pos += 4;
    return this;
  }
  f64(v: number): this {
    this.reserve(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
    return this;
  }
  u64(v: number | bigint): this {
    this.reserve(8);
    this.view.setBigUint64(this.pos, BigInt(v), true);
    this.pos += 8;
    return this;
  }
  i64(v: number | bigint): this {
    this.reserve(8);
    this.view.setBigInt64(this.pos, BigInt(v), true);
    this.pos += 8;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.reserve(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }
  /** Zero bytes until the length is a multiple of `alignment`. */
  pad(alignment: number): this {
    const n = (alignment - (this.pos % alignment)) % alignment;
    this.reserve(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
    return this;
  }
  /** The written bytes (a view, not a copy). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}
