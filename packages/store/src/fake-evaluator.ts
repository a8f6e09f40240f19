/**
 * The deterministic "fake" evaluator kind: objective values are a pure function of the candidate's
 * sub-network and key, so two runs with the same seed must produce identical stores. Used by the crash
 * test and API tests, and handy for trying the runner and API end to end without a GPU.
 */
import { createHash } from "node:crypto";
import type { SearchRow } from "@nas/db";
import type { Proposal } from "@nas/search";
import type { CandidateOutcome } from "./candidates.ts";
import type { EvalContext, EvaluatorFactory, SingleEvaluator } from "./evaluator.ts";

export interface FakeEvaluatorOptions {
  /** Each evaluation waits a deterministic pseudo-random time in [min, max] ms. Default [0, 0]. */
  delayMs?: [number, number];
  /** Candidates whose key hashes to 0 mod `failEvery` fail with an error (0 = never). Default 0. */
  failEvery?: number;
}

const fakeDefaults = { delayMs: [0, 0], failEvery: 0 } satisfies Required<FakeEvaluatorOptions>;

/** Uniform [0, 1) values derived from sha256(salt + key). */
function hashUnits(key: string, salt: string, count: number): number[] {
  const h = createHash("sha256").update(`${salt}\u0000${key}`).digest();
  return Array.from({ length: count }, (_, i) => h.readUInt32BE((i * 4) % 28) / 2 ** 32);
}

/** A size proxy of a sub-network: kept layers weighted by their MLP width and KV heads. */
function subnetSize(subnet: unknown): number {
  const s = subnet as { layers?: boolean[]; mlp?: number[]; kvHeads?: number[] };
  if (!s || !Array.isArray(s.layers)) return 0;
  let size = 0;
  s.layers.forEach((kept, i) => {
    if (kept) size += (s.mlp?.[i] ?? 1) + 16 * (s.kvHeads?.[i] ?? 1);
  });
  return size;
}

/**
 * Objective values for a proposal: objective 0 grows with size, the others trade off against it (better
 * for bigger networks in their own direction) with deterministic noise, so fronts are non-trivial.
 *
 * @example
 * fakeObjectives(proposal, [{ name: "loss", direction: "min" }, { name: "size", direction: "min" }])
 */
export function fakeObjectives(proposal: Pick<Proposal, "key" | "subnet">, objectives: SearchRow["objectives"]): number[] {
  const size = subnetSize(proposal.subnet);
  const noise = hashUnits(proposal.key, "objectives", objectives.length);
  return objectives.map((o, j) => {
    if (j === 0) return o.direction === "min" ? size : -size;
    const quality = 1 - Math.exp(-size / (200 * j)) + 0.1 * noise[j];
    return o.direction === "max" ? quality : 1 - quality;
  });
}

/**
 * Build a fake evaluator for a search.
 *
 * @example
 * const evaluator = createFakeEvaluator(search, { delayMs: [1, 5], failEvery: 13 });
 */
export function createFakeEvaluator(search: Pick<SearchRow, "objectives">, options: FakeEvaluatorOptions = {}): SingleEvaluator {
  const o = { ...fakeDefaults, ...options };
  const [lo, hi] = o.delayMs;
  if (!(lo >= 0 && hi >= lo)) throw new Error(`fake evaluator delayMs must be [min, max] with 0 <= min <= max, got ${JSON.stringify(o.delayMs)}`);
  return {
    device: { kind: "fake", note: "deterministic objectives from the sub-network; no model is run" },
    async evaluate(p: Proposal, ctx: EvalContext): Promise<CandidateOutcome> {
      const [u, f] = hashUnits(p.key, "delay", 2);
      const delay = lo + (hi - lo) * u;
      if (delay > 0) await abortableSleep(delay, ctx.signal);
      if (o.failEvery > 0 && Math.floor(f * 2 ** 32) % o.failEvery === 0) {
        return { error: `fake failure for ${p.key}`, metrics: { fake: { failed: 1 } } };
      }
      const objectives = fakeObjectives(p, search.objectives);
      return { objectives, metrics: { fake: { size: subnetSize(p.subnet) } } };
    },
  };
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Module seam (see EvaluatorFactory): `{ kind: "fake", options: FakeEvaluatorOptions }`. */
export const createEvaluator: EvaluatorFactory = (options, { search }) => {
  if (options !== undefined && options !== null && (typeof options !== "object" || Array.isArray(options))) {
    throw new Error(`fake evaluator options must be an object, got ${JSON.stringify(options)}`);
  }
  return createFakeEvaluator(search, (options ?? {}) as FakeEvaluatorOptions);
};
