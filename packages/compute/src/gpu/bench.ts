/**
 * Device-side benchmarks (run inside the engine worker so no IPC or upload is timed): matmul GFLOP/s on
 * LLaMA-2-7B projection shapes and one LLaMA-2-7B-shaped decoder layer with random weights.
 */
import { encodeTensor, normalizeSubnet, type LlamaConfig, type Tensor } from "@nas/model";
import type { Gpu } from "./device.ts";
import { encodeLinear } from "./linear.ts";
import { GpuModel } from "./model.ts";
import { Recorder } from "./recorder.ts";
import { uploadMatrix, uploadMatrix16 } from "./weights.ts";

function randomF32(n: number, scale: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 2 ** 32 - 0.5) * scale;
  }
  return a;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * y = x W^T with x [M, K], W [N, K] (f32, or bf16 values converted in-kernel): wall ms per matmul, the median of
 * `repeats` submissions after two warm-ups. Each submission holds `batch` back-to-back matmuls, batch chosen from
 * the second warm-up so that a submission lasts >= 20 ms: 1 on lavapipe (one 4096x4096 T=128 matmul takes ~100
 * ms), dozens on a GPU, where one matmul takes ~0.1 ms and a lone submission would mostly time its fixed cost
 * (submit, map, read back).
 */
export async function benchMatmul(gpu: Gpu, args: { M: number; N: number; K: number; repeats?: number; weights?: "f32" | "bf16" }): Promise<{ ms: number; gflops: number; batch: number }> {
  const { M, N, K } = args;
  const A = gpu.uploadStorage(randomF32(M * K, 2, 1), "bench.A");
  const W = args.weights === "bf16" ? uploadMatrix16(gpu, encodeTensor("bench.W", "BF16", [N, K], randomF32(N * K, 2, 2))) : uploadMatrix(gpu, "bench.W", randomF32(N * K, 2, 2), N, K);
  const C = gpu.createBuffer(M * N * 4, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC, "bench.C");
  const rec = new Recorder(gpu);
  const times: number[] = [];
  const submit = async (batch: number) => {
    for (let b = 0; b < batch; b++) encodeLinear(rec, A, 0, K, M, K, W, N, C, 0, N, false);
    const t0 = performance.now();
    await rec.run([{ buffer: C, offset: 0, size: 4 }]);
    return (performance.now() - t0) / batch;
  };
  let batch = 1;
  try {
    await submit(1); // compiles the pipeline
    batch = Math.min(64, Math.max(1, Math.ceil(20 / (await submit(1)))));
    for (let i = 0; i < (args.repeats ?? 5); i++) times.push(await submit(batch));
  } finally {
    rec.destroy();
    gpu.releaseBuffer(A);
    gpu.releaseBuffer(C);
    W.chunks.forEach((c) => gpu.releaseBuffer(c.buffer));
  }
  const ms = median(times);
  return { ms, gflops: (2 * M * N * K) / (ms * 1e6), batch };
}

/**
 * One decoder layer of LLaMA-2-7B shape (random weights, tiny vocab so the head is negligible) at T tokens, all T
 * rows through the whole layer (per-token scores: a last-logits forward would run the layer's queries, attention
 * and MLP on the last row only); `weights: "bf16"` stores the layer's matrices as bf16 (the checkpoint's dtype) on the device.
 */
export async function benchLlama7bLayer(gpu: Gpu, args: { T: number; repeats?: number; weights?: "f32" | "bf16"; blocks?: boolean }): Promise<{ ms: number }> {
  const D = 4096, FF = 11008, V = 64;
  const config: LlamaConfig = {
    architecture: "llama", hiddenSize: D, intermediateSize: FF, numLayers: 1, numHeads: 32, numKvHeads: 32, headDim: 128,
    vocabSize: V, maxPositions: 4096, rmsNormEps: 1e-5, rope: { theta: 10000 }, tieWordEmbeddings: false, bosTokenId: 1, eosTokenId: 2,
  };
  const t = (name: string, shape: number[], scale: number, seed: number): [string, Tensor] => {
    const f = randomF32(shape.reduce((a, b) => a * b, 1), scale, seed);
    const matrix = shape.length === 2 && name.startsWith("model.layers.");
    return [name, matrix && args.weights === "bf16" ? encodeTensor(name, "BF16", shape, f) : { name, dtype: "F32", shape, data: new Uint8Array(f.buffer) }];
  };
  const p = "model.layers.0.";
  const tensors = new Map<string, Tensor>([
    t("model.embed_tokens.weight", [V, D], 1, 1),
    t(`${p}input_layernorm.weight`, [D], 1, 2),
    t(`${p}self_attn.q_proj.weight`, [D, D], 0.03, 3),
    t(`${p}self_attn.k_proj.weight`, [D, D], 0.03, 4),
    t(`${p}self_attn.v_proj.weight`, [D, D], 0.03, 5),
    t(`${p}self_attn.o_proj.weight`, [D, D], 0.03, 6),
    t(`${p}post_attention_layernorm.weight`, [D], 1, 7),
    t(`${p}mlp.gate_proj.weight`, [FF, D], 0.03, 8),
    t(`${p}mlp.up_proj.weight`, [FF, D], 0.03, 9),
    t(`${p}mlp.down_proj.weight`, [D, FF], 0.03, 10),
    t("model.norm.weight", [D], 1, 11),
    t("lm_head.weight", [V, D], 0.03, 12),
  ]);
  const model = new GpuModel(gpu, config, tensors, { blocks: args.blocks });
  tensors.clear();
  const subnet = normalizeSubnet(config, null);
  const ids = Array.from({ length: args.T }, (_, i) => (i * 7) % V);
  const times: number[] = [];
  try {
    for (let i = 0; i <= (args.repeats ?? 3); i++) {
      const t0 = performance.now();
      await model.forward([ids], subnet, { scores: true });
      if (i > 0) times.push(performance.now() - t0);
    }
  } finally {
    model.destroy();
  }
  return { ms: median(times) };
}
