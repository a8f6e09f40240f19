import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeTensor, type Tensor } from "@nas/model";
import { ExportError } from "./atomic.ts";
import type { GgufValue } from "./gguf-format.ts";
import { GgufFormatError, parseGguf, readGguf } from "./gguf-read.ts";
import { encodeGgufHeader, writeGguf } from "./gguf-write.ts";
import { quantizeTensorQ8_0 } from "./q8_0.ts";

const dir = mkdtempSync(join(tmpdir(), "nas-gguf-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sampleTensors(): Tensor[] {
  const vals = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.37) * 3);
  return [
    encodeTensor("a.f32", "F32", [3], vals(3)),
    encodeTensor("b.f16", "F16", [2, 5], vals(10)),
    encodeTensor("c.bf16", "BF16", [4, 3], vals(12)),
    quantizeTensorQ8_0(encodeTensor("d.q8", "F32", [3, 64], vals(192))),
  ];
}

function sampleMetadata(): Map<string, GgufValue> {
  return new Map<string, GgufValue>([
    ["general.architecture", { type: "string", value: "llama" }],
    ["general.alignment", { type: "u32", value: 32 }],
    ["t.u8", { type: "u8", value: 255 }],
    ["t.i8", { type: "i8", value: -128 }],
    ["t.u16", { type: "u16", value: 65535 }],
    ["t.i16", { type: "i16", value: -32768 }],
    ["t.i32", { type: "i32", value: -5 }],
    ["t.f32", { type: "f32", value: 0.5 }],
    ["t.f64", { type: "f64", value: 1e-300 }],
    ["t.bool", { type: "bool", value: true }],
    ["t.u64", { type: "u64", value: 2n ** 63n }],
    ["t.i64", { type: "i64", value: -7 }],
    ["t.unicode", { type: "string", value: "▁héllo <0x0A>" }],
    ["t.strings", { type: "array", itemType: "string", value: ["<unk>", "▁a", ""] }],
    ["t.ints", { type: "array", itemType: "i32", value: [172, 128, -1] }],
    ["t.floats", { type: "array", itemType: "f32", value: [0.25, -2] }],
  ]);
}

describe("GGUF v3 writer and reader", () => {
  test("metadata of every type and F32/F16/BF16/Q8_0 tensors round-trip exactly, data 32-aligned", () => {
    const path = join(dir, "all.gguf");
    const tensors = sampleTensors();
    const metadata = sampleMetadata();
    const { bytes } = writeGguf(path, { metadata, tensors });
    expect(readFileSync(path).length).toBe(bytes);
    const back = readGguf(path);
    expect(back.version).toBe(3);
    expect(back.alignment).toBe(32);
    expect([...back.metadata]).toEqual([...metadata]);
    expect(back.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual(tensors.map((t) => [t.name, t.dtype, t.shape]));
    back.tensors.forEach((t, i) => {
      expect(Array.from(t.data)).toEqual(Array.from(tensors[i].data));
      expect(t.data.byteOffset % 32).toBe(0);
    });
  });

  test("header layout: magic, version 3, counts, ne in fastest-first order", () => {
    const { header, offsets } = encodeGgufHeader({ metadata: new Map(), tensors: [encodeTensor("w", "F32", [2, 3], new Float32Array(6))] });
    const v = new DataView(header.buffer, header.byteOffset);
    expect(new TextDecoder().decode(header.subarray(0, 4))).toBe("GGUF");
    expect(v.getUint32(4, true)).toBe(3);
    expect(v.getBigUint64(8, true)).toBe(1n);
    expect(v.getBigUint64(16, true)).toBe(0n);
    // name: u64 len 1, "w"; n_dims 2; ne = [3, 2]; type 0; offset 0
    expect(v.getUint32(24 + 8 + 1, true)).toBe(2);
    expect(v.getBigUint64(24 + 8 + 1 + 4, true)).toBe(3n);
    expect(v.getBigUint64(24 + 8 + 1 + 12, true)).toBe(2n);
    expect(offsets).toEqual([0]);
    expect(header.length % 32).toBe(0);
  });

  test("malformed files raise GgufFormatError naming the file", () => {
    const good = (() => {
      const p = join(dir, "good.gguf");
      writeGguf(p, { metadata: sampleMetadata(), tensors: sampleTensors() });
      return readFileSync(p);
    })();
    const bad = join(dir, "bad.gguf");
    writeFileSync(bad, good.subarray(0, good.length - 40));
    expect(() => readGguf(bad)).toThrow(GgufFormatError);
    expect(() => readGguf(bad)).toThrow(/bad\.gguf.*runs past the end/);
    const notGguf = Uint8Array.from(good);
    notGguf[0] = 0x47 + 1;
    expect(() => parseGguf(notGguf, "x.gguf")).toThrow(/x\.gguf: not a GGUF file/);
    const v1 = Uint8Array.from(good);
    v1[4] = 1;
    expect(() => parseGguf(v1, "old.gguf")).toThrow(/unsupported GGUF version 1/);
    expect(() => parseGguf(good.subarray(0, 30), "short.gguf")).toThrow(/short\.gguf: truncated/);
    expect(() => readGguf(join(dir, "missing.gguf"))).toThrow(/cannot read GGUF file/);
  });

  test("writer rejects inconsistent tensors and values, and leaves no file behind", () => {
    const path = join(dir, "reject.gguf");
    const t = encodeTensor("w", "F32", [2, 3], new Float32Array(6));
    expect(() => writeGguf(path, { metadata: new Map(), tensors: [{ ...t, shape: [3, 3] }] })).toThrow(/"w".*needs 36 bytes, has 24/);
    expect(() => writeGguf(path, { metadata: new Map(), tensors: [t, t] })).toThrow(/appears twice/);
    expect(() => writeGguf(path, { metadata: new Map([["k", { type: "u8", value: 300 }]]), tensors: [] })).toThrow(ExportError);
    expect(existsSync(path)).toBe(false);
    expect(readdirSync(dir).filter((n) => n.includes("partial"))).toEqual([]);
  });
});
