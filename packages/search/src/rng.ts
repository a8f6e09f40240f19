/**
 * Seeded PRNG whose whole state is four unsigned 32-bit integers (xoshiro128**), so a search can store it
 * as JSON and continue bit-identically after a restore. Only 32-bit integer arithmetic (`Math.imul`, `>>>`)
 * is used, so Bun and Node produce the same stream.
 */

/** The generator state: four uint32 words, never all zero. Plain JSON. */
export type RngState = [number, number, number, number];

/** Thrown for a seed or a stored state that cannot drive the generator. */
export class RngError extends Error {
  override name = "RngError";
}

/** splitmix32 step: spreads a 32-bit counter into well-mixed words for seeding. */
function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * Initial generator state for an integer seed in [0, 2^53).
 *
 * @example
 * const rng = new Rng(seedRng(42));
 * rng.int(10); // 0..9, the same on every run
 */
export function seedRng(seed: number): RngState {
  if (typeof seed !== "number" || !Number.isSafeInteger(seed) || seed < 0) {
    throw new RngError(`seed must be a non-negative safe integer, got ${JSON.stringify(seed)}`);
  }
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 0x100000000) >>> 0;
  const words: RngState = [
    splitmix32(lo),
    splitmix32(lo ^ 0x6a09e667 ^ Math.imul(hi, 0x27d4eb2d)),
    splitmix32(hi ^ 0xbb67ae85),
    splitmix32((lo + hi) ^ 0x3c6ef372),
  ];
  if (words.every((w) => w === 0)) words[0] = 1;
  return words;
}

/** Throws unless `value` is a usable stored generator state. */
export function checkRngState(value: unknown, where = "rng"): RngState {
  if (!Array.isArray(value) || value.length !== 4) {
    throw new RngError(`${where} must be an array of 4 uint32 words, got ${JSON.stringify(value)}`);
  }
  for (const w of value) {
    if (typeof w !== "number" || !Number.isInteger(w) || w < 0 || w > 0xffffffff) {
      throw new RngError(`${where} must hold uint32 words, got ${JSON.stringify(value)}`);
    }
  }
  if (value.every((w) => w === 0)) throw new RngError(`${where} is all zero, which xoshiro128** cannot leave`);
  return [value[0], value[1], value[2], value[3]];
}

/**
 * A mutable xoshiro128** generator over a copy of a state. Algorithms create one per step from the stored
 * state and write `rng.state()` back, so the stored value is never mutated.
 *
 * @example
 * const rng = new Rng(seedRng(7));
 * const x = rng.float();           // [0, 1)
 * const saved = rng.state();       // JSON-safe
 * new Rng(saved).float() === rng.float(); // true: same continuation
 */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(state: RngState) {
    const [a, b, c, d] = checkRngState(state);
    this.s0 = a;
    this.s1 = b;
    this.s2 = c;
    this.s3 = d;
  }

  /** A copy of the current state (plain JSON). */
  state(): RngState {
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0];
  }

  /** Next uniform uint32. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform float in [0, 1) with 32 bits of randomness. */
  float(): number {
    return this.nextUint32() / 0x100000000;
  }

  /** Uniform integer in [0, n) without modulo bias (rejection sampling); n in [1, 2^32]. */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 0x100000000) throw new RngError(`int(n) needs an integer n in [1, 2^32], got ${n}`);
    if (n === 1) return 0;
    // Reject the top partial block of 2^32 so every residue is equally likely.
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** True with probability p. */
  bernoulli(p: number): boolean {
    return this.float() < p;
  }

  /** `k` distinct integers from [0, n), in increasing order (partial Fisher-Yates). */
  sample(n: number, k: number): number[] {
    if (k > n) throw new RngError(`cannot sample ${k} distinct values from ${n}`);
    const pool = Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < k; i++) {
      const j = i + this.int(n - i);
      const tmp = pool[i];
      pool[i] = pool[j];
      pool[j] = tmp;
    }
    return pool.slice(0, k).sort((a, b) => a - b);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
