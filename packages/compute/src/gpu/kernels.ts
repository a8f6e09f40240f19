import attentionWgsl from "../../../../kernels/attention.wgsl" with { type: "text" };
import blockWgsl from "../../../../kernels/block.wgsl" with { type: "text" };
import decodeWgsl from "../../../../kernels/decode.wgsl" with { type: "text" };
import embeddingWgsl from "../../../../kernels/embedding.wgsl" with { type: "text" };
import logsoftmaxWgsl from "../../../../kernels/logsoftmax.wgsl" with { type: "text" };
import matmulWgsl from "../../../../kernels/matmul.wgsl" with { type: "text" };
import matmulQ8Wgsl from "../../../../kernels/matmul_q8.wgsl" with { type: "text" };
import ropeWgsl from "../../../../kernels/rope.wgsl" with { type: "text" };
import rmsnormWgsl from "../../../../kernels/rmsnorm.wgsl" with { type: "text" };
import swigluWgsl from "../../../../kernels/swiglu.wgsl" with { type: "text" };
import weights16Wgsl from "../../../../kernels/weights16.wgsl" with { type: "text" };
import { expandTemplate, specKey, type Specialization } from "./template.ts";

/** Kernel families: one WGSL file each in kernels/. */
export const kernelSources = {
  attention: attentionWgsl,
  block: blockWgsl,
  decode: decodeWgsl,
  embedding: embeddingWgsl,
  logsoftmax: logsoftmaxWgsl,
  matmul: matmulWgsl,
  matmul_q8: matmulQ8Wgsl,
  rope: ropeWgsl,
  rmsnorm: rmsnormWgsl,
  swiglu: swigluWgsl,
} as const;
export type KernelFamily = keyof typeof kernelSources;
/** WGSL fragments that kernels splice in with `//#include NAME` (see template.ts). */
export const kernelFragments: Record<string, string> = { weights16: weights16Wgsl };

/** A compiled kernel and the layout of its one bind group (see bindGroupLayoutEntries). */
export interface Pipeline {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

/**
 * The bind group layout a kernel declares, read from its expanded WGSL: binding 0 is the parameter struct
 * (a uniform with a dynamic offset, so one bind group serves every parameter slot of a recording), the others
 * read-only or read-write storage. Kernels declare bindings as `@group(0) @binding(n) var<uniform>` or
 * `var<storage, read | read_write>`; anything else is refused rather than guessed.
 * @example
 * bindGroupLayoutEntries("@group(0) @binding(0) var<uniform> p: P;\n@group(0) @binding(1) var<storage, read> x: array<f32>;")
 * // [{ binding: 0, visibility: COMPUTE, buffer: { type: "uniform", hasDynamicOffset: true } }, { binding: 1, ..., buffer: { type: "read-only-storage" } }]
 */
export function bindGroupLayoutEntries(code: string): GPUBindGroupLayoutEntry[] {
  const entries: GPUBindGroupLayoutEntry[] = [];
  for (const m of code.matchAll(/@group\((\d+)\)\s*@binding\((\d+)\)\s*var(<[^>]*>)?/g)) {
    const [, group, binding, space] = m;
    const type = space === "<uniform>" ? "uniform" : space === "<storage, read>" ? "read-only-storage" : space === "<storage, read_write>" ? "storage" : null;
    if (group !== "0" || type === null || (type === "uniform") !== (binding === "0")) {
      throw new Error(`kernel binding "${m[0]}": expected group 0, a uniform at binding 0 and storage buffers elsewhere`);
    }
    // 4 = GPUShaderStage.COMPUTE (the constant is not a global in every runtime that loads this file).
    entries.push({ binding: Number(binding), visibility: 4, buffer: type === "uniform" ? { type, hasDynamicOffset: true } : { type } });
  }
  return entries;
}

/** Pipelines compiled once per (family, specialisation) and reused for the life of the device. */
export class PipelineCache {
  private pipelines = new Map<string, Pipeline>();
  constructor(private device: GPUDevice) {}

  get(family: KernelFamily, spec: Specialization = {}): Pipeline {
    const key = specKey(family, spec);
    let entry = this.pipelines.get(key);
    if (!entry) {
      const code = expandTemplate(kernelSources[family], spec, kernelFragments);
      const module = this.device.createShaderModule({ code, label: key });
      const layout = this.device.createBindGroupLayout({ entries: bindGroupLayoutEntries(code), label: key });
      const pipeline = this.device.createComputePipeline({ layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout], label: key }), compute: { module, entryPoint: "main" }, label: key });
      entry = { pipeline, layout };
      this.pipelines.set(key, entry);
    }
    return entry;
  }

  get size(): number {
    return this.pipelines.size;
  }
}

/** What the device offers the matmul kernel. */
export interface MatmulCaps {
  /** The subgroups feature is enabled and every subgroup has at least 8 invocations (the COOP variant). */
  subgroups: boolean;
  /** Largest subgroup size the device may use (0 without subgroups); sets the COOP workgroup size. */
  subgroupMaxSize: number;
  /**
   * Smallest subgroup size the device may use. Default: subgroupMaxSize. Where it is smaller (AMD's wave32/64,
   * Intel's 8/16/32), a workgroup of subgroupMaxSize invocations may hold several subgroups.
   */
  subgroupMinSize?: number;
}

/**
 * Read the matmul-relevant capabilities of a device (Dawn reports the subgroup size range in adapterInfo).
 * @example
 * matmulCaps(gpu.device) // { subgroups: true, subgroupMaxSize: 8, subgroupMinSize: 8 } on lavapipe
 */
export function matmulCaps(device: GPUDevice): MatmulCaps {
  const info = (device as { adapterInfo?: { subgroupMinSize?: number; subgroupMaxSize?: number } }).adapterInfo;
  const subgroups = device.features.has("subgroups") && (info?.subgroupMinSize ?? 0) >= 8;
  return { subgroups, subgroupMaxSize: subgroups ? (info?.subgroupMaxSize ?? 0) : 0, subgroupMinSize: subgroups ? (info?.subgroupMinSize ?? 0) : 0 };
}

/** Problem shape of one matmul dispatch (see kernels/matmul.wgsl) plus the device's MatmulCaps (default: none). */
export interface MatmulShape extends Partial<MatmulCaps> {
  M: number;
  /** Output columns of this dispatch, and C's row stride and start element (for vec4 stores). */
  N: number;
  ldc: number;
  cOff: number;
  K: number;
  lda: number;
  ldw: number;
  aOff: number;
  accumulate: boolean;
  /** W's storage: f32 (default) or 16-bit values converted in-kernel. */
  w16?: "bf16" | "f16";
  /** Gate and up projections in one dispatch with the SwiGLU epilogue (binding 4 is up; N counts outputs). */
  glu?: boolean;
}

/**
 * Matmul specialisation for a problem shape. Measured on lavapipe (packages/compute/bench/matmul.ts):
 * - M >= 2 with subgroups: COOP, 32 columns per workgroup (G4: 4 W loads per k block; 16 columns when N <= 16,
 *   where 32 would be mostly padding) shared through subgroupBroadcast, L rows per invocation: 4 from M = 64, 2
 *   from M = 16, 1 below (where more rows would mostly be padding). Against the earlier 4-row x 16-column tile,
 *   the 32-column one measured +7-14% on stories260K's K = 64 shapes, +5-25% at M = 8 and 32, and against an
 *   8-row x 32-column tile (more accumulators than registers) +38% at 128 x 4096 x 4096 and 2.5x on the down
 *   projection (side-by-side in one process, lavapipe). The workgroup is one subgroup wide (8 on lavapipe,
 *   where 8 and 64 measure the same and 8 pads a small batch least; at most 64).
 * - M = 1 (decode): lanes take 4 columns each. Every weight is loaded once either way, and this variant has no
 *   padded rows (COOP at M = 1 measured 0.6x of it).
 * - no subgroups: lanes take 4 columns, the workgroup shares 4 rows (2-3x the old 4x8 row tiles there).
 * VEC4 when every K-direction offset is 4-aligned (vec4 loads), else scalar loads with a zero-padded last block.
 * VEC4C (COOP only) when N, ldc and cOff are multiples of 4: 4 vec4 stores per row instead of 16 scalar ones
 * (+5-20% at K = 64, where the epilogue is a large share).
 * GLU (gate and up in one dispatch, SwiGLU in the epilogue): the tile's W loads are split between gate and up
 * rows, so a workgroup writes half as many output columns (16, or 8 without G4) from the same loads.
 * @example
 * matmulSpec({ M: 128, N: 4096, ldc: 4096, cOff: 0, K: 4096, lda: 4096, ldw: 4096, aOff: 0, accumulate: false, subgroups: true, subgroupMaxSize: 8 })
 * // { COOP: true, G4: true, L: 4, L2: true, L4: true, WG: 8, VEC4: true, VEC4C: true, ACCUM: false, W16: false, WBF: false, GLU: false }
 */
export function matmulSpec(s: MatmulShape): Specialization {
  const vec4 = s.K % 4 === 0 && s.lda % 4 === 0 && s.ldw % 4 === 0 && s.aOff % 4 === 0;
  if (s.subgroups && s.M >= 2) {
    const L = s.M >= 64 ? 4 : s.M >= 16 ? 2 : 1;
    const WG = Math.min(64, Math.max(8, s.subgroupMaxSize ?? 8));
    const vec4c = s.N % 4 === 0 && s.ldc % 4 === 0 && s.cOff % 4 === 0;
    const G4 = s.N > (s.glu ? 8 : 16);
    return { COOP: true, G4, L, L2: L >= 2, L4: L === 4, WG, VEC4: vec4, VEC4C: vec4c, ACCUM: s.accumulate, W16: s.w16 !== undefined, WBF: s.w16 === "bf16", GLU: s.glu === true };
  }
  const TM = s.M === 1 ? 1 : 4;
  return { COOP: false, G4: false, L2: false, L4: false, TM, TN: 4, WG: 64, VEC4: vec4, VEC4C: false, ACCUM: s.accumulate, W16: s.w16 !== undefined, WBF: s.w16 === "bf16", GLU: s.glu === true };
}

const MAX_GROUPS = 65535; // maxComputeWorkgroupsPerDimension

/**
 * Workgroup grid of a matmul dispatch with specialisation `spec` over M rows and N columns. Throws when a
 * dimension would exceed the 65535 limit (COOP: M above WG * L * 65535 rows, or N above 65535 column tiles).
 * @example
 * matmulGroups(matmulSpec({ M: 128, N: 512, ldc: 512, cOff: 0, K: 64, lda: 64, ldw: 64, aOff: 0, accumulate: false, subgroups: true, subgroupMaxSize: 8 }), 128, 512) // [4, 16, 1]
 */
export function matmulGroups(spec: Specialization, M: number, N: number): [number, number, number] {
  const WG = Number(spec.WG);
  const groups: [number, number, number] = spec.COOP
    ? [Math.ceil(M / (WG * Number(spec.L))), Math.ceil(N / ((spec.G4 ? 32 : 16) / (spec.GLU ? 2 : 1))), 1]
    : [Math.ceil(N / (WG * Number(spec.TN))), Math.ceil(M / Number(spec.TM)), 1];
  if (groups[0] > MAX_GROUPS || groups[1] > MAX_GROUPS) {
    throw new Error(`matmul of ${M} rows x ${N} columns needs a ${groups[0]} x ${groups[1]} workgroup grid, above the ${MAX_GROUPS} per-dimension limit`);
  }
  return groups;
}

/**
 * Attention specialisation (kernels/attention.wgsl): COOP shares each block of 8 key/value rows across a
 * subgroup with subgroupShuffle when the device has subgroups of at least 8 invocations; the workgroup (a tile
 * of WG query rows) is one subgroup wide there, else 32 rows that each load their own keys. QH query heads of
 * one KV group per invocation share the key/value work (stories260K: 2, hd 8), as long as QH * headDim <= 64
 * floats of query and accumulator stay in registers; else 1. VEC4 when the head dim is a multiple of 4.
 * @example
 * attentionSpec({ subgroups: true, subgroupMaxSize: 8 }, 8, 2) // { HD: 8, QH: 2, WG: 8, COOP: true, VEC4: true }
 */
export function attentionSpec(caps: MatmulCaps, headDim: number, groupSize: number): Specialization {
  const WG = caps.subgroups ? Math.min(64, Math.max(8, caps.subgroupMaxSize)) : 32;
  const QH = groupSize * headDim <= 64 ? groupSize : 1;
  return { HD: headDim, QH, WG, COOP: caps.subgroups, VEC4: headDim % 4 === 0 };
}

/** Workgroup grid of an attention dispatch: QH query heads by one tile of WG rows (tiles past 65535 on z). */
export function attentionGroups(spec: Specialization, M: number, heads: number): [number, number, number] {
  const tiles = Math.ceil(M / Number(spec.WG));
  const x = heads / Number(spec.QH);
  return tiles <= MAX_GROUPS ? [x, tiles, 1] : [x, MAX_GROUPS, Math.ceil(tiles / MAX_GROUPS)];
}

/**
 * RMSNorm specialisation (kernels/rmsnorm.wgsl): one row per invocation from 32 rows up (no barriers; on
 * lavapipe 11 barrier-reducing dispatches over 256 rows took 8.5 ms, row-per-invocation ones a tenth of it),
 * one workgroup per row below (decode: a GPU would otherwise run one thread). VEC4 when D is a multiple of 4.
 * @example
 * rmsnormSpec(256, 64) // { ROWS: true, VEC4: true }
 */
export function rmsnormSpec(M: number, D: number): Specialization {
  return { ROWS: M >= 32, VEC4: D % 4 === 0 };
}

/** Workgroup grid of an RMSNorm dispatch with specialisation `spec` over M rows. */
export function rmsnormGroups(spec: Specialization, M: number): [number, number, number] {
  if (!spec.ROWS) return M <= MAX_GROUPS ? [1, M, 1] : [1, MAX_GROUPS, Math.ceil(M / MAX_GROUPS)];
  const groups = Math.ceil(M / 64);
  return groups <= MAX_GROUPS ? [groups, 1, 1] : [MAX_GROUPS, Math.ceil(groups / MAX_GROUPS), 1];
}

/**
 * Log-softmax specialisation (kernels/logsoftmax.wgsl): one row per invocation from 32 rows up, one workgroup
 * per row below; VEC4 when V is a multiple of 4.
 * @example
 * logsoftmaxSpec(4096, 512) // { ROWS: true, VEC4: true }
 */
export function logsoftmaxSpec(M: number, V: number): Specialization {
  return { ROWS: M >= 32, VEC4: V % 4 === 0 };
}

/** Workgroup grid of a log-softmax dispatch (the same layouts as RMSNorm: rows per invocation or per workgroup). */
export const logsoftmaxGroups = rmsnormGroups;

/**
 * RoPE specialisation (kernels/rope.wgsl): VEC4 (4 pairs per invocation) when headDim/2, the row stride and the
 * start offset are multiples of 4; HALF (array elements per half head) and ROW (invocations per row, heads x HALF)
 * as constants.
 * @example
 * ropeSpec(8, 8, 64, 0) // { VEC4: true, HALF: 1, ROW: 8 }
 */
export function ropeSpec(headDim: number, heads: number, stride: number, xOff: number): Specialization {
  const VEC4 = (headDim / 2) % 4 === 0 && stride % 4 === 0 && xOff % 4 === 0;
  const HALF = headDim / 2 / (VEC4 ? 4 : 1);
  return { VEC4, HALF, ROW: heads * HALF };
}

/**
 * Workgroup grid of a RoPE dispatch: M * ROW invocations in one flat index, 64 per workgroup, over x then y
 * (each at most 65535 workgroups).
 */
export function ropeGroups(spec: Specialization, M: number): [number, number, number] {
  const groups = Math.ceil((M * Number(spec.ROW)) / 64);
  if (groups <= MAX_GROUPS) return [groups, 1, 1];
  const y = Math.ceil(groups / MAX_GROUPS);
  return [Math.ceil(groups / y), y, 1];
}

/**
 * Workgroup grid of a row gather (kernels/embedding.wgsl) of M rows of D values: M * D invocations in one flat
 * index, 256 per workgroup, over x then y.
 * @example
 * embeddingGroups(256, 64) // [64, 1, 1]
 */
export function embeddingGroups(M: number, D: number): [number, number, number] {
  const groups = Math.ceil((M * D) / 256);
  if (groups <= MAX_GROUPS) return [groups, 1, 1];
  const y = Math.ceil(groups / MAX_GROUPS);
  if (y > MAX_GROUPS) throw new Error(`gather of ${M} rows x ${D} values needs more than ${MAX_GROUPS} x ${MAX_GROUPS} workgroups`);
  return [Math.ceil(groups / y), y, 1];
}

/** SwiGLU specialisation (kernels/swiglu.wgsl): VEC4 when the element count is a multiple of 4. */
export function swigluSpec(n: number): Specialization {
  return { VEC4: n % 4 === 0 };
}

/** Workgroup grid of a SwiGLU dispatch over n elements (256 invocations per workgroup, x then y). */
export function swigluGroups(spec: Specialization, n: number): [number, number, number] {
  const groups = Math.ceil(n / (spec.VEC4 ? 4 : 1) / 256);
  return [Math.min(MAX_GROUPS, groups), Math.ceil(groups / MAX_GROUPS), 1];
}
