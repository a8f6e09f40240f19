/**
 * Inputs, read-back views and float64 references shared by the kernel tests (kernels.test.ts, block.test.ts,
 * decode.test.ts).
 * @example
 * const x = rand(64 * 8, seed); // the same values for the same seed, so a fast-check failure reproduces
 */

import { expect } from "bun:test";
import { encodeTensor, tensorToFloat32 } from "@nas/model";

/** n deterministic values in [-1, 1) from a tiny LCG seeded by `seed`. */
export function rand(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 31 - 1;
  }
  return a;
}

/** The f32 values of read-back bytes (a view, no copy). */
export function f32(bytes: Uint8Array): Float32Array {
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

/** The u32 values of read-back bytes (a view, no copy). */
export function u32(bytes: Uint8Array): Uint32Array {
  return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

/** Reference RMSNorm in float64: rows [M, D] of x normalised, times g. */
export function rmsnormRef(x: ArrayLike<number>, M: number, D: number, g: ArrayLike<number>, eps: number): Float64Array {
  const h = new Float64Array(M * D);
  for (let m = 0; m < M; m++) {
    let s = 0;
    for (let d = 0; d < D; d++) s += x[m * D + d] ** 2;
    const inv = 1 / Math.sqrt(s / D + eps);
    for (let d = 0; d < D; d++) h[m * D + d] = x[m * D + d] * inv * g[d];
  }
  return h;
}

export type WeightFormat = "f32" | "bf16" | "f16";
/** A random [rows, cols] weight: what is bound (f32 or packed 16-bit) and the values the kernel sees. */
export function weight(rows: number, cols: number, seed: number, format: WeightFormat, scale = 0.5): { bound: Float32Array | Uint32Array; seen: Float32Array } {
  const values = rand(rows * cols, seed).map((v) => v * scale);
  if (format === "f32") return { bound: values, seen: values };
  const dtype = format === "bf16" ? "BF16" : "F16";
  const bytes = encodeTensor("w", dtype, [rows, cols], values).data;
  const packed = new Uint32Array(Math.ceil(bytes.byteLength / 4));
  new Uint8Array(packed.buffer).set(bytes);
  return { bound: packed, seen: tensorToFloat32({ name: "w", dtype, shape: [rows, cols], data: bytes }) };
}

/** out[m, n] = sum_k A[m, k] W[n, k] (k < K; A row stride lda, W row stride ldw), in float64. */
export function linearRef(A: ArrayLike<number>, lda: number, M: number, K: number, W: ArrayLike<number>, ldw: number, N: number): Float64Array {
  const out = new Float64Array(M * N);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += A[m * lda + k] * W[n * ldw + k];
      out[m * N + n] = s;
    }
  return out;
}

/** got[i] within tol (relative above 1) of want[i] for every i; the first miss is thrown naming `what` and i. */
export function expectNear(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol * Math.max(1, Math.abs(want[i])))) throw new Error(`${what}[${i}]: ${got[i]} != ${want[i]}`);
  }
}
