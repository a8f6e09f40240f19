/**
 * LocalEngine (the engine in a Node process, no worker): what the GPU benchmark kit runs on a host without Bun.
 * Bun cannot host dawn.node, so the test bundles a small Node program that drives LocalEngine the way
 * bench/compute.ts does, runs it under Node, and holds its output to the float64 references in ../shared/fixtures.
 */
import { describe, expect, test } from "bun:test";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sharedDir } from "@nas/model";
import { caseError, FIXTURE_TOLERANCE, readFixture } from "./fixtures.ts";
import { CPU_POLL_SLEEP_US, SPIN_TICKS } from "./gpu/poll.ts";
import { LocalEngine } from "./local.ts";

const shared = sharedDir();
const ref = readFixture("stories260K");
const greedyFromBos = ref.greedy_from_bos ?? [];

// Kept in the repo's node_modules so that the bundle's `import "webgpu"` resolves as the worker's does.
const dir = join(import.meta.dir, "../../../node_modules/.cache/nas-local-test");

/**
 * The Node program: every stories260K fixture case, a greedy generation, Dawn's polling during a forward, a refused
 * sub-network, use after close.
 */
const program = (localTs: string) => `
import { LocalEngine } from ${JSON.stringify(localTs)};
const [modelDir, casesJson] = process.argv.slice(2);
const engine = await LocalEngine.start();
const model = await engine.load(modelDir, { blocks: false });
const cases = [];
for (const c of JSON.parse(casesJson)) {
  const r = await model.forward([c.input_ids], c.spec, { scores: true, lastLogits: true });
  cases.push({ last: Array.from(r.lastLogits[0]), argmax: Array.from(r.argmax[0]), logprobs: Array.from(r.logprobs[0]) });
}
const { tokens } = await model.generate([model.config.bosTokenId], null, 200, false);
// Dawn's ticks during one T = 256 forward, counted through the global setImmediate that Dawn looks up per tick.
const realImmediate = globalThis.setImmediate;
let ticks = 0;
const counting = (...a) => (ticks++, realImmediate(...a));
globalThis.setImmediate = counting;
const long = Array.from({ length: 256 }, (_, t) => (t === 0 ? 1 : 3 + ((t * 31) % 500)));
const t0 = performance.now();
await model.forward([long], null, { scores: true });
const poll = { ticks, ms: performance.now() - t0, restored: globalThis.setImmediate === counting };
globalThis.setImmediate = realImmediate;
const refused = await model.forward([[1, 2]], { mlp: [1] }, { scores: true }).then(() => "accepted", (e) => e.message);
const mem = await engine.memory();
await engine.close();
const afterClose = await engine.call("memory", {}).then(() => "answered", (e) => e.message);
console.log(JSON.stringify({ adapter: engine.info.description, decodePath: model.decodePath, cases, tokens, poll, refused, afterClose, mem }));
`;

describe("LocalEngine", () => {
  test("refuses to start under Bun, naming why", async () => {
    await expect(LocalEngine.start()).rejects.toThrow(/Bun cannot do with dawn\.node/);
  });

  test("under Node, in process: every stories260K fixture case, greedy generation, bad input, close", async () => {
    mkdirSync(dir, { recursive: true });
    const entry = join(dir, `entry-${process.pid}.ts`);
    writeFileSync(entry, program(join(import.meta.dir, "local.ts")));
    try {
      const built = await Bun.build({ entrypoints: [entry], target: "node", format: "esm", external: ["webgpu"], outdir: dir, naming: `bundle-${process.pid}.mjs` });
      expect(built.success).toBe(true);
      const cases = ref.cases.map((c) => ({ input_ids: c.input_ids, spec: c.spec }));
      const proc = Bun.spawn([process.env.NAS_NODE ?? "node", built.outputs[0].path, join(shared, "models/stories260K-hf"), JSON.stringify(cases)], {
        stdout: "pipe",
        stderr: "pipe",
        env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? "/tmp" },
      });
      const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
      if (code !== 0) throw new Error(`node exited with ${code}:\n${stderr.slice(-2000)}`);
      const line = stdout.split("\n").filter((l) => l.startsWith("{")).at(-1)!;
      const got = JSON.parse(line) as { cases: { last: number[]; argmax: number[]; logprobs: number[] }[]; tokens: number[]; refused: string; afterClose: string; decodePath: string; poll: { ticks: number; ms: number; restored: boolean }; mem: { peak: number; workerMaxRssMb: number } };
      expect(got.cases.length).toBe(ref.cases.length);
      for (const [i, c] of ref.cases.entries()) {
        const g = got.cases[i];
        const e = caseError(c, { lastLogits: [g.last], argmax: [g.argmax], logprobs: [g.logprobs] }, 0);
        expect(e.logits, `${c.subnetwork}: last logits`).toBeLessThan(FIXTURE_TOLERANCE.logits);
        expect(g.argmax, `${c.subnetwork}: argmax`).toEqual(c.argmax);
        expect(e.nll, `${c.subnetwork}: sum NLL`).toBeLessThan(FIXTURE_TOLERANCE.nll);
      }
      expect(greedyFromBos.length).toBe(201);
      expect([1, ...got.tokens]).toEqual(greedyFromBos); // the reference starts with BOS
      // Paced polling on this CPU adapter (gpu/poll.ts): Dawn ticked through the global setImmediate, at most
      // SPIN_TICKS per wait unslept (Recorder.run waits twice: error scope, read-back) and then one tick per >= 50 us
      // sleep. Dawn's own spin would tick ~770 times per ms. The program's setImmediate was put back afterwards.
      expect(got.poll.ticks).toBeGreaterThan(0);
      expect(got.poll.ticks, JSON.stringify(got.poll)).toBeLessThanOrEqual(3 * SPIN_TICKS + (got.poll.ms * 1000) / CPU_POLL_SLEEP_US + 10);
      expect(got.poll.restored).toBe(true);
      expect(got.decodePath).toBe("kernels"); // separate kernels, a GPU's default: quick to compile in a fresh process
      expect(got.refused).toMatch(/mlp has length 1/);
      expect(got.afterClose).toMatch(/local engine is closed/);
      expect(got.mem.peak).toBeGreaterThan(0);
      expect(got.mem.workerMaxRssMb).toBe(0);
    } finally {
      rmSync(entry, { force: true });
      rmSync(join(dir, `bundle-${process.pid}.mjs`), { force: true });
    }
  });
});
