/**
 * Variation and selection operators over genomes of a {@link SearchSpace}. Every operator that produces a
 * genome returns a valid one (it repairs its result), so callers never see an invalid genome.
 */
import type { Genome } from "./contract.ts";
import { canonicalizeSkipped, geneIndex, isLayerKept, keptLayerCount } from "./genome.ts";
import type { Rng } from "./rng.ts";
import type { SearchSpace } from "./space.ts";

/**
 * Make any integer-ish array a valid genome: indices are rounded and clamped into range (length is fixed to
 * the space's), too few kept layers are topped up by keeping randomly chosen skipped layers, and the genes of
 * skipped layers are canonicalised. A genome that is already valid comes back unchanged and uses no randomness.
 *
 * @example
 * repair(space, [9, -3, 0.4], rng); // a valid genome of the same length as space.genes
 */
export function repair(space: SearchSpace, genome: readonly number[], rng: Rng): Genome {
  const out = space.genes.map((gene, i) => {
    const v = genome[i];
    const r = typeof v === "number" && Number.isFinite(v) ? Math.round(v) : 0;
    return Math.min(gene.values.length - 1, Math.max(0, r));
  });
  if (space.depth) {
    const kept = keptLayerCount(space, out);
    if (kept < space.minKeptLayers) {
      const skipped: number[] = [];
      for (let i = 0; i < space.numLayers; i++) if (!isLayerKept(space, out, i)) skipped.push(i);
      for (const pick of rng.sample(skipped.length, space.minKeptLayers - kept)) out[geneIndex(space, skipped[pick], "keep")] = 0;
    }
  }
  canonicalizeSkipped(space, out);
  return out;
}

/**
 * A random valid genome. The number of kept layers is drawn uniformly from what the space allows (so random
 * samples cover every depth, not mostly the minimum), then which layers uniformly, then every other gene uniformly.
 *
 * @example
 * isValidGenome(space, randomGenome(space, rng)); // true
 */
export function randomGenome(space: SearchSpace, rng: Rng): Genome {
  const genome = space.genes.map((g) => rng.int(g.values.length));
  if (space.depth) {
    const free: number[] = [];
    let pinned = 0;
    for (let i = 0; i < space.numLayers; i++) {
      const g = geneIndex(space, i, "keep");
      if (space.genes[g].values.length > 1) free.push(g);
      else pinned++;
    }
    const minFree = Math.max(0, space.minKeptLayers - pinned);
    const keepFree = minFree + rng.int(free.length - minFree + 1);
    const keepSet = new Set(rng.sample(free.length, keepFree));
    free.forEach((g, j) => (genome[g] = keepSet.has(j) ? 0 : 1));
  }
  canonicalizeSkipped(space, genome);
  return genome;
}

/**
 * Per-gene mutation: each gene with more than one choice is, with probability `rate`, replaced by a different
 * choice drawn uniformly. The result is repaired.
 *
 * @example
 * mutate(space, parent, 1 / space.genes.length, rng);
 */
export function mutate(space: SearchSpace, genome: Genome, rate: number, rng: Rng): Genome {
  const out = genome.slice();
  space.genes.forEach((gene, i) => {
    const c = gene.values.length;
    if (c < 2 || !rng.bernoulli(rate)) return;
    // Draw from the c - 1 other choices: shift past the current value.
    const r = rng.int(c - 1);
    out[i] = r >= out[i] ? r + 1 : r;
  });
  return repair(space, out, rng);
}

/**
 * Uniform crossover: each gene is swapped between the two children with probability 1/2. Both children are repaired.
 *
 * @example
 * const [c1, c2] = uniformCrossover(space, a, b, rng);
 */
export function uniformCrossover(space: SearchSpace, a: Genome, b: Genome, rng: Rng): [Genome, Genome] {
  const c1 = a.slice();
  const c2 = b.slice();
  for (let i = 0; i < a.length; i++) {
    if (rng.bernoulli(0.5)) {
      c1[i] = b[i];
      c2[i] = a[i];
    }
  }
  return [repair(space, c1, rng), repair(space, c2, rng)];
}

/**
 * n-point crossover: `points` distinct cut positions in [1, length) (fewer when the genome is shorter);
 * segments alternate between the parents. Both children are repaired.
 *
 * @example
 * const [c1, c2] = nPointCrossover(space, a, b, 2, rng); // two-point crossover
 */
export function nPointCrossover(space: SearchSpace, a: Genome, b: Genome, points: number, rng: Rng): [Genome, Genome] {
  const n = a.length;
  const k = Math.min(points, Math.max(0, n - 1));
  const cuts = rng.sample(Math.max(0, n - 1), k).map((c) => c + 1);
  const c1 = a.slice();
  const c2 = b.slice();
  let swap = false;
  let next = 0;
  for (let i = 0; i < n; i++) {
    if (next < cuts.length && cuts[next] === i) {
      swap = !swap;
      next++;
    }
    if (swap) {
      c1[i] = b[i];
      c2[i] = a[i];
    }
  }
  return [repair(space, c1, rng), repair(space, c2, rng)];
}

/**
 * Binary tournament on (rank, crowding): draw two distinct members; the lower rank wins, then the larger
 * crowding distance, then the first drawn. Returns the winner's index. Crowding may contain Infinity.
 *
 * @example
 * const parent = binaryTournament(rank, crowding, rng);
 */
export function binaryTournament(rank: readonly number[], crowding: readonly number[], rng: Rng): number {
  const n = rank.length;
  if (n === 0) throw new RangeError("binaryTournament needs a non-empty population");
  if (n === 1) return 0;
  const i = rng.int(n);
  let j = rng.int(n - 1);
  if (j >= i) j++;
  if (rank[i] !== rank[j]) return rank[i] < rank[j] ? i : j;
  return crowding[j] > crowding[i] ? j : i;
}
