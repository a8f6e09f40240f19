/** The model evaluator's tasks on the float64 CPU reference of stories260K: @nas/eval's tasks on fixed subsets. */
import { expect, test } from "bun:test";
import { defaultDataDir, evaluate, getTask, seededSubset } from "@nas/eval";
import { defaultModelPath, loadModel, loadTokenizer, normalizeSubnet, ReferenceModel } from "@nas/model";
import { checkEvaluatorOptions, objectiveSpecs } from "./model-evaluator.ts";
import { checkTaskNames, prepareTask, TASK_NAMES } from "./tasks.ts";

const loaded = await loadModel(defaultModelPath());
const ref = new ReferenceModel(loaded.config, loaded.tensors);
const tok = loadTokenizer(defaultModelPath());
const info = { config: loaded.config, source: loaded.source };
const full = normalizeSubnet(loaded.config, null);

test("perplexity tasks score the smallest seeded subset of whole documents holding the token budget", async () => {
  const t = prepareTask("tinystories", tok, info, { tokens: 200 });
  expect(t.metric).toBe("perplexity");
  expect(t.direction).toBe("min");
  // The subset is the smallest that reaches 200 tokens: one document fewer stays below.
  const docs = getTask("tinystories").load(defaultDataDir(), { numFewshot: 0 });
  const tokensOf = (limit: number) => seededSubset(docs.length, limit, 1234).reduce((a, i) => a + tok.encode((docs[i].requests[0] as { text: string }).text, { bos: true }).length, 0);
  expect(tokensOf(t.limit)).toBeGreaterThanOrEqual(200);
  expect(t.limit === 1 || tokensOf(t.limit - 1) < 200).toBe(true);
  const r = await t.score(ref, full);
  expect(r.n).toBe(t.limit);
  const direct = (await evaluate(ref, tok, info, full, ["tinystories"], { limit: t.limit, seed: 1234, cache: null })).tinystories;
  expect(r.value).toBe(direct.metrics.perplexity);
  expect(r.metrics.word_perplexity).toBe(direct.metrics.word_perplexity);
  expect(r.value).toBeGreaterThan(1);
  expect(r.value).toBeLessThan(20); // a trained model on its own data
  const half = await t.score(ref, normalizeSubnet(loaded.config, { mlp: [80, 80, 80, 80, 80] }));
  expect(half.value).toBeGreaterThan(r.value);
}, 60_000);

test("document tasks score `limit` seeded documents through @nas/eval", async () => {
  const arc = prepareTask("arc_easy", tok, info, { limit: 3 });
  expect(arc.limit).toBe(3);
  const r = await arc.score(ref, full);
  expect(r.n).toBe(3);
  expect([0, 1 / 3, 2 / 3, 1]).toContain(r.value);
  expect(r.metrics.acc_norm).toBeDefined();
  const piqa = prepareTask("piqa", tok, info, { limit: 2 });
  expect([piqa.metric, piqa.direction]).toEqual(["acc", "max"]);
  expect((await piqa.score(ref, full)).n).toBe(2);
  await expect(arc.score(ref, full, AbortSignal.abort(new Error("stop")))).rejects.toThrow("stop");
}, 60_000);

test("unknown tasks and objectives are refused with the known names", () => {
  expect(() => checkTaskNames(["tinystories", "nope"])).toThrow(/unknown task "nope" \(known tasks: .*arc_easy/);
  expect(() => checkTaskNames([])).toThrow(/no task given/);
  expect(TASK_NAMES).toContain("hellaswag");
  expect(objectiveSpecs(["arc_easy", "tinystories", "params", "macs", "throughput"], ["arc_easy", "tinystories"])).toEqual([
    { name: "arc_easy", direction: "max" },
    { name: "tinystories", direction: "min" },
    { name: "params", direction: "min" },
    { name: "macs", direction: "min" },
    { name: "throughput", direction: "max" },
  ]);
  expect(() => objectiveSpecs(["piqa"], ["tinystories"])).toThrow(/unknown objective "piqa"/);
});

test("evaluator options are checked by name: unknown keys (retired window/lmEval too) and bad budgets", () => {
  expect(() => checkEvaluatorOptions({ tasks: ["tinystories"], limit: 5, tokens: 64, seed: 3, throughputT: 32 })).not.toThrow();
  expect(() => checkEvaluatorOptions({ tasks: ["tinystories"], window: 64 })).toThrow(/unknown evaluator option "window"/);
  expect(() => checkEvaluatorOptions({ lmEval: true })).toThrow(/unknown evaluator option "lmEval"/);
  expect(() => checkEvaluatorOptions({ tokens: 0 })).toThrow(/tokens must be a positive integer, got 0/);
  expect(() => checkEvaluatorOptions({ limit: 2.5 })).toThrow(/limit must be a positive integer, got 2.5/);
  expect(() => checkEvaluatorOptions({ tasks: "tinystories" })).toThrow(/tasks must be a list of task names/);
  expect(() => checkEvaluatorOptions([1])).toThrow(/evaluator options must be an object/);
});
