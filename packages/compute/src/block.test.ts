/**
 * The row-local layer halves (kernels/block.wgsl) against a float64 TypeScript reference on random shapes:
 * rows on both sides of the 8- and 32-row workgroup tiles, widths that are not multiples of the 32-column tile,
 * elastic slices (kept heads, kept MLP width with zero padding), a KV-cache row offset, and f32/bf16/f16 weights.
 * fast-check prints the seed and path of a failing case.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import fc from "fast-check";
import { Engine } from "./client.ts";
import { expectNear, f32, linearRef, rand, rmsnormRef, u32, weight, type WeightFormat } from "./test-data.ts";
import { BLOCK_CACHE_MAX_VEC4, blockGroups, blockSpec } from "./gpu/block.ts";

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.start();
});
afterAll(async () => {
  await engine.close();
});

const hasSubgroups = () => engine.info.features.includes("subgroups");
const slow = 300_000; // up to 12 block pipelines to compile on lavapipe

const shapes = fc.record({
  many: fc.boolean(), // >= 64 rows: 4 rows per invocation
  M: fc.integer({ min: 1, max: 40 }),
  D4: fc.integer({ min: 1, max: 18 }), // hidden size D = 4 * D4
  hd8: fc.integer({ min: 1, max: 2 }), // head dim 8 or 16
  kvFull: fc.integer({ min: 1, max: 3 }),
  group: fc.integer({ min: 1, max: 3 }),
  keep: fc.integer({ min: 1, max: 3 }), // kept KV heads (clamped to kvFull)
  format: fc.constantFrom<WeightFormat>("f32", "bf16", "f16"),
  cache: fc.boolean(), // h (and POST's a) in private memory instead of storage
  // A GPU's 32-wide workgroup (WG 32): four of lavapipe's 8-wide subgroups, which the kernel must not mind.
  wide: fc.boolean(),
  seed: fc.integer({ min: 1, max: 1 << 30 }),
});

test("block PRE: embedding gather (EMBED), RMSNorm, q/k/v of kept heads, RoPE at each row's position, keys/values at a cache offset", async () => {
  if (!hasSubgroups()) return; // the block kernel needs subgroups; model.ts never picks it without them
  await fc.assert(
    fc.asyncProperty(shapes, fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 2 }), fc.boolean(), async (c, rowOff, infoOff, embed) => {
      const M = c.many ? 64 + c.M : c.M;
      const D = 4 * c.D4, hd = 8 * c.hd8, half = hd / 2;
      const g = Math.min(c.keep, c.kvFull);
      const qDim = g * c.group * hd, kvDim = g * hd;
      const qFull = c.kvFull * c.group * hd, kvFullDim = c.kvFull * hd;
      const eps = 1e-5;
      // EMBED: x starts as garbage and is gathered from a table by token ids[idOff + m].
      const vocab = 11, idOff = 2;
      const table = rand(vocab * D, c.seed + 9);
      const ids = new Uint32Array(idOff + M).map((_, i) => (i * 5 + c.seed) % vocab);
      const x0 = rand(M * D, c.seed);
      const x = embed ? Float32Array.from({ length: M * D }, (_, i) => table[ids[idOff + Math.floor(i / D)] * D + (i % D)]) : x0;
      const normW = rand(D, c.seed + 1);
      const [Wq, Wk, Wv] = [qFull, kvFullDim, kvFullDim].map((rows, i) => weight(rows, D, c.seed + 2 + i, c.format));
      const maxPos = 50;
      const info = new Uint32Array((infoOff + M) * 4);
      for (let m = 0; m < infoOff + M; m++) info[m * 4 + 2] = (m * 7 + c.seed) % maxPos;
      const cos = rand(maxPos * half, c.seed + 5), sin = rand(maxPos * half, c.seed + 6);
      const kvRows = rowOff + M;
      const k0 = rand(kvRows * kvDim, c.seed + 7); // cache rows before rowOff must keep their values
      const v0 = rand(kvRows * kvDim, c.seed + 8);

      const h = rmsnormRef(x, M, D, normW, eps);
      const q = linearRef(h, D, M, D, Wq.seen, D, qDim);
      const k = linearRef(h, D, M, D, Wk.seen, D, kvDim);
      const v = linearRef(h, D, M, D, Wv.seen, D, kvDim);
      const rope = (t: Float64Array, width: number) => {
        for (let m = 0; m < M; m++) {
          const pos = info[(infoOff + m) * 4 + 2];
          for (let head = 0; head < width / hd; head++)
            for (let d = 0; d < half; d++) {
              const i = m * width + head * hd + d;
              const [x1, x2, cs, sn] = [t[i], t[i + half], cos[pos * half + d], sin[pos * half + d]];
              t[i] = x1 * cs - x2 * sn;
              t[i + half] = x2 * cs + x1 * sn;
            }
        }
      };
      rope(q, qDim);
      rope(k, kvDim);
      const withPrefix = (prefix: Float32Array, rows: Float64Array) => Float64Array.from([...prefix.subarray(0, rowOff * kvDim), ...rows]);

      const spec = blockSpec({ subgroups: true, subgroupMaxSize: c.wide ? 32 : 8 }, "pre", M, c.format, embed, c.cache ? { D } : undefined);
      expect(spec.CACHE).toBe(c.cache);
      const run = (read: number) =>
        engine.runKernel({
          family: "block",
          spec,
          params: [M, D, qDim, kvDim, 0, 0, { f32: eps }, infoOff, rowOff * kvDim, hd, 0, 0, idOff],
          buffers: [x0, normW, c.cache ? null : M * D * 4, Wq.bound, Wk.bound, Wv.bound, M * qDim * 4, k0, v0, info, cos, sin, ...(embed ? [ids, table] : [])],
          groups: blockGroups(spec, M),
          read,
        });
      if (embed) expectNear(f32(await run(1)), x, 0, "x");
      if (!c.cache) expectNear(f32(await run(3)), h, 1e-5, "h"); // cached: h is private, seen through q, k and v
      expectNear(f32(await run(7)), q, 1e-4, "q");
      expectNear(f32(await run(8)), withPrefix(k0, k), 1e-4, "k");
      expectNear(f32(await run(9)), withPrefix(v0, v), 1e-4, "v");
    }),
    { numRuns: 14 },
  );
}, slow);

test("block POST: x += att Wo^T, RMSNorm, SwiGLU of the kept width zero-padded, x += a Wd^T", async () => {
  if (!hasSubgroups()) return;
  await fc.assert(
    fc.asyncProperty(shapes, fc.integer({ min: 1, max: 70 }), fc.integer({ min: 0, max: 12 }), async (c, ffFull0, cut) => {
      const M = c.many ? 64 + c.M : c.M;
      const D = 4 * c.D4, hd = 8 * c.hd8;
      const g = Math.min(c.keep, c.kvFull);
      const qDim = g * c.group * hd, qFull = c.kvFull * c.group * hd;
      const ffFull = Math.ceil(ffFull0 / 4) * 4; // the model runs blocks only when the full width is a multiple of 4
      const ff = Math.max(1, ffFull - cut); // kept width: any integer
      const ldh = Math.ceil(ff / 4) * 4;
      const eps = 1e-5;
      const att = rand(M * qDim, c.seed);
      const x0 = rand(M * D, c.seed + 1);
      const normW = rand(D, c.seed + 2);
      const Wo = weight(D, qFull, c.seed + 3, c.format);
      const Wg = weight(ffFull, D, c.seed + 4, c.format);
      const Wu = weight(ffFull, D, c.seed + 5, c.format);
      const Wd = weight(D, ffFull, c.seed + 6, c.format);

      const o = linearRef(att, qDim, M, qDim, Wo.seen, qFull, D);
      const x1 = Float64Array.from(x0, (v, i) => v + o[i]);
      const h = rmsnormRef(x1, M, D, normW, eps);
      const gate = linearRef(h, D, M, D, Wg.seen, D, ldh);
      const up = linearRef(h, D, M, D, Wu.seen, D, ldh);
      const a = new Float64Array(M * ldh);
      for (let m = 0; m < M; m++) for (let n = 0; n < ff; n++) { const z = gate[m * ldh + n]; a[m * ldh + n] = (z / (1 + Math.exp(-z))) * up[m * ldh + n]; }
      const d = linearRef(a, ldh, M, ldh, Wd.seen, ffFull, D);
      const x2 = Float64Array.from(x1, (v, i) => v + d[i]);

      const spec = blockSpec({ subgroups: true, subgroupMaxSize: c.wide ? 32 : 8 }, "post", M, c.format, false, c.cache ? { D, ff: ffFull } : undefined);
      expect(spec.CACHE).toBe(c.cache);
      // a starts as NaN: every stored column, padding included, must be written (cached: a private copy, seen
      // through x, which a NaN or a missing padding zero in a would spoil).
      const run = (read: number) =>
        engine.runKernel({
          family: "block",
          spec,
          params: [M, D, qDim, 0, ldh, ff, { f32: eps }, 0, 0, hd, qFull, ffFull, 0],
          buffers: [att, x0, normW, c.cache ? null : M * D * 4, Wo.bound, Wg.bound, Wu.bound, Wd.bound, c.cache ? null : new Float32Array(M * ldh).fill(NaN)],
          groups: blockGroups(spec, M),
          read,
        });
      if (!c.cache) expectNear(f32(await run(9)), a, 1e-4, "a");
      expectNear(f32(await run(2)), x2, 1e-4, "x");
    }),
    { numRuns: 14 },
  );
}, slow);

test("block HEAD: RMSNorm, lm head, log-softmax of each row's target and argmax (lowest index on ties), logits never stored", async () => {
  if (!hasSubgroups()) return;
  await fc.assert(
    fc.asyncProperty(
      fc.record({ many: fc.boolean(), M: fc.integer({ min: 1, max: 40 }), D4: fc.integer({ min: 1, max: 18 }), V: fc.integer({ min: 1, max: 150 }), pad4: fc.integer({ min: 0, max: 2 }), outOff: fc.integer({ min: 0, max: 3 }), ties: fc.boolean(), format: fc.constantFrom<WeightFormat>("f32", "bf16", "f16"), cache: fc.boolean(), wide: fc.boolean(), seed: fc.integer({ min: 1, max: 1 << 30 }) }),
      async (c) => {
        const M = c.many ? 64 + c.M : c.M;
        const D = 4 * c.D4, ldw = D + 4 * c.pad4, V = c.V, eps = 1e-5;
        const x = rand(M * D, c.seed);
        const normW = rand(D, c.seed + 1);
        // With ties, rows of W repeat (every third row equals the one before), so equal logits must pick the lower index.
        const W = weight(V, ldw, c.seed + 2, c.format, 2);
        if (c.ties) {
          const per = c.format === "f32" ? ldw : ldw / 2; // elements per row of the bound array
          for (let n = 2; n < V; n += 3) {
            W.bound.copyWithin(n * per, (n - 1) * per, n * per);
            W.seen.copyWithin(n * ldw, (n - 1) * ldw, n * ldw);
          }
        }
        // Targets: in range, out of range (no log-prob: the initial value stays), after outOff.
        const targets = new Uint32Array(c.outOff + M).map((_, i) => (i % 5 === 4 ? V + (i % 3) : (i * 7 + c.seed) % V));
        const h = rmsnormRef(x, M, D, normW, eps);
        const logits = linearRef(h, D, M, D, W.seen, ldw, V);
        const wantLp = rand(c.outOff + M, c.seed + 3), wantAm = new Uint32Array(c.outOff + M).fill(7777);
        const lp0 = Float32Array.from(wantLp), am0 = Uint32Array.from(wantAm);
        for (let m = 0; m < M; m++) {
          const row = logits.subarray(m * V, (m + 1) * V);
          let best = 0;
          for (let n = 1; n < V; n++) if (row[n] > row[best]) best = n;
          const mx = row[best];
          let sum = 0;
          for (let n = 0; n < V; n++) sum += Math.exp(row[n] - mx);
          const t = targets[c.outOff + m];
          if (t < V) wantLp[c.outOff + m] = row[t] - mx - Math.log(sum);
          wantAm[c.outOff + m] = best;
        }
        const spec = blockSpec({ subgroups: true, subgroupMaxSize: c.wide ? 32 : 8 }, "head", M, c.format, false, c.cache ? { D } : undefined);
        expect(spec.CACHE).toBe(c.cache);
        const run = (read: number) =>
          engine.runKernel({ family: "block", spec, params: [M, D, V, ldw, { f32: eps }, c.outOff, 0, 0], buffers: [x, normW, c.cache ? null : M * D * 4, W.bound, targets, lp0, am0], groups: blockGroups(spec, M), read });
        expectNear(f32(await run(6)), wantLp, 1e-4, "logprob");
        const am = u32(await run(7));
        if (c.ties) expect(Array.from(am)).toEqual(Array.from(wantAm));
        else {
          // Without forced ties, f32 rounding may reorder logits closer than 1e-5; then either index is right.
          for (let i = 0; i < am.length; i++) {
            if (am[i] === wantAm[i]) continue;
            const m = i - c.outOff;
            if (m < 0 || Math.abs(logits[m * V + am[i]] - logits[m * V + wantAm[i]]) > 1e-5) throw new Error(`argmax row ${m}: ${am[i]} != ${wantAm[i]}`);
          }
        }
      },
    ),
    { numRuns: 14 },
  );
}, slow);

test("block spec: 4 rows per invocation from 64 rows, 16-bit formats, private caches within budget, grid over rows only", () => {
  const caps = { subgroups: true, subgroupMaxSize: 8 };
  const off = { CACHE: false, CA: 0, CH: 0 };
  expect(blockSpec(caps, "pre", 63, "f32")).toEqual({ PRE: true, EMBED: false, POST: false, HEAD: false, L4: false, WG: 8, W16: false, WBF: false, ...off });
  expect(blockSpec(caps, "pre", 63, "f32", true)).toMatchObject({ PRE: true, EMBED: true });
  expect(blockSpec(caps, "post", 64, "bf16", true)).toEqual({ PRE: false, EMBED: false, POST: true, HEAD: false, L4: true, WG: 8, W16: true, WBF: true, ...off });
  // The private caches: rows of a power of two >= 16 vec4s, within BLOCK_CACHE_MAX_VEC4 per invocation.
  expect(blockSpec(caps, "post", 256, "f32", false, { D: 64, ff: 172 })).toMatchObject({ CACHE: true, CA: 16, CH: 64 });
  expect(blockSpec(caps, "pre", 256, "f32", false, { D: 256 })).toMatchObject({ CACHE: true, CA: 64, CH: 0 });
  expect(blockSpec(caps, "post", 256, "bf16", false, { D: 256, ff: 704 })).toMatchObject({ CACHE: true, CA: 64, CH: 256 }); // 4 x 320
  expect(blockSpec(caps, "post", 256, "f32", false, { D: 512, ff: 1376 })).toMatchObject(off); // 4 x (128 + 512) > 1536
  expect(blockSpec(caps, "post", 63, "f32", false, { D: 512, ff: 1376 })).toMatchObject({ CACHE: true, CA: 128, CH: 512 }); // one row
  expect(4 * (128 + 512)).toBeGreaterThan(BLOCK_CACHE_MAX_VEC4);
  expect(() => blockSpec(caps, "post", 8, "f32", false, { D: 64 })).toThrow(/POST needs ff/);
  expect(() => blockSpec(caps, "head", 8, "f32", false, { D: 66 })).toThrow(/multiples of 4/);
  expect(blockSpec({ subgroups: true, subgroupMaxSize: 32 }, "head", 1, "f16")).toMatchObject({ HEAD: true, WG: 32, W16: true, WBF: false });
  expect(blockGroups(blockSpec(caps, "pre", 256, "f32"), 256)).toEqual([8, 1, 1]);
  expect(blockGroups(blockSpec(caps, "pre", 9, "f32"), 9)).toEqual([2, 1, 1]);
  expect(() => blockGroups(blockSpec(caps, "pre", 40, "f32"), 8 * 65536)).toThrow(/65535/);
});

test("reading back a binding a cached specialisation leaves unbound is refused by name", async () => {
  if (!hasSubgroups()) return;
  const spec = blockSpec({ subgroups: true, subgroupMaxSize: 8 }, "head", 4, "f32", false, { D: 8 });
  const run = { family: "block" as const, spec, params: [4, 8, 4, 8, { f32: 1e-5 }, 0, 0, 0], buffers: [rand(32, 1), rand(8, 2), null, rand(32, 3), new Uint32Array(4), 16, 16], groups: blockGroups(spec, 4) };
  await expect(engine.runKernel({ ...run, read: 3 })).rejects.toThrow(/binding 3 to read back is not bound/);
  expect(u32(await engine.runKernel({ ...run, read: 7 })).length).toBe(4); // the engine goes on
});
