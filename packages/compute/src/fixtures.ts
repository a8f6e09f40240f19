/**
 * The float64 Hugging Face references in ../shared/fixtures, and how far a forward is from one of their cases.
 * Shared by the engine tests and bench/check.ts (the same checks on a GPU host, where there is no test runner).
 *
 * @example
 * const ref = readFixture("stories260K");
 * const r = await model.forward([ref.cases[0].input_ids], ref.cases[0].spec, { scores: true, lastLogits: true });
 * caseError(ref.cases[0], r, 0); // { logits: 2e-6, argmax: 0, nll: 1e-7 }, each within FIXTURE_TOLERANCE
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { sharedDir } from "@nas/model";

/** One case: a sub-network (null: the full network), input ids and the reference's outputs. */
export interface FixtureCase {
  subnetwork: string;
  spec: object | null;
  input_ids: number[];
  last_logits: number[];
  argmax: number[];
  sum_nll: number;
}
export interface FixtureReference {
  cases: FixtureCase[];
  /** BOS and 200 greedy tokens (stories260K). */
  greedy_from_bos?: number[];
}

/** The bounds: last-position logits within 1e-3 absolute, sum NLL within 1e-4 relative, argmax identical. */
export const FIXTURE_TOLERANCE = { logits: 1e-3, nll: 1e-4, argmax: 0 } as const;

/** `name` is the file's stem: "stories260K" or "tiny-llama3-gqa-bf16". */
export function readFixture(name: string, dir = join(sharedDir(), "fixtures")): FixtureReference {
  return JSON.parse(readFileSync(join(dir, `${name}.reference.json`), "utf8")) as FixtureReference;
}

/**
 * Sequence i of a forward (with scores and lastLogits) against case c: the worst absolute difference of the last
 * logits, the number of positions whose argmax differs, and the relative error of the summed NLL.
 */
export function caseError(c: FixtureCase, r: { lastLogits?: ArrayLike<number>[]; argmax?: ArrayLike<number>[]; logprobs?: ArrayLike<number>[] }, i: number): { logits: number; argmax: number; nll: number } {
  const last = r.lastLogits?.[i], argmax = r.argmax?.[i], logprobs = r.logprobs?.[i];
  if (!last || !argmax || !logprobs) throw new Error("caseError needs a forward with scores and lastLogits");
  let logits = last.length === c.last_logits.length ? 0 : Infinity;
  for (let v = 0; v < c.last_logits.length; v++) logits = Math.max(logits, Math.abs(last[v] - c.last_logits[v]));
  let wrong = argmax.length === c.argmax.length ? 0 : Math.abs(argmax.length - c.argmax.length);
  for (let t = 0; t < Math.min(argmax.length, c.argmax.length); t++) if (argmax[t] !== c.argmax[t]) wrong++;
  let nll = 0;
  for (let t = 0; t < c.input_ids.length - 1; t++) nll -= logprobs[t];
  const rel = Math.abs(nll - c.sum_nll) / Math.abs(c.sum_nll);
  // NaN (a NaN logit or log-prob) counts as infinitely far, so it can never pass.
  return { logits: Number.isNaN(logits) ? Infinity : logits, argmax: wrong, nll: Number.isNaN(rel) ? Infinity : rel };
}

/** True when every part of caseError is within FIXTURE_TOLERANCE. */
export function withinTolerance(e: { logits: number; argmax: number; nll: number }): boolean {
  return e.logits < FIXTURE_TOLERANCE.logits && e.argmax === FIXTURE_TOLERANCE.argmax && e.nll < FIXTURE_TOLERANCE.nll;
}
