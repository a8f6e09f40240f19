/**
 * The engine thread's scheduling priority while it waits for a CPU adapter.
 *
 * dawn.node settles GPU promises (queue.onSubmittedWorkDone, buffer.mapAsync) by running the instance's event
 * processing from chained `setImmediate` callbacks for as long as one is pending: the JS thread spins on a core
 * for the whole GPU call. On a CPU adapter (Mesa lavapipe) that core is one the "GPU" computes on, so llvmpipe's
 * two threads shared the 2 cores of the CI machine with the spin. Measured there (bun packages/compute/bench/
 * matmul.ts --only llama7b, same session): 128 x 4096 x 4096 at 31.8 GFLOP/s spinning at normal priority, 49.6
 * with the spin replaced by 0.2 ms sleeps between polls, 58.6 with the spin kept at nice 19. Sleeping also cost
 * stories260K generation (thousands of tiny dispatches) 15-30% tokens/s: while a core spins it never idles, so
 * llvmpipe's threads wake without a VM idle exit. Nice 19 keeps that and yields the cores to compute.
 *
 * Linux nice values are per thread: `os.setPriority` on the process id changes only the main thread, and threads
 * created earlier (llvmpipe's, created with the device) keep theirs. So this runs once the device exists. Elsewhere
 * it would renice the whole process (and all its threads), so it is Linux-only.
 *
 * @example
 * if (isCpuAdapter(gpu.info)) lowerWaitingThreadPriority(19);
 */
import { setPriority } from "node:os";

export function lowerWaitingThreadPriority(nice: number): void {
  if (!Number.isInteger(nice) || nice < 0 || nice > 19) throw new Error(`waiting-thread nice value must be an integer 0..19, got ${nice}`);
  if (process.platform !== "linux" || nice === 0) return;
  setPriority(nice);
}

/** Whether an adapter computes on the host CPU (Mesa lavapipe/llvmpipe, SwiftShader, or a fallback adapter). */
export function isCpuAdapter(info: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter: boolean }): boolean {
  return info.isFallbackAdapter || /llvmpipe|lavapipe|swiftshader/i.test(`${info.vendor} ${info.architecture} ${info.device} ${info.description}`);
}
