/**
 * `bun run bench:compute`: one JSON object with the engine's headline numbers on the current adapter.
 * Not a test: numbers are for tracking regressions (lavapipe) and for GPU hosts.
 *   matmul GFLOP/s at LLaMA-2-7B projection shapes, prefill T=128;
 *   stories260K prefill tok/s at B=1 and B=16, T=256; one LLaMA-2-7B-shaped layer at T=128; peak host RSS;
 *   the matmuls and the layer again with bf16 weights kept 16-bit on the device (*_bf16_weights); the spread of
 *   the prefill times (*_range); greedy generation of 200 stories260K tokens from BOS, and how its decode steps
 *   ran (stories260k_decode_path: gen, step, blocks or kernels; see gpu/model.ts DecodePath).
 *
 * Under Bun the engine is a Node worker (Engine). Under Node, as on a GPU host reached through the benchmark kit
 * (scripts/device-kit.sh, scripts/device-bench.sh: Node and dawn.node, no Bun), it runs in this process (LocalEngine).
 */
import { defaultModelPath } from "@nas/model";
import { pseudoText } from "./inputs.ts";
import { inProcess, startEngine } from "./start-engine.ts";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const engine = await startEngine();
const a = engine.info;
const call = <T>(op: string, args: object) => engine.call(op, args) as Promise<T>;

// Medians over several repeats: on the shared 2-core CI host one run can differ from the next by 2x.
const mm1 = await call<{ gflops: number; batch: number }>("benchMatmul", { M: 128, N: 4096, K: 4096, repeats: 7 });
const mm2 = await call<{ gflops: number }>("benchMatmul", { M: 128, N: 11008, K: 4096, repeats: 5 });
// The same with bf16 weights (LLaMA-2-7B's checkpoint dtype) kept 16-bit on the device.
const mm1b = await call<{ gflops: number }>("benchMatmul", { M: 128, N: 4096, K: 4096, repeats: 7, weights: "bf16" });
const mm2b = await call<{ gflops: number }>("benchMatmul", { M: 128, N: 11008, K: 4096, repeats: 5, weights: "bf16" });

const model = await engine.load(defaultModelPath());
/**
 * Prefill tok/s of B sequences of T tokens: median, and the spread (tok/s at the 90th and 10th percentile of the
 * forward times). Warms up for >= 0.3 s, then times >= 1.5 s and >= 15 forwards: one B=1 forward is ~6 ms, and on
 * the shared 2-vCPU host whole stretches of ~0.1 s run at half speed (the guest packs both llvmpipe threads onto
 * one vCPU), so 15 forwards (the first version) gave a median of whichever stretch they fell into.
 */
async function prefill(B: number, T: number): Promise<{ median: number; range: [number, number] }> {
  const seqs = pseudoText(B, T, model.config.vocabSize);
  const forward = async () => {
    const t0 = performance.now();
    await model.forward(seqs, null, { scores: true });
    return performance.now() - t0;
  };
  for (let n = 0, spent = 0; n < 3 || spent < 300; n++) spent += await forward();
  const times: number[] = [];
  for (let spent = 0; times.length < 15 || spent < 1500; ) spent += times[times.push(await forward()) - 1];
  const tokS = (ms: number) => Math.round((B * T * 1000) / ms);
  const at = (q: number) => [...times].sort((a, b) => a - b)[Math.floor(q * (times.length - 1))];
  return { median: tokS(median(times)), range: [tokS(at(0.9)), tokS(at(0.1))] };
}
const b1 = await prefill(1, 256);
const b16 = await prefill(16, 256);
/** Greedy generation of n tokens from BOS: tok/s at the median of 10 calls after one warm-up. */
async function generate(n: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i <= 10; i++) {
    const t0 = performance.now();
    await model.generate([model.config.bosTokenId], null, n, false);
    if (i > 0) times.push(performance.now() - t0);
  }
  return Math.round((n * 1000) / median(times));
}
const gen200 = await generate(200);
await model.unload();
const layer = await call<{ ms: number }>("benchLayer", { T: 128, repeats: 2 });
const layerBf16 = await call<{ ms: number }>("benchLayer", { T: 128, repeats: 2, weights: "bf16" });
const mem = await engine.memory();
await engine.close();

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
console.log(
  JSON.stringify({
    adapter: `${a.vendor} ${a.architecture} ${a.description}`.trim(),
    engine: inProcess ? "node in-process" : "bun + node worker",
    matmul_gflops_4096x4096_t128: round(mm1.gflops),
    matmul_gflops_11008x4096_t128: round(mm2.gflops),
    stories260k_prefill_tok_s_b1_t256: b1.median,
    stories260k_prefill_tok_s_b16_t256: b16.median,
    llama7b_layer_ms_t128: round(layer.ms),
    matmul_gflops_4096x4096_t128_bf16_weights: round(mm1b.gflops),
    matmul_gflops_11008x4096_t128_bf16_weights: round(mm2b.gflops),
    llama7b_layer_ms_t128_bf16_weights: round(layerBf16.ms),
    // [slow, fast]: tok/s at the 90th and the 10th percentile of the timed forwards.
    stories260k_prefill_tok_s_b1_t256_range: b1.range,
    stories260k_prefill_tok_s_b16_t256_range: b16.range,
    stories260k_generate_tok_s_200: gen200,
    stories260k_decode_path: model.decodePath,
    // Back-to-back matmuls per submission in the matmul fields (gpu/bench.ts benchMatmul): 1 on lavapipe.
    matmul_batch_4096x4096: mm1.batch,
    // Host memory of both processes (Bun driver + Node engine worker); on lavapipe device memory is host memory.
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024 + mem.workerMaxRssMb),
    engine_peak_device_mb: Math.round(mem.peak / 2 ** 20),
  }),
);
