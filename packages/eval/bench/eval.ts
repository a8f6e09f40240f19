/**
 * bench:eval — candidates evaluated per second on stories260K: each candidate is a random sub-network scored on
 * TinyStories perplexity over >= 16K tokens plus ARC-Easy with limit 200 (the same documents for every candidate),
 * on the WGSL engine (packages/compute). Prints one JSON object.
 *
 *   bun run bench:eval [--seconds 120] [--candidates 20] [--scorer engine|reference]
 *
 * One warm-up candidate (the full model: pipeline compilation, tokenisation caches) is not timed. Also reports
 * the work prefix sharing would save on these requests (context tokens scored once per document instead of once
 * per choice) and whether the scorer offers it.
 */
import { join } from "node:path";
import { loadModel, loadTokenizer, normalizeSubnet, ReferenceModel, sharedDir, type SubNetwork, type TokenScorer } from "@nas/model";
import { Engine } from "../../compute/src/index.ts";
import { costObjectives, defaultDataDir, evaluate, getTask, hasPrefixSharing, limitForTokens, LoglikelihoodRunner, seededSubset, type EvalModelInfo, type LatencyProbe } from "../src/index.ts";

const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const budgetS = Number(arg("seconds", "120"));
const maxCandidates = Number(arg("candidates", "20"));
const scorerKind = arg("scorer", "engine");
const TINY_TOKENS = 16384;
const ARC_LIMIT = 200;
const SEED = 1234;

const modelDir = join(sharedDir(), "models/stories260K-hf");
const tokenizer = loadTokenizer(modelDir);
let engine: Engine | undefined;
let scorer: TokenScorer;
let info: EvalModelInfo;
let adapter = "cpu float64 reference";
let probe: LatencyProbe | undefined;
if (scorerKind === "engine") {
  engine = await Engine.start();
  const m = await engine.load(modelDir);
  scorer = m;
  info = m;
  probe = m; // EngineModel.latency fits the LatencyProbe contract
  adapter = `${engine.info.vendor} / ${engine.info.architecture} / ${engine.info.description} (${engine.info.backend})`;
} else {
  const m = await loadModel(modelDir);
  scorer = new ReferenceModel(m.config, m.tensors);
  info = m;
}
const config = info.config;

// TinyStories: the smallest seeded subset of paragraphs holding >= 16K tokens (subsets of one seed are nested).
const paragraphs = getTask("tinystories").load(defaultDataDir(), { numFewshot: 0 });
const tokensOf = paragraphs.map((d) => tokenizer.encode((d.requests[0] as { text: string }).text).length);
const tinyLimit = limitForTokens(tokensOf, TINY_TOKENS, SEED);
const tinyTokens = seededSubset(paragraphs.length, tinyLimit, SEED).reduce((a, i) => a + tokensOf[i], 0);

// Prefix-sharing potential on the ARC-Easy subset: tokens of full sequences vs context once + continuations.
const full = normalizeSubnet(config, null);
const pairRunner = new LoglikelihoodRunner(scorer, tokenizer, full, { maxLength: config.maxPositions });
const arcDocs = getTask("arc_easy").load(defaultDataDir(), { numFewshot: 0 });
let unshared = 0;
let shared = 0;
for (const i of seededSubset(arcDocs.length, ARC_LIMIT, SEED)) {
  const reqs = arcDocs[i].requests as { context: string; continuation: string }[];
  const pairs = reqs.map((r) => pairRunner.encodePair(r.context, r.continuation));
  unshared += pairs.reduce((a, p) => a + p.context.length + p.continuation.length, 0);
  shared += pairs[0].context.length + pairs.reduce((a, p) => a + p.continuation.length, 0);
}

function randomSubnet(rnd: () => number): SubNetwork {
  const n = config.numLayers;
  const layers = Array.from({ length: n }, () => rnd() > 0.2);
  if (!layers.some(Boolean)) layers[0] = true;
  return {
    layers,
    mlp: Array.from({ length: n }, () => 1 + Math.floor(rnd() * config.intermediateSize)),
    kvHeads: Array.from({ length: n }, () => 1 + Math.floor(rnd() * config.numKvHeads)),
  };
}
let state = 42;
const rnd = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 4294967296);

const options = { cache: null, seed: SEED } as const;
const runCandidate = async (subnet: SubNetwork) => {
  const t = await evaluate(scorer, tokenizer, info, subnet, ["tinystories"], { ...options, limit: tinyLimit });
  const a = await evaluate(scorer, tokenizer, info, subnet, ["arc_easy"], { ...options, limit: ARC_LIMIT });
  return { ppl: t.tinystories.metrics.perplexity, acc_norm: a.arc_easy.metrics.acc_norm, tokens: t.tinystories.stats!.tokens + a.arc_easy.stats!.tokens };
};

const w0 = performance.now();
const warm = await runCandidate(full);
const warmupS = (performance.now() - w0) / 1000;

const t0 = performance.now();
const results: { ppl: number; acc_norm: number; tokens: number }[] = [];
while (results.length < maxCandidates && (results.length === 0 || (performance.now() - t0) / 1000 < budgetS)) {
  results.push(await runCandidate(randomSubnet(rnd)));
}
const seconds = (performance.now() - t0) / 1000;
const cost = await costObjectives(config, full, { T: 128, probe });
await engine?.close();

console.log(
  JSON.stringify({
    adapter,
    scorer: scorerKind,
    candidates: results.length,
    seconds: Number(seconds.toFixed(2)),
    candidates_per_s: Number((results.length / seconds).toFixed(4)),
    target_candidates_per_s: 1,
    tokens_per_candidate: Math.round(results.reduce((a, r) => a + r.tokens, 0) / results.length),
    tokens_per_s: Math.round(results.reduce((a, r) => a + r.tokens, 0) / seconds),
    tinystories: { paragraphs: tinyLimit, tokens: tinyTokens, full_model_perplexity: Number(warm.ppl.toFixed(4)) },
    arc_easy: { limit: ARC_LIMIT, full_model_acc_norm: warm.acc_norm },
    warmup_s: Number(warmupS.toFixed(2)),
    full_model_cost_T128: cost,
    prefix_sharing: { scorer_supports: hasPrefixSharing(scorer), arc_easy_tokens_unshared: unshared, arc_easy_tokens_shared: shared, saving: Number((1 - shared / unshared).toFixed(4)) },
  }),
);
