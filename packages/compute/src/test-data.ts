/**
 * Inputs and read-back views shared by the kernel tests (kernels.test.ts, block.test.ts).
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
