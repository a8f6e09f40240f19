/**
 * `bun run bench:prefill [--B 1] [--T 256] [--n 300]`: the spread of stories260K prefill times, for looking at the
 * slow forwards rather than a headline number. Prints one JSON object: forward ms at the 10th/50th/90th
 * percentile, tok/s at the median and over all forwards (mean), and, where the engine runs in this process
 * (under Node), its GCs and CPU ms per forward. Not a test.
 *
 * In process under Node (what the GC numbers need), from the repo root:
 *   bun build packages/compute/bench/prefill.ts --target=node --format=esm --external webgpu \
 *     --outfile node_modules/.cache/nas-bench/prefill.mjs && node node_modules/.cache/nas-bench/prefill.mjs
 * A/B of Dawn's polling (gpu/poll.ts): prefix either command with NAS_POLL_SLEEP_US=0 (Dawn's spin).
 */
import { PerformanceObserver } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { defaultModelPath } from "@nas/model";
import { pseudoText } from "./inputs.ts";
import { inProcess, startEngine } from "./start-engine.ts";

const { values } = parseArgs({ options: { B: { type: "string", default: "1" }, T: { type: "string", default: "256" }, n: { type: "string", default: "300" } } });
const B = Number(values.B), T = Number(values.T), n = Number(values.n);
for (const [name, v] of [["B", B], ["T", T], ["n", n]] as const) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer, got ${values[name]}`);
}
const engine = await startEngine();
try {
  const model = await engine.load(defaultModelPath());
  if (T > model.config.maxPositions) throw new Error(`--T ${T} is above the model's ${model.config.maxPositions} positions`);
  const seqs = pseudoText(B, T, model.config.vocabSize);
  for (let i = 0; i < 20; i++) await model.forward(seqs, null, { scores: true }); // pipelines, buffers, JIT
  let gcs = 0, gcMs = 0;
  const observer = inProcess ? new PerformanceObserver((list) => list.getEntries().forEach((e) => (gcs++, (gcMs += e.duration)))) : null;
  observer?.observe({ entryTypes: ["gc"] });
  const cpu0 = process.cpuUsage();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await model.forward(seqs, null, { scores: true });
    times.push(performance.now() - t0);
  }
  const cpu = process.cpuUsage(cpu0);
  await new Promise((r) => setTimeout(r, 0)); // deliver the last GC entries
  observer?.disconnect();
  const sorted = [...times].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.floor(q * (n - 1))];
  const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
  const total = times.reduce((s, t) => s + t, 0);
  console.log(
    JSON.stringify({
      adapter: engine.info.description,
      engine: inProcess ? "node, in process" : "bun + node worker",
      B,
      T,
      forwards: n,
      ms_p10: round(at(0.1)),
      ms_p50: round(at(0.5)),
      ms_p90: round(at(0.9)),
      tok_s_median: Math.round((B * T * 1000) / at(0.5)),
      tok_s_mean: Math.round((n * B * T * 1000) / total),
      // The engine's own process only: under Bun it is a worker whose GCs and CPU this process cannot see.
      gc_count: inProcess ? gcs : null,
      gc_ms: inProcess ? round(gcMs, 1) : null,
      cpu_ms_per_forward: inProcess ? round((cpu.user + cpu.system) / 1000 / n) : null,
    }),
  );
} finally {
  await engine.close();
}
