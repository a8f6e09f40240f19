/**
 * LINAS-style surrogate-assisted generation (after Intel's LINAS / LLaMA-NAS): per objective a ridge model on
 * one-hot genome features, refitted every generation on all successfully evaluated candidates; a
 * predictor-only inner NSGA-II (seeded with the real population) screens many offspring, and only the
 * predicted best new genomes (predicted first front first, then by crowding) get real evaluations.
 * Once some evaluated candidate violated a constraint, the violation is predicted too (see fitViolation) and
 * the inner NSGA-II uses constraint domination on it; the outer survival applies the real violations.
 */
import type { Genome } from "./contract.ts";
import { nsga2Batch, type BatchProposal } from "./nsga2.ts";
import { activeColumns, featureLayout, fitRidge, predictRidge, type FeatureLayout, type RidgeModel } from "./ridge.ts";
import type { Rng } from "./rng.ts";
import { rankAndCrowd, selectSurvivors, toMinimization } from "./sort.ts";
import type { ArchiveEntry, SearchState } from "./state.ts";
import { GenomeBatch, addOffspring, addRandom } from "./variation.ts";

/** Fewest evaluated candidates before the predictor is trusted; below this LINAS behaves like NSGA-II. */
export const LINAS_MIN_TRAIN = 4;

/** Predicted objectives (caller's directions) and constraint violation (>= 0) of a genome. */
export interface Prediction {
  objectives: number[];
  violation: number;
}

/**
 * Fit one predictor per objective (and one for the constraint violation, once any was seen) on the
 * archive's successful candidates. null while fewer than {@link LINAS_MIN_TRAIN} exist.
 *
 * @example
 * const predict = fitPredictors(state); predict?.(genome).objectives; // predicted objective values
 */
export function fitPredictors(state: SearchState): ((g: Genome) => Prediction) | null {
  const train = state.archive.filter((e) => e.status === "ok");
  if (train.length < LINAS_MIN_TRAIN) return null;
  const layout = featureLayout(state.space);
  const rows = train.map((e) => activeColumns(layout, e.genome));
  const targets = state.objectives.map((_, j) => train.map((e) => e.objectives![j]));
  const models = fitRidge(rows, layout.columns, targets, state.settings.linas.ridgeLambda);
  const violation = fitViolation(state, layout, train);
  const m = state.objectives.length;
  return (g) => {
    const active = activeColumns(layout, g);
    const objectives = models.slice(0, m).map((model) => predictRidge(model, active) + 0);
    return { objectives, violation: violation ? Math.max(0, predictRidge(violation, active)) + 0 : 0 };
  };
}

/**
 * Violation model. Violations are censored at 0 (every feasible candidate reads 0 however far inside it is),
 * and a typical violation is `max(0, linear cost - budget)` (a parameter or knapsack budget). So when enough
 * infeasible candidates exist the model is fitted on them alone, where the violation is the uncensored
 * linear part, and extrapolates below 0 into the feasible region; otherwise on all candidates. null when
 * no constraint was ever violated.
 */
function fitViolation(state: SearchState, layout: FeatureLayout, train: ArchiveEntry[]): RidgeModel | null {
  const infeasible = train.filter((e) => e.constraintViolation! > 0);
  if (infeasible.length === 0) return null;
  const rows = infeasible.length >= LINAS_MIN_TRAIN ? infeasible : train;
  const [model] = fitRidge(rows.map((e) => activeColumns(layout, e.genome)), layout.columns, [rows.map((e) => e.constraintViolation!)], state.settings.linas.ridgeLambda);
  return model;
}

/** One LINAS generation: screen with the predictor, propose the predicted best new genomes. */
export function linasBatch(state: SearchState, rng: Rng, count: number, isTaken: (key: string) => boolean): BatchProposal {
  const predict = fitPredictors(state);
  if (!predict || state.population.length === 0) return nsga2Batch(state, rng, count, isTaken);
  const trainSize = state.counters.evaluated;
  const { space, settings } = state;
  const dirs = state.objectives.map((o) => o.direction);
  const size = settings.linas.innerPopulation;
  const score = (g: Genome) => {
    const p = predict(g);
    return { point: toMinimization(p.objectives, dirs), violation: p.violation };
  };

  // Inner population: the real parents plus random new genomes, all scored by the predictor.
  const innerKeys = new Set<string>();
  const seed = new GenomeBatch(space, size, (k) => innerKeys.has(k));
  for (const i of state.population) seed.offer(state.archive[i].genome);
  addRandom(space, rng, seed);
  seed.keys.forEach((k) => innerKeys.add(k));
  let genomes = seed.genomes;
  let scores = genomes.map(score);

  for (let t = 0; t < settings.linas.innerGenerations; t++) {
    const { rank, crowding } = rankAndCrowd(scores.map((s) => s.point), scores.map((s) => s.violation));
    // Children must be new to the whole search and to this inner run; a converged inner population
    // rarely yields new children, so matings are capped lower than in the outer loop.
    const kids = new GenomeBatch(space, size, (k) => innerKeys.has(k) || isTaken(k));
    addOffspring(space, settings, rng, genomes, rank, crowding, kids, 2 * size + 20);
    if (kids.genomes.length === 0) break;
    kids.keys.forEach((k) => innerKeys.add(k));
    const mergedGenomes = genomes.concat(kids.genomes);
    const mergedScores = scores.concat(kids.genomes.map(score));
    const keep = selectSurvivors(mergedScores.map((s) => s.point), mergedScores.map((s) => s.violation), size);
    genomes = keep.map((j) => mergedGenomes[j]);
    scores = keep.map((j) => mergedScores[j]);
  }

  // Real evaluations go to the predicted best new genomes: by predicted front, then crowding.
  const { rank, crowding } = rankAndCrowd(scores.map((s) => s.point), scores.map((s) => s.violation));
  const order = genomes.map((_, j) => j).sort((a, b) => rank[a] - rank[b] || cmpDesc(crowding[a], crowding[b]) || a - b);
  // A share of the batch goes to ordinary NSGA-II offspring: they keep feeding the predictor with data
  // outside the region it already believes in (otherwise a biased predictor is never corrected).
  const explore = Math.min(count, Math.round(settings.linas.exploration * count));
  const batch = new GenomeBatch(space, count, isTaken);
  for (const j of order) {
    if (batch.genomes.length >= count - explore) break;
    batch.offer(genomes[j]);
  }
  const extra = nsga2Batch(state, rng, count - batch.genomes.length, (k) => isTaken(k) || batch.has(k));
  extra.batch.genomes.forEach((g) => batch.offer(g));
  const immigrants = extra.info.immigrants;
  return { batch, predicted: batch.genomes.map((g) => predict(g).objectives), info: { immigrants, trainSize } };
}

/**
 * Mean absolute percentage error of the predictions of the batch at archive indices `batch`, per objective,
 * over candidates that were predicted and evaluated successfully (values exactly 0 are skipped: the
 * percentage is undefined). null when nothing in the batch was predicted.
 *
 * @example
 * linasMape(state, [10, 11, 12]); // [0.04, 0.12]
 */
export function linasMape(state: SearchState, batch: number[]): (number | null)[] | null {
  const scored = batch.map((i) => state.archive[i]).filter((e) => e.status === "ok" && e.predicted);
  if (scored.length === 0) return null;
  return state.objectives.map((_, j) => {
    let sum = 0;
    let n = 0;
    for (const e of scored) {
      const real = e.objectives![j];
      if (real === 0) continue;
      sum += Math.abs(e.predicted![j] - real) / Math.abs(real);
      n++;
    }
    return n === 0 ? null : sum / n;
  });
}

function cmpDesc(a: number, b: number): number {
  return a === b ? 0 : a > b ? -1 : 1;
}
