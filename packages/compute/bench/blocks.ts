/**
 * `bun packages/compute/bench/blocks.ts [--model DIR] [--B 1] [--T 256] [--runs 40]`: the same forward with every
 * layer as separate kernels (`blocks: false`), with the engine's default choice, and with every layer as row-local
 * blocks at any row count (`blocks: true`; gpu/block.ts), one model of each loaded in one engine and timed in turn,
 * so all three see the same machine phase (on the shared CI host one minute can be 2x slower than the next).
 * Prints one JSON object: median and 10th-percentile ms of each and their speed-ups over separate kernels. Not a test.
 */
import { parseArgs } from "node:util";
import { defaultModelPath } from "@nas/model";
import { Engine } from "../src/client.ts";
import { pseudoText } from "./inputs.ts";

const { values } = parseArgs({
  options: { model: { type: "string" }, B: { type: "string", default: "1" }, T: { type: "string", default: "256" }, runs: { type: "string", default: "40" } },
});
const B = Number(values.B), T = Number(values.T), runs = Number(values.runs);
for (const [name, v] of [["B", B], ["T", T], ["runs", runs]] as const) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer, got "${values[name]}"`);
}
const engine = await Engine.start();
try {
  const path = values.model ?? defaultModelPath();
  const models = { separate_kernels: await engine.load(path, { blocks: false }), default: await engine.load(path), blocks: await engine.load(path, { blocks: true }) };
  const seqs = pseudoText(B, T, models.default.config.vocabSize);
  const times = Object.fromEntries(Object.keys(models).map((k) => [k, [] as number[]]));
  for (const m of Object.values(models)) await m.forward(seqs, null, { scores: true }); // pipelines, buffers
  for (let i = 0; i < runs; i++) {
    for (const [name, m] of Object.entries(models)) {
      const t0 = performance.now();
      await m.forward(seqs, null, { scores: true });
      times[name].push(performance.now() - t0);
    }
  }
  const q = (xs: number[], f: number) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * f)];
  const round = (x: number) => Math.round(x * 100) / 100;
  const stats = (xs: number[]) => ({ median_ms: round(q(xs, 0.5)), p10_ms: round(q(xs, 0.1)), tok_s_at_median: Math.round((B * T * 1000) / q(xs, 0.5)) });
  const base = q(times.separate_kernels, 0.5);
  console.log(
    JSON.stringify({
      adapter: engine.info.description,
      model: path,
      B,
      T,
      runs,
      ...Object.fromEntries(Object.entries(times).map(([k, xs]) => [k, stats(xs)])),
      speedup_median_default: round(base / q(times.default, 0.5)),
      speedup_median_blocks: round(base / q(times.blocks, 0.5)),
    }),
  );
} finally {
  await engine.close();
}
