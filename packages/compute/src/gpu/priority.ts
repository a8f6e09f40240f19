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
 * (That generation ran one submission per token; it now runs as one submission, and poll.ts paces the polling
 * with ~0.1 ms sleeps after a short spin, which the GC cost of the spin made worth it: see there.)
 *
 * Linux nice values are per thread: `os.setPriority` on the process id changes only the main thread, and threads
 * created earlier (llvmpipe's, created with the device) keep theirs. So this runs once the device exists. Elsewhere
 * it would renice the whole process (and all its threads), so it is Linux-only.
 *
 * Nice 19 is not enough under EEVDF (Linux >= 6.6): a running task keeps its CPU for its slice before a waking one
 * preempts it, whatever its weight. Seen on the 2-vCPU CI host (/proc/<tid>/schedstat per forward, stories260K
 * B = 1 T = 256): in the slow forwards the nice-19 thread ran 10-16 ms in one slice on one vCPU while both
 * llvmpipe threads queued 4-7 ms each on the other, and forwards where the two shared a vCPU took ~11.5 ms
 * against ~5.6 ms. A SCHED_IDLE thread is preempted at once, and a vCPU running only SCHED_IDLE work counts as
 * idle when a waking thread is placed. So the thread goes SCHED_IDLE too (util-linux `chrt`; Node has no
 * sched_setscheduler), keeping nice 19 where that fails. Same process, alternating 10 forwards each way: mean
 * B = 1 forward 7-17% shorter in 6 of 7 runs, B = 16, generation and 128 x 4096 x 4096 unchanged within noise.
 *
 * @example
 * if (isCpuAdapter(gpu.info)) { lowerWaitingThreadPriority(19); idleThreadPolicy(process.pid); }
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { setPriority } from "node:os";

export function lowerWaitingThreadPriority(nice: number): void {
  if (!Number.isInteger(nice) || nice < 0 || nice > 19) throw new Error(`waiting-thread nice value must be an integer 0..19, got ${nice}`);
  if (process.platform !== "linux" || nice === 0) return;
  setPriority(nice);
}

/**
 * Put thread `tid` (a thread id; the main thread's is the process id) under SCHED_IDLE, that thread only.
 * Returns whether it now runs SCHED_IDLE: false off Linux, without util-linux's chrt, or where chrt was refused.
 */
export function idleThreadPolicy(tid: number, chrt = "chrt"): boolean {
  if (!Number.isInteger(tid) || tid <= 0) throw new Error(`thread id must be a positive integer, got ${tid}`);
  if (process.platform !== "linux") return false;
  try {
    execFileSync(chrt, ["--idle", "--pid", "0", String(tid)], { stdio: "ignore", timeout: 5000 });
  } catch {
    return false;
  }
  return threadPolicy(tid) === SCHED_IDLE;
}

const SCHED_IDLE = 5;
/** Scheduling policy number of thread `tid` of this process or another (field 41 of /proc/<tid>/stat). */
export function threadPolicy(tid: number): number {
  return Number(readFileSync(`/proc/${tid}/stat`, "utf8").split(") ")[1].split(" ")[38]);
}

/** Whether an adapter computes on the host CPU (Mesa lavapipe/llvmpipe, SwiftShader, or a fallback adapter). */
export function isCpuAdapter(info: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter: boolean }): boolean {
  return info.isFallbackAdapter || /llvmpipe|lavapipe|swiftshader/i.test(`${info.vendor} ${info.architecture} ${info.device} ${info.description}`);
}
