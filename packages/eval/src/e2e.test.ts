/**
 * Every task end to end with `limit` on stories260K and tiny-llama3 (random weights; it has no tokenizer of its
 * own, so the stories260K SentencePiece model, whose ids are all < 1024, stands in), scored by the float64 CPU
 * reference. A short maxLength (64; 32 for the 10x larger tiny-llama3) keeps the test fast on two cores: long
 * prompts are truncated exactly as lm-eval would with that max_length.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { loadModel, loadTokenizer, ReferenceModel, sharedDir } from "@nas/model";
import { defaultDataDir } from "./data.ts";
import { evaluate } from "./evaluate.ts";
import { getTask, taskNames } from "./registry.ts";
import { seededSubset } from "./subset.ts";

const models = join(sharedDir(), "models");
const tok = loadTokenizer(join(models, "stories260K-hf"));

/** A seed whose one-page wikitext subset is a short page (the test budget cannot afford a 7000-token page). */
function shortWikitextSeed(): number {
  const docs = getTask("wikitext").load(defaultDataDir(), { numFewshot: 0 });
  for (let seed = 0; ; seed++) {
    const [i] = seededSubset(docs.length, 1, seed);
    const text = (docs[i].requests[0] as { text: string }).text;
    if (text.length < 3000) return seed;
  }
}

describe("every task end to end", () => {
  for (const name of ["stories260K-hf", "tiny-llama3-gqa-bf16"]) {
    test(name, async () => {
      const model = await loadModel(join(models, name));
      const ref = new ReferenceModel(model.config, model.tensors);
      const tasks = taskNames().filter((t) => t !== "wikitext");
      const maxLength = name.startsWith("tiny") ? 32 : 64;
      const results = await evaluate(ref, tok, model, null, tasks, { limit: 1, maxLength, cache: null });
      const wiki = await evaluate(ref, tok, model, null, ["wikitext"], { limit: 1, maxLength, cache: null, seed: shortWikitextSeed() });
      Object.assign(results, wiki);
      expect(Object.keys(results).sort()).toEqual(taskNames().sort());
      for (const [task, r] of Object.entries(results)) {
        expect({ task, samples: r.samples }).toEqual({ task, samples: 1 });
        for (const [metric, v] of Object.entries(r.metrics)) {
          expect({ task, metric, finite: Number.isFinite(v) }).toEqual({ task, metric, finite: true });
          if (metric.startsWith("acc")) expect(v >= 0 && v <= 1).toBe(true);
          if (metric.includes("perplexity")) expect(v).toBeGreaterThan(1);
        }
        expect(r.stats!.calls).toBeGreaterThan(0);
      }
      expect(results.mmlu.numFewshot).toBe(5);
      expect(Object.keys(results.mmlu.groups!).length).toBe(2); // one subject and its category
    }, 300_000);
  }
});
