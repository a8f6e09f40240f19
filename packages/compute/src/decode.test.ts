/**
 * The one-row decode kernels (kernels/decode.wgsl) against a float64 TypeScript reference on random shapes: STEP
 * (one layer, with and without the embedding gather) and GEN (several layers of different kept widths, several
 * steps, the argmax feeding the next step), elastic slices, cache rows before and after, f32/bf16/f16 weights.
 * Then the engine: generation gives the same tokens whichever way its decode steps run. fast-check prints the
 * seed and path of a failing case.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import fc from "fast-check";
import { sharedDir } from "@nas/model";
import { Engine } from "./client.ts";
import { decodeSpec, genLayerTable, type GenLayer } from "./gpu/decode.ts";
import { expectNear, f32, linearRef, rand, rmsnormRef, u32, weight, type WeightFormat } from "./test-data.ts";

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.start();
});
afterAll(async () => {
  await engine.close();
});

const hasSubgroups = () => engine.info.features.includes("subgroups");
const caps = { subgroups: true, subgroupMaxSize: 8 };
const slow = 300_000;

type W = { bound: Float32Array | Uint32Array; seen: Float32Array };
/** One random layer at full widths (qFull = kvFull * group heads of hd, ffFull a multiple of 4). */
interface RefLayer {
  attnNorm: Float32Array;
  mlpNorm: Float32Array;
  q: W;
  k: W;
  v: W;
  o: W;
  gate: W;
  up: W;
  down: W;
  qFull: number;
  kvFull: number;
  ffFull: number;
}
function randomLayer(D: number, qFull: number, kvFull: number, ffFull: number, seed: number, format: WeightFormat): RefLayer {
  const [q, k, v] = [qFull, kvFull, kvFull].map((rows, i) => weight(rows, D, seed + i, format));
  return {
    attnNorm: rand(D, seed + 3),
    mlpNorm: rand(D, seed + 4),
    q,
    k,
    v,
    o: weight(D, qFull, seed + 5, format),
    gate: weight(ffFull, D, seed + 6, format),
    up: weight(ffFull, D, seed + 7, format),
    down: weight(D, ffFull, seed + 8, format),
    qFull,
    kvFull,
    ffFull,
  };
}

/** Kept widths of a layer in a sub-network. */
interface Kept {
  qDim: number;
  kvDim: number;
  ff: number;
}

/**
 * The reference decoder layer on one row x at position pos: its key and value go to cache row own of k/v
 * ([rows, kvDim] float64, changed in place) and it attends to rows kvLo .. own. Returns the new x.
 */
function layerRef(x: ArrayLike<number>, L: RefLayer, kept: Kept, hd: number, eps: number, pos: number, kvLo: number, own: number, k: Float64Array, v: Float64Array, cos: Float32Array, sin: Float32Array): Float64Array {
  const D = x.length;
  const { qDim, kvDim, ff } = kept;
  const half = hd / 2;
  const ldh = Math.ceil(ff / 4) * 4;
  const h = rmsnormRef(x, 1, D, L.attnNorm, eps);
  const q = linearRef(h, D, 1, D, L.q.seen, D, qDim);
  const kr = linearRef(h, D, 1, D, L.k.seen, D, kvDim);
  const vr = linearRef(h, D, 1, D, L.v.seen, D, kvDim);
  for (const [t, width] of [[q, qDim], [kr, kvDim]] as const)
    for (let head = 0; head < width / hd; head++)
      for (let d = 0; d < half; d++) {
        const i = head * hd + d;
        const [x1, x2, c, s] = [t[i], t[i + half], cos[pos * half + d], sin[pos * half + d]];
        t[i] = x1 * c - x2 * s;
        t[i + half] = x2 * c + x1 * s;
      }
  k.set(kr, own * kvDim);
  v.set(vr, own * kvDim);
  const group = qDim / kvDim;
  const att = new Float64Array(qDim);
  for (let head = 0; head < qDim / hd; head++) {
    const kvh = Math.floor(head / group);
    const sc: number[] = [];
    for (let j = kvLo; j <= own; j++) {
      let dot = 0;
      for (let d = 0; d < hd; d++) dot += q[head * hd + d] * k[j * kvDim + kvh * hd + d];
      sc.push(dot / Math.sqrt(hd));
    }
    const mx = Math.max(...sc);
    const e = sc.map((s) => Math.exp(s - mx));
    const sum = e.reduce((a, b) => a + b, 0);
    for (let d = 0; d < hd; d++) att[head * hd + d] = e.reduce((a, w, i) => a + w * v[(kvLo + i) * kvDim + kvh * hd + d], 0) / sum;
  }
  const o = linearRef(att, qDim, 1, qDim, L.o.seen, L.qFull, D);
  const x1 = Float64Array.from(x, (val, i) => val + o[i]);
  const h2 = rmsnormRef(x1, 1, D, L.mlpNorm, eps);
  const g = linearRef(h2, D, 1, D, L.gate.seen, D, ldh);
  const u = linearRef(h2, D, 1, D, L.up.seen, D, ldh);
  const a = new Float64Array(ldh);
  for (let n = 0; n < ff; n++) a[n] = (g[n] / (1 + Math.exp(-g[n]))) * u[n];
  const dn = linearRef(a, ldh, 1, ldh, L.down.seen, L.ffFull, D);
  return Float64Array.from(x1, (val, i) => val + dn[i]);
}

const dims = fc.record({
  D4: fc.integer({ min: 1, max: 18 }), // hidden size 4 * D4
  hd8: fc.integer({ min: 1, max: 2 }), // head dim 8 or 16
  kvHeads: fc.integer({ min: 1, max: 3 }),
  group: fc.integer({ min: 1, max: 3 }),
  ff4: fc.integer({ min: 1, max: 18 }), // full MLP width 4 * ff4
  format: fc.constantFrom<WeightFormat>("f32", "bf16", "f16"),
  seed: fc.integer({ min: 1, max: 1 << 30 }),
});
/** Kept heads (1 .. kvHeads) and kept MLP width (1 .. ffFull) of a layer. */
const keep = fc.record({ heads: fc.integer({ min: 1, max: 3 }), cut: fc.integer({ min: 0, max: 12 }) });
const keptOf = (c: { kvHeads: number; group: number; ff4: number }, hd: number, k: { heads: number; cut: number }): Kept => {
  const g = Math.min(k.heads, c.kvHeads);
  return { qDim: g * c.group * hd, kvDim: g * hd, ff: Math.max(1, 4 * c.ff4 - k.cut) };
};

test("decode STEP: one row through a whole layer (embedding, norm, q/k/v, RoPE, attention over a KV cache, MLP) in one dispatch", async () => {
  if (!hasSubgroups()) return;
  await fc.assert(
    fc.asyncProperty(dims, keep, fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 3 }), fc.boolean(), async (c, kk, pos, kvLo, embed) => {
      const D = 4 * c.D4, hd = 8 * c.hd8, half = hd / 2, eps = 1e-5;
      const qFull = c.kvHeads * c.group * hd, kvFull = c.kvHeads * hd, ffFull = 4 * c.ff4;
      const kept = keptOf(c, hd, kk);
      const L = randomLayer(D, qFull, kvFull, ffFull, c.seed, c.format);
      const own = kvLo + pos;
      const vocab = 11, idOff = 2;
      const table = rand(vocab * D, c.seed + 20);
      const ids = new Uint32Array(idOff + 1).map((_, i) => (i * 5 + c.seed) % vocab);
      const x0 = rand(D, c.seed + 21);
      const x = embed ? table.slice(ids[idOff] * D, (ids[idOff] + 1) * D) : x0;
      const cos = rand(40 * half, c.seed + 22), sin = rand(40 * half, c.seed + 23);
      const rows = own + 2; // a cache row past this one must keep its value
      const k0 = rand(rows * kept.kvDim, c.seed + 24), v0 = rand(rows * kept.kvDim, c.seed + 25);
      const k = Float64Array.from(k0), v = Float64Array.from(v0);
      const want = layerRef(x, L, kept, hd, eps, pos, kvLo, own, k, v, cos, sin);

      const spec = decodeSpec(caps, "step", c.format, embed, { D, ff: ffFull, qDim: qFull, kvDim: kvFull, headDim: hd });
      expect(spec).not.toBeNull();
      const ldh = Math.ceil(kept.ff / 4) * 4;
      const run = (read: number) =>
        engine.runKernel({
          family: "decode",
          spec: spec!,
          params: [D, hd, { f32: eps }, { f32: 1 / Math.sqrt(hd) }, pos, kvLo, idOff, 0, kept.qDim, kept.kvDim, ldh, kept.ff, qFull, ffFull, own * kept.kvDim, 0, 0, 0, 0, 0],
          buffers: [x0, L.attnNorm, L.mlpNorm, L.q.bound, L.k.bound, L.v.bound, L.o.bound, L.gate.bound, L.up.bound, L.down.bound, k0, v0, cos, sin, ...(embed ? [ids, table] : [])],
          groups: [1, 1, 1],
          read,
        });
      expectNear(f32(await run(1)), want, 1e-4, "x");
      expectNear(f32(await run(11)), k, 1e-4, "k");
      expectNear(f32(await run(12)), v, 1e-4, "v");
    }),
    { numRuns: 10 },
  );
}, slow);

test("decode GEN: several greedy steps over several kept layers in one dispatch, each argmax the next step's token", async () => {
  if (!hasSubgroups()) return;
  await fc.assert(
    fc.asyncProperty(dims, fc.array(fc.option(keep, { nil: undefined }), { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 150 }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1, max: 6 }), async (c, drawn, V, pos0, steps) => {
      // Per layer its kept heads and width, or undefined: skipped. At least one layer is kept.
      const layerKeep: ({ heads: number; cut: number } | undefined)[] = drawn.every((k) => k === undefined) ? [{ heads: 1, cut: 0 }, ...drawn.slice(1)] : drawn;
      const D = 4 * c.D4, hd = 8 * c.hd8, half = hd / 2, eps = 1e-5;
      const qFull = c.kvHeads * c.group * hd, kvFull = c.kvHeads * hd, ffFull = 4 * c.ff4;
      const total = pos0 + steps + 1;
      const layers = layerKeep.map((_, i) => randomLayer(D, qFull, kvFull, ffFull, c.seed + 100 * i, c.format));
      const table = rand(V * D, c.seed + 1);
      const lm = weight(V, D, c.seed + 2, c.format, 2);
      const finalNorm = rand(D, c.seed + 3);
      const cos = rand(total * half, c.seed + 4), sin = rand(total * half, c.seed + 5);

      // Pack as gpu/decode.ts packForGenerate does: every layer's seven matrices (skipped layers too), then norms.
      const blockWords = c.format === "f32" ? 4 : 2; // words of the bound arrays per 4-value block
      const parts: (Float32Array | Uint32Array)[] = [];
      let block = 0;
      const offsets = layers.map((L) =>
        [L.q, L.k, L.v, L.o, L.gate, L.up, L.down].map((w) => {
          parts.push(w.bound);
          const start = block;
          block += w.bound.length / blockWords;
          return start;
        }),
      );
      const packed = c.format === "f32" ? new Float32Array(block * 4) : new Uint32Array(block * 2);
      let at = 0;
      for (const part of parts) {
        (packed as Float32Array).set(part as Float32Array, at);
        at += part.length;
      }
      const norms = new Float32Array((2 * layers.length + 1) * D);
      layers.forEach((L, i) => {
        norms.set(L.attnNorm, 2 * i * D);
        norms.set(L.mlpNorm, (2 * i + 1) * D);
      });
      norms.set(finalNorm, 2 * layers.length * D);

      // Kept layers, their cache regions (rows 0 .. pos0 - 1 filled before), the table.
      const kept: { index: number; kept: Kept; base: number }[] = [];
      let base = 0;
      layerKeep.forEach((kk, i) => {
        if (!kk) return;
        const k = keptOf(c, hd, kk);
        kept.push({ index: i, kept: k, base });
        base += total * k.kvDim;
      });
      const k0 = rand(base, c.seed + 6), v0 = rand(base, c.seed + 7);
      const entries: GenLayer[] = kept.map((e) => ({ matrices: offsets[e.index], norms: [(2 * e.index * D) / 4, ((2 * e.index + 1) * D) / 4], ...e.kept, oLdw: qFull, dLdw: ffFull, kvBase: e.base / 4 }));
      const tokens0 = new Uint32Array(total + 1).fill(7777);
      tokens0[pos0] = c.seed % V;

      const spec = decodeSpec(caps, "gen", c.format, false, { D, ff: ffFull, qDim: qFull, kvDim: kvFull, headDim: hd });
      expect(spec).not.toBeNull();
      const run = (read: number) =>
        engine.runKernel({
          family: "decode",
          spec: spec!,
          params: [D, hd, { f32: eps }, { f32: 1 / Math.sqrt(hd) }, pos0, 0, 0, steps, 0, 0, 0, 0, 0, 0, 0, kept.length, V, D, (2 * layers.length * D) / 4, 0],
          buffers: [packed, norms, k0, v0, table, lm.bound, cos, sin, tokens0, genLayerTable(entries)],
          groups: [1, 1, 1],
          read,
        });
      const tokens = u32(await run(9));

      // The reference follows the kernel's tokens (so one near-tie cannot derail the comparison after it).
      const k = Float64Array.from(k0), v = Float64Array.from(v0);
      for (let t = 0; t < steps; t++) {
        const pos = pos0 + t;
        let x: Float64Array = Float64Array.from(table.subarray(tokens[pos] * D, (tokens[pos] + 1) * D));
        for (const e of kept) {
          const region = (a: Float64Array) => a.subarray(e.base, e.base + total * e.kept.kvDim);
          x = layerRef(x, layers[e.index], e.kept, hd, eps, pos, 0, pos, region(k), region(v), cos, sin);
        }
        const logits = linearRef(rmsnormRef(x, 1, D, finalNorm, eps), D, 1, D, lm.seen, D, V);
        let best = 0;
        for (let n = 1; n < V; n++) if (logits[n] > logits[best]) best = n;
        const got = tokens[pos + 1];
        if (got !== best && !(got < V && Math.abs(logits[got] - logits[best]) <= 1e-5 * Math.max(1, Math.abs(logits[best])))) throw new Error(`step ${t}: token ${got}, argmax ${best}`);
      }
      expect(Array.from(tokens.subarray(0, pos0))).toEqual(Array.from(tokens0.subarray(0, pos0)));
      expect(tokens[total]).toBe(7777); // nothing written past the last step
      expectNear(f32(await run(3)), k, 1e-4, "k");
      expectNear(f32(await run(4)), v, 1e-4, "v");
    }),
    { numRuns: 8 },
  );
}, slow);

test("decode spec: private rows sized for the full widths; refused past the budget, the bindings, without subgroups, or unless the workgroup is one whole subgroup", () => {
  const stories = { D: 64, ff: 172, qDim: 64, kvDim: 32, headDim: 8 };
  expect(decodeSpec(caps, "step", "f32", true, stories)).toEqual({ STEP: true, GEN: false, EMBED: true, WG: 8, W16: false, WBF: false, CA: 16, CH: 64, CQ: 16, CK: 16, HD: 8 });
  expect(decodeSpec(caps, "gen", "bf16", false, stories)).toMatchObject({ STEP: false, GEN: true, EMBED: false, W16: true, WBF: true });
  expect(decodeSpec(caps, "step", "f32", true, stories, 15)).toBeNull(); // 14 + ids and table
  expect(decodeSpec(caps, "step", "f32", false, stories, 15)).not.toBeNull();
  expect(decodeSpec(caps, "gen", "f32", false, stories, 9)).toBeNull();
  expect(decodeSpec(caps, "step", "f16", false, { D: 256, ff: 704, qDim: 256, kvDim: 128, headDim: 32 })).toMatchObject({ CA: 64, CH: 256, CQ: 64, CK: 32 });
  expect(decodeSpec(caps, "gen", "f32", false, { D: 4096, ff: 11008, qDim: 4096, kvDim: 4096, headDim: 128 })).toBeNull(); // LLaMA-2-7B
  expect(decodeSpec({ subgroups: false, subgroupMaxSize: 0 }, "step", "f32", false, stories)).toBeNull();
  // The workgroup must be one whole subgroup: one subgroup size (NVIDIA's 32 or AMD's 64 alone), at most 64.
  expect(decodeSpec({ subgroups: true, subgroupMaxSize: 32, subgroupMinSize: 32 }, "step", "f32", false, stories)).toMatchObject({ WG: 32 });
  expect(decodeSpec({ subgroups: true, subgroupMaxSize: 64, subgroupMinSize: 64 }, "gen", "f32", false, stories)).toMatchObject({ WG: 64 });
  for (const mode of ["step", "gen"] as const) {
    expect(decodeSpec({ subgroups: true, subgroupMaxSize: 32, subgroupMinSize: 8 }, mode, "f32", false, stories)).toBeNull(); // Intel 8/16/32
    expect(decodeSpec({ subgroups: true, subgroupMaxSize: 64, subgroupMinSize: 32 }, mode, "f32", false, stories)).toBeNull(); // AMD wave32/64
    expect(decodeSpec({ subgroups: true, subgroupMaxSize: 128, subgroupMinSize: 128 }, mode, "f32", false, stories)).toBeNull(); // WG would be 64: a partial subgroup
  }
  expect(decodeSpec(caps, "step", "f32", false, { ...stories, headDim: 12 })).toBeNull();
  expect(decodeSpec(caps, "step", "f32", false, { ...stories, ff: 170 })).toBeNull();
  expect(() => genLayerTable([{ matrices: [0, 1], norms: [0, 16], qDim: 64, kvDim: 32, ff: 172, oLdw: 64, dLdw: 172, kvBase: 0 }])).toThrow(/7 matrix offsets/);
});

describe("generation's decode paths", () => {
  const shared = sharedDir();
  test("an unknown decode option is refused by name", async () => {
    await expect(engine.load(join(shared, "models/stories260K-hf"), { decode: "fast" as never })).rejects.toThrow(/decode must be "gen", "step" or "blocks", got "fast"/);
  });

  for (const [name, dir] of [
    ["stories260K", "models/stories260K-hf"],
    ["the bf16 GQA test model", "models/tiny-llama3-gqa-bf16"],
  ]) {
    test(`${name}: GEN, one STEP per layer and PRE/attention/POST give the same tokens under sub-networks`, async () => {
      const path = join(shared, dir);
      const models = await Promise.all((["gen", "step", "blocks"] as const).map((decode) => engine.load(path, { decode })));
      const c = models[0].config;
      const specs = [null, { layers: c.numLayers > 1 ? [false, ...Array(c.numLayers - 1).fill(true)] : [true], kvHeads: Array(c.numLayers).fill(1), mlp: Array(c.numLayers).fill(Math.max(1, Math.floor(c.intermediateSize / 3))) }];
      for (const spec of specs) {
        const [gen, step, blocks] = await Promise.all(models.map((m) => m.generate([c.bosTokenId, 403 % c.vocabSize], spec, 40, false)));
        expect(step.tokens).toEqual(blocks.tokens);
        expect(gen.tokens).toEqual(blocks.tokens);
      }
      expect(models.map((m) => m.decodePath)).toEqual(["gen", "step", "blocks"]);
      await Promise.all(models.map((m) => m.unload()));
    }, slow);
  }
});
