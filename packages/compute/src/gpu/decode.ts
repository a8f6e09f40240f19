/**
 * One-row decode kernels (kernels/decode.wgsl) for CPU adapters, where every dispatch costs ~40 us of hand-off to
 * llvmpipe's threads and back, and a stories260K decode step was 16 of them around ~0.3 ms of work:
 * - STEP runs one decoder layer for one row in one dispatch (instead of PRE, attention and POST);
 * - GEN runs every decode step of a greedy generation in one dispatch, all kept layers and the argmax head
 *   included, over packed copies of the layer weights and norms (made once per model, on the device) and packed
 *   KV caches. gpu/model.ts uses GEN where the model qualifies (see canGenerate), else STEP per layer.
 * bench/decode.ts, 200 tokens from BOS: stories260K GEN 59-66 ms, STEP 144-156 ms, PRE/attention/POST 283-292 ms
 * (the same tokens); the bf16 GQA test model GEN 300-302, STEP 391-405, PRE/attention/POST 663-699 ms. GEN and
 * STEP run on one llvmpipe thread (one workgroup).
 */
import { BLOCK_CACHE_MAX_VEC4, blockFormat, cacheBlocks } from "./block.ts";
import type { Gpu } from "./device.ts";
import { matmulCaps, type MatmulCaps } from "./kernels.ts";
import { params, type Recorder } from "./recorder.ts";
import type { Specialization } from "./template.ts";
import type { DeviceWeights, LayerWeights, Matrix } from "./weights.ts";

/** Full widths the private rows are sized for: hidden size, MLP width, q and kv row widths, head dim. */
export interface DecodeWidths {
  D: number;
  ff: number;
  qDim: number;
  kvDim: number;
  headDim: number;
}

/** Storage buffers a STEP binds (x, two norms, seven matrices, k and v caches, cos, sin; EMBED: + ids, table). */
const STEP_STORAGE_BUFFERS = 14;
/** Storage buffers GEN binds (weights, norms, k, v, table, lm head, cos, sin, tokens, layer table). */
const GEN_STORAGE_BUFFERS = 10;
/** u32 words per kept layer in GEN's layer table (see kernels/decode.wgsl). */
const LAYER_WORDS = 16;
const F = 4;

/** vec4s of private memory per invocation: x and h, a, q, attention output and accumulators, k and v twice, per-head max and sum. */
const privateVec4 = (CA: number, CH: number, CQ: number, CK: number) => 2 * CA + CH + 3 * CQ + 4 * CK + CQ / 2;

/**
 * Specialisation of a STEP (`embed`: the row is gathered from the embedding table first) or GEN dispatch, or null
 * where the device lacks subgroups, the widths break the kernel's vec4 layout, the private rows exceed
 * BLOCK_CACHE_MAX_VEC4 or the bindings exceed the device's storage buffers per stage; also null unless every
 * subgroup is exactly WG invocations (one subgroup size, at most 64). The workgroup must be one whole subgroup:
 * with several, one subgroup's STEP can store x before another has read it (seen on lavapipe with WG 32 over
 * 8-wide subgroups: wrong keys); with a partial one, attention's lanes (keys sl, sl + sg, ...) miss keys.
 * @example
 * decodeSpec({ subgroups: true, subgroupMaxSize: 8 }, "step", "f32", false, { D: 64, ff: 172, qDim: 64, kvDim: 32, headDim: 8 })
 * // { STEP: true, GEN: false, EMBED: false, WG: 8, W16: false, WBF: false, CA: 16, CH: 64, CQ: 16, CK: 16, HD: 8 }
 */
export function decodeSpec(caps: MatmulCaps, mode: "step" | "gen", format: "f32" | "bf16" | "f16", embed: boolean, w: DecodeWidths, maxStorageBuffers = 16): Specialization | null {
  if (!caps.subgroups || (caps.subgroupMinSize ?? caps.subgroupMaxSize) !== caps.subgroupMaxSize || caps.subgroupMaxSize > 64) return null;
  if ([w.D, w.ff, w.qDim, w.kvDim].some((v) => !(v > 0 && v % 4 === 0)) || !(w.headDim > 0 && w.headDim % 8 === 0)) return null;
  const buffers = mode === "gen" ? GEN_STORAGE_BUFFERS : STEP_STORAGE_BUFFERS + (embed ? 2 : 0);
  if (buffers > maxStorageBuffers) return null;
  const CA = cacheBlocks(w.D), CH = cacheBlocks(w.ff), CQ = cacheBlocks(w.qDim), CK = cacheBlocks(w.kvDim);
  if (privateVec4(CA, CH, CQ, CK) > BLOCK_CACHE_MAX_VEC4) return null;
  const WG = Math.min(64, Math.max(8, caps.subgroupMaxSize));
  return { STEP: mode === "step", GEN: mode === "gen", EMBED: mode === "step" && embed, WG, W16: format !== "f32", WBF: format === "bf16", CA, CH, CQ, CK, HD: w.headDim };
}

/** Kept widths and strides of one layer of a sub-network, as the kernels read them. */
export interface DecodeLayerShape {
  D: number;
  qDim: number;
  kvDim: number;
  headDim: number;
  eps: number;
  /** Kept MLP width, and its zero-padded stride (a multiple of 4). */
  ff: number;
  ldh: number;
}

/** A STEP's row: its position, the cache row of its first key, the element of its own key (row * kvDim). */
export interface StepRow {
  pos: number;
  kvLo: number;
  kvOff: number;
}

/**
 * Record a STEP: x [1, D] (or with `embed` the embedding of ids[idOff]) through layer w; its key and value are
 * stored at element row.kvOff of k and v, it attends to cache rows row.kvLo .. kvOff / kvDim, x is updated in
 * place. Returns false (recording nothing) where decodeSpec refuses the layer.
 * @example
 * encodeStep(rec, shape, w, { x, k, v, cos, sin }, { pos: 7, kvLo: 0, kvOff: 7 * shape.kvDim })
 */
export function encodeStep(rec: Recorder, s: DecodeLayerShape, w: LayerWeights, b: { x: GPUBuffer; k: GPUBuffer; v: GPUBuffer; cos: GPUBuffer; sin: GPUBuffer }, row: StepRow, embed?: { ids: GPUBuffer; idOff: number; table: Matrix }): boolean {
  if (row.kvOff % s.kvDim !== 0 || row.kvOff / s.kvDim - row.kvLo !== row.pos) {
    throw new Error(`STEP row at position ${row.pos} must attend to ${row.pos + 1} keys, got cache rows ${row.kvLo}..${row.kvOff / s.kvDim}`);
  }
  const format = blockFormat(w);
  const device = rec.gpu.device;
  const table = embed?.table;
  if (table && (table.chunks.length !== 1 || (table.format ?? "f32") !== "f32")) return false;
  const spec = format && decodeSpec(matmulCaps(device), "step", format, embed !== undefined, { D: s.D, ff: w.gate.rows, qDim: w.q.rows, kvDim: w.k.rows, headDim: s.headDim }, device.limits.maxStorageBuffersPerShaderStage);
  if (!spec) return false;
  const p = params(s.D, s.headDim, { f32: s.eps }, { f32: 1 / Math.sqrt(s.headDim) }, row.pos, row.kvLo, embed?.idOff ?? 0, 0, s.qDim, s.kvDim, s.ldh, s.ff, w.o.cols, w.down.cols, row.kvOff, 0, 0, 0, 0, 0);
  const m = (x: Matrix) => x.chunks[0].buffer;
  const buffers = [b.x, w.attnNorm, w.mlpNorm, m(w.q), m(w.k), m(w.v), m(w.o), m(w.gate), m(w.up), m(w.down), b.k, b.v, b.cos, b.sin];
  if (embed) buffers.push(embed.ids, m(embed.table));
  rec.dispatch("decode", spec, p, buffers, [1, 1, 1]);
  return true;
}

/** The layer weights and norms of a model packed for GEN: one buffer each, with where every piece starts. */
export interface DecodePack {
  weights: GPUBuffer;
  norms: GPUBuffer;
  /** Per layer: first block (vec4 for f32, vec2u for 16-bit) of q, k, v, o, gate, up, down in `weights`. */
  matrixOffsets: number[][];
  /** Per layer: first vec4 of the attention and MLP norms in `norms`. */
  normOffsets: [number, number][];
  /** First vec4 of the final norm in `norms`. */
  finalNorm: number;
  format: "f32" | "bf16" | "f16";
  bytes: number;
}

/**
 * Whether GEN can run a model: every layer as blocks in one format, an f32 one-chunk embedding table, a one-chunk
 * lm head in the layers' format, the packed weights within one storage binding, and decodeSpec's limits for the
 * model's widest layer.
 */
export function canGenerate(gpu: Gpu, weights: DeviceWeights, blockLayers: boolean[], headDim: number): boolean {
  const format = weights.layers.length ? blockFormat(weights.layers[0]) : null;
  if (!format || !blockLayers.every(Boolean) || weights.layers.some((w) => blockFormat(w) !== format)) return false;
  const { embed, lmHead } = weights;
  if (embed.chunks.length !== 1 || (embed.format ?? "f32") !== "f32" || lmHead.chunks.length !== 1 || (lmHead.format ?? "f32") !== format) return false;
  if (packedWeightBytes(weights, format) > gpu.info.limits.maxStorageBufferBindingSize) return false;
  return genSpec(gpu, weights, headDim) !== null;
}

/** GEN's specialisation for this model (private rows sized for its widest layer). */
export function genSpec(gpu: Gpu, weights: DeviceWeights, headDim: number): Specialization | null {
  return widestSpec(gpu, weights, headDim, "gen");
}

/** Whether STEP can run the model's widest layer on this device (narrower ones then fit too). */
export function canStep(gpu: Gpu, weights: DeviceWeights, headDim: number): boolean {
  return weights.layers.length > 0 && widestSpec(gpu, weights, headDim, "step") !== null;
}

function widestSpec(gpu: Gpu, weights: DeviceWeights, headDim: number, mode: "step" | "gen"): Specialization | null {
  const format = blockFormat(weights.layers[0]);
  if (!format) return null;
  const widest = (f: (w: LayerWeights) => number) => Math.max(...weights.layers.map(f));
  const w = { D: weights.embed.cols, ff: widest((l) => l.gate.rows), qDim: widest((l) => l.q.rows), kvDim: widest((l) => l.k.rows), headDim };
  return decodeSpec(matmulCaps(gpu.device), mode, format, false, w, gpu.device.limits.maxStorageBuffersPerShaderStage);
}

const matricesOf = (w: LayerWeights): Matrix[] => [w.q, w.k, w.v, w.o, w.gate, w.up, w.down];
/** Bytes of one block (4 values) of a weight format. */
const blockBytes = (format: "f32" | "bf16" | "f16") => (format === "f32" ? 16 : 8);
const packedWeightBytes = (weights: DeviceWeights, format: "f32" | "bf16" | "f16") =>
  weights.layers.reduce((n, w) => n + matricesOf(w).reduce((m, x) => m + ((x.rows * x.cols) / 4) * blockBytes(format), 0), 0);

/**
 * Pack a model's layer weights and norms for GEN (check canGenerate first): device-side copies in a submission of
 * their own, so whatever later work reads them is queued after them. The buffers are the caller's to release.
 */
export function packForGenerate(gpu: Gpu, weights: DeviceWeights): DecodePack {
  const format = blockFormat(weights.layers[0])!;
  const D = weights.embed.cols;
  const bb = blockBytes(format);
  const bytes = packedWeightBytes(weights, format);
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
  const packed = gpu.createBuffer(bytes, usage, "decode.weights");
  const norms = gpu.createBuffer((2 * weights.layers.length + 1) * D * F, usage, "decode.norms");
  const encoder = gpu.device.createCommandEncoder({ label: "decode.pack" });
  const matrixOffsets: number[][] = [];
  const normOffsets: [number, number][] = [];
  let block = 0;
  weights.layers.forEach((w, l) => {
    matrixOffsets.push(
      matricesOf(w).map((m) => {
        const start = block;
        const size = ((m.rows * m.cols) / 4) * bb;
        encoder.copyBufferToBuffer(m.chunks[0].buffer, 0, packed, start * bb, size);
        block += size / bb;
        return start;
      }),
    );
    encoder.copyBufferToBuffer(w.attnNorm, 0, norms, 2 * l * D * F, D * F);
    encoder.copyBufferToBuffer(w.mlpNorm, 0, norms, (2 * l + 1) * D * F, D * F);
    normOffsets.push([(2 * l * D) / 4, ((2 * l + 1) * D) / 4]);
  });
  const finalNorm = (2 * weights.layers.length * D) / 4;
  encoder.copyBufferToBuffer(weights.norm, 0, norms, finalNorm * 16, D * F);
  gpu.device.queue.submit([encoder.finish()]);
  return { weights: packed, norms, matrixOffsets, normOffsets, finalNorm, format, bytes: bytes + (2 * weights.layers.length + 1) * D * F };
}

/** One kept layer's entry in GEN's layer table: where its pieces start, its kept widths, its weights' strides. */
export interface GenLayer {
  /** First block of q, k, v, o, gate, up, down in the packed weights (DecodePack.matrixOffsets[layer]). */
  matrices: number[];
  /** First vec4 of its attention and MLP norms in the packed norms. */
  norms: [number, number];
  qDim: number;
  kvDim: number;
  /** Kept MLP width. */
  ff: number;
  /** Row strides of Wo (its full q width) and Wd (its full MLP width). */
  oLdw: number;
  dLdw: number;
  /** First vec4 of its cache region in the packed k and v. */
  kvBase: number;
}

/**
 * GEN's layer table: LAYER_WORDS u32 per kept layer, in the order kernels/decode.wgsl reads them.
 * @example
 * genLayerTable([{ matrices: [0, 1024, 1536, 2048, 3072, 5824, 8576], norms: [0, 16], qDim: 64, kvDim: 32, ff: 172, oLdw: 64, dLdw: 172, kvBase: 0 }])
 */
export function genLayerTable(layers: GenLayer[]): Uint32Array {
  const t = new Uint32Array(layers.length * LAYER_WORDS);
  layers.forEach((g, i) => {
    if (g.matrices.length !== 7) throw new Error(`GEN layer ${i}: 7 matrix offsets expected, got ${g.matrices.length}`);
    t.set([...g.matrices, ...g.norms, g.qDim, g.kvDim, Math.ceil(g.ff / 4) * 4, g.ff, g.oLdw, g.dLdw, g.kvBase], i * LAYER_WORDS);
  });
  return t;
}

/**
 * Record GEN: `steps` greedy decode steps from position pos (its token already in tokens[pos]); step t writes
 * tokens[pos + t + 1]. k and v hold every kept layer's cache region (rows 0 .. pos - 1 filled), as the table says.
 */
export function encodeGen(rec: Recorder, spec: Specialization, pack: DecodePack, s: { D: number; headDim: number; eps: number; V: number; ldv: number; pos: number; steps: number; layers: number }, b: { k: GPUBuffer; v: GPUBuffer; table: GPUBuffer; lmHead: GPUBuffer; cos: GPUBuffer; sin: GPUBuffer; tokens: GPUBuffer; layerTable: GPUBuffer }): void {
  const p = params(s.D, s.headDim, { f32: s.eps }, { f32: 1 / Math.sqrt(s.headDim) }, s.pos, 0, 0, s.steps, 0, 0, 0, 0, 0, 0, 0, s.layers, s.V, s.ldv, pack.finalNorm, 0);
  rec.dispatch("decode", spec, p, [pack.weights, pack.norms, b.k, b.v, b.table, b.lmHead, b.cos, b.sin, b.tokens, b.layerTable], [1, 1, 1]);
}
