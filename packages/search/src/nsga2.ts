/**
 * Batch producers of NSGA-II and random search (the per-generation "what to evaluate next").
 */
import type { Rng } from "./rng.ts";
import { rankAndCrowd, toMinimization } from "./sort.ts";
import type { BatchInfo, SearchState } from "./state.ts";
import { GenomeBatch, addOffspring, addRandom } from "./variation.ts";

/** What a strategy proposes for one generation. */
export interface BatchProposal {
  batch: GenomeBatch;
  /** Predicted objective values (caller's directions), aligned with batch.genomes; LINAS only. */
  predicted?: number[][];
  info: BatchInfo;
}

/** NSGA-II offspring of the current population; random genomes fill in when variation finds nothing new. */
export function nsga2Batch(state: SearchState, rng: Rng, count: number, isTaken: (key: string) => boolean): BatchProposal {
  const batch = new GenomeBatch(state.space, count, isTaken);
  const dirs = state.objectives.map((o) => o.direction);
  const parents = state.population.map((i) => state.archive[i]);
  const { rank, crowding } = rankAndCrowd(
    parents.map((e) => toMinimization(e.objectives!, dirs)),
    parents.map((e) => e.constraintViolation!),
  );
  addOffspring(state.space, state.settings, rng, parents.map((e) => e.genome), rank, crowding, batch);
  const immigrants = addRandom(state.space, rng, batch);
  return { batch, info: { immigrants, trainSize: null } };
}

/** Random search: a batch of new random genomes. */
export function randomBatch(state: SearchState, rng: Rng, count: number, isTaken: (key: string) => boolean): GenomeBatch {
  const batch = new GenomeBatch(state.space, count, isTaken);
  addRandom(state.space, rng, batch);
  return batch;
}
