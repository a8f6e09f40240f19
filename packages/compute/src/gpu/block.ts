/**
 * Row-local decoder-layer halves (kernels/block.wgsl) for CPU adapters: a layer becomes three dispatches
 * (PRE: norm, q/k/v, RoPE; attention; POST: output projection, norm, SwiGLU MLP, residual adds) instead of
 * eleven, the embedding gather folds into the first PRE (EMBED), and the scoring head (final norm, lm head,
 * log-softmax of the targets, argmax) is one dispatch instead of three that never stores logits. On lavapipe
 * every dispatch costs ~25-60 us of thread hand-offs whatever its size, a third of a stories260K forward at
 * B = 1, T = 256 when it was 59 dispatches (now 16). The kernel spreads only rows over workgroups (32 per
 * workgroup), so it would starve a GPU: gpu/model.ts picks it on CPU adapters alone (see ModelOptions.blocks).
 * The encoders ask for CACHE (h and a in private memory, see the kernel) wherever it fits. Same process,
 * alternating, B = 1, T = 256: stories260K GPU time p10 6.49 -> 5.31 ms, p50 8.98 -> 7.60 ms (POST 1.2x, HEAD
 * 1.33x); the tiny GQA model p10 40.5 -> 29.5 ms (POST 1.5x). Decode steps (one row) run as gpu/decode.ts's STEP or GEN.
 */
import type { Gpu } from "./device.ts";
import { matmulCaps, type MatmulCaps } from "./kernels.ts";
import type { Specialization } from "./template.ts";
import { params, type Recorder } from "./recorder.ts";
import type { LayerWeights, Matrix } from "./weights.ts";

/** Storage buffers the PRE half binds (x, norm, h, Wq, Wk, Wv, q, k, v, tokInfo, cos, sin). */
const PRE_STORAGE_BUFFERS = 12;
const MAX_GROUPS = 65535;
/**
 * Private-memory budget of the CACHE specialisation, in vec4s per invocation: rows per invocation x (CA + CH),
 * 24 KiB per invocation, 192 KiB per 8-invocation batch on an llvmpipe thread's stack. stories260K takes
 * 4 x (16 + 64), the tiny GQA test model 4 x (64 + 256); wider layers keep h and a in storage.
 */
export const BLOCK_CACHE_MAX_VEC4 = 1536;
/** Cache rows are sized in powers of two from 16 vec4s, so random test shapes and sub-networks share pipelines. */
export const cacheBlocks = (values: number) => (values <= 0 ? 0 : Math.max(16, 2 ** Math.ceil(Math.log2(values / 4))));

/** The formats the block kernel reads: one f32 or 16-bit format for all seven matrices. */
export function blockFormat(w: LayerWeights): "f32" | "bf16" | "f16" | null {
  const ms: Matrix[] = [w.q, w.k, w.v, w.o, w.gate, w.up, w.down];
  const f = w.q.format ?? "f32";
  if (f === "q8_0" || ms.some((m) => (m.format ?? "f32") !== f)) return null;
  return f;
}

/**
 * Whether a layer can run as block halves on this device: subgroups of at least 8, 12 storage buffers per stage,
 * every matrix in one chunk and one f32/bf16/f16 format, and the widths the kernel's vec4 loads need (hidden
 * size, head dim / 2 and the MLP's full width multiples of 4).
 * @example
 * canRunBlocks(gpu, model.weights.layers[0], 64, 8) // true for stories260K on lavapipe
 */
export function canRunBlocks(gpu: Gpu, w: LayerWeights, hiddenSize: number, headDim: number): boolean {
  const caps = matmulCaps(gpu.device);
  const ms: Matrix[] = [w.q, w.k, w.v, w.o, w.gate, w.up, w.down];
  return (
    caps.subgroups &&
    gpu.device.limits.maxStorageBuffersPerShaderStage >= PRE_STORAGE_BUFFERS &&
    blockFormat(w) !== null &&
    ms.every((m) => m.chunks.length === 1) &&
    hiddenSize % 4 === 0 &&
    headDim % 8 === 0 &&
    w.gate.rows % 4 === 0 &&
    w.gate.rows === w.up.rows &&
    w.o.cols % 4 === 0 &&
    w.down.cols % 4 === 0
  );
}

/**
 * Block specialisation: the PRE (with EMBED: gathering x first), POST or HEAD part, 4 rows per invocation from
 * 64 rows (1 below, so a few rows still make several workgroups), the workgroup one subgroup wide, W16/WBF for
 * 16-bit weights; with `widths` (hidden size D, and for POST the MLP's full width ff), CACHE keeps the normalised
 * rows (and POST's SwiGLU rows) in private memory when they fit BLOCK_CACHE_MAX_VEC4: CA (CH) vec4s per row, D / 4
 * (ff / 4) rounded up to a power of two from 16.
 * @example
 * blockSpec({ subgroups: true, subgroupMaxSize: 8 }, "pre", 256, "f32") // { PRE: true, EMBED: false, POST: false, HEAD: false, L4: true, WG: 8, W16: false, WBF: false, CACHE: false, CA: 0, CH: 0 }
 * blockSpec({ subgroups: true, subgroupMaxSize: 8 }, "post", 256, "f32", false, { D: 64, ff: 172 }) // { ..., CACHE: true, CA: 16, CH: 64 }
 */
export function blockSpec(caps: MatmulCaps, part: "pre" | "post" | "head", M: number, format: "f32" | "bf16" | "f16", embed = false, widths?: { D: number; ff?: number }): Specialization {
  const WG = Math.min(64, Math.max(8, caps.subgroupMaxSize));
  const L4 = M >= 64;
  if (widths && (widths.D % 4 !== 0 || widths.D <= 0 || (part === "post" && !((widths.ff ?? 0) > 0 && widths.ff! % 4 === 0)))) {
    throw new Error(`block cache widths must be positive multiples of 4 (POST needs ff), got ${JSON.stringify(widths)}`);
  }
  const CA = widths ? cacheBlocks(widths.D) : 0;
  const CH = widths && part === "post" ? cacheBlocks(widths.ff!) : 0;
  const CACHE = widths !== undefined && (L4 ? 4 : 1) * (CA + CH) <= BLOCK_CACHE_MAX_VEC4;
  return { PRE: part === "pre", EMBED: part === "pre" && embed, POST: part === "post", HEAD: part === "head", L4, WG, W16: format !== "f32", WBF: format === "bf16", CACHE, CA: CACHE ? CA : 0, CH: CACHE ? CH : 0 };
}

/** Workgroup grid of a block dispatch over M rows (WG or 4 WG rows per workgroup). */
export function blockGroups(spec: Specialization, M: number): [number, number, number] {
  const rows = Number(spec.WG) * (spec.L4 ? 4 : 1);
  const groups = Math.ceil(M / rows);
  if (groups > MAX_GROUPS) throw new Error(`layer block over ${M} rows needs ${groups} workgroups, above ${MAX_GROUPS}`);
  return [groups, 1, 1];
}

/** Shapes of one layer's halves: M rows, q/kv widths, the kept MLP width ff and its zero-padded stride ldh. */
export interface BlockShape {
  M: number;
  D: number;
  qDim: number;
  kvDim: number;
  headDim: number;
  eps: number;
  /** tokInfo row of the first of the M rows. */
  infoOff: number;
  /** Element where row 0's keys/values go in k and v (a KV cache's row offset times kvDim). */
  kvOff: number;
  ff: number;
  ldh: number;
}

function blockParams(s: BlockShape, w: LayerWeights, idOff = 0): ArrayBuffer {
  return params(s.M, s.D, s.qDim, s.kvDim, s.ldh, s.ff, { f32: s.eps }, s.infoOff, s.kvOff, s.headDim, w.o.cols, w.down.cols, idOff);
}

/** Whether PRE can gather x itself from this embedding table: one f32 chunk (rows are read by token id), 14 bindings. */
export function canEmbedInBlock(gpu: Gpu, embed: Matrix): boolean {
  return gpu.device.limits.maxStorageBuffersPerShaderStage >= PRE_STORAGE_BUFFERS + 2 && embed.chunks.length === 1 && (embed.format ?? "f32") === "f32" && embed.cols % 4 === 0;
}

/**
 * Record PRE: h = RMSNorm(x) (attnNorm), q [M, qDim], k and v [.., kvDim] from element kvOff, RoPE on q and k.
 * With `embed`, x [M, D] is first written as the embedding rows of tokens ids[idOff + m] (see canEmbedInBlock).
 * @example
 * encodeBlockPre(rec, shape, w, { x, h, q, k, v, info, cos, sin }, { ids, idOff: 0, table: weights.embed });
 */
export function encodeBlockPre(rec: Recorder, s: BlockShape, w: LayerWeights, b: { x: GPUBuffer; h: GPUBuffer; q: GPUBuffer; k: GPUBuffer; v: GPUBuffer; info: GPUBuffer; cos: GPUBuffer; sin: GPUBuffer }, embed?: { ids: GPUBuffer; idOff: number; table: Matrix }): void {
  const spec = blockSpec(matmulCaps(rec.gpu.device), "pre", s.M, blockFormat(w)!, embed !== undefined, { D: s.D });
  const buffers = [b.x, w.attnNorm, spec.CACHE ? null : b.h, w.q.chunks[0].buffer, w.k.chunks[0].buffer, w.v.chunks[0].buffer, b.q, b.k, b.v, b.info, b.cos, b.sin];
  if (embed) buffers.push(embed.ids, embed.table.chunks[0].buffer);
  rec.dispatch("block", spec, blockParams(s, w, embed?.idOff ?? 0), buffers, blockGroups(spec, s.M));
}

/**
 * Record POST: x += att Wo^T; h = RMSNorm(x) (mlpNorm); a [M, ldh] = silu(h Wg^T) * (h Wu^T) (0 past ff);
 * x += a Wd^T.
 */
export function encodeBlockPost(rec: Recorder, s: BlockShape, w: LayerWeights, b: { att: GPUBuffer; x: GPUBuffer; h: GPUBuffer; a: GPUBuffer }): void {
  const spec = blockSpec(matmulCaps(rec.gpu.device), "post", s.M, blockFormat(w)!, false, { D: s.D, ff: w.gate.rows });
  const cached = spec.CACHE === true;
  const buffers = [b.att, b.x, w.mlpNorm, cached ? null : b.h, w.o.chunks[0].buffer, w.gate.chunks[0].buffer, w.up.chunks[0].buffer, w.down.chunks[0].buffer, cached ? null : b.a];
  rec.dispatch("block", spec, blockParams(s, w), buffers, blockGroups(spec, s.M));
}

/** Whether the scoring head can run as one HEAD block: the block kernel's device needs, lm head in one chunk, f32/16-bit. */
export function canRunHead(gpu: Gpu, lmHead: Matrix, hiddenSize: number): boolean {
  return matmulCaps(gpu.device).subgroups && lmHead.format !== "q8_0" && lmHead.chunks.length === 1 && hiddenSize % 4 === 0 && lmHead.cols % 4 === 0;
}

/**
 * Record HEAD over M rows of x [M, D]: h = RMSNorm(x) (norm), logits = h lmHead^T (never stored); writes
 * logprob[outOff + m] = log p(targets[outOff + m]) (when the target is < V) and argmax[outOff + m]. h is written
 * to b.h only with `writeH` (for logits computed after it); otherwise it stays in private memory where it fits.
 * @example
 * encodeHead(rec, { M, D, V, eps, outOff: 0 }, weights.norm, weights.lmHead, { x, h, targets, logprob, argmax });
 */
export function encodeHead(rec: Recorder, s: { M: number; D: number; V: number; eps: number; outOff: number }, norm: GPUBuffer, lmHead: Matrix, b: { x: GPUBuffer; h: GPUBuffer; targets: GPUBuffer; logprob: GPUBuffer; argmax: GPUBuffer }, writeH = false): void {
  const format = lmHead.format === "bf16" || lmHead.format === "f16" ? lmHead.format : "f32";
  const spec = blockSpec(matmulCaps(rec.gpu.device), "head", s.M, format, false, writeH ? undefined : { D: s.D });
  const p = params(s.M, s.D, s.V, lmHead.cols, { f32: s.eps }, s.outOff, 0, 0);
  rec.dispatch("block", spec, p, [b.x, norm, spec.CACHE ? null : b.h, lmHead.chunks[0].buffer, b.targets, b.logprob, b.argmax], blockGroups(spec, s.M));
}
