/**
 * Inputs, read-back views and the RMSNorm reference shared by the kernel tests (kernels.test.ts, block.test.ts).
 * @example
 * const x = rand(64 * 8, seed); // the same values for the same seed, so a fast-check failure reproduces
 */

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
