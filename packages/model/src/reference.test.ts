import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { llamaConfigToHf } from "./config.ts";
import { loadModel, type LoadedModel } from "./load.ts";
import { argmax, logSoftmax, ropeInvFreqF32 } from "./reference-math.ts";
import { ReferenceModel } from "./reference.ts";
import { encodeSafetensors } from "./safetensors-write.ts";
import { sharedDir } from "./paths.ts";
import { normalizeSubnet, queryHeadsFor } from "./subnet.ts";
import type { LlamaConfig, SubNetwork, Tensor } from "./types.ts";

const shared = sharedDir();
const tmp = mkdtempSync(join(tmpdir(), "nas-reference-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface FixtureCase { subnetwork: string; spec: SubNetwork | null; input_ids: number[]; last_logits: number[]; argmax: number[]; sum_nll: number }
interface Fixture { cases: FixtureCase[]; greedy_from_bos?: number[] }
/** Generous per-test limit: float64 loops on a shared 2-core machine (bun's default is 5 s). */
const SLOW = 60_000;
const fixture = (name: string): Fixture => JSON.parse(readFileSync(join(shared, "fixtures", `${name}.reference.json`), "utf8"));

/** Compare one case; returns the worst last-logit error (asserts all three criteria). */
function checkCase(ref: ReferenceModel, c: FixtureCase): number {
  const rows = ref.logits(c.input_ids, c.spec);
  const last = rows[rows.length - 1];
  let worst = 0;
  c.last_logits.forEach((v, i) => (worst = Math.max(worst, Math.abs(last[i] - v))));
  expect(rows.map(argmax)).toEqual(c.argmax);
  let nll = 0;
  for (let t = 1; t < c.input_ids.length; t++) nll -= logSoftmax(rows[t - 1])[c.input_ids[t]];
  expect(Math.abs(nll - c.sum_nll) / c.sum_nll).toBeLessThan(1e-6);
  expect(worst).toBeLessThan(1e-4);
  return worst;
}

describe("reference forward reproduces the HF float64 fixtures", () => {
  for (const [name, dir] of [["stories260K", "stories260K-hf"], ["tiny-llama3-gqa-bf16", "tiny-llama3-gqa-bf16"]]) {
    const fx = fixture(name);
    const specs = [...new Set(fx.cases.map((c) => c.subnetwork))];
    let ref: ReferenceModel;
    test(`${name}: load`, async () => {
      ref = await ReferenceModel.load(join(shared, "models", dir));
    });
    for (const s of specs) {
      test(`${name} / ${s}: last logits within 1e-4, argmax everywhere, sum_nll within 1e-6 relative`, () => {
        const cases = fx.cases.filter((c) => c.subnetwork === s);
        expect(cases.length).toBeGreaterThanOrEqual(3);
        const worst = Math.max(...cases.map((c) => checkCase(ref, c)));
        expect(worst).toBeLessThan(1e-4);
      }, SLOW);
    }
  }

  test("stories260K from the llama2.c .bin gives the same results (full and combined)", async () => {
    const ref = await ReferenceModel.load(join(shared, "models", "stories260K", "stories260K.bin"));
    for (const c of fixture("stories260K").cases.filter((c) => c.subnetwork === "full" || c.subnetwork === "combined")) checkCase(ref, c);
  }, SLOW);

  test("stories260K greedy generation from BOS equals greedy_from_bos (200 tokens)", async () => {
    const ref = await ReferenceModel.load(join(shared, "models", "stories260K-hf"));
    const want = fixture("stories260K").greedy_from_bos!;
    expect([1, ...ref.generateGreedy([1], null, 200)]).toEqual(want);
    // EOS stop: the same prefix, stopping at (and including) the first EOS if one comes
    expect(want).not.toContain(2);
    expect(ref.generateGreedy([1], null, 200, { stopAtEos: true })).toEqual(want.slice(1));
    // with token 432 (the 5th generated) declared EOS, decoding stops right after emitting it
    const model = await loadModel(join(shared, "models", "stories260K-hf"));
    const eos432 = new ReferenceModel({ ...model.config, eosTokenId: 432 }, model.tensors);
    expect(eos432.generateGreedy([1], null, 200, { stopAtEos: true })).toEqual(want.slice(1, 6));
  }, SLOW);
});

describe("TokenScorer and input checks", () => {
  let ref: ReferenceModel;
  test("load", async () => {
    ref = await ReferenceModel.load(join(shared, "models", "stories260K-hf"));
  });

  test("scoreTokens over ragged sequences matches logits()", async () => {
    const cases = fixture("stories260K").cases.filter((c) => c.subnetwork === "combined");
    const scores = await ref.scoreTokens(cases.map((c) => c.input_ids), cases[0].spec);
    scores.forEach((s, b) => {
      const c = cases[b];
      expect(s.logprobs.length).toBe(c.input_ids.length - 1);
      expect([...s.argmax]).toEqual(c.argmax.slice(0, -1));
      const sum = s.logprobs.reduce((a, v) => a + v, 0);
      expect(Math.abs(-sum - c.sum_nll) / c.sum_nll).toBeLessThan(1e-5); // float32 per-token values
    });
    expect(await ref.scoreTokens([[1]], null)).toEqual([{ logprobs: new Float32Array(0), argmax: new Int32Array(0) }]);
  }, SLOW);

  test("bad inputs are clear errors", async () => {
    expect(() => ref.logits([], null)).toThrow(/sequence 0 is empty/);
    expect(() => ref.logits([1, 512], null)).toThrow(/position 1: token id 512 is not in \[0, 512\)/);
    expect(() => ref.logits([1, 2.5], null)).toThrow(/token id 2\.5/);
    expect(() => ref.logits(new Array(513).fill(1), null)).toThrow(/513 tokens, more than max positions 512/);
    expect(() => ref.logits([1], { mlp: [0, 1, 1, 1, 1] })).toThrow(/mlp\[0\] = 0 is out of range/);
    expect(() => ref.logits([1], { layers: [false, false, false, false, false] })).toThrow(/skips every layer/);
    await expect(ref.scoreTokens([[1, 2], [1, -1]], null)).rejects.toThrow(/sequence 1 position 1: token id -1/);
    expect(() => ref.generateGreedy([1], null, 600)).toThrow(/exceeds max positions 512/);
    await expect(ref.scoreTokens([new Array(514).fill(5)], null)).rejects.toThrow(/514 tokens, more than max positions \+ 1 \(513\)/);
  });

  test("scoring takes maxPositions + 1 tokens: the last one is only a target", async () => {
    const ids = Array.from({ length: 513 }, (_, t) => (t === 0 ? 1 : 3 + ((t * 37) % 500)));
    const [s] = await ref.scoreTokens([ids], null);
    expect(s.logprobs.length).toBe(512);
    const rows = ref.logits(ids.slice(0, 512), null);
    const last = rows[511];
    const mx = Math.max(...last);
    const lse = mx + Math.log(last.reduce((a, v) => a + Math.exp(v - mx), 0));
    expect(Math.abs(s.logprobs[511] - (last[ids[512]] - lse))).toBeLessThan(1e-5);
  }, SLOW);
});

/**
 * Materialise a sub-network as a standalone non-uniform model (what export does): prefix-slice every tensor,
 * drop skipped layers, describe the widths with nas_per_layer.
 */
function sliceModel(m: LoadedModel, s: SubNetwork): { config: LlamaConfig; tensors: Tensor[] } {
  const c = m.config;
  const hd = c.headDim;
  const bytesPer = (t: Tensor) => t.data.byteLength / t.shape.reduce((a, b) => a * b, 1);
  const rows = (t: Tensor, name: string, n: number): Tensor => ({ name, dtype: t.dtype, shape: [n, t.shape[1]], data: t.data.slice(0, n * t.shape[1] * bytesPer(t)) });
  const cols = (t: Tensor, name: string, n: number): Tensor => {
    const e = bytesPer(t);
    const out = new Uint8Array(t.shape[0] * n * e);
    for (let r = 0; r < t.shape[0]; r++) out.set(t.data.subarray(r * t.shape[1] * e, (r * t.shape[1] + n) * e), r * n * e);
    return { name, dtype: t.dtype, shape: [t.shape[0], n], data: out };
  };
  const tensors: Tensor[] = [];
  const perLayer = { intermediateSize: [] as number[], numHeads: [] as number[], numKvHeads: [] as number[] };
  let j = 0;
  for (let i = 0; i < c.numLayers; i++) {
    if (!s.layers[i]) continue;
    const get = (n: string) => m.tensors.get(`model.layers.${i}.${n}`)!;
    const to = (n: string) => `model.layers.${j}.${n}`;
    const q = queryHeadsFor(c, i, s.kvHeads[i]);
    tensors.push(
      { ...get("input_layernorm.weight"), name: to("input_layernorm.weight") },
      { ...get("post_attention_layernorm.weight"), name: to("post_attention_layernorm.weight") },
      rows(get("self_attn.q_proj.weight"), to("self_attn.q_proj.weight"), q * hd),
      rows(get("self_attn.k_proj.weight"), to("self_attn.k_proj.weight"), s.kvHeads[i] * hd),
      rows(get("self_attn.v_proj.weight"), to("self_attn.v_proj.weight"), s.kvHeads[i] * hd),
      cols(get("self_attn.o_proj.weight"), to("self_attn.o_proj.weight"), q * hd),
      rows(get("mlp.gate_proj.weight"), to("mlp.gate_proj.weight"), s.mlp[i]),
      rows(get("mlp.up_proj.weight"), to("mlp.up_proj.weight"), s.mlp[i]),
      cols(get("mlp.down_proj.weight"), to("mlp.down_proj.weight"), s.mlp[i]),
    );
    perLayer.intermediateSize.push(s.mlp[i]);
    perLayer.numHeads.push(q);
    perLayer.numKvHeads.push(s.kvHeads[i]);
    j++;
  }
  for (const n of ["model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"]) if (m.tensors.has(n)) tensors.push(m.tensors.get(n)!);
  return { config: { ...c, numLayers: j, perLayer }, tensors };
}

describe("non-uniform models", () => {
  test("a sub-network exported as a nas_per_layer model gives the same logits as the sliced super-network", async () => {
    const model = await loadModel(join(shared, "models", "tiny-llama3-gqa-bf16"));
    const spec = { layers: [true, false, true, true], mlp: [256, 704, 352, 448], kvHeads: [1, 2, 2, 1] };
    const sub = normalizeSubnet(model.config, spec);
    const { config, tensors } = sliceModel(model, sub);
    const dir = join(tmp, "exported");
    mkdirSync(dir);
    writeFileSync(join(dir, "config.json"), JSON.stringify(llamaConfigToHf(config)));
    writeFileSync(join(dir, "model.safetensors"), encodeSafetensors(tensors));
    const exported = await ReferenceModel.load(dir);
    expect(exported.config.perLayer).toEqual({ intermediateSize: [256, 352, 448], numHeads: [4, 8, 4], numKvHeads: [1, 2, 1] });
    const ids = [1, 17, 300, 5, 999, 42, 7];
    const a = new ReferenceModel(model.config, model.tensors).logits(ids, spec);
    const b = exported.logits(ids, null);
    let worst = 0;
    a.forEach((row, t) => row.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - b[t][k])))));
    expect(worst).toBeLessThan(1e-12);
    // and a sub-network of the non-uniform model slices within its own per-layer widths
    expect(() => exported.logits(ids, { mlp: [256, 353, 448] })).toThrow(/mlp\[1\] = 353 is out of range \[1, 352\]/);
    expect(exported.logits(ids, { kvHeads: [1, 1, 1] }).length).toBe(ids.length);
  }, SLOW);
});

describe("RoPE frequencies", () => {
  test("default: float32 theta^(-2i/d)", () => {
    expect([...ropeInvFreqF32({ theta: 10000 }, 8)]).toEqual([1, 0.1, 0.01, 0.001].map(Math.fround));
  });

  test("llama3 scaling keeps high frequencies, divides low ones by factor, blends the middle", () => {
    const scaling = { type: "llama3" as const, factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 };
    const plain = ropeInvFreqF32({ theta: 500000 }, 128);
    const scaled = ropeInvFreqF32({ theta: 500000, scaling }, 128);
    let high = 0, low = 0, mid = 0;
    plain.forEach((f, i) => {
      const wavelen = (2 * Math.PI) / f;
      if (wavelen < 8192 / 4) {
        expect(scaled[i]).toBe(f);
        high++;
      } else if (wavelen > 8192) {
        expect(scaled[i]).toBeCloseTo(f / 8, 12);
        low++;
      } else {
        expect(scaled[i]).toBeLessThan(f);
        expect(scaled[i]).toBeGreaterThan(f / 8);
        mid++;
      }
    });
    expect([high > 0, low > 0, mid > 0]).toEqual([true, true, true]);
  });
});
