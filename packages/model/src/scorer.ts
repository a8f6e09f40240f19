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
