/**
 * How the engine's JS thread polls Dawn while it waits for the GPU.
 *
 * dawn.node settles a pending promise (mapAsync, onSubmittedWorkDone, popErrorScope) from a chain of ticks: each
 * tick looks up the global `setImmediate`, hands it a newly created function that runs the instance's event
 * processing, and that function queues the next tick while anything is pending. On a CPU adapter a tick is ~1.3 us,
 * so a 5 ms stories260K forward (B = 1, T = 256) spun ~4,000 ticks and allocated ~0.5 MB of functions and
 * Immediates. Measured in process under Node on the 2-vCPU host (400 forwards): 31 minor GCs and
 * 14 incremental-marking cycles, 6-7 ms per GC (the waiting thread is SCHED_IDLE, see priority.ts, and V8's GC
 * helper threads took cores from llvmpipe's), and 48-55 of 55-59 GCs fell in the slowest third of the forwards.
 *
 * While `during` runs, the global `setImmediate` queues the first SPIN_TICKS callbacks as before (~40 us: short
 * work is seen as soon as Dawn's spin would see it), then first sleeps `sleepUs` in Atomics.wait (a futex: no CPU,
 * no allocation) before each, so Dawn ticks ~every 0.1 ms instead of every 1.3 us. It is put back when the last
 * pending wait settles. Measured with bench/prefill.ts in process under Node (its header has the command), 300
 * forwards, three alternating pairs: GCs 23-43 -> 17, GC time 126-266 ms -> 42-53 ms, CPU per forward 10.5-12.9
 * -> 9.2-9.8 ms, 90th-percentile forward 9.8-12.0 -> 7.1-8.1 ms, mean 33-42K -> 44-46K tok/s. `bun run
 * bench:compute` (Bun + worker), three alternating pairs: B = 1 median 40-52K -> 46-52K, B = 16 46-60K -> 67-70K,
 * generation 3.4K -> 3.5-4.1K tok/s, matmuls within noise.
 * Completion is seen up to one sleep later (Atomics.wait of 50 us sleeps ~120 us with the kernel's timer slack).
 *
 * Only CPU adapters pace by default: there the spinning thread shares the cores that compute. On a GPU the spin
 * costs one otherwise idle core and gives the lowest latency, so the default there is 0 (Dawn's own spin).
 *
 * @example
 * const pacer = new PollPacer(50);
 * await pacer.during(() => buffer.mapAsync(GPUMapMode.READ));
 */

/** Default sleep per Dawn tick on CPU adapters, in microseconds (see above). */
export const CPU_POLL_SLEEP_US = 50;
const MAX_SLEEP_US = 10_000;
/** Ticks of each wait that are not slept before: Dawn's spin for the first ~40 us. */
export const SPIN_TICKS = 32;

export class PollPacer {
  private depth = 0;
  private ticks = 0; // callbacks queued since the current outermost wait began
  private saved: typeof setImmediate | null = null;
  private readonly cell = new Int32Array(new SharedArrayBuffer(4));
  private readonly paced: typeof setImmediate;

  /** `sleepUs`: an integer 0..10000; 0 leaves `setImmediate` alone (Dawn spins). */
  constructor(readonly sleepUs: number) {
    if (!Number.isInteger(sleepUs) || sleepUs < 0 || sleepUs > MAX_SLEEP_US) {
      throw new Error(`poll sleep must be an integer number of microseconds 0..${MAX_SLEEP_US}, got ${sleepUs}`);
    }
    const ms = sleepUs / 1000;
    this.paced = ((callback: (...args: unknown[]) => void, ...args: unknown[]) => {
      if (++this.ticks > SPIN_TICKS) Atomics.wait(this.cell, 0, 0, ms); // the cell stays 0: always times out
      return this.saved!(callback, ...args);
    }) as typeof setImmediate;
  }

  /** Run `work` (which awaits Dawn) with paced ticks; waits may nest or overlap, the last to settle restores. */
  async during<T>(work: () => Promise<T>): Promise<T> {
    if (this.sleepUs === 0) return work();
    if (this.depth++ === 0) {
      this.ticks = 0;
      this.saved = globalThis.setImmediate;
      globalThis.setImmediate = this.paced;
    }
    try {
      return await work();
    } finally {
      // Put back only what we installed: code that replaced setImmediate meanwhile keeps its own.
      if (--this.depth === 0 && globalThis.setImmediate === this.paced) globalThis.setImmediate = this.saved!;
    }
  }
}

/**
 * The sleep for this process: NAS_POLL_SLEEP_US if set (0 = Dawn's spin), else CPU_POLL_SLEEP_US on a CPU adapter
 * and 0 on a GPU. A value that is not an integer 0..10000 is an error naming the variable.
 */
export function pollSleepUs(env: Record<string, string | undefined>, cpuAdapter: boolean): number {
  const raw = env.NAS_POLL_SLEEP_US;
  if (raw === undefined || raw === "") return cpuAdapter ? CPU_POLL_SLEEP_US : 0;
  const us = /^\d{1,5}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(us <= MAX_SLEEP_US)) throw new Error(`NAS_POLL_SLEEP_US must be an integer 0..${MAX_SLEEP_US} (microseconds), got "${raw}"`);
  return us;
}
