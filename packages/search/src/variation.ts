/**
 * Producing batches of new, distinct genomes: NSGA-II offspring (tournament, crossover, mutation) and random
 * fill-ins. "New" means not rejected by `isTaken` (the archive), so no genome is ever evaluated twice.
 */
import type { Genome } from "./contract.ts";
import { genomeKey, isValidGenome, largestGenome, smallestGenome } from "./genome.ts";
import { binaryTournament, mutate, nPointCrossover, randomGenome, uniformCrossover } from "./operators.ts";
import type { Rng } from "./rng.ts";
import { genomeSpaceBound, type SearchSpace } from "./space.ts";
import type { AlgorithmSettings } from "./state.ts";

/** Spaces with at most this many gene combinations are enumerated when random draws stop finding new genomes. */
export const ENUMERATION_LIMIT = 200_000;

/** Collects distinct new genomes with their keys. */
export class GenomeBatch {
  readonly genomes: Genome[] = [];
  readonly keys: string[] = [];
  private readonly own = new Set<string>();

  constructor(
    private readonly space: SearchSpace,
    readonly capacity: number,
    private readonly isTaken: (key: string) => boolean,
  ) {}

  get full(): boolean {
    return this.genomes.length >= this.capacity;
  }

  /** Add `g` if there is room and it is new; returns whether it was added. */
  offer(g: Genome): boolean {
    if (this.full) return false;
    const key = genomeKey(this.space, g);
    if (this.own.has(key) || this.isTaken(key)) return false;
    this.own.add(key);
    this.genomes.push(g);
    this.keys.push(key);
    return true;
  }

  has(key: string): boolean {
    return this.own.has(key);
  }
}

/**
 * Fill `batch` with offspring of `parents`: binary tournament on (rank, crowding), crossover with
 * probability `crossoverRate`, per-gene mutation; both children are offered. Gives up after `maxMatings`
 * (default `20 * capacity + 100`): a converged population may only re-create known genomes.
 */
export function addOffspring(
  space: SearchSpace,
  settings: AlgorithmSettings,
  rng: Rng,
  parents: Genome[],
  rank: number[],
  crowding: number[],
  batch: GenomeBatch,
  maxMatings = 20 * batch.capacity + 100,
): void {
  if (parents.length === 0) return;
  for (let t = 0; t < maxMatings && !batch.full; t++) {
    const a = parents[binaryTournament(rank, crowding, rng)];
    const b = parents[binaryTournament(rank, crowding, rng)];
    let children: [Genome, Genome];
    if (rng.bernoulli(settings.crossoverRate)) {
      children = settings.crossover === "uniform"
        ? uniformCrossover(space, a, b, rng)
        : nPointCrossover(space, a, b, settings.crossoverPoints, rng);
    } else children = [a, b];
    for (const c of children) batch.offer(mutate(space, c, settings.mutationRate, rng));
  }
}

/**
 * Fill the rest of `batch` with random genomes; when random draws keep hitting known genomes and the space is
 * small enough, enumerate it (mixed radix, last gene fastest) so a nearly exhausted space is still covered.
 * Returns how many genomes were added.
 */
export function addRandom(space: SearchSpace, rng: Rng, batch: GenomeBatch): number {
  const before = batch.genomes.length;
  const maxDraws = 20 * batch.capacity + 100;
  for (let t = 0; t < maxDraws && !batch.full; t++) batch.offer(randomGenome(space, rng));
  if (!batch.full && genomeSpaceBound(space) <= ENUMERATION_LIMIT) {
    const radix = space.genes.map((g) => g.values.length);
    const g = new Array<number>(radix.length).fill(0);
    for (;;) {
      if (isValidGenome(space, g)) batch.offer(g.slice());
      if (batch.full) break;
      let i = radix.length - 1;
      while (i >= 0 && ++g[i] === radix[i]) g[i--] = 0;
      if (i < 0) break;
    }
  }
  return batch.genomes.length - before;
}

/**
 * Up to `count` distinct new genomes for an initial population: the largest and the smallest network first
 * (when new), then random ones (then enumeration for small spaces). Fewer only when the space is used up.
 *
 * @example
 * const genomes = initialGenomes(space, 50, rng); // genomes[0] is the full network, genomes[1] the smallest
 */
export function initialGenomes(space: SearchSpace, count: number, rng: Rng, isTaken: (key: string) => boolean = () => false): Genome[] {
  return initialBatch(space, count, rng, isTaken).genomes;
}

/** {@link initialGenomes} as a {@link GenomeBatch} (keys included). */
export function initialBatch(space: SearchSpace, count: number, rng: Rng, isTaken: (key: string) => boolean): GenomeBatch {
  const batch = new GenomeBatch(space, count, isTaken);
  batch.offer(largestGenome(space));
  batch.offer(smallestGenome(space));
  addRandom(space, rng, batch);
  return batch;
}
