/**
 * Benchmark inputs shared by the scripts in bench/, so their numbers are for the same tokens.
 *
 * @example
 * const seqs = pseudoText(16, 256, model.config.vocabSize); // 16 sequences of 256 ids, BOS first
 */

/**
 * B deterministic pseudo-text sequences of T ids: BOS (1), then ids 3 .. vocabSize - 1 that differ per position
 * and per sequence. Not BOS-only, so attention sees full-length sequences of distinct keys.
 */
export function pseudoText(B: number, T: number, vocabSize: number): number[][] {
  if (vocabSize < 4) throw new Error(`pseudo-text needs a vocabulary of at least 4 ids, got ${vocabSize}`);
  return Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => (t === 0 ? 1 : 3 + ((t * 31 + b * 17) % (vocabSize - 3)))));
}
