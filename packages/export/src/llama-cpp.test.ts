/**
 * Real runtime check: exported GGUFs of stories260K sub-networks (uniform -> `llama`, non-uniform -> `deci`)
 * run in llama.cpp (node-llama-cpp's prebuilt CPU binary, driven by ./llama-cpp-greedy.mjs under Node), and
 * the greedy tokens from BOS equal the CPU reference forward's.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadModel, type SubNetworkSpec } from "@nas/model";
import { ReferenceModel } from "@nas/model";
import { exportModel, type ExportQuant } from "./export.ts";
import { ggufToModel } from "./gguf-model.ts";
import { readGguf } from "./gguf-read.ts";
import { dequantizeTensors } from "./q8_0.ts";
import { permuteModel, type ExportPermutation } from "./slice.ts";
import { loadShared, shared } from "./testing.ts";

const TOKENS = 40; // >= 32 required
const out = mkdtempSync(join(tmpdir(), "nas-llamacpp-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** Seeded permutation of [0, n) (xorshift), so the test is reproducible. */
function permutation(n: number, seed: number): number[] {
  let s = seed >>> 0 || 1;
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const j = (s >>> 0) % (i + 1);
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

interface Case {
  name: string;
  spec: SubNetworkSpec;
  arch: "llama" | "deci";
  quant?: ExportQuant;
  permuted?: boolean;
  fromLlama2c?: boolean;
}

const CASES: Case[] = [
  { name: "full", spec: null, arch: "llama" },
  { name: "skip-layer-3", spec: { layers: [true, true, true, false, true] }, arch: "llama" },
  { name: "uniform-kv2", spec: { kvHeads: [2, 2, 2, 2, 2] }, arch: "llama" },
  { name: "kv-heads", spec: { kvHeads: [4, 2, 3, 1, 4] }, arch: "deci" },
  { name: "mlp-mild", spec: { mlp: [172, 160, 172, 144, 172] }, arch: "deci" },
  { name: "combined", spec: { layers: [true, false, true, true, true], mlp: [128, 172, 64, 172, 96], kvHeads: [2, 4, 1, 3, 4] }, arch: "deci" },
  { name: "mlp-kv-permuted", spec: { mlp: [172, 160, 172, 144, 172], kvHeads: [4, 4, 3, 4, 4] }, arch: "deci", permuted: true },
  { name: "from-llama2c-bin", spec: { layers: [true, true, true, false, true] }, arch: "llama", fromLlama2c: true },
  { name: "full-q8_0", spec: null, arch: "llama", quant: "q8_0" },
  { name: "kv-heads-q8_0", spec: { kvHeads: [4, 2, 3, 1, 4] }, arch: "deci", quant: "q8_0" },
  { name: "mlp-mild-f16", spec: { mlp: [172, 160, 172, 144, 172] }, arch: "deci", quant: "f16" },
];

describe("llama.cpp runs exported GGUFs", () => {
  test(`greedy tokens from BOS equal the CPU reference for ${TOKENS} tokens (F32, F16, Q8_0; llama and deci)`, async () => {
    const hf = await loadShared("stories260K");
    const bin = await loadModel(shared("models/stories260K/stories260K.bin"));
    const perm: ExportPermutation = {
      mlp: Array.from({ length: 5 }, (_, i) => permutation(172, 11 + i)),
      kvHeads: Array.from({ length: 5 }, (_, i) => permutation(4, 101 + i)),
    };
    const expected = new Map<string, number[]>();
    const paths: string[] = [];
    for (const c of CASES) {
      const path = join(out, `${c.name}.gguf`);
      const source = c.fromLlama2c ? bin : hf;
      const r = exportModel({
        model: source,
        subnet: c.spec,
        format: "gguf",
        outPath: path,
        quant: c.quant,
        permutation: c.permuted ? perm : undefined,
        tokenizerDir: c.fromLlama2c ? shared("models/stories260K") : undefined,
      });
      expect(r.architecture).toBe(c.arch);
      let ref: number[];
      if (c.quant) {
        // Quantized: llama.cpp must compute what the stored (dequantized) weights compute.
        const back = ggufToModel(readGguf(path));
        ref = new ReferenceModel(back.config, dequantizeTensors(back.tensors)).generateGreedy([1], null, TOKENS);
      } else {
        // F32: the elastic super-network (permuted when the export was) under the sub-network.
        const superNet = c.permuted ? permuteModel(source, perm) : source;
        ref = new ReferenceModel(superNet.config, superNet.tensors).generateGreedy([1], c.spec, TOKENS);
      }
      expected.set(path, [1, ...ref]);
      paths.push(path);
    }
    const script = fileURLToPath(new URL("./llama-cpp-greedy.mjs", import.meta.url));
    const { stdout } = await promisify(execFile)("node", [script, String(TOKENS), ...paths], { encoding: "utf8", timeout: 90_000 });
    const { llamaCpp, results } = JSON.parse(stdout) as { llamaCpp: string; results: Record<string, number[] | { error: string }> };
    console.log(`llama.cpp ${llamaCpp}: ${paths.length} GGUFs, ${TOKENS} greedy tokens each`);
    for (const [i, path] of paths.entries()) {
      const got = results[path];
      expect({ case: CASES[i].name, tokens: got }).toEqual({ case: CASES[i].name, tokens: expected.get(path)! });
    }
  }, 120_000);
});
