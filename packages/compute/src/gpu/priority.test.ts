import { expect, test } from "bun:test";
import { idleThreadPolicy, isCpuAdapter, lowerWaitingThreadPriority, threadPolicy } from "./priority.ts";

const adapter = (over: Partial<Parameters<typeof isCpuAdapter>[0]>) => ({ vendor: "", architecture: "", device: "", description: "", isFallbackAdapter: false, ...over });

test("CPU adapters are recognised by name or the fallback flag, GPUs are not", () => {
  expect(isCpuAdapter(adapter({ vendor: "mesa", architecture: "software", description: "llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)" }))).toBe(true);
  expect(isCpuAdapter(adapter({ description: "SwiftShader Device (Subzero)" }))).toBe(true);
  expect(isCpuAdapter(adapter({ vendor: "unknown", isFallbackAdapter: true }))).toBe(true);
  expect(isCpuAdapter(adapter({ vendor: "nvidia", architecture: "hopper", description: "NVIDIA H100 80GB HBM3" }))).toBe(false);
});

test("nice values outside 0..19 are refused by name", () => {
  for (const bad of [-1, 20, 2.5, Number.NaN]) expect(() => lowerWaitingThreadPriority(bad)).toThrow(/nice value must be an integer 0\.\.19/);
  expect(() => lowerWaitingThreadPriority(0)).not.toThrow(); // 0: nothing to change
});

test("idleThreadPolicy puts one thread under SCHED_IDLE, and says false where chrt is missing", async () => {
  if (process.platform !== "linux") throw new Error("this check needs Linux");
  const child = Bun.spawn(["sleep", "30"]);
  try {
    expect(threadPolicy(child.pid)).toBe(0); // SCHED_OTHER
    expect(idleThreadPolicy(child.pid, "/nonexistent/chrt")).toBe(false);
    expect(threadPolicy(child.pid)).toBe(0);
    expect(idleThreadPolicy(child.pid)).toBe(true);
    expect(threadPolicy(child.pid)).toBe(5); // SCHED_IDLE
    expect(threadPolicy(process.pid)).toBe(0); // the caller is untouched
  } finally {
    child.kill();
    await child.exited;
  }
  for (const bad of [0, -3, 1.5]) expect(() => idleThreadPolicy(bad)).toThrow(/thread id must be a positive integer/);
});
