/**
 * `bun run bench:compute`: one JSON object with the engine's headline numbers on the current adapter.
 * Not a test: numbers are for tracking regressions (lavapipe) and for GPU hosts.
 *   matmul GFLOP/s at LLaMA-2-7B projection shapes, prefill T=128;
 *   stories260K prefill tok/s at B=1 and B=16, T=256; one LLaMA-2-7B-shaped layer at T=128; peak host RSS;
 *   the matmuls and the layer again with bf16 weights kept 16-bit on the device (*_bf16_weights).
 */
import { defaultModelPath } from "@nas/model";
import { Engine } from "../src/client.ts";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const engine = await Engine.start();
const a = engine.info;
const call = <T>(op: string, args: object) => engine.call(op, args) as Promise<T>;

// Medians over several repeats: on the shared 2-core CI host one run can differ from the next by 2x.
const mm1 = await call<{ gflops: number }>("benchMatmul", { M: 128, N: 4096, K: 4096, repeats: 7 });
const mm2 = await call<{ gflops: number }>("benchMatmul", { M: 128, N: 11008, K: 4096, repeats: 5 });
// The same with bf16 weights (LLaMA-2-7B's checkpoint dtype) kept 16-bit on the device.
const mm1b = await call<{ gflops: number }>("benchMatmul", { M: 128, N: 4096, K: 4096, repeats: 7, weights: "bf16" });
const mm2b = await call<{ gflops: number }>("benchMatmul", { M: 128, N: 11008, K: 4096, repeats: 5, weights: "bf16" });

const model = await engine.load(defaultModelPath());
async function prefill(B: number, T: number): Promise<number> {
  // Deterministic pseudo-text ids (not BOS-only) so attention sees full-length sequences.
  const seqs = Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => (t === 0 ? 1 : 3 + ((t * 31 + b * 17) % 500))));
  const times: number[] = [];
  for (let i = 0; i <= (B === 1 ? 15 : 7); i++) {
    const t0 = performance.now();
    await model.forward(seqs, null, { scores: true });
    if (i > 0) times.push(performance.now() - t0);
  }
  return (B * T * 1000) / median(times);
}
const b1 = await prefill(1, 256);
const b16 = await prefill(16, 256);
await model.unload();
const layer = await call<{ ms: number }>("benchLayer", { T: 128, repeats: 2 });
const layerBf16 = await call<{ ms: number }>("benchLayer", { T: 128, repeats: 2, weights: "bf16" });
const mem = await engine.memory();
await engine.close();

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
console.log(
  JSON.stringify({
    adapter: `${a.vendor} ${a.architecture} ${a.description}`.trim(),
    matmul_gflops_4096x4096_t128: round(mm1.gflops),
    matmul_gflops_11008x4096_t128: round(mm2.gflops),
    stories260k_prefill_tok_s_b1_t256: Math.round(b1),
    stories260k_prefill_tok_s_b16_t256: Math.round(b16),
    llama7b_layer_ms_t128: round(layer.ms),
    matmul_gflops_4096x4096_t128_bf16_weights: round(mm1b.gflops),
    matmul_gflops_11008x4096_t128_bf16_weights: round(mm2b.gflops),
    llama7b_layer_ms_t128_bf16_weights: round(layerBf16.ms),
    // Host memory of both processes (Bun driver + Node engine worker); on lavapipe device memory is host memory.
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024 + mem.workerMaxRssMb),
    engine_peak_device_mb: Math.round(mem.peak / 2 ** 20),
  }),
);
