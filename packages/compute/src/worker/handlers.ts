/**
 * The engine's operations: one WebGPU device (created on first use) and the models uploaded to it, behind
 * named ops that take and return plain values. worker/main.ts serves them to the Bun side over framed pipes;
 * local.ts calls them in the same process (Node only: Bun cannot host dawn.node, see client.ts).
 * Requests run one at a time, in the order they came: GpuModel's scratch buffers serve one forward at a time.
 *
 * @example
 * const info = await handle("init", {}); // { vendor, architecture, description, backend, ... }
 */
import * as nasModel from "@nas/model";
import { normalizeSubnet, type Tensor } from "@nas/model";
import { canQuantizeQ8_0, quantizeTensorQ8_0 } from "@nas/export";
import { Gpu } from "../gpu/device.ts";
import { GpuModel } from "../gpu/model.ts";
import { runKernel, type KernelRun } from "../gpu/run-kernel.ts";
import { benchLlama7bLayer, benchMatmul } from "../gpu/bench.ts";
import { measureLatency, type LatencyOptions } from "../gpu/latency.ts";

let gpuPromise: Promise<Gpu> | null = null;
const models = new Map<number, GpuModel>();
let nextModelId = 1;

function gpu(): Promise<Gpu> {
  gpuPromise ??= Gpu.create();
  return gpuPromise;
}

function model(id: unknown): GpuModel {
  const m = models.get(Number(id));
  if (!m) throw new Error(`no model with id ${id} is loaded in the engine`);
  return m;
}

type Handler = (args: any) => Promise<unknown>;
const handlers: Record<string, Handler> = {
  async init() {
    return (await gpu()).info;
  },
  async load(args: { path: string; quant?: "q8_0"; permutation?: unknown; keep16?: boolean; blocks?: boolean; decode?: "gen" | "step" | "blocks" }) {
    if (args.keep16 !== undefined && typeof args.keep16 !== "boolean") throw new Error(`keep16 must be a boolean, got ${JSON.stringify(args.keep16)}`);
    if (args.blocks !== undefined && typeof args.blocks !== "boolean") throw new Error(`blocks must be a boolean, got ${JSON.stringify(args.blocks)}`);
    if (args.decode !== undefined && !["gen", "step", "blocks"].includes(args.decode)) throw new Error(`decode must be "gen", "step" or "blocks", got ${JSON.stringify(args.decode)}`);
    const g = await gpu();
    const t0 = performance.now();
    const loaded = await nasModel.loadModel(args.path);
    // Importance reordering before quantization: a Q8_0 block spans 32 columns, so columns must move first.
    if (args.permutation !== undefined) loaded.tensors = nasModel.applyPermutation(loaded.config, loaded.tensors, args.permutation as nasModel.ImportancePermutation);
    if (args.quant !== undefined && args.quant !== "q8_0") throw new Error(`unknown quant "${args.quant}" (expected q8_0)`);
    if (args.quant === "q8_0") {
      // Exactly the tensors a Q8_0 GGUF export quantizes: 2-D, rows of whole 32-value blocks.
      for (const [name, t] of loaded.tensors) {
        if (t.shape.length === 2 && canQuantizeQ8_0(t.shape)) loaded.tensors.set(name, quantizeTensorQ8_0(t) as Tensor);
      }
    }
    const m = new GpuModel(g, loaded.config, loaded.tensors, { keep16: args.keep16, blocks: args.blocks, decode: args.decode });
    const id = nextModelId++;
    models.set(id, m);
    return { id, config: loaded.config, source: loaded.source, uploadMs: performance.now() - t0, weightBytes: m.weights.bytes, decodePath: m.decodePath };
  },
  async unload(args: { id: number }) {
    model(args.id).destroy();
    models.delete(args.id);
    return true;
  },
  async forward(args: { id: number; sequences: number[][]; subnet: unknown; want: object }) {
    const m = model(args.id);
    return m.forward(args.sequences, normalizeSubnet(m.config, args.subnet as never), args.want);
  },
  async score(args: { id: number; groups: { prefix: number[]; continuations: number[][] }[]; subnet: unknown }) {
    const m = model(args.id);
    return m.scoreGroups(args.groups, normalizeSubnet(m.config, args.subnet as never));
  },
  async profile(args: { id: number; sequences: number[][]; subnet: unknown; want: object }) {
    const m = model(args.id);
    return m.profileForward(args.sequences, normalizeSubnet(m.config, args.subnet as never), args.want);
  },
  async generate(args: { id: number; prompt: number[]; subnet: unknown; maxNew: number; stopAtEos?: boolean }) {
    const m = model(args.id);
    const t0 = performance.now();
    const tokens = await m.generate(args.prompt, normalizeSubnet(m.config, args.subnet as never), args.maxNew, args.stopAtEos ?? true);
    return { tokens, ms: performance.now() - t0 };
  },
  async latency(args: { id: number; subnet: unknown; options?: LatencyOptions }) {
    const m = model(args.id);
    return measureLatency(m, normalizeSubnet(m.config, args.subnet as never), args.options);
  },
  async kernel(args: KernelRun) {
    return runKernel(await gpu(), args);
  },
  async benchMatmul(args: { M: number; N: number; K: number; repeats?: number; weights?: "f32" | "bf16" }) {
    return benchMatmul(await gpu(), args);
  },
  async benchLayer(args: { T: number; repeats?: number; weights?: "f32" | "bf16"; blocks?: boolean }) {
    return benchLlama7bLayer(await gpu(), args);
  },
  async memory() {
    const g = await gpu();
    return { allocated: g.bytesAllocated, peak: g.peakBytes, workerMaxRssMb: process.resourceUsage().maxRSS / 1024 };
  },
  async resetPeak() {
    (await gpu()).resetPeak();
    return true;
  },
  async shutdown() {
    for (const m of models.values()) m.destroy();
    models.clear();
    if (gpuPromise) (await gpuPromise).destroy();
    gpuPromise = null;
    return true;
  },
};

let queue: Promise<unknown> = Promise.resolve();

/** Run op `op` after every earlier request has finished; rejects with the op's error (or an unknown-op error). */
export function handle(op: string, args: unknown): Promise<unknown> {
  const run = queue.then(() => {
    const handler = handlers[op];
    if (!handler) throw new Error(`unknown engine op "${op}"`);
    return handler(args);
  });
  queue = run.catch(() => undefined); // one failed request must not stop the ones after it
  return run;
}
