/**
 * `bun packages/compute/bench/profile.ts [--model DIR] [--B 1] [--T 256]`: where a forward's GPU time goes.
 * Prints one JSON object: wall ms of an unprofiled forward, the summed GPU ms of a profiled one, and per
 * kernel specialisation its dispatch count, total ms and share, hottest first. Not a test.
 */
import { parseArgs } from "node:util";
import { defaultModelPath } from "@nas/model";
import { Engine } from "../src/client.ts";
import { pseudoText } from "./inputs.ts";

const { values } = parseArgs({ options: { model: { type: "string" }, B: { type: "string", default: "1" }, T: { type: "string", default: "256" } } });
const B = Number(values.B), T = Number(values.T);
const engine = await Engine.start();
try {
  const model = await engine.load(values.model ?? defaultModelPath());
  const seqs = pseudoText(B, T, model.config.vocabSize);
  await model.forward(seqs, null, { scores: true }); // warm-up: pipelines, buffers
  const t0 = performance.now();
  await model.forward(seqs, null, { scores: true });
  const wallMs = performance.now() - t0;
  const dispatches = await model.profile(seqs, null, { scores: true });
  const byKernel = new Map<string, { count: number; ms: number }>();
  for (const d of dispatches) {
    const k = byKernel.get(d.kernel) ?? { count: 0, ms: 0 };
    k.count++;
    k.ms += d.ms;
    byKernel.set(d.kernel, k);
  }
  const gpuMs = dispatches.reduce((s, d) => s + d.ms, 0);
  const round = (x: number) => Math.round(x * 1000) / 1000;
  console.log(
    JSON.stringify(
      {
        adapter: engine.info.description,
        B,
        T,
        wall_ms: round(wallMs),
        gpu_ms: round(gpuMs),
        dispatches: dispatches.length,
        kernels: [...byKernel].sort((a, b) => b[1].ms - a[1].ms).map(([kernel, k]) => ({ kernel, count: k.count, ms: round(k.ms), share: round(k.ms / gpuMs) })),
      },
      null,
      1,
    ),
  );
} finally {
  await engine.close();
}
