import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { halvesToInterleaved, interleavedToHalves, llama2cFileBytes, parseLlama2c, parseLlama2cHeader } from "./llama2c.ts";
import { parseSafetensors } from "./safetensors.ts";
import { sharedDir } from "./paths.ts";

const models = join(sharedDir(), "models");
const bin = readFileSync(join(models, "stories260K", "stories260K.bin"));
const hf = parseSafetensors(readFileSync(join(models, "stories260K-hf", "model.safetensors")), "model.safetensors");

describe("llama2.c v0", () => {
  test("header of stories260K", () => {
    expect(parseLlama2cHeader(bin, "s.bin")).toEqual({ dim: 64, hiddenDim: 172, numLayers: 5, numHeads: 8, numKvHeads: 4, vocabSize: 512, seqLen: 512, sharedClassifier: true });
    expect(llama2cFileBytes(parseLlama2cHeader(bin, "s.bin"))).toBe(bin.byteLength);
  });

  test("converted tensors are bit-equal to the HF export (q/k rows permuted to rotate-half)", () => {
    const { config, tensors } = parseLlama2c(bin, "s.bin");
    expect(config).toMatchObject({ hiddenSize: 64, intermediateSize: 172, numLayers: 5, numHeads: 8, numKvHeads: 4, headDim: 8, vocabSize: 512, maxPositions: 512, tieWordEmbeddings: true, rmsNormEps: 1e-5 });
    expect([...tensors.keys()].sort()).toEqual([...hf.tensors.keys()].sort());
    for (const [name, t] of hf.tensors) {
      const mine = tensors.get(name)!;
      expect([mine.dtype, mine.shape]).toEqual([t.dtype, t.shape]);
      expect(Buffer.from(mine.data).equals(Buffer.from(t.data))).toBe(true);
    }
  });

  test("without the permutation q/k would differ (the check above is not vacuous)", () => {
    const { tensors } = parseLlama2c(bin, "s.bin");
    const q = tensors.get("model.layers.0.self_attn.q_proj.weight")!;
    const w = new Float32Array(q.data.slice().buffer);
    const raw = halvesToInterleaved(w, 64, 64, 8);
    const want = hf.tensors.get("model.layers.0.self_attn.q_proj.weight")!;
    expect(Buffer.from(raw.buffer).equals(Buffer.from(want.data))).toBe(false);
  });

  test("the permutation and its inverse undo each other", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 3 }), (heads, half, cols) => {
        const rows = heads * 2 * half;
        const w = Float32Array.from({ length: rows * cols }, (_, i) => i);
        const there = interleavedToHalves(w, rows, cols, 2 * half);
        expect(halvesToInterleaved(there, rows, cols, 2 * half)).toEqual(w);
        // row 2i + j of each head lands at j * half + i
        expect(there[(1 * half + 0) * cols]).toBe(w[1 * cols]);
      }),
    );
  });

  test("unshared classifier (negative vocab_size) adds lm_head.weight", () => {
    const extra = Float32Array.from({ length: 512 * 64 }, (_, i) => i / 1000);
    const file = new Uint8Array(bin.byteLength + extra.byteLength);
    file.set(bin);
    file.set(new Uint8Array(extra.buffer), bin.byteLength);
    new DataView(file.buffer).setInt32(20, -512, true);
    const { config, tensors } = parseLlama2c(file, "u.bin");
    expect(config.tieWordEmbeddings).toBe(false);
    expect(new Float32Array(tensors.get("lm_head.weight")!.data.slice().buffer)).toEqual(extra);
  });

  const withHeader = (field: number, value: number) => {
    const copy = new Uint8Array(bin);
    new DataView(copy.buffer).setInt32(field * 4, value, true);
    return copy;
  };
  const bad: [string, () => Uint8Array, RegExp][] = [
    ["too short for a header", () => bin.subarray(0, 20), /bad\.bin: 20 bytes, too short for the 28-byte llama2\.c header/],
    ["truncated weights", () => bin.subarray(0, bin.byteLength - 4), /bad\.bin: 1056536 bytes, but the header .* needs 1056540: file truncated/],
    ["trailing bytes", () => new Uint8Array([...bin, 0, 0, 0, 0]), /needs 1056540: file has trailing bytes/],
    ["header size lie (unshared flag without a classifier)", () => withHeader(5, -512), /vocab 512 unshared.* needs 1187612: file truncated/],
    ["zero heads", () => withHeader(3, 0), /header n_heads = 0 must be positive/],
    ["dim not divisible by heads", () => withHeader(3, 7), /header dim 64 is not divisible by n_heads 7/],
    ["heads not a multiple of kv heads", () => withHeader(4, 3), /n_heads 8 is not a multiple of n_kv_heads 3/],
    ["zero vocab", () => withHeader(5, 0), /header vocab_size is 0/],
  ];
  for (const [name, make, message] of bad) {
    test(`rejects: ${name}`, () => {
      expect(() => parseLlama2c(make(), "bad.bin")).toThrow(message);
    });
  }
});
