import { expect, test } from "bun:test";
import fc from "fast-check";
import { CPU_POLL_SLEEP_US, PollPacer, pollSleepUs, SPIN_TICKS } from "./poll.ts";

/** A chain of n setImmediate ticks, each queuing the next through the global (as dawn.node does): its ms. */
function chain(n: number): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const tick = (left: number) => (left === 0 ? resolve(performance.now() - t0) : globalThis.setImmediate(tick, left - 1));
    globalThis.setImmediate(tick, n - 1);
  });
}

test("during() paces ticks past the first SPIN_TICKS, passes their arguments, and puts setImmediate back", async () => {
  const original = globalThis.setImmediate;
  const pacer = new PollPacer(2000); // 2 ms per tick, far above a tick's own cost
  const seen: number[] = [];
  const ms = await pacer.during(async () => {
    expect(globalThis.setImmediate).not.toBe(original);
    const spun = await chain(SPIN_TICKS); // all within the spin budget: no sleeps
    await new Promise<void>((r) => globalThis.setImmediate((a: number, b: string) => (seen.push(a, b.length), r()), 7, "abc"));
    return { spun, slept: await chain(5) };
  });
  expect(globalThis.setImmediate).toBe(original);
  expect(seen).toEqual([7, 3]);
  expect(ms.spun).toBeLessThan(30); // 32 unslept ticks; 32 slept ones would take >= 64 ms
  expect(ms.slept).toBeGreaterThanOrEqual(5 * 2 - 0.5);
  // A new wait starts with a fresh spin budget.
  expect(await pacer.during(() => chain(SPIN_TICKS))).toBeLessThan(30);
});

test("during() restores setImmediate when the work throws, and sleep 0 never touches it", async () => {
  const original = globalThis.setImmediate;
  await expect(new PollPacer(50).during(async () => { throw new Error("device lost"); })).rejects.toThrow("device lost");
  expect(globalThis.setImmediate).toBe(original);
  await new PollPacer(0).during(async () => expect(globalThis.setImmediate).toBe(original));
});

test("property: overlapping waits keep the pacer installed until the last settles, then restore", async () => {
  const original = globalThis.setImmediate;
  await fc.assert(
    fc.asyncProperty(fc.array(fc.record({ start: fc.integer({ min: 0, max: 3 }), hold: fc.integer({ min: 0, max: 4 }), fail: fc.boolean() }), { minLength: 1, maxLength: 6 }), async (waits) => {
      const pacer = new PollPacer(1);
      let open = 0;
      const runs = waits.map(async ({ start, hold, fail }) => {
        await new Promise((r) => setTimeout(r, start));
        await pacer
          .during(async () => {
            open++;
            await new Promise((r) => setTimeout(r, hold));
            expect(globalThis.setImmediate).not.toBe(original); // still paced while this wait is pending
            open--;
            if (fail) throw new Error("x");
          })
          .catch(() => {});
        if (open === 0) expect(globalThis.setImmediate).toBe(original);
      });
      await Promise.all(runs);
      expect(globalThis.setImmediate).toBe(original);
    }),
    { numRuns: 40, verbose: true },
  );
});

test("a setImmediate replaced by someone else during a wait is left as they set it", async () => {
  const original = globalThis.setImmediate;
  const theirs = ((cb: () => void) => original(cb)) as typeof setImmediate;
  try {
    await new PollPacer(10).during(async () => {
      globalThis.setImmediate = theirs;
    });
    expect(globalThis.setImmediate).toBe(theirs);
  } finally {
    globalThis.setImmediate = original;
  }
});

test("the poll sleep comes from NAS_POLL_SLEEP_US, defaults by adapter kind, and bad values are named", () => {
  expect(pollSleepUs({}, true)).toBe(CPU_POLL_SLEEP_US);
  expect(pollSleepUs({}, false)).toBe(0);
  expect(pollSleepUs({ NAS_POLL_SLEEP_US: "" }, true)).toBe(CPU_POLL_SLEEP_US);
  expect(pollSleepUs({ NAS_POLL_SLEEP_US: "0" }, true)).toBe(0);
  expect(pollSleepUs({ NAS_POLL_SLEEP_US: "120" }, false)).toBe(120);
  for (const bad of ["-1", "1.5", "abc", "10001", "99999999", " 5"]) {
    expect(() => pollSleepUs({ NAS_POLL_SLEEP_US: bad }, true)).toThrow(`NAS_POLL_SLEEP_US must be an integer 0..10000 (microseconds), got "${bad}"`);
  }
  for (const bad of [-1, 0.5, 10001, Number.NaN]) expect(() => new PollPacer(bad)).toThrow(/poll sleep must be an integer number of microseconds 0\.\.10000/);
});
