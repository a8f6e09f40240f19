import type { SubNetwork } from "./types.ts";

/**
 * Per-token scores of a sequence under a (sub-)network: for t = 1..len-1, entry t-1 holds
 * log p(ids[t] | ids[<t]) and the argmax token of the distribution at position t-1.
 */
export interface TokenScores {
  logprobs: Float32Array; // [len - 1]
  argmax: Int32Array; // [len - 1]
}

/**
 * What evaluation needs from a model: batched per-token scores for ragged sequences. Implemented by the
 * GPU engine (packages/compute) and by the float64 CPU reference (packages/model/src/reference.ts).
 *
 * @example
 * const [s] = await scorer.scoreTokens([[1, 403, 407]], subnet); // s.logprobs.length === 2
 */
export interface TokenScorer {
  scoreTokens(sequences: number[][], subnet: SubNetwork): Promise<TokenScores[]>;
}

/** Continuations that share one prefix (context). */
export interface PrefixGroup {
  prefix: number[];
  continuations: number[][];
}

/**
 * Optional scorer capability: score continuations of shared prefixes, running each prefix once.
 * Result [g][i] holds, for each token c[j] of continuation i of group g, log p(c[j] | prefix ++ c[<j]) and the
 * argmax of that distribution (so logprobs.length === c.length).
 *
 * @example
 * const [[a, b]] = await scorer.scoreContinuations([{ prefix: [1, 403], continuations: [[407], [99, 7]] }], subnet);
 */
export interface PrefixTokenScorer extends TokenScorer {
  scoreContinuations(groups: PrefixGroup[], subnet: SubNetwork): Promise<TokenScores[][]>;
}

/** Does this scorer share prefix work? */
export function hasPrefixSharing(s: TokenScorer): s is PrefixTokenScorer {
  return typeof (s as Partial<PrefixTokenScorer>).scoreContinuations === "function";
}
