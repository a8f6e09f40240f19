import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { f16BitsToNumber, tensorToFloat32 } from "@nas/model";
import { canQuantizeQ8_0, dequantizeQ8_0, quantizeQ8_0, quantizeTensorQ8_0 } from "./q8_0.ts";

describe("Q8_0", () => {
  test("block layout: f16 scale amax/127 then 32 int8, ties rounded away from zero", () => {
    const x = new Float32Array(32);
    x[0] = 127; // amax 127 -> d = 1 exactly, so q = round(x)
    x[1] = 2.5;
    x[2] = -2.5;
    x[3] = 0.5;
    x[4] = -0.5;
    x[5] = -127;
    x[6] = 1.49;
    const b = quantizeQ8_0(x);
    expect(b.length).toBe(34);
    const view = new DataView(b.buffer);
    expect(view.getUint16(0, true)).toBe(0x3c00); // f16 1.0
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((j) => view.getInt8(1 + j))).toEqual([127, 3, -3, 1, -1, -127, 1, 0]);
  });

  test("an all-zero block has scale 0 and decodes to zeros", () => {
    const b = quantizeQ8_0(new Float32Array(64));
    expect(Array.from(b)).toEqual(new Array(68).fill(0));
    expect(Array.from(dequantizeQ8_0(b))).toEqual(new Array(64).fill(0));
  });

  test("dequantization error is at most half a step (plus the f16 rounding of the scale)", () => {
    fc.assert(
      fc.property(fc.array(fc.float({ min: -1e4, max: 1e4, noNaN: true, noDefaultInfinity: true }), { minLength: 32, maxLength: 32 * 4 }), (raw) => {
        const n = Math.floor(raw.length / 32) * 32;
        const x = Float32Array.from(raw.slice(0, n));
        const b = quantizeQ8_0(x);
        const y = dequantizeQ8_0(b);
        for (let blk = 0; blk < n / 32; blk++) {
          const d16 = f16BitsToNumber(new DataView(b.buffer).getUint16(blk * 34, true));
          let amax = 0;
          for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[blk * 32 + j]));
          const bound = 0.5 * d16 + 127 * Math.abs(amax / 127 - d16) + 1e-6 * amax + 1e-30;
          for (let j = 0; j < 32; j++) {
            if (Math.abs(y[blk * 32 + j] - x[blk * 32 + j]) > bound) return false;
          }
        }
        return true;
      }),
    );
  });

  test("tensors: rows must be whole blocks; the decoder in @nas/model agrees with ours", () => {
    expect(canQuantizeQ8_0([4, 64])).toBe(true);
    expect(canQuantizeQ8_0([64, 172])).toBe(false);
    const values = Float32Array.from({ length: 2 * 64 }, (_, i) => Math.sin(i) * (i % 7));
    const t = { name: "w", dtype: "F32" as const, shape: [2, 64], data: new Uint8Array(values.buffer) };
    const q = quantizeTensorQ8_0(t);
    expect(q.dtype).toBe("Q8_0");
    expect(q.data.length).toBe(4 * 34);
    expect(Array.from(tensorToFloat32(q))).toEqual(Array.from(dequantizeQ8_0(q.data)));
    expect(() => quantizeTensorQ8_0({ ...t, shape: [4, 32 + 0], data: new Uint8Array(4 * 32 * 4) })).not.toThrow();
    expect(() => quantizeTensorQ8_0({ name: "down", dtype: "F32", shape: [1, 172], data: new Uint8Array(172 * 4) })).toThrow(/down.*multiple of 32/);
  });
});
