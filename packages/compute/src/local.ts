/**
 * The engine in this process, for Node: the same ops (worker/handlers.ts) and the same EngineModel as Engine,
 * without the worker process. It exists for hosts that have Node but no Bun, above all a GPU host that the
 * benchmark kit reaches with a Node binary and dawn.node only (scripts/device-kit.sh, bench/compute.ts).
 * Bun cannot host dawn.node (see client.ts), so start() refuses to run under Bun.
 * What the engine does to its process is then done to this one: on a CPU adapter the main thread goes nice 19 and
 * SCHED_IDLE (gpu/priority.ts), and while it waits for the device `setImmediate` sleeps ~0.1 ms per call after a
 * short spin (gpu/poll.ts; NAS_POLL_SLEEP_US=0 turns that off). On a GPU neither happens by default.
 *
 * @example
 * const engine = await LocalEngine.start();
 * const model = await engine.load(defaultModelPath());
 * const { tokens } = await model.generate([1], null, 20);
 * await engine.close();
 */
import type { AdapterInfo } from "./gpu/device.ts";
import { EngineError, loadOn, type EngineCaller, type EngineModel, type LoadOptions } from "./client.ts";
import { handle } from "./worker/handlers.ts";

export class LocalEngine implements EngineCaller {
  private closed = false;
  private constructor(readonly info: AdapterInfo) {}

  /** Create this process's device; fails with a clear message under Bun or when there is no adapter. */
  static async start(): Promise<LocalEngine> {
    if (typeof (globalThis as { Bun?: unknown }).Bun !== "undefined") {
      throw new EngineError("LocalEngine runs the engine in this process, which Bun cannot do with dawn.node; use Engine.start() under Bun");
    }
    return new LocalEngine((await handle("init", {})) as AdapterInfo);
  }

  call(op: string, args: unknown): Promise<unknown> {
    if (this.closed) return Promise.reject(new EngineError("the local engine is closed; start a new one"));
    return handle(op, args);
  }

  load(path: string, options: LoadOptions = {}): Promise<EngineModel> {
    return loadOn(this, path, options);
  }

  /** Device bytes now and at peak. workerMaxRssMb is 0: there is no worker, this process's RSS is all of it. */
  async memory(): Promise<{ allocated: number; peak: number; workerMaxRssMb: number }> {
    const m = (await this.call("memory", {})) as { allocated: number; peak: number };
    return { allocated: m.allocated, peak: m.peak, workerMaxRssMb: 0 };
  }

  /** Destroy the models and the device. */
  async close(): Promise<void> {
    if (this.closed) return;
    await handle("shutdown", {});
    this.closed = true;
  }
}
