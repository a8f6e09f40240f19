/**
 * The one WebGPU device of the engine process (Dawn through the `webgpu` package). Node side only.
 * Without a GPU, Dawn runs on Mesa's lavapipe (software Vulkan, Mesa >= 25; scripts/setup.sh installs it).
 * No adapter -> a clear error; there is never a silent null backend.
 */
import { create, globals } from "webgpu";
import { PipelineCache } from "./kernels.ts";
import { PollPacer, pollSleepUs } from "./poll.ts";
import { idleThreadPolicy, isCpuAdapter, lowerWaitingThreadPriority } from "./priority.ts";

export interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  backend: string;
  isFallbackAdapter: boolean;
  features: string[];
  limits: { maxStorageBufferBindingSize: number; maxBufferSize: number; maxComputeWorkgroupStorageSize: number };
}

export class GpuError extends Error {
  override name = "GpuError";
}

export class Gpu {
  readonly pipelines: PipelineCache;
  private allocated = 0;
  private peak = 0;
  private constructor(
    /**
     * The Dawn instance and adapter must stay referenced for the device's whole life: if the instance is
     * garbage-collected, Dawn's event processing runs on a destroyed instance and the process aborts or hangs
     * (seen here: std::system_error from InstanceBase::ProcessEvents at the first mapAsync after a GC).
     */
    private readonly instance: GPU,
    private readonly adapter: GPUAdapter,
    readonly device: GPUDevice,
    readonly info: AdapterInfo,
    /** Paces Dawn's polling while the engine waits for the device (poll.ts); Recorder.run waits through it. */
    readonly pacer: PollPacer,
  ) {
    this.pipelines = new PipelineCache(device);
  }

  /** Create the device. Dawn's backend is forced to Vulkan on Linux so lavapipe is found without a GPU. */
  static async create(): Promise<Gpu> {
    Object.assign(globalThis, globals);
    process.env.XDG_RUNTIME_DIR ??= "/tmp";
    // Dawn rounds timestamp queries to ~65 us by default (a browser's timing-attack guard), which hid every
    // kernel shorter than that in bench/profile.ts; headless, there is nothing to guard.
    const flags = ["disable-dawn-features=timestamp_quantization", ...(process.platform === "linux" ? ["backend=vulkan"] : [])];
    const gpu = create(flags);
    const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
    if (!adapter) {
      throw new GpuError(
        "no WebGPU adapter found: Dawn saw no Vulkan device. Without a GPU install Mesa lavapipe >= 25 " +
          "(bash scripts/setup.sh does this) and make sure libvulkan1 is present.",
      );
    }
    const a = adapter.info;
    const isFallbackAdapter = Boolean((a as { isFallbackAdapter?: boolean }).isFallbackAdapter);
    const cpu = isCpuAdapter({ vendor: a.vendor, architecture: a.architecture, device: a.device, description: a.description, isFallbackAdapter });
    // Settings from the environment, read before the device exists so a bad value fails without one.
    // On a CPU adapter the thread that waits for the device must not take cores from it (see priority.ts).
    // NAS_WAIT_NICE (0..19, default 19) sets its nice value there, and unless it is 0 the thread also goes
    // SCHED_IDLE where it can; 0 leaves Dawn's polling at normal priority.
    const nice = process.env.NAS_WAIT_NICE ?? "19";
    if (!/^(1?[0-9])$/.test(nice)) throw new GpuError(`NAS_WAIT_NICE must be an integer 0..19, got "${nice}"`);
    // NAS_POLL_SLEEP_US: microseconds the waiting thread sleeps per Dawn tick (poll.ts; default 50 on CPU
    // adapters, 0 = Dawn's spin elsewhere).
    const pacer = new PollPacer(pollSleepUs(process.env, cpu));
    const features = [...adapter.features] as string[];
    const wanted: GPUFeatureName[] = (["timestamp-query", "shader-f16", "subgroups"] as GPUFeatureName[]).filter((f) => adapter.features.has(f));
    const device = await adapter.requestDevice({
      requiredFeatures: wanted,
      requiredLimits: {
        maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
        maxBufferSize: adapter.limits.maxBufferSize,
        maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
        maxStorageBuffersPerShaderStage: Math.min(16, adapter.limits.maxStorageBuffersPerShaderStage),
      },
    });
    device.addEventListener?.("uncapturederror", (e: Event) => {
      process.stderr.write(`[engine] uncaptured WebGPU error: ${(e as GPUUncapturedErrorEvent).error.message}\n`);
    });
    const info: AdapterInfo = {
      vendor: a.vendor,
      architecture: a.architecture,
      device: a.device,
      description: a.description,
      backend: "vulkan",
      isFallbackAdapter,
      features,
      limits: {
        maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
        maxBufferSize: device.limits.maxBufferSize,
        maxComputeWorkgroupStorageSize: device.limits.maxComputeWorkgroupStorageSize,
      },
    };
    if (cpu && nice !== "0") {
      // Once the device exists: nice values are per thread, and llvmpipe's threads must keep theirs.
      lowerWaitingThreadPriority(Number(nice));
      idleThreadPolicy(process.pid); // the main thread: its thread id is the process id
    }
    return new Gpu(gpu, adapter, device, info, pacer);
  }

  /** Allocate a buffer and account for it (peak device memory is reported as a cost objective). */
  createBuffer(size: number, usage: GPUBufferUsageFlags, label: string): GPUBuffer {
    const bytes = Math.max(16, Math.ceil(size / 16) * 16);
    if (bytes > this.info.limits.maxBufferSize) {
      throw new GpuError(`buffer "${label}" needs ${bytes} bytes, above the device's maxBufferSize ${this.info.limits.maxBufferSize}`);
    }
    const buffer = this.device.createBuffer({ size: bytes, usage, label });
    this.allocated += bytes;
    this.peak = Math.max(this.peak, this.allocated);
    return buffer;
  }

  /** Upload data into a new storage buffer (mapped at creation: no staging copy). */
  uploadStorage(data: ArrayBufferView, label: string): GPUBuffer {
    const buffer = this.createBuffer(data.byteLength, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC, label);
    this.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    return buffer;
  }

  releaseBuffer(buffer: GPUBuffer): void {
    this.allocated -= buffer.size;
    buffer.destroy();
  }

  get bytesAllocated(): number {
    return this.allocated;
  }
  get peakBytes(): number {
    return this.peak;
  }
  resetPeak(): void {
    this.peak = this.allocated;
  }

  destroy(): void {
    this.device.destroy();
  }
}
