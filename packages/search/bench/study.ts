/**
 * Study (issue 6, item 4): hypervolume vs evaluations on stories260K for random search, NSGA-II and LINAS,
 * each on the stored weights ("plain") and on importance-reordered weights ("reordered"), over several seeds.
 * Objectives: mean TinyStories NLL per token (GPU engine, fixed token set) vs active parameters, both minimised.
 * Prints one JSON object.
 *
 * Hypervolume is computed on (NLL, params / full params) with one reference point for every run, so curves are
 * comparable: [max NLL seen in any run * 1.01, 1.01]. Within one weight variant a sub-network's NLL is
 * deterministic, so evaluations are memoised by (variant, sub-network key) across algorithms and seeds (a
 * cache hit still counts as an evaluation of the run that asked for it).
 *
 * Run: bun packages/search/bench/study.ts [--evaluations 80] [--population 16] [--seeds 3] [--sequences 4]
 *      [--length 64] [--preset full]   (defaults shown; about 13 min on lavapipe under load, 0.6 s per evaluation)
 */
import { parseArgs } from "node:util";
import {
  calibrationSequences,
  defaultModelPath,
  loadModel,
  loadTokenizer,
  measureImportance,
  normalizeSubnet,
  permutationFromScores,
  subnetKey,
  type LlamaConfig,
  type SubNetwork,
} from "@nas/model";
// @nas/search does not depend on @nas/compute (the engine needs a GPU); this script alone reaches across.
import { Engine, type EngineModel } from "../../compute/src/index.ts";
import { countParams } from "../../eval/src/index.ts";
import { createAlgorithm, createSearchSpace, hypervolume, type AlgorithmName, type SpacePreset } from "../src/index.ts";

const { values: args } = parseArgs({
  options: {
    evaluations: { type: "string", default: "80" },
    population: { type: "string", default: "16" },
    seeds: { type: "string", default: "3" },
    sequences: { type: "string", default: "4" },
    length: { type: "string", default: "64" },
    preset: { type: "string", default: "full" },
  },
});
const opts = {
  evaluations: Number(args.evaluations),
  population: Number(args.population),
  seeds: Number(args.seeds),
  sequences: Number(args.sequences),
  length: Number(args.length),
  preset: args.preset as SpacePreset,
};
for (const [k, v] of Object.entries(opts)) if (k !== "preset" && !(Number.isInteger(v) && (v as number) > 0)) throw new Error(`--${k} must be a positive integer, got ${v}`);

/** Active parameters of a sub-network (@nas/eval's count: the one the CLI's `params` objective uses). */
const subnetParams = (config: LlamaConfig, s: SubNetwork): number => countParams(config, s).total;

const t0 = performance.now();
const path = defaultModelPath();
const loaded = await loadModel(path);
const config = loaded.config;
const tokenizer = loadTokenizer(path);
// Evaluation text from the start of the TinyStories sample; calibration from its second half (disjoint).
const evalTokens = calibrationSequences(tokenizer, { offset: 0, count: opts.sequences, length: opts.length });
const calibration = calibrationSequences(tokenizer, { count: 8, length: 128 });
const tCal = performance.now();
const permutation = permutationFromScores(measureImportance(config, loaded.tensors, calibration));
const calibrationMs = performance.now() - tCal;

const engine = await Engine.start({ stderr: false });
const variants: Record<string, EngineModel> = {
  plain: await engine.load(path),
  reordered: await engine.load(path, { permutation }),
};
const fullSubnet = normalizeSubnet(config, null);
const fullParams = subnetParams(config, fullSubnet);
const predicted = evalTokens.reduce((s, x) => s + x.length - 1, 0);
const cache = new Map<string, number>();
let engineEvaluations = 0;
let engineMs = 0;

async function nll(variant: string, s: SubNetwork): Promise<number> {
  const key = `${variant}|${subnetKey(s)}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const t = performance.now();
  const scores = await variants[variant].scoreTokens(evalTokens, s);
  engineMs += performance.now() - t;
  engineEvaluations++;
  let sum = 0;
  for (const r of scores) for (const v of r.logprobs) sum -= v;
  cache.set(key, sum / predicted);
  return sum / predicted;
}

const space = createSearchSpace(config, { preset: opts.preset });
const algorithms: AlgorithmName[] = ["random", "nsga2", "linas"];
/** Per run: objective vectors [nll, params / full] in evaluation order. */
const runs: { algorithm: AlgorithmName; variant: string; seed: number; points: number[][] }[] = [];
for (const variant of Object.keys(variants)) {
  for (const algorithm of algorithms) {
    for (let seed = 1; seed <= opts.seeds; seed++) {
      const { algorithm: algo, initialState } = createAlgorithm({
        name: algorithm,
        space,
        objectives: [{ name: "nll", direction: "min" }, { name: "params", direction: "min" }],
        population: opts.population,
        evaluations: opts.evaluations,
        seed,
      });
      let state = initialState;
      const points: number[][] = [];
      while (!algo.isDone(state)) {
        const asked = algo.ask(state);
        if (asked.proposals.length === 0) {
          state = asked.state;
          break;
        }
        const results = [];
        for (const p of asked.proposals) {
          const objectives = [await nll(variant, p.subnet), subnetParams(config, p.subnet) / fullParams];
          points.push(objectives);
          results.push({ key: p.key, objectives });
        }
        state = algo.tell(asked.state, results);
      }
      runs.push({ algorithm, variant, seed, points });
    }
  }
}
const fullNll = await nll("plain", fullSubnet);
await engine.close();

// One reference point for all runs (see the module comment).
const maxNll = Math.max(...runs.flatMap((r) => r.points.map((p) => p[0])));
const reference = [maxNll * 1.01, 1.01];
const checkpoints = Array.from({ length: Math.ceil(opts.evaluations / opts.population) }, (_, i) => Math.min((i + 1) * opts.population, opts.evaluations));
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
const std = (a: number[]) => Math.sqrt(mean(a.map((v) => (v - mean(a)) ** 2)));
const round = (v: number) => Number(v.toPrecision(6));

const conditions: Record<string, unknown> = {};
for (const variant of Object.keys(variants)) {
  for (const algorithm of algorithms) {
    const rs = runs.filter((r) => r.variant === variant && r.algorithm === algorithm);
    const curves = rs.map((r) => checkpoints.map((c) => hypervolume(r.points.slice(0, c), reference)));
    const finals = curves.map((c) => c[c.length - 1]);
    // Best NLL found at or under half the full parameter count: a concrete point on the front.
    const bestHalf = rs.map((r) => Math.min(...r.points.filter((p) => p[1] <= 0.5).map((p) => p[0])));
    conditions[`${algorithm}/${variant}`] = {
      hvMeanByEvaluations: Object.fromEntries(checkpoints.map((c, i) => [c, round(mean(curves.map((cv) => cv[i])))])),
      hvFinalPerSeed: finals.map(round),
      hvFinalMean: round(mean(finals)),
      hvFinalStd: round(std(finals)),
      bestNllAtHalfParamsPerSeed: bestHalf.map((v) => (Number.isFinite(v) ? round(v) : null)),
    };
  }
}

console.log(
  JSON.stringify({
    study: "hypervolume vs evaluations, stories260K, TinyStories NLL vs parameters",
    model: path.replace(/^.*\/shared\//, "shared/"),
    device: engine.info.description,
    space: { preset: opts.preset, genes: space.genes.length },
    budget: { evaluations: opts.evaluations, population: opts.population, seeds: opts.seeds },
    evalTokens: { sequences: opts.sequences, length: opts.length, predictedTokens: predicted, textOffset: 0 },
    calibration: { sequences: calibration.length, length: 128, textOffset: 400_000, metric: "contribution", ms: Math.round(calibrationMs) },
    fullModel: { nll: round(fullNll), params: fullParams },
    hypervolumeReference: { nll: round(reference[0]), paramsFraction: reference[1] },
    conditions,
    engineEvaluations,
    engineMsPerEvaluation: round(engineMs / Math.max(1, engineEvaluations)),
    wallSeconds: round((performance.now() - t0) / 1000),
  }),
);
