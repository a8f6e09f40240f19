/**
 * The row-local layer halves (kernels/block.wgsl) against a float64 TypeScript reference on random shapes:
 * rows on both sides of the 8- and 32-row workgroup tiles, widths that are not multiples of the 32-column tile,
 * elastic slices (kept heads, kept MLP width with zero padding), a KV-cache row offset, and f32/bf16/f16 weights.
 * fast-check prints the seed and path of a failing case.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import fc from "fast-check";
import { encodeTensor, tensorToFloat32 } from "@nas/model";
import { Engine } from "./client.ts";
import { f32, rand, rmsnormRef, u32 } from "./test-data.ts";
import { BLOCK_CACHE_MAX_VEC4, blockGroups, blockSpec, stepSpec } from "./gpu/block.ts";

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.start();
});
afterAll(async () => {
  await engine.close();
});

const hasSubgroups = () => engine.info.features.includes("subgroups");
const slow = 300_000; // up to 12 block pipelines to compile on lavapipe

type Format = "f32" | "bf16" | "f16";
/** A random [rows, cols] weight: what is bound (f32 or packed 16-bit) and the values the kernel sees. */
function weight(rows: number, cols: number, seed: number, format: Format, scale = 0.5): { bound: Float32Array | Uint32Array; seen: Float32Array } {
  const values = rand(rows * cols, seed).map((v) => v * scale);
  if (format === "f32") return { bound: values, seen: values };
  const dtype = format === "bf16" ? "BF16" : "F16";
  const bytes = encodeTensor("w", dtype, [rows, cols], values).data;
  const packed = new Uint32Array(Math.ceil(bytes.byteLength / 4));
  new Uint8Array(packed.buffer).set(bytes);
  return { bound: packed, seen: tensorToFloat32({ name: "w", dtype, shape: [rows, cols], data: bytes }) };
}

/** out[m, n] = sum_k A[m, k] W[n, k] (k < K; A row stride lda, W row stride ldw). */
function linear(A: ArrayLike<number>, lda: number, M: number, K: number, W: Float32Array, ldw: number, N: number): Float64Array {
  const out = new Float64Array(M * N);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += A[m * lda + k] * W[n * ldw + k];
      out[m * N + n] = s;
    }
  return out;
}

function expectNear(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol * Math.max(1, Math.abs(want[i])))) throw new Error(`${what}[${i}]: ${got[i]} != ${want[i]}`);
  }
}

const shapes = fc.record({
  many: fc.boolean(), // >= 64 rows: 4 rows per invocation
  M: fc.integer({ min: 1, max: 40 }),
  D4: fc.integer({ min: 1, max: 18 }), // hidden size D = 4 * D4
  hd8: fc.integer({ min: 1, max: 2 }), // head dim 8 or 16
  kvFull: fc.integer({ min: 1, max: 3 }),
  group: fc.integer({ min: 1, max: 3 }),
  keep: fc.integer({ min: 1, max: 3 }), // kept KV heads (clamped to kvFull)
  format: fc.constantFrom<Format>("f32", "bf16", "f16"),
  cache: fc.boolean(), // h (and POST's a) in private memory instead of storage
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
      const q = linear(h, D, M, D, Wq.seen, D, qDim);
      const k = linear(h, D, M, D, Wk.seen, D, kvDim);
      const v = linear(h, D, M, D, Wv.seen, D, kvDim);
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

      const spec = blockSpec({ subgroups: true, subgroupMaxSize: 8 }, "pre", M, c.format, embed, c.cache ? { D } : undefined);
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

      const o = linear(att, qDim, M, qDim, Wo.seen, qFull, D);
      const x1 = Float64Array.from(x0, (v, i) => v + o[i]);
      const h = rmsnormRef(x1, M, D, normW, eps);
      const gate = linear(h, D, M, D, Wg.seen, D, ldh);
      const up = linear(h, D, M, D, Wu.seen, D, ldh);
      const a = new Float64Array(M * ldh);
      for (let m = 0; m < M; m++) for (let n = 0; n < ff; n++) { const z = gate[m * ldh + n]; a[m * ldh + n] = (z / (1 + Math.exp(-z))) * up[m * ldh + n]; }
      const d = linear(a, ldh, M, ldh, Wd.seen, ffFull, D);
      const x2 = Float64Array.from(x1, (v, i) => v + d[i]);

      const spec = blockSpec({ subgroups: true, subgroupMaxSize: 8 }, "post", M, c.format, false, c.cache ? { D, ff: ffFull } : undefined);
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
      fc.record({ many: fc.boolean(), M: fc.integer({ min: 1, max: 40 }), D4: fc.integer({ min: 1, max: 18 }), V: fc.integer({ min: 1, max: 150 }), pad4: fc.integer({ min: 0, max: 2 }), outOff: fc.integer({ min: 0, max: 3 }), ties: fc.boolean(), format: fc.constantFrom<Format>("f32", "bf16", "f16"), cache: fc.boolean(), seed: fc.integer({ min: 1, max: 1 << 30 }) }),
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
        const logits = linear(h, D, M, D, W.seen, ldw, V);
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
        const spec = blockSpec({ subgroups: true, subgroupMaxSize: 8 }, "head", M, c.format, false, c.cache ? { D } : undefined);
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

test("block STEP: one row through a whole layer (embedding, PRE, attention over a KV cache, POST) in one dispatch", async () => {
  if (!hasSubgroups()) return;
  await fc.assert(
    fc.asyncProperty(shapes, fc.integer({ min: 1, max: 70 }), fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 3 }), fc.boolean(), async (c, ffFull0, cut, pos, kvLo, embed) => {
      const D = 4 * c.D4, hd = 8 * c.hd8, half = hd / 2;
      const g = Math.min(c.keep, c.kvFull);
      const qDim = g * c.group * hd, kvDim = g * hd;
      const qFull = c.kvFull * c.group * hd, kvFullDim = c.kvFull * hd;
      const ffFull = Math.ceil(ffFull0 / 4) * 4;
      const ff = Math.max(1, ffFull - cut);
      const ldh = Math.ceil(ff / 4) * 4;
      const eps = 1e-5, scale = 1 / Math.sqrt(hd);
      const own = kvLo + pos; // this row's cache row: keys are rows kvLo .. own
      const vocab = 11, idOff = 2;
      const table = rand(vocab * D, c.seed + 20);
      const ids = new Uint32Array(idOff + 1).map((_, i) => (i * 5 + c.seed) % vocab);
      const x0 = rand(D, c.seed);
      const x = embed ? table.slice(ids[idOff] * D, (ids[idOff] + 1) * D) : x0;
      const attnNorm = rand(D, c.seed + 1), mlpNorm = rand(D, c.seed + 2);
      const [Wq, Wk, Wv] = [qFull, kvFullDim, kvFullDim].map((rows, i) => weight(rows, D, c.seed + 3 + i, c.format));
      const Wo = weight(D, qFull, c.seed + 6, c.format);
      const Wg = weight(ffFull, D, c.seed + 7, c.format);
      const Wu = weight(ffFull, D, c.seed + 8, c.format);
      const Wd = weight(D, ffFull, c.seed + 9, c.format);
      const maxPos = 40;
      const cos = rand(maxPos * half, c.seed + 10), sin = rand(maxPos * half, c.seed + 11);
      const rows = own + 2; // a cache row past this one must keep its value too
      const k0 = rand(rows * kvDim, c.seed + 12), v0 = rand(rows * kvDim, c.seed + 13);

      const h = rmsnormRef(x, 1, D, attnNorm, eps);
      const q = linear(h, D, 1, D, Wq.seen, D, qDim);
      const k = linear(h, D, 1, D, Wk.seen, D, kvDim);
      const v = linear(h, D, 1, D, Wv.seen, D, kvDim);
      for (const [t, width] of [[q, qDim], [k, kvDim]] as const)
        for (let head = 0; head < width / hd; head++)
          for (let d = 0; d < half; d++) {
            const i = head * hd + d;
            const [x1, x2, cs, sn] = [t[i], t[i + half], cos[pos * half + d], sin[pos * half + d]];
            t[i] = x1 * cs - x2 * sn;
            t[i + half] = x2 * cs + x1 * sn;
          }
      const kAll = Float64Array.from(k0), vAll = Float64Array.from(v0);
      kAll.set(k, own * kvDim);
      vAll.set(v, own * kvDim);
      const att = new Float64Array(qDim);
      for (let head = 0; head < qDim / hd; head++) {
        const kvh = Math.floor(head / c.group);
        const sc: number[] = [];
        for (let j = kvLo; j <= own; j++) {
          let dot = 0;
          for (let d = 0; d < hd; d++) dot += q[head * hd + d] * kAll[j * kvDim + kvh * hd + d];
          sc.push(dot * scale);
        }
        const mx = Math.max(...sc);
        const e = sc.map((s) => Math.exp(s - mx));
        const sum = e.reduce((a, b) => a + b, 0);
        for (let d = 0; d < hd; d++) att[head * hd + d] = e.reduce((a, w, i) => a + w * vAll[(kvLo + i) * kvDim + kvh * hd + d], 0) / sum;
      }
      const o = linear(att, qDim, 1, qDim, Wo.seen, qFull, D);
      const x1 = Float64Array.from(x, (val, i) => val + o[i]);
      const h2 = rmsnormRef(x1, 1, D, mlpNorm, eps);
      const gate = linear(h2, D, 1, D, Wg.seen, D, ldh);
      const up = linear(h2, D, 1, D, Wu.seen, D, ldh);
      const a = new Float64Array(ldh);
      for (let n = 0; n < ff; n++) a[n] = (gate[n] / (1 + Math.exp(-gate[n]))) * up[n];
      const dn = linear(a, ldh, 1, ldh, Wd.seen, ffFull, D);
      const x2 = Float64Array.from(x1, (val, i) => val + dn[i]);

      const spec = stepSpec({ subgroups: true, subgroupMaxSize: 8 }, c.format, embed, { D, ff: ffFull, qDim: qFull, kvDim: kvFullDim, headDim: hd });
      expect(spec).not.toBeNull();
      const run = (read: number) =>
        engine.runKernel({
          family: "block",
          spec: spec!,
          params: [1, D, qDim, kvDim, ldh, ff, { f32: eps }, 0, own * kvDim, hd, qFull, ffFull, idOff, pos, kvLo, { f32: scale }],
          buffers: [x0, attnNorm, null, Wq.bound, Wk.bound, Wv.bound, null, k0, v0, null, cos, sin, embed ? ids : null, embed ? table : null, mlpNorm, Wo.bound, Wg.bound, Wu.bound, Wd.bound],
          groups: [1, 1, 1],
          read,
        });
      expectNear(f32(await run(1)), x2, 1e-4, "x");
      expectNear(f32(await run(8)), kAll, 1e-4, "k");
      expectNear(f32(await run(9)), vAll, 1e-4, "v");
    }),
    { numRuns: 14 },
  );
}, slow);

test("block spec: 4 rows per invocation from 64 rows, 16-bit formats, private caches within budget, grid over rows only", () => {
  const caps = { subgroups: true, subgroupMaxSize: 8 };
  const off = { CACHE: false, CA: 0, CH: 0 };
  expect(blockSpec(caps, "pre", 63, "f32")).toEqual({ PRE: true, EMBED: false, POST: false, HEAD: false, STEP: false, MLP: false, L4: false, WG: 8, W16: false, WBF: false, ...off });
  expect(blockSpec(caps, "pre", 63, "f32", true)).toMatchObject({ PRE: true, EMBED: true });
  expect(blockSpec(caps, "post", 64, "bf16", true)).toEqual({ PRE: false, EMBED: false, POST: true, HEAD: false, STEP: false, MLP: true, L4: true, WG: 8, W16: true, WBF: true, ...off });
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
  // STEP: one row, every private row sized for the layer's full widths; refused past the budget or 16 bindings.
  const stories = { D: 64, ff: 172, qDim: 64, kvDim: 32, headDim: 8 };
  expect(stepSpec(caps, "f32", true, stories)).toEqual({ PRE: false, EMBED: true, POST: false, HEAD: false, STEP: true, MLP: true, L4: false, WG: 8, W16: false, WBF: false, CACHE: true, CA: 16, CH: 64, CQ: 16, CK: 16, HD: 8 });
  expect(stepSpec(caps, "f32", true, stories, 15)).toBeNull(); // 14 + ids and table
  expect(stepSpec(caps, "f32", false, stories, 15)).not.toBeNull();
  expect(stepSpec(caps, "bf16", false, { D: 256, ff: 704, qDim: 256, kvDim: 128, headDim: 32 })).toMatchObject({ W16: true, WBF: true, CA: 64, CH: 256, CQ: 64, CK: 32 });
  expect(stepSpec(caps, "f32", false, { D: 4096, ff: 11008, qDim: 4096, kvDim: 4096, headDim: 128 })).toBeNull(); // LLaMA-2-7B: far past the budget
  expect(stepSpec({ subgroups: false, subgroupMaxSize: 0 }, "f32", false, stories)).toBeNull();
  expect(stepSpec(caps, "f32", false, { ...stories, headDim: 12 })).toBeNull();
});

test("reading back a binding a cached specialisation leaves unbound is refused by name", async () => {
  if (!hasSubgroups()) return;
  const spec = blockSpec({ subgroups: true, subgroupMaxSize: 8 }, "head", 4, "f32", false, { D: 8 });
  const run = { family: "block" as const, spec, params: [4, 8, 4, 8, { f32: 1e-5 }, 0, 0, 0], buffers: [rand(32, 1), rand(8, 2), null, rand(32, 3), new Uint32Array(4), 16, 16], groups: blockGroups(spec, 4) };
  await expect(engine.runKernel({ ...run, read: 3 })).rejects.toThrow(/binding 3 to read back is not bound/);
  expect(u32(await engine.runKernel({ ...run, read: 7 })).length).toBe(4); // the engine goes on
});
