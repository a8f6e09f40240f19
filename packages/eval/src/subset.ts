/**
 * Seeded fixed subsets for `limit`: the same documents for every candidate of a search (they depend only on the
 * task's document count, the seed and the limit), optionally stratified (MMLU: by subject).
 *
 * PRNG: mulberry32 (32-bit state, seeded from the seed and a stratum name by FNV-1a), Fisher-Yates shuffle, first
 * `limit` indices kept, returned in ascending (dataset) order.
 */
import { createHash } from "node:crypto";

/** The subset actually evaluated, recorded with the result. */
export interface SubsetInfo {
  limit: number;
  seed: number;
  stratified: boolean;
  /** sha256 of the comma-joined document indices, to check two results used the same documents */
  indicesSha256: string;
}

function fnv1a(s: string, h = 0x811c9dc5): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `k` distinct indices from `pool`, chosen by a seeded shuffle, in ascending order. */
function pick(pool: number[], k: number, seed: number, salt: string): number[] {
  const a = pool.slice();
  const rnd = mulberry32(fnv1a(salt, fnv1a(String(seed))));
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a.slice(0, k).sort((x, y) => x - y);
}

/**
 * Choose `limit` of `n` documents. With `strata` (one label per document) the limit is split across labels in
 * proportion to their sizes (largest remainder, ties to the label seen first) and drawn within each label.
 *
 * @example
 * seededSubset(2376, 200, 1234) // 200 ascending indices, identical on every call
 */
export function seededSubset(n: number, limit: number, seed: number, strata?: string[]): number[] {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
  if (limit >= n) return Array.from({ length: n }, (_, i) => i);
  if (!strata) return pick(Array.from({ length: n }, (_, i) => i), limit, seed, "all");
  if (strata.length !== n) throw new RangeError(`strata has ${strata.length} labels for ${n} documents`);
  const members = new Map<string, number[]>();
  strata.forEach((s, i) => {
    const m = members.get(s);
    if (m) m.push(i);
    else members.set(s, [i]);
  });
  const labels = [...members.keys()];
  const exact = labels.map((l) => (members.get(l)!.length * limit) / n);
  const take = exact.map(Math.floor);
  let left = limit - take.reduce((a, b) => a + b, 0);
  const order = labels.map((_, i) => i).sort((a, b) => exact[b] - take[b] - (exact[a] - take[a]) || a - b);
  for (const i of order) {
    if (left === 0) break;
    take[i]++;
    left--;
  }
  return labels.flatMap((l, i) => pick(members.get(l)!, take[i], seed, l)).sort((a, b) => a - b);
}

/** The record of a subset (for results and cache keys). */
export function subsetInfo(indices: number[], limit: number, seed: number, stratified: boolean): SubsetInfo {
  return { limit, seed, stratified, indicesSha256: createHash("sha256").update(indices.join(",")).digest("hex") };
}

/**
 * The smallest `limit` whose seeded subset of `tokenCounts.length` documents holds at least `minTokens` tokens
 * (subsets of one seed grow by one document per step, so this is a token budget for perplexity tasks); all
 * documents when even the full set holds fewer.
 *
 * @example
 * limitForTokens([100, 50, 80], 120, 1234) // 2 when the first two picks hold >= 120 tokens
 */
export function limitForTokens(tokenCounts: readonly number[], minTokens: number, seed: number): number {
  if (!Number.isInteger(minTokens) || minTokens < 1) throw new RangeError(`token budget must be a positive integer, got ${minTokens}`);
  const n = tokenCounts.length;
  // Binary search: the subset for limit k + 1 contains the subset for k (one shuffle, first k kept).
  let lo = 1;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const tokens = seededSubset(n, mid, seed).reduce((a, i) => a + tokenCounts[i], 0);
    if (tokens >= minTokens) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
