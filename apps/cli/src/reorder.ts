/**
 * Importance reordering for a new search: rank MLP channels and KV-head groups on a calibration set
 * (TinyStories text away from the evaluation prefix) and turn the ranking into a permutation, so prefix
 * slices keep the most important parts. The permutation is stored in the search's evaluator options; every
 * later load of the model for that search (resume, API worker, export) applies the same one.
 */
import { calibrationSequences, loadModel, loadTokenizer, measureImportance, permutationFromScores, type ImportancePermutation } from "@nas/model";
import { UsageError } from "./args.ts";

export type ReorderMetric = "activation" | "contribution";
export const REORDER_CHOICES = ["activation", "contribution", "none"] as const;

/** Calibration defaults: 8 sequences of 128 tokens. */
export const reorderDefaults = { count: 8, length: 128 } satisfies { count: number; length: number };

/** Parse --reorder. */
export function reorderFlag(value: string | undefined, fallback: ReorderMetric | "none"): ReorderMetric | "none" {
  const v = value ?? fallback;
  if (!(REORDER_CHOICES as readonly string[]).includes(v)) throw new UsageError(`--reorder must be one of ${REORDER_CHOICES.join(", ")}, got "${v}"`);
  return v as ReorderMetric | "none";
}

/**
 * Measure importance of the model at `path` (float64 CPU pass over the calibration set) and return the
 * permutation plus a record of how it was made.
 *
 * @example
 * const { permutation } = await importancePermutation(defaultModelPath(), "activation");
 */
export async function importancePermutation(
  path: string,
  metric: ReorderMetric,
): Promise<{ permutation: ImportancePermutation; reorder: { metric: ReorderMetric; calibration: typeof reorderDefaults; ms: number } }> {
  const t0 = performance.now();
  const model = await loadModel(path);
  const tokenizer = loadTokenizer(path, { vocabSize: model.config.vocabSize });
  const length = Math.min(reorderDefaults.length, model.config.maxPositions);
  const sequences = calibrationSequences(tokenizer, { count: reorderDefaults.count, length });
  const permutation = permutationFromScores(measureImportance(model.config, model.tensors, sequences, { metric }));
  return { permutation, reorder: { metric, calibration: { count: reorderDefaults.count, length }, ms: performance.now() - t0 } };
}
