/**
 * The evaluator contract on the float64 CPU reference (packages/model/src/reference.ts): caching by
 * (model hash, sub-network, task, options), a skipped layer changing the metrics, subsets recorded, the task path
 * agreeing with direct scoring and with the fixture-verified log-probs in ../shared/fixtures.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadModel, loadTokenizer, normalizeSubnet, ReferenceModel, sharedDir, type LoadedModel, type Tokenizer } from "@nas/model";
import { MemoryCache } from "./cache.ts";
import { evaluate, toLmEvalJson } from "./evaluate.ts";
import { LoglikelihoodRunner } from "./lm.ts";
import { UnknownTaskError } from "./registry.ts";

const models = join(sharedDir(), "models");
let stories: LoadedModel;
let ref: ReferenceModel;
let tok: Tokenizer;
beforeAll(async () => {
  stories = await loadModel(join(models, "stories260K-hf"));
  ref = new ReferenceModel(stories.config, stories.tensors);
  tok = loadTokenizer(join(models, "stories260K-hf"));
}, 60_000);

describe("evaluate", () => {
  test("unknown task names fail before any work, listing the valid names", async () => {
    await expect(evaluate(ref, tok, stories, null, ["arc_easy", "nope"], { limit: 1 })).rejects.toThrow(UnknownTaskError);
    await expect(evaluate(ref, tok, stories, null, ["nope"])).rejects.toThrow(/valid tasks: arc_easy, arc_challenge, mmlu, truthfulqa_mc1/);
  });

  test("few-shot only where the task has examples", async () => {
    await expect(evaluate(ref, tok, stories, null, ["piqa"], { numFewshot: 3, limit: 1 })).rejects.toThrow(/piqa has no few-shot examples/);
    await expect(evaluate(ref, tok, stories, null, ["mmlu"], { numFewshot: 6, limit: 1 })).rejects.toThrow(/at most 5/);
  });

  test("cached by (model hash, sub-network, task, options); a skipped layer changes the metrics", async () => {
    const cache = new MemoryCache();
    const opts = { limit: 3, cache, keepDocs: true };
    const full = await evaluate(ref, tok, stories, null, ["piqa"], opts);
    expect(full.piqa.cached).toBe(false);
    expect(full.piqa.samples).toBe(3);
    expect(full.piqa.total).toBe(1838);
    expect(full.piqa.subset).toMatchObject({ limit: 3, seed: 1234, stratified: false });

    const again = await evaluate(ref, tok, stories, null, ["piqa"], opts);
    expect(again.piqa.cached).toBe(true);
    expect(again.piqa.metrics).toEqual(full.piqa.metrics);

    const skipped = await evaluate(ref, tok, stories, { layers: [true, true, false, true, true] }, ["piqa"], opts);
    expect(skipped.piqa.cached).toBe(false);
    const lls = (r: typeof full) => r.piqa.docs!.flatMap((d) => d.results.map((x) => x.ll));
    expect(lls(skipped)).not.toEqual(lls(full));
    expect(cache.size).toBe(2);

    // other options are part of the key too
    expect((await evaluate(ref, tok, stories, null, ["piqa"], { ...opts, seed: 7 })).piqa.cached).toBe(false);
    // without a model hash nothing is cached
    const anon = { config: stories.config };
    await evaluate(ref, tok, anon, null, ["piqa"], { limit: 1, cache });
    expect((await evaluate(ref, tok, anon, null, ["piqa"], { limit: 1, cache })).piqa.cached).toBe(false);
  }, 120_000);

  test("a loglikelihood through the task path equals direct scoring of the same tokens", async () => {
    const r = await evaluate(ref, tok, stories, null, ["lambada_openai"], { limit: 2, cache: null, keepDocs: true });
    const full = normalizeSubnet(stories.config, null);
    const runner = new LoglikelihoodRunner(ref, tok, full, { maxLength: 512 });
    const docs = JSON.parse("[" + readFileSync(join(sharedDir(), "data/lambada_openai/lambada_openai_test.llm-foundry.jsonl"), "utf8").trim().split("\n").join(",") + "]");
    for (const d of r.lambada_openai.docs!) {
      const { context, continuation } = docs[d.index];
      const pair = runner.encodePair(context, ` ${continuation}`);
      const seq = pair.context.concat(pair.continuation);
      const [s] = await ref.scoreTokens([seq], full);
      let ll = 0;
      for (let t = pair.context.length; t < seq.length; t++) ll += s.logprobs[t - 1];
      expect(d.results[0].ll).toBeCloseTo(ll, 5);
    }
    expect(toLmEvalJson(r).lambada_openai).toEqual({ ...r.lambada_openai.metrics, samples: 2, limit: 2 });
  }, 120_000);
});

describe("task path vs the fixture-verified log-probs (../shared/fixtures)", () => {
  for (const name of ["stories260K", "tiny-llama3-gqa-bf16"]) {
    test(`${name}: every reference case (all sub-networks)`, async () => {
      const fixture = JSON.parse(readFileSync(join(sharedDir(), "fixtures", `${name}.reference.json`), "utf8")) as { cases: { spec: object | null; input_ids: number[]; sum_nll: number; argmax: number[] }[] };
      const model = name === "stories260K" ? stories : await loadModel(join(models, "tiny-llama3-gqa-bf16"));
      const scorer = name === "stories260K" ? ref : new ReferenceModel(model.config, model.tensors);
      for (const c of fixture.cases) {
        const runner = new LoglikelihoodRunner(scorer, tok, normalizeSubnet(model.config, c.spec), { maxLength: model.config.maxPositions });
        const [r] = await runner.loglikelihoodTokens([{ context: c.input_ids.slice(0, 1), continuation: c.input_ids.slice(1) }]);
        expect(Math.abs(-r.ll - c.sum_nll) / c.sum_nll).toBeLessThan(1e-4);
        expect(r.isGreedy).toBe(c.argmax.slice(0, -1).every((a, t) => a === c.input_ids[t + 1]));
      }
    }, 120_000);
  }
});
