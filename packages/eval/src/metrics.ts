/**
 * lm-eval metrics and aggregations (lm_eval/api/metrics.py, api/task.py process_results):
 * - multiple choice: acc = argmax(lls) == gold; acc_norm = argmax(lls / len(choice)) == gold with len in code
 *   points of the choice text (no delimiter); numpy argmax takes the first maximum.
 * - aggregations: mean; perplexity = exp(-mean(ll)); weighted_perplexity = exp(-sum(ll)/sum(weight));
 *   bits_per_byte = -sum(ll)/sum(bytes)/ln 2. Stderr of a mean: sample standard deviation (ddof 1) / sqrt(n).
 */

/** A per-document metric value: a number, or (ll, weight) for the weighted aggregations. */
export type MetricValue = number | [number, number];

export type Aggregation = "mean" | "perplexity" | "weighted_perplexity" | "bits_per_byte";

/** numpy.argmax: index of the first maximum (NaN never wins here; lls are finite). */
export function argmax(xs: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

/**
 * acc and acc_norm of one multiple-choice document.
 *
 * @example
 * multipleChoiceScores([-3, -2], [10, 2], 0) // { acc: 0, acc_norm: 1 }
 */
export function multipleChoiceScores(lls: number[], choiceLengths: number[], gold: number): { acc: number; acc_norm: number } {
  const norm = lls.map((ll, i) => ll / choiceLengths[i]);
  return { acc: argmax(lls) === gold ? 1 : 0, acc_norm: argmax(norm) === gold ? 1 : 0 };
}

/**
 * TruthfulQA MC2 (lm-eval 0.4.13 tasks/truthfulqa/utils.py process_results_mc2, task version 3.0): p = exp(ll)
 * normalised over all choices; acc = the probability mass of the choices labelled 1. (Task version 2.0 instead
 * counted every choice before the first 0 as true; the two differ on 2 of the 817 questions.) Computed with the
 * maximum ll factored out, which equals the direct formula whenever that does not underflow.
 */
export function truthfulqaMc2(lls: number[], labels: number[]): number {
  if (lls.length !== labels.length) throw new RangeError(`truthfulqa mc2: ${lls.length} lls for ${labels.length} labels`);
  const m = Math.max(...lls);
  const p = lls.map((ll) => Math.exp(ll - m));
  const total = p.reduce((a, b) => a + b, 0);
  return p.reduce((a, x, i) => a + (labels[i] === 1 ? x : 0), 0) / total;
}

/** Aggregate per-document values of one metric. */
export function aggregate(values: MetricValue[], how: Aggregation): number {
  if (values.length === 0) return Number.NaN;
  switch (how) {
    case "mean":
      return (values as number[]).reduce((a, b) => a + b, 0) / values.length;
    case "perplexity":
      return Math.exp(-(values as number[]).reduce((a, b) => a + b, 0) / values.length);
    case "weighted_perplexity": {
      const [ll, w] = sumPairs(values as [number, number][]);
      return Math.exp(-ll / w);
    }
    case "bits_per_byte": {
      const [ll, w] = sumPairs(values as [number, number][]);
      return -ll / w / Math.LN2;
    }
  }
}

function sumPairs(values: [number, number][]): [number, number] {
  let a = 0;
  let b = 0;
  for (const [x, y] of values) {
    a += x;
    b += y;
  }
  return [a, b];
}

/** lm-eval `mean_stderr`: sample standard deviation (ddof=1) / sqrt(n). NaN for fewer than 2 values. */
export function meanStderr(values: number[]): number {
  const n = values.length;
  if (n < 2) return Number.NaN;
  const mu = values.reduce((a, b) => a + b, 0) / n;
  const v = values.reduce((a, b) => a + (b - mu) ** 2, 0) / (n - 1);
  return Math.sqrt(v / n);
}
