import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  byteSize,
  encodeTensor,
  f16BitsToNumber,
  f32BitsToBf16,
  f32BitsToF16,
  float32ToBf16Bytes,
  float32ToF16Bytes,
  tensorToFloat32,
} from "./dtypes.ts";
import type { DType, Tensor } from "./types.ts";

const u16 = (...v: number[]) => new Uint8Array(Uint16Array.from(v).buffer);
const tensor = (dtype: DType, shape: number[], data: Uint8Array): Tensor => ({ name: "t", dtype, shape, data });
const bitsOf = (x: number) => new Uint32Array(Float32Array.of(x).buffer)[0];
const valueOf = (bits: number) => new Float32Array(Uint32Array.of(bits).buffer)[0];

describe("decoding", () => {
  test("F16 special values: zeros, subnormals, max, infinities, NaN", () => {
    const out = tensorToFloat32(tensor("F16", [8], u16(0x0000, 0x8000, 0x0001, 0x03ff, 0x7bff, 0x7c00, 0xfc00, 0x7e00)));
    expect(Object.is(out[0], 0)).toBe(true);
    expect(Object.is(out[1], -0)).toBe(true);
    expect(out[2]).toBe(2 ** -24);
    expect(out[3]).toBe(1023 * 2 ** -24);
    expect(out[4]).toBe(65504);
    expect(out[5]).toBe(Infinity);
    expect(out[6]).toBe(-Infinity);
    expect(Number.isNaN(out[7])).toBe(true);
  });

  test("BF16 is the top half of float32, including subnormals and NaN", () => {
    const out = tensorToFloat32(tensor("BF16", [5], u16(0x3f80, 0xc000, 0x0001, 0x7f80, 0x7fc0)));
    expect([...out.slice(0, 4)]).toEqual([1, -2, valueOf(0x00010000), Infinity]);
    expect(Number.isNaN(out[4])).toBe(true);
  });

  test("unaligned data decodes the same as aligned data", () => {
    const values = Float32Array.of(1.5, -2.25, 3e-41, 7);
    const padded = new Uint8Array(17);
    padded.set(new Uint8Array(values.buffer), 1);
    expect([...tensorToFloat32(tensor("F32", [4], padded.subarray(1)))]).toEqual([...values]);
    const half = new Uint8Array(9);
    half.set(u16(0x3c00, 0x4000, 0x0001, 0xbc00), 1);
    expect([...tensorToFloat32(tensor("F16", [4], half.subarray(1)))]).toEqual([1, 2, 2 ** -24, -1]);
  });

  test("F32 decoding copies (does not alias the raw bytes)", () => {
    const raw = new Uint8Array(Float32Array.of(1, 2).buffer);
    const out = tensorToFloat32(tensor("F32", [2], raw));
    out[0] = 42;
    expect(new Float32Array(raw.buffer)[0]).toBe(1);
  });

  test("Q8_0 blocks decode as scale * int8", () => {
    const block = new Uint8Array(34);
    block.set(u16(0x3800), 0); // scale 0.5
    for (let j = 0; j < 32; j++) block[2 + j] = (j - 16) & 0xff;
    const out = tensorToFloat32(tensor("Q8_0", [32], block));
    expect([...out]).toEqual(Array.from({ length: 32 }, (_, j) => (j - 16) * 0.5));
  });

  test("a byte length that does not match the shape is an error naming the tensor", () => {
    expect(() => tensorToFloat32({ name: "model.norm.weight", dtype: "BF16", shape: [4], data: new Uint8Array(6) })).toThrow(
      /"model\.norm\.weight" \(BF16 \[4\]\) has 6 bytes, its shape needs 8/,
    );
    expect(() => byteSize("Q8_0", 31)).toThrow(/multiple of 32/);
  });
});

describe("encoding (round to nearest even)", () => {
  test("every half value survives decode -> encode", () => {
    for (let h = 0; h < 65536; h++) {
      const x = f16BitsToNumber(h);
      const back = f32BitsToF16(bitsOf(x));
      if (Number.isNaN(x)) expect(Number.isNaN(f16BitsToNumber(back))).toBe(true);
      else expect(back).toBe(h);
    }
  });

  test("F16: the result is the nearest half, ties to even, with overflow to infinity", () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true }), (x) => {
        const xf = Math.fround(x);
        const h = f32BitsToF16(bitsOf(xf));
        const v = f16BitsToNumber(h);
        if (Math.abs(xf) >= 65520) return v === Math.sign(xf) * Infinity; // 65520 = max + half an ulp, ties up to inf
        const err = Math.abs(v - xf);
        for (const n of [h - 1, h + 1]) {
          if ((n & 0x7c00) === 0x7c00 || n < 0 || ((n ^ h) & 0x8000) !== 0) continue;
          const e = Math.abs(f16BitsToNumber(n) - xf);
          if (e < err || (e === err && (h & 1) === 1)) return false;
        }
        return true;
      }),
      { numRuns: 20000 },
    );
  });

  test("F16 edge cases: smallest subnormal, ties, NaN", () => {
    expect(f32BitsToF16(bitsOf(2 ** -25))).toBe(0); // exact tie between 0 and 2^-24 -> even (0)
    expect(f32BitsToF16(bitsOf(Math.fround(2 ** -25 * 1.0000001)))).toBe(1);
    expect(f32BitsToF16(bitsOf(3 * 2 ** -25))).toBe(2); // tie between 1 and 2 units -> even
    expect(f32BitsToF16(bitsOf(2 ** -14 - 2 ** -25))).toBe(0x0400); // rounds up into the smallest normal
    expect(f32BitsToF16(bitsOf(1 + 2 ** -11))).toBe(0x3c00); // tie -> even mantissa
    expect(f32BitsToF16(bitsOf(1 + 3 * 2 ** -11))).toBe(0x3c02);
    expect(f32BitsToF16(bitsOf(-0))).toBe(0x8000);
    expect(Number.isNaN(f16BitsToNumber(f32BitsToF16(0x7f800001)))).toBe(true);
  });

  test("BF16: nearest, ties to even, NaN stays NaN", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (u) => {
        const x = valueOf(u);
        const b = f32BitsToBf16(u);
        const v = valueOf(b << 16);
        if (Number.isNaN(x)) return Number.isNaN(v);
        if (!Number.isFinite(v)) return Math.abs(x) >= valueOf(0x7f7f8000); // max bf16 + half an ulp
        const err = Math.abs(v - x);
        for (const n of [b - 1, b + 1]) {
          if (((n ^ b) & 0x8000) !== 0 || (n & 0x7f80) === 0x7f80) continue;
          const e = Math.abs(valueOf((n & 0xffff) << 16) - x);
          if (e < err || (e === err && (b & 1) === 1)) return false;
        }
        return true;
      }),
      { numRuns: 20000 },
    );
    expect(f32BitsToBf16(0x3f808000)).toBe(0x3f80);
    expect(f32BitsToBf16(0x3f818000)).toBe(0x3f82);
  });

  test("byte encoders and encodeTensor agree with the scalar encoders", () => {
    const values = Float32Array.of(1, -0.1, 65504, 1e-7, 3.14159);
    const f16 = new Uint16Array(float32ToF16Bytes(values).buffer);
    const bf16 = new Uint16Array(float32ToBf16Bytes(values).buffer);
    values.forEach((v, i) => {
      expect(f16[i]).toBe(f32BitsToF16(bitsOf(v)));
      expect(bf16[i]).toBe(f32BitsToBf16(bitsOf(v)));
    });
    const t = encodeTensor("w", "F16", [5], values);
    expect(t.data).toEqual(float32ToF16Bytes(values));
    expect(tensorToFloat32(encodeTensor("w", "F32", [5], values))).toEqual(values);
    expect(() => encodeTensor("w", "F16", [4], values)).toThrow(/5 values do not fill shape \[4\]/);
  });
});
