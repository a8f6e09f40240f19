import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { calibrationSequences, ImportanceError, measureImportance, permutationFromScores } from "./importance.ts";
import { loadModel } from "./load.ts";
import { sharedDir } from "./paths.ts";
import { applyPermutation, validatePermutation } from "./permute.ts";
import { ReferenceModel } from "./reference.ts";
import { loadTokenizer } from "./tokenizer/index.ts";
import type { SubNetworkSpec } from "./types.ts";

const storiesDir = join(sharedDir(), "models/stories260K-hf");
const tokenizer = loadTokenizer(storiesDir);
// Calibration from the second half of the TinyStories sample, evaluation from its start: disjoint text.
const calibration = calibrationSequences(tokenizer, { count: 4, length: 128 });
const heldOut = calibrationSequences(tokenizer, { offset: 0, count: 3, length: 96 });

function maxDiff(a: Float64Array[], b: Float64Array[]): number {
  let worst = 0;
  a.forEach((row, t) => row.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - b[t][j])))));
  return worst;
}

/** Mean NLL per predicted token over sequences. */
function meanNll(ref: ReferenceModel, seqs: number[][], subnet: SubNetworkSpec): number {
  const tokens = seqs.reduce((s, x) => s + x.length - 1, 0);
  return seqs.reduce((s, ids) => s + ref.sumNll(ids, subnet), 0) / tokens;
}

describe("calibrationSequences", () => {
  test("BOS-led windows of the requested size; disjoint offsets give different text", () => {
    expect(calibration.length).toBe(4);
    for (const s of calibration) {
      expect(s.length).toBe(128);
      expect(s[0]).toBe(tokenizer.bosId);
    }
    expect(calibration[0]).not.toEqual(heldOut[0].slice(0, 128));
    expect(() => calibrationSequences(tokenizer, { count: 0 })).toThrow("calibration count must be a positive integer");
    expect(() => calibrationSequences(tokenizer, { offset: 10_000_000 })).toThrow("need 1016");
    expect(() => calibrationSequences(tokenizer, { file: "/nonexistent/x.txt" })).toThrow("cannot read calibration text /nonexistent/x.txt");
  });
});

describe("importance reordering on stories260K (real weights)", async () => {
  const m = await loadModel(storiesDir);
  const scores = measureImportance(m.config, m.tensors, calibration);
  const perm = permutationFromScores(scores);
  const base = new ReferenceModel(m.config, m.tensors);
  const reordered = new ReferenceModel(m.config, applyPermutation(m.config, m.tensors, perm));

  test("scores have one entry per channel / group / layer, finite and non-negative; the permutation validates", () => {
    expect(scores.mlp.map((s) => s.length)).toEqual([172, 172, 172, 172, 172]);
    expect(scores.kvHeads.map((s) => s.length)).toEqual([4, 4, 4, 4, 4]);
    expect(scores.layers.length).toBe(5);
    for (const v of [...scores.mlp.flat(), ...scores.kvHeads.flat(), ...scores.layers]) expect(Number.isFinite(v) && v >= 0).toBe(true);
    expect(validatePermutation(m.config, JSON.parse(JSON.stringify(perm)))).toEqual(perm);
    // Ranked: the first channel of each layer has the highest score.
    perm.mlp.forEach((p, i) => expect(scores.mlp[i][p[0]]).toBe(Math.max(...scores.mlp[i])));
  });

  test("the full model's logits are unchanged (within 1e-5) on held-out text", () => {
    for (const ids of heldOut) expect(maxDiff(base.logits(ids), reordered.logits(ids))).toBeLessThan(1e-5);
  });

  test("sliced sub-networks lose less: held-out NLL improves at half MLP width, 2 of 4 KV heads, and both", () => {
    const subnets: Record<string, SubNetworkSpec> = {
      "mlp 86/172": { mlp: [86, 86, 86, 86, 86] },
      "kv 2/4": { kvHeads: [2, 2, 2, 2, 2] },
      "mlp 86 + kv 2": { mlp: [86, 86, 86, 86, 86], kvHeads: [2, 2, 2, 2, 2] },
    };
    const rows: Record<string, { original: number; reordered: number }> = {};
    for (const [name, s] of Object.entries(subnets)) {
      rows[name] = { original: meanNll(base, heldOut, s), reordered: meanNll(reordered, heldOut, s) };
      expect(rows[name].reordered).toBeLessThan(rows[name].original);
    }
    console.error(`stories260K held-out NLL/token (full ${meanNll(base, heldOut, null).toFixed(4)}):`, JSON.stringify(rows));
  });

  test("the activation metric (Minitron) also ranks and keeps the function", () => {
    const p2 = permutationFromScores(measureImportance(m.config, m.tensors, calibration.slice(0, 2), { metric: "activation" }));
    const r2 = new ReferenceModel(m.config, applyPermutation(m.config, m.tensors, p2));
    expect(maxDiff(base.logits(heldOut[0]), r2.logits(heldOut[0]))).toBeLessThan(1e-5);
    expect(meanNll(r2, heldOut, { mlp: [86, 86, 86, 86, 86] })).toBeLessThan(meanNll(base, heldOut, { mlp: [86, 86, 86, 86, 86] }));
  });

  test("bad calibration input is refused with the sequence and position", () => {
    expect(() => measureImportance(m.config, m.tensors, [[1, 2], []])).toThrow("calibration sequence 1 is empty");
    expect(() => measureImportance(m.config, m.tensors, [[1, 512]])).toThrow("calibration sequence 0 position 1: token id 512 is not in [0, 512)");
    expect(() => measureImportance(m.config, m.tensors, [[1]], { metric: "x" as never })).toThrow(ImportanceError);
  });
});

describe("importance reordering on tiny-llama3 (BF16, GQA 8/2, untied)", async () => {
  const m = await loadModel(join(sharedDir(), "models/tiny-llama3-gqa-bf16"));
  // Its weights are random, so stories token ids (< 512 < 1024) are as good a calibration set as any.
  const perm = permutationFromScores(measureImportance(m.config, m.tensors, calibration.map((s) => s.slice(0, 48))));
  const base = new ReferenceModel(m.config, m.tensors);
  const reordered = new ReferenceModel(m.config, applyPermutation(m.config, m.tensors, perm));
  const ids = heldOut[0].slice(0, 40);

  test("full logits unchanged within 1e-5; a sliced sub-network's output changes", () => {
    expect(perm.mlp.some((p) => p.some((v, j) => v !== j))).toBe(true);
    expect(maxDiff(base.logits(ids), reordered.logits(ids))).toBeLessThan(1e-5);
    const s = { mlp: [352, 352, 352, 352], kvHeads: [1, 1, 1, 1] };
    const [a, b] = [base.sumNll(ids, s), reordered.sumNll(ids, s)];
    console.error(`tiny-llama3 sliced (mlp 352/704, kv 1/2) NLL over ${ids.length - 1} tokens: original ${a.toFixed(4)}, reordered ${b.toFixed(4)}`);
    expect(Math.abs(a - b)).toBeGreaterThan(1e-3);
  });
});
