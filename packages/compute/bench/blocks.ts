/**
 * `bun packages/compute/bench/blocks.ts [--model DIR] [--B 1] [--T 256] [--runs 40]`: the same forward with layers
 * as row-local blocks (gpu/block.ts) and as separate kernels, one model of each loaded in one engine, timed
 * alternately so both see the same machine phase (on the shared CI host one minute can be 2x slower than the
 * next). Prints one JSON object: median and 10th-percentile ms of each, and the speed-up of the medians. Not a test.
 */
import { parseArgs } from "node:util";
import { defaultModelPath } from "@nas/model";
import { Engine } from "../src/client.ts";

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
  const separate = await engine.load(path, { blocks: false });
  const blocks = await engine.load(path, { blocks: true });
  const V = separate.config.vocabSize;
  const seqs = Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => (t === 0 ? 1 : 3 + ((t * 31 + b * 17) % (V - 3)))));
  const times = { separate: [] as number[], blocks: [] as number[] };
  for (const m of [separate, blocks]) await m.forward(seqs, null, { scores: true }); // pipelines, buffers
  for (let i = 0; i < runs; i++) {
    for (const [name, m] of [["separate", separate], ["blocks", blocks]] as const) {
      const t0 = performance.now();
      await m.forward(seqs, null, { scores: true });
      times[name].push(performance.now() - t0);
    }
  }
  const q = (xs: number[], f: number) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * f)];
  const round = (x: number) => Math.round(x * 100) / 100;
  const stats = (xs: number[]) => ({ median_ms: round(q(xs, 0.5)), p10_ms: round(q(xs, 0.1)), tok_s_at_median: Math.round((B * T * 1000) / q(xs, 0.5)) });
  console.log(
    JSON.stringify({
      adapter: engine.info.description,
      model: path,
      B,
      T,
      runs,
      separate_kernels: stats(times.separate),
      blocks: stats(times.blocks),
      speedup_median: round(q(times.separate, 0.5) / q(times.blocks, 0.5)),
    }),
  );
} finally {
  await engine.close();
}
