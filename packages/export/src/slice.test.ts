import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { applyPermutation, ReferenceModel } from "@nas/model";
import { isUniform, permuteModel, resolvePermutation, sliceModel, type ExportPermutation } from "./slice.ts";
import { gatherCols, gatherRows } from "./tensor-ops.ts";
import { loadShared, maxAbsDiff } from "./testing.ts";

const IDS = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376];

/** fast-check arbitrary: a permutation of [0, n). */
const perm = (n: number) =>
  fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: n, maxLength: n }).map((keys) => keys.map((k, i) => [k, i] as const).sort((a, b) => a[0] - b[0]).map(([, i]) => i));

describe("sliceModel", () => {
  test("shapes, renumbering and sharing of untouched tensors", async () => {
    const m = await loadShared("stories260K");
    const s = sliceModel(m, { layers: [true, false, true, true, true], mlp: [128, 172, 64, 172, 96], kvHeads: [2, 4, 1, 3, 4] });
    expect(s.config.numLayers).toBe(4);
    expect(s.config.perLayer).toEqual({ intermediateSize: [128, 64, 172, 96], numHeads: [4, 2, 6, 8], numKvHeads: [2, 1, 3, 4] });
    expect(isUniform(s.config)).toBe(false);
    expect(s.tensors.get("model.layers.1.self_attn.q_proj.weight")?.shape).toEqual([2 * 8, 64]);
    expect(s.tensors.get("model.layers.1.self_attn.k_proj.weight")?.shape).toEqual([1 * 8, 64]);
    expect(s.tensors.get("model.layers.1.self_attn.o_proj.weight")?.shape).toEqual([64, 2 * 8]);
    expect(s.tensors.get("model.layers.1.mlp.down_proj.weight")?.shape).toEqual([64, 64]);
    expect(s.tensors.has("model.layers.4.mlp.up_proj.weight")).toBe(false);
    expect(s.tensors.has("lm_head.weight")).toBe(false); // tied
    // Layer 2 of the super-network became layer 1; its norm is shared, not copied.
    expect(s.tensors.get("model.layers.1.input_layernorm.weight")?.data).toBe(m.tensors.get("model.layers.2.input_layernorm.weight")!.data);
    const u = sliceModel(m, { kvHeads: [2, 2, 2, 2, 2], mlp: [100, 100, 100, 100, 100] });
    expect(u.config.perLayer).toBeUndefined();
    expect([u.config.numHeads, u.config.numKvHeads, u.config.intermediateSize, u.config.headDim]).toEqual([4, 2, 100, 8]);
  });

  test("bad sub-networks and permutations are refused with the field named", async () => {
    const m = await loadShared("stories260K");
    expect(() => sliceModel(m, { mlp: [172, 0, 1, 1, 1] })).toThrow(/mlp\[1\] = 0 is out of range/);
    expect(() => sliceModel(m, { layers: [false, false, false, false, false] })).toThrow(/skips every layer/);
    expect(() => resolvePermutation(m.config, { mlp: [[0, 1]] })).toThrow(/mlp must have one entry per layer \(5\)/);
    const bad: ExportPermutation = { kvHeads: [[0, 1, 2, 3], [0, 0, 1, 2], [0, 1, 2, 3], [0, 1, 2, 3], [0, 1, 2, 3]] };
    expect(() => sliceModel(m, null, bad)).toThrow(/kvHeads\[1\] is not a permutation of \[0, 4\): bad or repeated entry 0/);
    const extra = new Map(m.tensors).set("model.layers.0.self_attn.rotary_emb.extra", m.tensors.get("model.norm.weight")!);
    expect(() => sliceModel({ config: m.config, tensors: extra }, null)).toThrow(/refusing|not part of a LLaMA decoder layer/);
  });

  test("gathers move bytes exactly (rows and column runs)", () => {
    const data = Float32Array.from({ length: 12 }, (_, i) => i);
    const t = { name: "w", dtype: "F32" as const, shape: [3, 4], data: new Uint8Array(data.buffer) };
    expect(Array.from(new Float32Array(gatherRows(t, [2, 0]).data.slice().buffer))).toEqual([8, 9, 10, 11, 0, 1, 2, 3]);
    expect(Array.from(new Float32Array(gatherCols(t, [1, 2, 0]).data.slice().buffer))).toEqual([1, 2, 0, 5, 6, 4, 9, 10, 8]);
    expect(() => gatherRows(t, [3])).toThrow(/row index 3 is out of range \[0, 3\)/);
  });
});

describe("importance permutation", () => {
  test("permuting channels and KV-head groups leaves the full model's function unchanged (property)", async () => {
    const m = await loadShared("stories260K");
    const base = new ReferenceModel(m.config, m.tensors).logits(IDS);
    fc.assert(
      fc.property(fc.array(perm(172), { minLength: 5, maxLength: 5 }), fc.array(perm(4), { minLength: 5, maxLength: 5 }), (mlp, kvHeads) => {
        const p = permuteModel(m, { mlp, kvHeads });
        // The weights really moved (else the property would hold trivially).
        const moved = mlp.some((q) => q.some((v, i) => v !== i)) && kvHeads.some((q) => q.some((v, i) => v !== i));
        const g0 = "model.layers.0.mlp.gate_proj.weight";
        if (mlp[0].some((v, i) => v !== i) && Buffer.from(p.tensors.get(g0)!.data).equals(Buffer.from(m.tensors.get(g0)!.data))) return false;
        if (!moved) return true;
        return maxAbsDiff(new ReferenceModel(p.config, p.tensors).logits(IDS), base) <= 1e-9;
      }),
      { numRuns: 8 },
    );
  });

  test("same convention as @nas/model's applyPermutation: permuted tensors are byte-identical", async () => {
    const m = await loadShared("tiny-llama3-gqa-bf16");
    fc.assert(
      fc.property(fc.array(perm(704), { minLength: 4, maxLength: 4 }), fc.array(perm(2), { minLength: 4, maxLength: 4 }), (mlp, kvHeads) => {
        const ours = permuteModel(m, { mlp, kvHeads }).tensors;
        const theirs = applyPermutation(m.config, m.tensors, { mlp, kvHeads });
        return [...theirs].every(([name, t]) => Buffer.from(ours.get(name)!.data).equals(Buffer.from(t.data))) && ours.size === theirs.size;
      }),
      { numRuns: 3 },
    );
  });

  test("permute-then-slice equals the elastic sub-network of the permuted super-network (GQA, BF16)", async () => {
    const m = await loadShared("tiny-llama3-gqa-bf16");
    fc.assert(
      fc.property(
        fc.array(perm(704), { minLength: 4, maxLength: 4 }),
        fc.array(perm(2), { minLength: 4, maxLength: 4 }),
        fc.array(fc.integer({ min: 1, max: 704 }), { minLength: 4, maxLength: 4 }),
        fc.array(fc.integer({ min: 1, max: 2 }), { minLength: 4, maxLength: 4 }),
        (mlpPerm, kvPerm, mlp, kvHeads) => {
          const permutation = { mlp: mlpPerm, kvHeads: kvPerm };
          const spec = { mlp, kvHeads, layers: [true, true, false, true] };
          const p = permuteModel(m, permutation);
          const elastic = new ReferenceModel(p.config, p.tensors).logits(IDS.slice(0, 6), spec);
          const s = sliceModel(m, spec, permutation);
          // Same slice without the permutation keeps other channels: a different model unless every width is full.
          if (mlp.some((k, i) => k < 704 && i !== 2 && mlpPerm[i].slice(0, k).some((v) => v >= k))) {
            const plain = sliceModel(m, spec);
            if (maxAbsDiff(new ReferenceModel(plain.config, plain.tensors).logits(IDS.slice(0, 6)), elastic) === 0) return false;
          }
          return maxAbsDiff(new ReferenceModel(s.config, s.tensors).logits(IDS.slice(0, 6)), elastic) === 0;
        },
      ),
      { numRuns: 3 },
    );
  }, 60_000);
});
