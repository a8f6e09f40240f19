/**
 * Ridge regression on one-hot genome features: LINAS's cheap per-objective predictor.
 * Features: for every gene with more than one choice, one indicator column per choice (single-choice genes
 * carry no information), plus an unpenalised intercept. With canonical genomes this linear model can
 * represent any per-layer additive cost exactly (e.g. parameter count), and fits accuracy-like objectives
 * to first order.
 */
import type { Genome } from "./contract.ts";
import type { SearchSpace } from "./space.ts";

/** Column offsets of each gene's indicators (-1 for single-choice genes) and the total column count. */
export interface FeatureLayout {
  offsets: number[];
  columns: number;
}

/**
 * @example
 * const layout = featureLayout(space); // layout.columns indicators + 1 intercept in the model
 */
export function featureLayout(space: SearchSpace): FeatureLayout {
  let columns = 0;
  const offsets = space.genes.map((g) => {
    if (g.values.length < 2) return -1;
    const at = columns;
    columns += g.values.length;
    return at;
  });
  return { offsets, columns };
}

/** The active indicator columns of a genome (sparse one-hot row, without the intercept). */
export function activeColumns(layout: FeatureLayout, genome: Genome): number[] {
  const out: number[] = [];
  layout.offsets.forEach((off, i) => {
    if (off >= 0) out.push(off + genome[i]);
  });
  return out;
}

/** A fitted linear model over sparse binary rows. */
export interface RidgeModel {
  intercept: number;
  weights: number[];
}

/** Prediction for one sparse binary row. */
export function predictRidge(model: RidgeModel, active: readonly number[]): number {
  let y = model.intercept;
  for (const c of active) y += model.weights[c];
  return y;
}

/**
 * Fit one ridge model per target column on the same rows, solving (X'X + lambda * P) w = X'y with P the
 * identity except 0 for the intercept. X'X is factorised once (Cholesky) and reused for every target.
 *
 * @example
 * const [m] = fitRidge(rows.map((g) => activeColumns(layout, g)), layout.columns, [ys], 1);
 * predictRidge(m, activeColumns(layout, g));
 */
export function fitRidge(rows: readonly (readonly number[])[], columns: number, targets: readonly (readonly number[])[], lambda: number): RidgeModel[] {
  const d = columns + 1; // column 0 is the intercept
  const a = new Float64Array(d * d); // row-major d x d normal matrix
  for (const row of rows) {
    const idx = [0, ...row.map((c) => c + 1)];
    for (const i of idx) for (const j of idx) a[i * d + j] += 1;
  }
  for (let i = 1; i < d; i++) a[i * d + i] += lambda;
  const l = cholesky(a, d);
  return targets.map((y) => {
    if (y.length !== rows.length) throw new RangeError(`fitRidge: ${y.length} targets for ${rows.length} rows`);
    const b = new Float64Array(d);
    rows.forEach((row, r) => {
      b[0] += y[r];
      for (const c of row) b[c + 1] += y[r];
    });
    const w = solveCholesky(l, d, b);
    return { intercept: w[0], weights: Array.from(w.subarray(1)) };
  });
}

/** Lower-triangular L with A = L L' (A symmetric positive definite, row-major). */
function cholesky(a: Float64Array, d: number): Float64Array {
  const l = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * d + j];
      for (let k = 0; k < j; k++) s -= l[i * d + k] * l[j * d + k];
      if (i === j) {
        // A is positive definite whenever there is at least one row (intercept) and lambda > 0.
        if (!(s > 0)) throw new RangeError("fitRidge: normal matrix is not positive definite (no training rows?)");
        l[i * d + i] = Math.sqrt(s);
      } else l[i * d + j] = s / l[j * d + j];
    }
  }
  return l;
}

function solveCholesky(l: Float64Array, d: number, b: Float64Array): Float64Array {
  const z = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i * d + k] * z[k];
    z[i] = s / l[i * d + i];
  }
  const x = new Float64Array(d);
  for (let i = d - 1; i >= 0; i--) {
    let s = z[i];
    for (let k = i + 1; k < d; k++) s -= l[k * d + i] * x[k];
    x[i] = s / l[i * d + i];
  }
  return x;
}
