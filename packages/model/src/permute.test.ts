import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { join } from "node:path";
import { byteSize } from "./dtypes.ts";
import { loadModel, type LoadedModel } from "./load.ts";
import { sharedDir } from "./paths.ts";
import { applyPermutation, identityPermutation, PermutationError, validatePermutation, type ImportancePermutation } from "./permute.ts";
import { ReferenceModel } from "./reference.ts";
import type { LlamaConfig, SubNetwork, Tensor } from "./types.ts";

const models = {
  stories260K: await loadModel(join(sharedDir(), "models/stories260K-hf")),
  "tiny-llama3": await loadModel(join(sharedDir(), "models/tiny-llama3-gqa-bf16")),
};
const ids = [1, 403, 407, 261, 378, 259, 300, 410, 277, 402, 258, 266, 497, 263, 258, 511];

/** A fast-check arbitrary of a full permutation for a config. */
function arbPermutation(config: LlamaConfig): fc.Arbitrary<ImportancePermutation> {
  const perm = (k: number) => fc.shuffledSubarray([...Array(k).keys()], { minLength: k, maxLength: k });
  const layers = [...Array(config.numLayers).keys()];
  return fc.record({
    mlp: fc.tuple(...layers.map(() => perm(config.intermediateSize))),
    kvHeads: fc.tuple(...layers.map(() => perm(config.numKvHeads))),
  });
}

function maxDiff(a: Float64Array[], b: Float64Array[]): number {
  let worst = 0;
  a.forEach((row, t) => row.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - b[t][j])))));
  return worst;
}

/** Zero whole rows (any non-block dtype: 0 bytes are 0.0 in F32/F16/BF16) of a tensor, on a copy. */
function zeroRows(t: Tensor, rows: number[]): Tensor {
  const rowBytes = byteSize(t.dtype, t.shape[1]);
  const data = t.data.slice();
  for (const r of rows) data.fill(0, r * rowBytes, (r + 1) * rowBytes);
  return { ...t, data };
}

/**
 * The original model with everything a sliced, permuted sub-network drops switched off in place: up_proj rows of
 * dropped channels (their activation becomes 0) and v_proj rows of dropped KV heads (their query heads then
 * average zero vectors). Its full forward must equal the permuted model's sliced forward.
 */
function maskedOriginal(m: LoadedModel, perm: ImportancePermutation, s: SubNetwork): Map<string, Tensor> {
  const out = new Map(m.tensors);
  const hd = m.config.headDim;
  for (let i = 0; i < m.config.numLayers; i++) {
    const p = `model.layers.${i}.`;
    const droppedCh = perm.mlp[i].slice(s.mlp[i]);
    out.set(`${p}mlp.up_proj.weight`, zeroRows(out.get(`${p}mlp.up_proj.weight`)!, droppedCh));
    const droppedKv = perm.kvHeads[i].slice(s.kvHeads[i]).flatMap((g) => Array.from({ length: hd }, (_, e) => g * hd + e));
    out.set(`${p}self_attn.v_proj.weight`, zeroRows(out.get(`${p}self_attn.v_proj.weight`)!, droppedKv));
  }
  return out;
}

describe("validatePermutation", () => {
  const cfg = models.stories260K.config;
  const good = identityPermutation(cfg);
  const bad = (edit: (p: any) => void) => {
    const p = structuredClone(good) as any;
    edit(p);
    return () => validatePermutation(cfg, p);
  };
  test("accepts the identity and round-trips through JSON", () => {
    expect(validatePermutation(cfg, JSON.parse(JSON.stringify({ ...good, layerScores: [1, 2, 3, 4, 5] })))).toEqual({ ...good, layerScores: [1, 2, 3, 4, 5] });
  });
  test("names the bad field", () => {
    expect(() => validatePermutation(cfg, null)).toThrow(PermutationError);
    expect(bad((p) => p.mlp.pop())).toThrow("permutation mlp has 4 entries, the model has 5 layers");
    expect(bad((p) => p.mlp[2].pop())).toThrow("permutation mlp[2] has length 171, the model has 172");
    expect(bad((p) => (p.kvHeads[1][0] = 1))).toThrow("permutation kvHeads[1] repeats 1 (at position 1)");
    expect(bad((p) => (p.kvHeads[4][3] = 4))).toThrow("permutation kvHeads[4][3] = 4 is not an integer in [0, 4)");
    expect(bad((p) => (p.mlp[0][5] = 2.5))).toThrow("permutation mlp[0][5] = 2.5 is not an integer");
    expect(bad((p) => (p.kvHeads = "x"))).toThrow("permutation kvHeads must be an array");
    expect(bad((p) => (p.layerScores = [1, 2]))).toThrow("permutation layerScores must be 5 finite numbers");
    expect(bad((p) => (p.layers = []))).toThrow('permutation has unknown key "layers"');
    expect(() => applyPermutation(cfg, models.stories260K.tensors, { ...good, mlp: good.mlp.slice(1) })).toThrow(PermutationError);
  });
});

describe("applyPermutation", () => {
  for (const [name, m] of Object.entries(models)) {
    const base = new ReferenceModel(m.config, m.tensors);
    const baseFull = base.logits(ids);

    test(`${name}: any permutation leaves the full model's logits unchanged (within 1e-5) and the input untouched`, () => {
      const before = new Map([...m.tensors].map(([k, t]) => [k, t.data.slice()]));
      fc.assert(
        fc.property(arbPermutation(m.config), (perm) => {
          const permuted = applyPermutation(m.config, m.tensors, perm);
          expect(maxDiff(new ReferenceModel(m.config, permuted).logits(ids), baseFull)).toBeLessThan(1e-5);
        }),
        { numRuns: 4 },
      );
      for (const [k, data] of before) expect(m.tensors.get(k)!.data).toEqual(data);
    });

    test(`${name}: a sliced permuted model keeps exactly the channels and head groups the permutation puts first`, () => {
      const subnet = fc.record({
        layers: fc.constant(Array(m.config.numLayers).fill(true)),
        mlp: fc.array(fc.integer({ min: 1, max: m.config.intermediateSize }), { minLength: m.config.numLayers, maxLength: m.config.numLayers }),
        kvHeads: fc.array(fc.integer({ min: 1, max: m.config.numKvHeads }), { minLength: m.config.numLayers, maxLength: m.config.numLayers }),
      });
      fc.assert(
        fc.property(arbPermutation(m.config), subnet, (perm, s) => {
          const sliced = new ReferenceModel(m.config, applyPermutation(m.config, m.tensors, perm)).logits(ids, s);
          const masked = new ReferenceModel(m.config, maskedOriginal(m, perm, s)).logits(ids);
          expect(maxDiff(sliced, masked)).toBeLessThan(1e-9);
        }),
        { numRuns: 3 },
      );
    });
  }
});
