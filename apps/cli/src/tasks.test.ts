/** Tasks and cost objectives of the model evaluator, on the float64 CPU reference of stories260K. */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { countParams } from "@nas/eval";
import { defaultModelPath, loadModel, loadTokenizer, normalizeSubnet, ReferenceModel, sharedDir } from "@nas/model";
import { objectiveSpecs, subnetParams } from "./model-evaluator.ts";
import { checkTaskNames, prepareTask, TASK_NAMES } from "./tasks.ts";

const loaded = await loadModel(defaultModelPath());
const ref = new ReferenceModel(loaded.config, loaded.tensors);
const tok = loadTokenizer(defaultModelPath());
const info = { config: loaded.config, source: loaded.source };
const full = normalizeSubnet(loaded.config, null);

test("fast perplexity scores exactly `tokens` tokens in BOS-led windows and matches a direct computation", async () => {
  const t = prepareTask("tinystories", tok, info, { tokens: 200, window: 128 });
  const r = await t.score(ref, full);
  expect(r.n).toBe(200);
  // Direct: the first 200 text tokens of the sample as windows of 127 behind BOS, scored one by one.
  const text = readFileSync(join(sharedDir(), "data/tinystories/tinystories_validation_sample.txt"), "utf8");
  const ids = tok.encode(text.slice(0, 4000), { bos: false }).slice(0, 200);
  let nll = 0;
  for (const w of [ids.slice(0, 127), ids.slice(127)]) {
    const [s] = await ref.scoreTokens([[tok.bosId, ...w]], full);
    expect(s.logprobs).toHaveLength(w.length);
    for (const lp of s.logprobs) nll -= lp;
  }
  expect(Math.abs(r.value / Math.exp(nll / 200) - 1)).toBeLessThan(1e-9);
  expect(r.value).toBeGreaterThan(1);
  expect(r.value).toBeLessThan(20); // a trained model on its own data
  const half = await t.score(ref, normalizeSubnet(loaded.config, { mlp: [80, 80, 80, 80, 80] }));
  expect(half.value).toBeGreaterThan(r.value);
}, 60_000);

test("fast ARC accuracy counts questions and lm-eval tasks go through @nas/eval", async () => {
  const arc = await prepareTask("arc_easy", tok, info, { limit: 3 }).score(ref, full);
  expect(arc.n).toBe(3);
  expect([0, 1 / 3, 2 / 3, 1]).toContain(arc.value);
  const piqa = prepareTask("piqa", tok, info, { limit: 2 });
  expect(piqa.metric).toBe("acc");
  expect(piqa.direction).toBe("max");
  const r = await piqa.score(ref, full);
  expect(r.n).toBe(2);
}, 60_000);

test("unknown tasks and objectives are refused with the known names", () => {
  expect(() => checkTaskNames(["tinystories", "nope"])).toThrow(/unknown task "nope" \(known tasks: .*arc_easy/);
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

test("parameter count agrees with @nas/eval's independent count on random sub-networks", () => {
  const c = loaded.config;
  fc.assert(
    fc.property(
      fc.array(fc.boolean(), { minLength: c.numLayers, maxLength: c.numLayers }),
      fc.array(fc.integer({ min: 1, max: c.intermediateSize }), { minLength: c.numLayers, maxLength: c.numLayers }),
      fc.array(fc.integer({ min: 1, max: c.numKvHeads }), { minLength: c.numLayers, maxLength: c.numLayers }),
      (layers, mlp, kvHeads) => {
        layers[0] = true; // a sub-network keeps at least one layer
        const s = normalizeSubnet(c, { layers, mlp, kvHeads });
        expect(subnetParams(c, s)).toBe(countParams(c, s).total);
      },
    ),
  );
  expect(subnetParams(c, full)).toBe(260_032);
});
