/**
 * Run one kernel on given inputs and read its output back: the hook for per-kernel tests against plain
 * TypeScript references (packages/compute/src/kernels.test.ts).
 */
import type { Gpu } from "./device.ts";
import type { KernelFamily } from "./kernels.ts";
import { params, Recorder } from "./recorder.ts";
import type { Specialization } from "./template.ts";

export interface KernelRun {
  family: KernelFamily;
  spec: Specialization;
  /** Parameter struct fields: numbers are u32, {f32: x} are f32. */
  params: (number | { f32: number })[];
  /**
   * Buffers for bindings 1..n, in order: typed-array contents (uploaded), a byte size (zero-filled), or null for a
   * binding the specialisation does not declare.
   */
  buffers: (Float32Array | Uint32Array | Int32Array | number | null)[];
  groups: [number, number, number];
  /** Which binding (1-based index into `buffers` + 1) to read back. */
  read: number;
}

export async function runKernel(gpu: Gpu, run: KernelRun): Promise<Uint8Array> {
  const spec = run.buffers[run.read - 1];
  if (spec === null || spec === undefined) throw new Error(`kernel run: binding ${run.read} to read back is not bound`);
  const buffers = run.buffers.map((b, i) =>
    b === null
      ? null
      : typeof b === "number"
        ? gpu.createBuffer(b, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, `kernel-test.${i}`)
        : gpu.uploadStorage(b, `kernel-test.${i}`),
  );
  const rec = new Recorder(gpu);
  try {
    rec.dispatch(run.family, run.spec, params(...run.params), buffers, run.groups);
    const out = buffers[run.read - 1]!;
    const size = typeof spec === "number" ? spec : spec.byteLength; // buffers are allocated rounded up to 16 bytes
    const [data] = await rec.run([{ buffer: out, offset: 0, size }]);
    return new Uint8Array(data);
  } finally {
    rec.destroy();
    buffers.forEach((b) => b && gpu.releaseBuffer(b));
  }
}
