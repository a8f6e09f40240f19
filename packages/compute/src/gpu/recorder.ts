/**
 * Records a whole forward as a list of dispatches, then encodes them in one compute pass, submits once and
 * reads back once. Each dispatch's small parameter struct gets a 256-byte slot of one uniform buffer that is
 * written with a single writeBuffer.
 */
import type { Gpu } from "./device.ts";
import type { KernelFamily } from "./kernels.ts";
import { specKey, type Specialization } from "./template.ts";

const SLOT = 256; // minUniformBufferOffsetAlignment
const MAX_DIM = 65535;

interface Dispatch {
  kind: "dispatch";
  family: KernelFamily;
  spec: Specialization;
  params: ArrayBuffer;
  /** Bindings 1..n in order; null: a binding this specialisation does not declare (left out of the bind group). */
  buffers: (GPUBuffer | null)[];
  groups: [number, number, number];
}
interface Copy {
  kind: "copy";
  src: GPUBuffer;
  srcOffset: number;
  dst: GPUBuffer;
  dstOffset: number;
  size: number;
}

/** Parameter struct builder: fields are written as u32 unless given as {f32: x}. */
export function params(...fields: (number | { f32: number })[]): ArrayBuffer {
  const buf = new ArrayBuffer(Math.max(16, Math.ceil((fields.length * 4) / 16) * 16));
  const dv = new DataView(buf);
  fields.forEach((f, i) => {
    if (typeof f === "number") {
      if (!Number.isInteger(f) || f < 0 || f > 0xffffffff) throw new Error(`kernel parameter ${i} = ${f} is not a u32`);
      dv.setUint32(i * 4, f, true);
    } else dv.setFloat32(i * 4, f.f32, true);
  });
  return buf;
}

/**
 * Spread a 2-D grid whose second dimension may exceed the 65535 limit over y and z; kernels recover the row
 * as `wid.y + wid.z * 65535`.
 */
export function grid(x: number, rows: number): [number, number, number] {
  if (x > MAX_DIM) throw new Error(`dispatch x dimension ${x} exceeds ${MAX_DIM}`);
  return rows <= MAX_DIM ? [x, rows, 1] : [x, MAX_DIM, Math.ceil(rows / MAX_DIM)];
}

/** One profiled dispatch: its pipeline key and GPU time from timestamp queries. */
export interface ProfiledDispatch {
  kernel: string;
  groups: [number, number, number];
  ms: number;
}

const MAX_PROFILED = 2048; // a query set holds at most 4096 timestamps (begin + end per dispatch)

const BIND_GROUP_CACHE = 4096;
const objectIds = new WeakMap<object, number>();
let nextObjectId = 1;
/** A number per object for cache keys (buffers and pipelines have no ids of their own). */
function objectId(o: object): number {
  let id = objectIds.get(o);
  if (id === undefined) objectIds.set(o, (id = nextObjectId++));
  return id;
}

export class Recorder {
  private ops: (Dispatch | Copy)[] = [];
  private uniform: GPUBuffer | null = null;
  private staging: GPUBuffer | null = null;
  /**
   * Bind groups of earlier runs by (bind group layout, buffers): a model's forwards reuse their scratch buffers,
   * so most dispatches find theirs. createBindGroup took 16-22 us per dispatch (~1 ms of a 59-dispatch stories260K
   * forward, 10% of one at B = 1, T = 256). The parameter slot is a dynamic offset, not part of the group, so the
   * 200 decode steps of a generation share ~16 groups instead of creating 3,200 (88 ms of a first 200-token
   * generation). Released buffers never come back (ids are per object), so stale entries only cost memory; the map
   * is cleared past BIND_GROUP_CACHE entries.
   */
  private bindGroups = new Map<string, GPUBindGroup>();
  /**
   * When set (and the device has timestamp-query), the next run() gives each dispatch its own compute pass
   * with begin/end timestamps and stores per-dispatch GPU times in `profile` (the first 2048 dispatches).
   * Separate passes add a little overhead, so profiled runs are for finding hot kernels, not for headline numbers.
   */
  profiling = false;
  profile: ProfiledDispatch[] = [];

  constructor(readonly gpu: Gpu) {}

  dispatch(family: KernelFamily, spec: Specialization, p: ArrayBuffer, buffers: (GPUBuffer | null)[], groups: [number, number, number]): void {
    if (groups.some((g) => g === 0)) return; // empty work (e.g. zero rows) is a no-op
    this.ops.push({ kind: "dispatch", family, spec, params: p, buffers, groups });
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    if (size > 0) this.ops.push({ kind: "copy", src, srcOffset, dst, dstOffset, size });
  }

  get length(): number {
    return this.ops.length;
  }

  /**
   * Encode everything recorded, submit once, then copy `reads` to a staging buffer and map it once.
   * Returns one ArrayBuffer per read (copied out, so the staging buffer is reused next call).
   */
  async run(reads: { buffer: GPUBuffer; offset: number; size: number }[]): Promise<ArrayBuffer[]> {
    const { device } = this.gpu;
    const dispatches = this.ops.filter((o): o is Dispatch => o.kind === "dispatch");
    const uniformBytes = Math.max(SLOT, dispatches.length * SLOT);
    if (!this.uniform || this.uniform.size < uniformBytes) {
      if (this.uniform) this.gpu.releaseBuffer(this.uniform);
      this.uniform = this.gpu.createBuffer(uniformBytes * 2, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, "uniforms");
    }
    const uniformData = new Uint8Array(uniformBytes);
    dispatches.forEach((d, i) => uniformData.set(new Uint8Array(d.params), i * SLOT));
    device.queue.writeBuffer(this.uniform, 0, uniformData);

    // Validation errors of bind groups, passes and copies surface here as one rejected call, not a crash.
    device.pushErrorScope("validation");
    const encoder = device.createCommandEncoder();
    let pass: GPUComputePassEncoder | null = null;
    let slot = 0;
    const profiled = this.profiling && device.features.has("timestamp-query") ? dispatches.slice(0, MAX_PROFILED) : [];
    const querySet = profiled.length ? device.createQuerySet({ type: "timestamp", count: 2 * profiled.length }) : null;
    for (const op of this.ops) {
      if (op.kind === "copy") {
        pass?.end();
        pass = null;
        encoder.copyBufferToBuffer(op.src, op.srcOffset, op.dst, op.dstOffset, op.size);
        continue;
      }
      if (querySet && slot < profiled.length) {
        pass?.end();
        pass = encoder.beginComputePass({ timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * slot, endOfPassWriteIndex: 2 * slot + 1 } });
      }
      pass ??= encoder.beginComputePass();
      const { pipeline, layout } = this.gpu.pipelines.get(op.family, op.spec);
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, this.bindGroup(layout, this.uniform, op), [slot * SLOT]);
      pass.dispatchWorkgroups(...op.groups);
      slot++;
    }
    pass?.end();
    let resolved: GPUBuffer | null = null;
    if (querySet) {
      resolved = this.gpu.createBuffer(profiled.length * 16, GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC, "timestamps");
      encoder.resolveQuerySet(querySet, 0, 2 * profiled.length, resolved, 0);
      reads = [...reads, { buffer: resolved, offset: 0, size: profiled.length * 16 }];
    }
    const total = reads.reduce((s, r) => s + Math.ceil(r.size / 4) * 4, 0);
    if (total > 0) {
      if (!this.staging || this.staging.size < total) {
        if (this.staging) this.gpu.releaseBuffer(this.staging);
        this.staging = this.gpu.createBuffer(total, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, "readback");
      }
      let o = 0;
      for (const r of reads) {
        encoder.copyBufferToBuffer(r.buffer, r.offset, this.staging, o, Math.ceil(r.size / 4) * 4);
        o += Math.ceil(r.size / 4) * 4;
      }
    }
    device.queue.submit([encoder.finish()]);
    // Every wait on Dawn goes through the pacer (poll.ts): on a CPU adapter Dawn's polling would spin otherwise.
    const error = await this.gpu.pacer.during(() => device.popErrorScope());
    this.ops = [];
    if (error) throw new Error(`WebGPU validation error: ${error.message}`);
    if (total === 0) {
      await this.gpu.pacer.during(() => device.queue.onSubmittedWorkDone());
      return [];
    }
    await this.gpu.pacer.during(() => this.staging!.mapAsync(GPUMapMode.READ, 0, total));
    const mapped = this.staging!.getMappedRange(0, total);
    const out: ArrayBuffer[] = [];
    let o = 0;
    for (const r of reads) {
      out.push(mapped.slice(o, o + r.size));
      o += Math.ceil(r.size / 4) * 4;
    }
    this.staging!.unmap();
    if (querySet) {
      const t = new BigUint64Array(out.pop()!);
      this.profile = profiled.map((d, i) => ({ kernel: specKey(d.family, d.spec), groups: d.groups, ms: Number(t[2 * i + 1] - t[2 * i]) / 1e6 }));
      querySet.destroy();
      this.gpu.releaseBuffer(resolved!);
    }
    return out;
  }

  private bindGroup(layout: GPUBindGroupLayout, uniform: GPUBuffer, op: Dispatch): GPUBindGroup {
    const key = `${objectId(layout)}|${objectId(uniform)}|${op.params.byteLength}|${op.buffers.map((b) => (b ? objectId(b) : 0)).join(",")}`;
    let group = this.bindGroups.get(key);
    if (!group) {
      // The parameter slot is the dynamic offset given at setBindGroup, so the group does not depend on it.
      const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: uniform, offset: 0, size: op.params.byteLength } }];
      op.buffers.forEach((buffer, i) => buffer && entries.push({ binding: i + 1, resource: { buffer } }));
      group = this.gpu.device.createBindGroup({ layout, entries });
      if (this.bindGroups.size >= BIND_GROUP_CACHE) this.bindGroups.clear();
      this.bindGroups.set(key, group);
    }
    return group;
  }

  destroy(): void {
    this.bindGroups.clear();
    if (this.uniform) this.gpu.releaseBuffer(this.uniform);
    if (this.staging) this.gpu.releaseBuffer(this.staging);
    this.uniform = this.staging = null;
  }
}
