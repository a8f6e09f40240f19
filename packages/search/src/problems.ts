/**
 * Benchmark problems with known Pareto fronts, on bit strings encoded as a search space (n layers, depth not
 * searched, MLP width choices [2, 1], so gene i's index is bit i), plus a synchronous driver. Used by the
 * behaviour tests and the benchmark; also handy to sanity-check a search setup without a GPU.
 */
import type { LlamaConfig } from "@nas/model";
import type { Algorithm, EvalResult, Proposal } from "./contract.ts";
import { Rng, seedRng } from "./rng.ts";
import { createSearchSpace, type SearchSpace } from "./space.ts";

/**
 * A space whose valid genomes are exactly the bit strings of length n (all 2^n of them).
 *
 * @example
 * const space = bitStringSpace(20); // genome = 20 bits
 */
export function bitStringSpace(n: number): SearchSpace {
  const config: LlamaConfig = {
    architecture: "llama", hiddenSize: 2, intermediateSize: 2, numLayers: n, numHeads: 1, numKvHeads: 1, headDim: 2,
    vocabSize: 2, maxPositions: 2, rmsNormEps: 1e-5, rope: { theta: 10000 }, tieWordEmbeddings: true, bosTokenId: 0, eosTokenId: 1,
  };
  return createSearchSpace(config, { depth: false, mlpWidths: [2, 1] });
}

/** OneMinMax (both maximised): [number of ones, number of zeros]. Every string is Pareto-optimal; n+1 front points. */
export function oneMinMax(bits: readonly number[]): number[] {
  const ones = bits.reduce((a, b) => a + b, 0);
  return [ones, bits.length - ones];
}

/** LeadingOnes-TrailingZeros (both maximised). Front: the n+1 strings 1^i 0^(n-i). */
export function lotz(bits: readonly number[]): number[] {
  let lead = 0;
  while (lead < bits.length && bits[lead] === 1) lead++;
  let trail = 0;
  while (trail < bits.length && bits[bits.length - 1 - trail] === 0) trail++;
  return [lead, trail];
}

/** A bi-objective 0/1 knapsack: maximise both profit sums subject to one weight capacity. */
export interface Knapsack {
  weights: number[];
  profits: [number[], number[]];
  capacity: number;
}

/**
 * A random instance: integer weights and profits in [1, 30], capacity half the total weight.
 *
 * @example
 * const k = randomKnapsack(30, 1);
 */
export function randomKnapsack(items: number, seed: number): Knapsack {
  const rng = new Rng(seedRng(seed));
  const draw = () => Array.from({ length: items }, () => 1 + rng.int(30));
  const weights = draw();
  const profits: [number[], number[]] = [draw(), draw()];
  return { weights, profits, capacity: Math.floor(weights.reduce((a, b) => a + b, 0) / 2) };
}

/** Evaluate a bit string: objectives [profit1, profit2], violation = overweight. */
export function evaluateKnapsack(k: Knapsack, bits: readonly number[]): { objectives: number[]; constraintViolation: number } {
  let w = 0;
  let p1 = 0;
  let p2 = 0;
  bits.forEach((b, i) => {
    if (b !== 1) return;
    w += k.weights[i];
    p1 += k.profits[0][i];
    p2 += k.profits[1][i];
  });
  return { objectives: [p1, p2], constraintViolation: Math.max(0, w - k.capacity) };
}

/**
 * The exact Pareto front (profit pairs, p1 ascending) by dynamic programming: best[w][p1] = the largest
 * profit2 of any subset with weight exactly w and profit1 exactly p1 (-1 if none), O(items * capacity * sum p1).
 *
 * @example
 * knapsackFront(randomKnapsack(30, 1)); // [[p1, p2], ...]
 */
export function knapsackFront(k: Knapsack): number[][] {
  const W = k.capacity;
  const P = k.profits[0].reduce((a, b) => a + b, 0);
  const stride = P + 1;
  const best = new Int32Array((W + 1) * stride).fill(-1);
  best[0] = 0;
  k.weights.forEach((wi, i) => {
    const a = k.profits[0][i];
    const b = k.profits[1][i];
    // Descending loops so each item is used at most once (0/1).
    for (let w = W; w >= wi; w--) {
      for (let p = P; p >= a; p--) {
        const prev = best[(w - wi) * stride + p - a];
        if (prev >= 0 && prev + b > best[w * stride + p]) best[w * stride + p] = prev + b;
      }
    }
  });
  const byP1 = new Int32Array(stride).fill(-1);
  for (let w = 0; w <= W; w++) for (let p = 0; p <= P; p++) byP1[p] = Math.max(byP1[p], best[w * stride + p]);
  const front: number[][] = [];
  let bestP2 = -1;
  for (let p = P; p >= 0; p--) {
    if (byP1[p] > bestP2) {
      front.push([p, byP1[p]]);
      bestP2 = byP1[p];
    }
  }
  return front.reverse();
}

/**
 * Run an algorithm to completion with a synchronous evaluator (tells each generation at once).
 *
 * @example
 * const final = runSync(algorithm, initialState, (p) => ({ key: p.key, objectives: oneMinMax(p.genome) }));
 */
export function runSync<S>(algorithm: Algorithm<S>, state: S, evaluate: (p: Proposal) => EvalResult, onGeneration?: (s: S) => boolean | void): S {
  let s = state;
  while (!algorithm.isDone(s)) {
    const asked = algorithm.ask(s);
    if (asked.proposals.length === 0) return asked.state;
    s = algorithm.tell(asked.state, asked.proposals.map(evaluate));
    if (onGeneration?.(s) === true) break;
  }
  return s;
}
