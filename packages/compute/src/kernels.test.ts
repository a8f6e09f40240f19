/**
 * Every WGSL kernel against a plain TypeScript reference on random shapes (fast-check), including sizes that
 * are not multiples of the tile. Runs on whatever adapter the engine finds (lavapipe in CI).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import fc from "fast-check";
import { encodeTensor, tensorToFloat32 } from "@nas/model";
import { Engine } from "./client.ts";
import { f32, rand, rmsnormRef, u32 } from "./test-data.ts";
import { attentionGroups, attentionSpec, embeddingGroups, logsoftmaxGroups, logsoftmaxSpec, matmulGroups, matmulSpec, rmsnormGroups, rmsnormSpec, ropeGroups, ropeSpec, swigluGroups, swigluSpec } from "./gpu/kernels.ts";

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.start();
});
afterAll(async () => {
  await engine.close();
});

const runs = { numRuns: 12 };
function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number): void {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i])));
  expect(worst).toBeLessThanOrEqual(tol);
}

/** Matmul tests compile up to 16 pipeline variants; lavapipe takes 1-5 s for each (more on a loaded machine). */
const slow = 180_000;

/** Whether the engine's device offers subgroups (the COOP matmul variant); lavapipe does. */
const hasSubgroups = () => engine.info.features.includes("subgroups");

/** Run one matmul on random data and compare with a float64 reference. Returns the spec that ran. */
async function checkMatmul(c: { M: number; N: number; K: number; lda: number; ldw: number; aOff: number; cOff: number; ldc: number; accumulate: boolean; subgroups: boolean; subgroupMaxSize?: number; seed: number }) {
  const A = rand(c.aOff + c.M * c.lda, c.seed);
  // A's pad columns (K <= k < lda) hold NaN: no variant may let them into a result.
  for (let m = 0; m < c.M; m++) A.fill(NaN, c.aOff + m * c.lda + c.K, c.aOff + (m + 1) * c.lda);
  const W = rand(c.N * c.ldw, c.seed + 1);
  const C0 = rand(c.cOff + c.M * c.ldc, c.seed + 2);
  const want = Float32Array.from(C0);
  for (let m = 0; m < c.M; m++)
    for (let n = 0; n < c.N; n++) {
      let s = 0;
      for (let k = 0; k < c.K; k++) s += A[c.aOff + m * c.lda + k] * W[n * c.ldw + k];
      const i = c.cOff + m * c.ldc + n;
      want[i] = c.accumulate ? C0[i] + s : s;
    }
  const spec = matmulSpec({ M: c.M, N: c.N, ldc: c.ldc, cOff: c.cOff, K: c.K, lda: c.lda, ldw: c.ldw, aOff: c.aOff, accumulate: c.accumulate, subgroups: c.subgroups, subgroupMaxSize: c.subgroupMaxSize ?? 8 });
  const groups = matmulGroups(spec, c.M, c.N);
  const out = await engine.runKernel({ family: "matmul", spec, params: [c.M, c.N, c.K, c.lda, c.ldw, c.ldc, c.aOff, c.cOff], buffers: [A, W, C0], groups, read: 3 });
  // Elements outside the M x N window (padding columns of ldc, the cOff prefix) must be untouched.
  expectClose(f32(out), want, 1e-5);
  return spec;
}

test("matmul: every variant, strided slices, offsets, accumulate", async () => {
  const seen = new Set<string>();
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        M: fc.integer({ min: 1, max: 140 }),
        N: fc.integer({ min: 1, max: 45 }),
        K: fc.integer({ min: 1, max: 40 }),
        padA: fc.integer({ min: 0, max: 5 }),
        padW: fc.integer({ min: 0, max: 9 }),
        aOffRows: fc.integer({ min: 0, max: 2 }),
        cOff: fc.integer({ min: 0, max: 7 }),
        accumulate: fc.boolean(),
        forceVec4Shape: fc.boolean(),
        subgroups: fc.boolean(),
        seed: fc.integer({ min: 1, max: 1 << 30 }),
      }),
      async (c) => {
        // forceVec4Shape rounds K and the strides to multiples of 4, exercising the vec4 path as well.
        const K = c.forceVec4Shape ? Math.ceil(c.K / 4) * 4 : c.K;
        const lda = K + (c.forceVec4Shape ? 4 * c.padA : c.padA);
        const ldw = K + (c.forceVec4Shape ? 4 * c.padW : c.padW);
        // ... and N, ldc and cOff to multiples of 4, exercising the vec4 stores (VEC4C).
        const N = c.forceVec4Shape ? Math.ceil(c.N / 4) * 4 : c.N;
        const ldc = N + (c.forceVec4Shape ? 4 : 3);
        const cOff = c.forceVec4Shape ? 4 * c.cOff : c.cOff;
        const spec = await checkMatmul({ M: c.M, N, K, lda, ldw, aOff: c.aOffRows * lda, cOff, ldc, accumulate: c.accumulate, subgroups: c.subgroups && hasSubgroups(), seed: c.seed });
        seen.add(`L${spec.L ?? 0}${spec.VEC4C ? "c" : ""}`);
      },
    ),
    { numRuns: 24 },
  );
  // Row tiles of 1, 2 and 4 with vec4 stores are hit when the device has subgroups, whatever fast-check drew.
  if (hasSubgroups()) {
    for (const M of [5, 33, 140]) {
      const spec = await checkMatmul({ M, N: 20, K: 12, lda: 16, ldw: 12, aOff: 16, cOff: 8, ldc: 24, accumulate: M === 33, subgroups: true, seed: M });
      seen.add(`L${spec.L}${spec.VEC4C ? "c" : ""}`);
    }
    expect([...seen].filter((v) => v.endsWith("c")).sort()).toEqual(["L1c", "L2c", "L4c"]);
  }
}, slow);

test("matmul: the column (decode / no-subgroups) variant on wide outputs", async () => {
  for (const [M, N, K] of [[1, 300, 37], [3, 257, 64], [15, 129, 12]]) {
    const spec = await checkMatmul({ M, N, K, lda: K, ldw: K, aOff: 0, cOff: 0, ldc: N, accumulate: false, subgroups: false, seed: M * 7 + N });
    expect(spec.COOP).toBe(false);
  }
  // Decode (M = 1) keeps the column variant even where subgroups exist: no padded rows.
  expect(matmulSpec({ M: 1, N: 64, ldc: 64, cOff: 0, K: 64, lda: 64, ldw: 64, aOff: 0, accumulate: false, subgroups: true }).COOP).toBe(false);
}, slow);

test("matmul: the subgroup (COOP) variant at both row tiles and workgroup sizes, ragged edges, misaligned strides", async () => {
  if (!hasSubgroups()) throw new Error(`adapter "${engine.info.description}" has no subgroups; the COOP matmul cannot be tested here`);
  const cases = [
    // [M, N, K, lda, ldw, aOff, accumulate, subgroupMaxSize]: L = 1 (M < 16), 2 and 4 (M >= 64), 16-column (N <= 16)
    // and 32-column tiles, N not a multiple of the tile, K not a multiple of 4 (scalar loads), offsets and strides that break vec4 alignment, and
    // the 64-wide workgroup a device with 64-wide subgroups gets (rows past M inside one workgroup).
    [2, 17, 8, 8, 8, 0, false, 8],
    [15, 33, 13, 14, 20, 16, true, 8],
    [16, 16, 64, 64, 64, 0, false, 8],
    [37, 50, 41, 43, 45, 43, true, 8],
    [130, 20, 9, 9, 11, 2, false, 8],
    [127, 31, 36, 36, 40, 72, false, 64],
    [70, 48, 21, 21, 22, 0, false, 64],
    [40, 48, 24, 24, 24, 0, false, 64],
    [20, 30, 13, 13, 13, 0, true, 64],
    [100, 40, 32, 32, 36, 8, true, 8],
    // Long K (many k blocks through the named accumulators), vec4 and scalar loads, both workgroup sizes.
    [130, 70, 200, 200, 204, 0, true, 8],
    [100, 40, 130, 131, 135, 3, false, 8],
    [70, 33, 256, 256, 256, 0, false, 64],
    [200, 50, 131, 131, 131, 0, true, 64],
  ] as const;
  const seen = new Set<string>();
  for (const [M, N, K, lda, ldw, aOff, accumulate, subgroupMaxSize] of cases) {
    const spec = await checkMatmul({ M, N, K, lda, ldw, aOff, cOff: 5, ldc: N + 2, accumulate, subgroups: true, subgroupMaxSize, seed: M + N + K });
    expect(spec.COOP).toBe(true);
    seen.add(`L${spec.L} WG${spec.WG} VEC4 ${spec.VEC4}`);
    seen.add(`G4 ${spec.G4}`);
  }
  expect([...seen].sort()).toEqual([
    "G4 false", "G4 true",
    "L1 WG8 VEC4 false", "L1 WG8 VEC4 true", "L2 WG64 VEC4 false", "L2 WG64 VEC4 true", "L2 WG8 VEC4 false", "L2 WG8 VEC4 true",
    "L4 WG64 VEC4 false", "L4 WG64 VEC4 true", "L4 WG8 VEC4 false", "L4 WG8 VEC4 true",
  ]);
}, slow);

test("matmul: 16-bit weights (bf16, f16) converted in-kernel, every variant", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        M: fc.integer({ min: 1, max: 70 }),
        N: fc.integer({ min: 1, max: 40 }),
        K: fc.integer({ min: 1, max: 40 }),
        padW: fc.integer({ min: 0, max: 5 }),
        vec4: fc.boolean(),
        dtype: fc.constantFrom("BF16" as const, "F16" as const),
        subgroups: fc.boolean(),
        seed: fc.integer({ min: 1, max: 1 << 30 }),
      }),
      async (c) => {
        // vec4 rounds K and the strides to multiples of 4; else odd strides put rows mid-word.
        const K = c.vec4 ? Math.ceil(c.K / 4) * 4 : c.K;
        const lda = K, ldw = K + (c.vec4 ? 4 * c.padW : c.padW);
        const A = rand(c.M * lda, c.seed);
        const bytes = encodeTensor("w", c.dtype, [c.N, ldw], rand(c.N * ldw, c.seed + 1)).data;
        const W = tensorToFloat32({ name: "w", dtype: c.dtype, shape: [c.N, ldw], data: bytes }); // the values the kernel sees
        const packed = new Uint32Array(Math.ceil(bytes.byteLength / 4));
        new Uint8Array(packed.buffer).set(bytes);
        const want = new Float32Array(c.M * c.N);
        for (let m = 0; m < c.M; m++) for (let n = 0; n < c.N; n++) { let x = 0; for (let k = 0; k < K; k++) x += A[m * lda + k] * W[n * ldw + k]; want[m * c.N + n] = x; }
        const subgroups = c.subgroups && hasSubgroups();
        const spec = matmulSpec({ M: c.M, N: c.N, ldc: c.N, cOff: 0, K, lda, ldw, aOff: 0, accumulate: false, subgroups, subgroupMaxSize: 8, w16: c.dtype === "BF16" ? "bf16" : "f16" });
        expect(spec.W16).toBe(true);
        const out = await engine.runKernel({ family: "matmul", spec, params: [c.M, c.N, K, lda, ldw, c.N, 0, 0], buffers: [A, packed, c.M * c.N * 4], groups: matmulGroups(spec, c.M, c.N), read: 3 });
        expectClose(f32(out), want, 1e-5);
      },
    ),
    { numRuns: 16 },
  );
}, slow);

test("matmul GLU: silu(gate) * up in one dispatch, zero row padding, every variant and weight format", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        wide: fc.boolean(), // M >= 64 and K >= 128: 4 rows per invocation over many k blocks
        M: fc.integer({ min: 1, max: 40 }),
        nValid: fc.integer({ min: 0, max: 45 }),
        pad: fc.integer({ min: 0, max: 3 }),
        extraC: fc.integer({ min: 0, max: 5 }),
        K: fc.integer({ min: 1, max: 40 }),
        vec4: fc.boolean(),
        dtype: fc.constantFrom("F32" as const, "BF16" as const, "F16" as const),
        subgroups: fc.boolean(),
        seed: fc.integer({ min: 1, max: 1 << 30 }),
      }),
      async (c) => {
        const M = c.wide ? 64 + c.M : c.M;
        const K0 = c.wide ? 128 + c.K : c.K;
        const K = c.vec4 ? Math.ceil(K0 / 4) * 4 : K0;
        const N = Math.max(1, c.nValid + c.pad); // stored columns; nValid .. N-1 must come out as 0
        const nValid = Math.min(c.nValid, N);
        const ldc = N + c.extraC;
        const A = rand(M * K, c.seed);
        // gate and up in the stored format, and the values the kernel sees.
        const store = (seed: number): { bound: Float32Array | Uint32Array; seen: Float32Array } => {
          const values = rand(N * K, seed);
          if (c.dtype === "F32") return { bound: values, seen: values };
          const bytes = encodeTensor("w", c.dtype, [N, K], values).data;
          const packed = new Uint32Array(Math.ceil(bytes.byteLength / 4));
          new Uint8Array(packed.buffer).set(bytes);
          return { bound: packed, seen: tensorToFloat32({ name: "w", dtype: c.dtype, shape: [N, K], data: bytes }) };
        };
        const gate = store(c.seed + 1), up = store(c.seed + 2);
        const C0 = rand(M * ldc, c.seed + 3);
        const want = Float32Array.from(C0);
        const tol = new Float32Array(want.length).fill(1e-5);
        for (let m = 0; m < M; m++)
          for (let n = 0; n < N; n++) {
            let g = 0, u = 0;
            for (let k = 0; k < K; k++) { g += A[m * K + k] * gate.seen[n * K + k]; u += A[m * K + k] * up.seen[n * K + k]; }
            const silu = g / (1 + Math.exp(-g));
            want[m * ldc + n] = n < nValid ? silu * u : 0;
            // f32 rounding of g and u (~1e-6 at these K) enters the product scaled by the other factor.
            tol[m * ldc + n] = 1e-5 * Math.max(1, Math.abs(silu) + Math.abs(u));
          }
        const w16 = c.dtype === "BF16" ? "bf16" : c.dtype === "F16" ? "f16" : undefined;
        const spec = matmulSpec({ M, N, ldc, cOff: 0, K, lda: K, ldw: K, aOff: 0, accumulate: false, subgroups: c.subgroups && hasSubgroups(), subgroupMaxSize: 8, w16, glu: true });
        expect(spec.GLU).toBe(true);
        if (c.wide && c.subgroups && hasSubgroups()) expect(spec.L).toBe(4);
        const out = f32(await engine.runKernel({ family: "matmul", spec, params: [M, N, K, K, K, ldc, 0, 0, nValid], buffers: [A, gate.bound, C0, up.bound], groups: matmulGroups(spec, M, N), read: 3 }));
        // Columns past N (ldc padding) keep C0.
        for (let i = 0; i < want.length; i++) {
          if (!(Math.abs(out[i] - want[i]) <= tol[i])) throw new Error(`element ${i} (row ${Math.floor(i / ldc)}, column ${i % ldc}): ${out[i]} != ${want[i]} (${JSON.stringify(spec)})`);
        }
      },
    ),
    { numRuns: 24 },
  );
}, slow);

test("matmul: LLaMA-7B-length dot products (K = 4096) no less accurate than sequential f32 summation", async () => {
  // A 1e-5 bound is below f32's own rounding at this length, so the bound is the error of the plain sequential
  // f32 loop (the old kernel's order) on the same data: the 4-wide partial dots of COOP must not be worse.
  const M = 20, N = 40, K = 4096;
  const A = rand(M * K, 11), W = rand(N * K, 12);
  const spec = matmulSpec({ M, N, ldc: N, cOff: 0, K, lda: K, ldw: K, aOff: 0, accumulate: false, subgroups: hasSubgroups(), subgroupMaxSize: 8 });
  expect(spec.VEC4).toBe(true);
  const out = f32(await engine.runKernel({ family: "matmul", spec, params: [M, N, K, K, K, N, 0, 0], buffers: [A, W, M * N * 4], groups: matmulGroups(spec, M, N), read: 3 }));
  let kernelErr = 0, sequentialErr = 0;
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let exact = 0, seq = 0;
      for (let k = 0; k < K; k++) {
        exact += A[m * K + k] * W[n * K + k];
        seq = Math.fround(seq + Math.fround(A[m * K + k] * W[n * K + k]));
      }
      kernelErr = Math.max(kernelErr, Math.abs(out[m * N + n] - exact));
      sequentialErr = Math.max(sequentialErr, Math.abs(seq - exact));
    }
  expect(sequentialErr).toBeGreaterThan(0);
  expect(kernelErr).toBeLessThanOrEqual(sequentialErr);
}, slow);

test("matmul: dispatch grid checks the 65535 per-dimension limit", () => {
  const coop = matmulSpec({ M: 128, N: 512, ldc: 512, cOff: 0, K: 64, lda: 64, ldw: 64, aOff: 0, accumulate: false, subgroups: true, subgroupMaxSize: 8 });
  expect(matmulGroups(coop, 128, 512)).toEqual([4, 16, 1]); // 32 rows x 32 columns per workgroup
  expect(matmulGroups(coop, 128, 65535 * 32)).toEqual([4, 65535, 1]);
  expect(() => matmulGroups(coop, 32 * 65535 + 1, 16)).toThrow(/65535 per-dimension limit/);
  expect(() => matmulGroups(coop, 128, 65535 * 32 + 1)).toThrow(/65535 per-dimension limit/);
  const cols = matmulSpec({ M: 1, N: 300, ldc: 300, cOff: 0, K: 64, lda: 64, ldw: 64, aOff: 0, accumulate: false });
  expect(matmulGroups(cols, 1, 300)).toEqual([2, 1, 1]);
  expect(() => matmulGroups(cols, 1, 65536 * 256)).toThrow(/65535 per-dimension limit/);
});

test("rmsnorm: row-per-invocation and workgroup-per-row variants, any D", async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 140 }), fc.integer({ min: 1, max: 300 }), fc.boolean(), fc.integer({ min: 1, max: 1 << 30 }), async (M, D, rows, seed) => {
      const x = rand(M * D, seed), w = rand(D, seed + 1), eps = 1e-5;
      const want = rmsnormRef(x, M, D, w, eps);
      const spec = { ...rmsnormSpec(M, D), ROWS: rows };
      const out = f32(await engine.runKernel({ family: "rmsnorm", spec, params: [M, D, { f32: eps }, 0], buffers: [x, w, M * D * 4], groups: rmsnormGroups(spec, M), read: 3 }));
      expectClose(out, want, 1e-5);
    }),
    runs,
  );
});

test("embedding gather from a row chunk ignores ids outside the chunk", async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 150 }), fc.integer({ min: 1, max: 1 << 30 }), async (M, D, seed) => {
      const V = 37, rowStart = 10, rowEnd = 30, idOff = 2;
      const table = rand((rowEnd - rowStart) * D, seed);
      const ids = new Uint32Array(M + idOff).map((_, i) => (i * 7 + seed) % V);
      const init = rand(M * D, seed + 5);
      const want = Float32Array.from(init);
      for (let m = 0; m < M; m++) {
        const r = ids[idOff + m];
        if (r >= rowStart && r < rowEnd) for (let d = 0; d < D; d++) want[m * D + d] = table[(r - rowStart) * D + d];
      }
      const out = f32(await engine.runKernel({ family: "embedding", spec: {}, params: [M, D, rowStart, rowEnd, idOff, 0, 0, 0], buffers: [ids, table, init], groups: embeddingGroups(M, D), read: 3 }));
      expect(Array.from(out)).toEqual(Array.from(want));
    }),
    runs,
  );
});

test("embedding grid: one flat index over x, then y past 65535 workgroups, covering every element once", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1 << 20 }), fc.integer({ min: 1, max: 8192 }), (M, D) => {
      const [x, y, z] = embeddingGroups(M, D);
      expect(z).toBe(1);
      expect(x).toBeLessThanOrEqual(65535);
      expect(y).toBeLessThanOrEqual(65535);
      expect(x * y * 256).toBeGreaterThanOrEqual(M * D); // every element has an invocation
      expect((x * y - Math.max(x, y)) * 256).toBeLessThan(M * D); // and no whole row of workgroups is spare
    }),
  );
});

test("rope: a grid past 65535 workgroups splits over y and still rotates every row once", async () => {
  // 70000 rows x 64 heads of head dim 2 (one pair each, scalar variant): 4.48M invocations, 70000 workgroups.
  const M = 70000, H = 64, hd = 2, stride = H * hd, maxPos = 7;
  const spec = ropeSpec(hd, H, stride, 0);
  const groups = ropeGroups(spec, M);
  expect(groups[0]).toBeLessThanOrEqual(65535);
  expect(groups[1]).toBe(2);
  expect(groups[0] * groups[1] * 64).toBeGreaterThanOrEqual(M * H);
  const x = rand(M * stride, 7);
  const info = new Uint32Array(M * 4);
  for (let i = 0; i < M; i++) info[i * 4 + 2] = i % maxPos;
  const cos = Float32Array.from({ length: maxPos }, (_, p) => Math.cos(p));
  const sin = Float32Array.from({ length: maxPos }, (_, p) => Math.sin(p));
  const out = f32(await engine.runKernel({ family: "rope", spec, params: [M, H, hd, stride, 0, 0, 0, 0], buffers: [x, info, cos, sin], groups, read: 1 }));
  let worst = 0;
  for (let m = 0; m < M; m++) {
    const c = cos[m % maxPos], s = sin[m % maxPos];
    for (let h = 0; h < H; h++) {
      const a = m * stride + h * hd;
      worst = Math.max(worst, Math.abs(out[a] - (x[a] * c - x[a + 1] * s)), Math.abs(out[a + 1] - (x[a + 1] * c + x[a] * s)));
    }
  }
  expect(worst).toBeLessThan(1e-6);
});

test("rope (rotate-half) at offsets with position table", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 1, max: 5 }),
      fc.constantFrom(2, 8, 32, 64),
      fc.integer({ min: 0, max: 3 }),
      fc.boolean(),
      fc.integer({ min: 1, max: 1 << 30 }),
      async (M, H, hd, infoOff, aligned, seed) => {
        // aligned: stride and offset multiples of 4, so head dims 8+ take the VEC4 variant
        const half = hd / 2, stride = H * hd + (aligned ? 4 : 3), xOff = aligned ? 8 : 5, maxPos = 40;
        const x = rand(xOff + M * stride, seed);
        const info = new Uint32Array((M + infoOff) * 4);
        for (let i = 0; i < M + infoOff; i++) info[i * 4 + 2] = (i * 13 + seed) % maxPos;
        const cos = new Float32Array(maxPos * half), sin = new Float32Array(maxPos * half);
        for (let p = 0; p < maxPos; p++) for (let d = 0; d < half; d++) { cos[p * half + d] = Math.cos(p / 10 ** (d / half)); sin[p * half + d] = Math.sin(p / 10 ** (d / half)); }
        const want = Float32Array.from(x);
        for (let m = 0; m < M; m++) {
          const pos = info[(infoOff + m) * 4 + 2];
          for (let h = 0; h < H; h++)
            for (let d = 0; d < half; d++) {
              const a = xOff + m * stride + h * hd + d;
              const c = cos[pos * half + d], s = sin[pos * half + d];
              want[a] = x[a] * c - x[a + half] * s;
              want[a + half] = x[a + half] * c + x[a] * s;
            }
        }
        const spec = ropeSpec(hd, H, stride, xOff);
        expect(spec.VEC4).toBe(aligned && hd >= 8);
        const out = f32(await engine.runKernel({ family: "rope", spec, params: [M, H, hd, stride, xOff, infoOff, 0, 0], buffers: [x, info, cos, sin], groups: ropeGroups(spec, M), read: 1 }));
        expectClose(out, want, 1e-6);
      },
    ),
    runs,
  );
});

/** Plain-TS causal GQA attention: row i attends to key rows [x, w) and the last z + 1 - (w - x) rows before y (tokInfo (x, y, z, w)). */
function attentionRef(q: Float32Array, k: Float32Array, v: Float32Array, info: Uint32Array, M: number, H: number, G: number, hd: number): Float32Array {
  const qStride = H * hd, kvStride = G * hd, group = H / G, scale = 1 / Math.sqrt(hd);
  const want = new Float32Array(M * qStride);
  for (let i = 0; i < M; i++)
    for (let h = 0; h < H; h++) {
      const [x, y, z, w] = info.subarray(i * 4, i * 4 + 4);
      const own = z + 1 - (w - x);
      const rows = [...Array.from({ length: w - x }, (_, j) => x + j), ...Array.from({ length: own }, (_, j) => y - own + j)];
      const kv = Math.floor(h / group) * hd;
      const s = rows.map((r) => { let d = 0; for (let e = 0; e < hd; e++) d += q[i * qStride + h * hd + e] * k[r * kvStride + kv + e]; return d * scale; });
      const mx = Math.max(...s), ex = s.map((x) => Math.exp(x - mx)), sum = ex.reduce((a, b) => a + b, 0);
      for (let e = 0; e < hd; e++) { let acc = 0; rows.forEach((r, j) => (acc += ex[j] * v[r * kvStride + kv + e])); want[i * qStride + h * hd + e] = acc / sum; }
    }
  return want;
}

/**
 * `wide`: the workgroup a GPU with 32-wide subgroups gets (WG 32). On lavapipe's 8-wide subgroups that is four
 * subgroups per workgroup, which the kernel must not mind (it assumes nothing about how invocations form subgroups).
 */
async function runAttention(q: Float32Array, k: Float32Array, v: Float32Array, info: Uint32Array, M: number, H: number, G: number, hd: number, subgroups: boolean, wide = false): Promise<Float32Array> {
  const spec = attentionSpec({ subgroups, subgroupMaxSize: subgroups ? (wide ? 32 : 8) : 0 }, hd, H / G);
  if (subgroups) expect(spec.WG).toBe(wide ? 32 : 8);
  const params = [M, H, hd, H * hd, G * hd, H / G, { f32: 1 / Math.sqrt(hd) }, 0];
  return f32(await engine.runKernel({ family: "attention", spec, params, buffers: [q, k, v, info, M * H * hd * 4], groups: attentionGroups(spec, M, H), read: 5 }));
}

test("causal GQA attention over ragged packed sequences (both variants, any head dim)", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 1, max: 70 }), { minLength: 1, maxLength: 4 }),
      fc.constantFrom([1, 1], [2, 1], [4, 2], [8, 4], [6, 3]),
      fc.constantFrom(4, 6, 8, 16, 64),
      fc.boolean(),
      fc.boolean(),
      fc.integer({ min: 1, max: 1 << 30 }),
      async (lens, [H, G], hd, coop, wide, seed) => {
        const M = lens.reduce((a, b) => a + b, 0);
        const q = rand(M * H * hd, seed), k = rand(M * G * hd, seed + 1), v = rand(M * G * hd, seed + 2);
        const info = new Uint32Array(M * 4);
        let m = 0;
        for (const len of lens) { const start = m; for (let t = 0; t < len; t++, m++) info.set([start, m + 1, t, start], m * 4); }
        expectClose(await runAttention(q, k, v, info, M, H, G, hd, coop && hasSubgroups(), wide), attentionRef(q, k, v, info, M, H, G, hd), 1e-5);
      },
    ),
    runs,
  );
});

test("attention with shared prefixes: continuations see their prefix and themselves, not each other", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.record({ prefix: fc.integer({ min: 0, max: 20 }), conts: fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 5 }) }), { minLength: 1, maxLength: 3 }),
      fc.boolean(),
      fc.integer({ min: 1, max: 1 << 30 }),
      async (groups, coop, seed) => {
        const rows: number[][] = [];
        for (const g of groups) {
          const ps = rows.length;
          for (let t = 0; t < g.prefix; t++) rows.push([ps, rows.length + 1, t, ps]);
          for (const c of g.conts) for (let j = 0; j < c; j++) rows.push([ps, rows.length + 1, g.prefix + j, ps + g.prefix]);
        }
        const M = rows.length, H = 4, G = 2, hd = 8;
        const info = new Uint32Array(rows.flat());
        const q = rand(M * H * hd, seed), k = rand(M * G * hd, seed + 1), v = rand(M * G * hd, seed + 2);
        expectClose(await runAttention(q, k, v, info, M, H, G, hd, coop && hasSubgroups()), attentionRef(q, k, v, info, M, H, G, hd), 1e-5);
      },
    ),
    runs,
  );
});

test("attention decoding from a KV cache: one row reads cache rows [0, n) for any n", async () => {
  for (const [coop, wide] of [[false, false], [hasSubgroups(), false], [hasSubgroups(), true]]) {
    for (const n of [1, 7, 8, 9, 300]) {
      const H = 4, G = 2, hd = 8;
      const q = rand(H * hd, n), k = rand(n * G * hd, n + 1), v = rand(n * G * hd, n + 2);
      const info = new Uint32Array([0, n, n - 1, 0]);
      expectClose(await runAttention(q, k, v, info, 1, H, G, hd, coop, wide), attentionRef(q, k, v, info, 1, H, G, hd), 1e-5);
    }
  }
});

test("swiglu, scalar and vec4", async () => {
  for (const n of [1000 + 37, 1000 + 36, 4]) {
    const g = rand(n, 3), u = rand(n, 4);
    const want = g.map((x, i) => (x / (1 + Math.exp(-x))) * u[i]);
    const spec = swigluSpec(n);
    expect(spec.VEC4).toBe(n % 4 === 0);
    const out = f32(await engine.runKernel({ family: "swiglu", spec, params: [n, 0, 0, 0], buffers: [g, u, n * 4], groups: swigluGroups(spec, n), read: 3 }));
    expectClose(out, want, 1e-6);
  }
});

test("log-softmax target gather and argmax (lowest index on ties), row-per-invocation and workgroup variants", async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 2, max: 700 }), fc.boolean(), fc.integer({ min: 1, max: 1 << 30 }), async (M, V, rows, seed) => {
      const logits = rand(M * V, seed).map((x) => x * 20);
      logits[V - 1] = logits[0] = 100; // a tie in row 0: argmax must be 0
      if (M > 1) logits[V + 1] = logits[V + 2] = 100; // a tie inside one vec4 of row 1: argmax must be 1
      const outOff = 1;
      const targets = new Uint32Array(M + outOff).map((_, i) => (i === M ? 0xffffffff : (i * 31 + seed) % V));
      const spec = { ...logsoftmaxSpec(M, V), ROWS: rows };
      const run = { family: "logsoftmax" as const, spec, params: [M, V, outOff, 0], buffers: [logits, targets, (M + outOff) * 4, (M + outOff) * 4], groups: logsoftmaxGroups(spec, M) };
      const lp = await engine.runKernel({ ...run, read: 3 });
      const am = await engine.runKernel({ ...run, read: 4 });
      for (let m = 0; m < M; m++) {
        const row = logits.subarray(m * V, (m + 1) * V);
        const mx = Math.max(...row);
        const lse = mx + Math.log(row.reduce((s, x) => s + Math.exp(x - mx), 0));
        expect(u32(am)[outOff + m]).toBe(row.indexOf(mx));
        const t = targets[outOff + m];
        if (t !== 0xffffffff) expect(Math.abs(f32(lp)[outOff + m] - (row[t] - lse))).toBeLessThan(1e-4);
      }
    }),
    runs,
  );
});

test("matmul_q8: in-kernel Q8_0 dequantisation equals the dequantised f32 product, incl. partial blocks", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 20 }),
      fc.integer({ min: 1, max: 300 }),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 96 }),
      fc.boolean(),
      fc.integer({ min: 1, max: 1 << 30 }),
      async (M, N, blocksPerRow, Kcut, accumulate, seed) => {
        const ldw = 32 * blocksPerRow;
        const K = Math.min(Kcut, ldw); // elastic column slice, may end inside a block
        const lda = K + 1;
        const A = rand(M * lda, seed);
        const q = new Int8Array(N * ldw).map((_, i) => ((i * 37 + seed) % 255) - 127);
        const scales = rand(N * blocksPerRow, seed + 3).map((x) => Math.abs(x) / 64);
        const C0 = rand(M * N, seed + 4);
        const want = Float32Array.from(C0);
        for (let m = 0; m < M; m++)
          for (let n = 0; n < N; n++) {
            let s = 0;
            for (let k = 0; k < K; k++) s += A[m * lda + k] * Math.fround(scales[n * blocksPerRow + Math.floor(k / 32)] * q[n * ldw + k]);
            want[m * N + n] = (accumulate ? C0[m * N + n] : 0) + s;
          }
        const TM = M >= 4 ? 4 : 1;
        const out = f32(await engine.runKernel({ family: "matmul_q8", spec: { TM, ACCUM: accumulate }, params: [M, N, K, lda, ldw, N, 0, 0], buffers: [A, new Uint32Array(q.buffer), scales, C0], groups: [Math.ceil(N / 256), Math.ceil(M / TM), 1], read: 4 }));
        expectClose(out, want, 1e-5);
      },
    ),
    runs,
  );
});
