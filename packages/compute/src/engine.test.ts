/**
 * The elastic forward on the device against the float64 Hugging Face references in ../shared/fixtures:
 * every case of both models (all sub-networks), greedy generation, batching, and bad input.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadTokenizer, ReferenceModel, sharedDir } from "@nas/model";
import { Engine, type EngineModel } from "./client.ts";
import { caseError, FIXTURE_TOLERANCE, readFixture, type FixtureCase } from "./fixtures.ts";

const shared = sharedDir();

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.start();
  process.stderr.write(`adapter: ${engine.info.vendor} / ${engine.info.architecture} / ${engine.info.description} (${engine.info.backend})\n`);
});
afterAll(async () => {
  await engine.close();
});

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number): void {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  expect(worst).toBeLessThan(tol);
}

function checkCase(model: EngineModel, c: FixtureCase, r: { lastLogits?: Float32Array[]; argmax?: Int32Array[]; logprobs?: Float32Array[] }, i: number): void {
  const e = caseError(c, r, i);
  expect(e.logits).toBeLessThan(FIXTURE_TOLERANCE.logits);
  expect(Array.from(r.argmax![i])).toEqual(c.argmax); // shows the positions, where e.argmax only counts them
  expect(e.nll).toBeLessThan(FIXTURE_TOLERANCE.nll);
  void model;
}

// Each model with the engine's default layer encoding (row-local blocks on a CPU adapter, gpu/block.ts) and, for
// the HF models, with every layer as separate kernels (the GPU default), so both paths meet the references.
const layerPaths: [name: string, dir: string, blocks: boolean | undefined][] = [
  ["stories260K", "models/stories260K-hf", undefined],
  ["stories260K", "models/stories260K-hf", false],
  ["tiny-llama3-gqa-bf16", "models/tiny-llama3-gqa-bf16", undefined],
  ["tiny-llama3-gqa-bf16", "models/tiny-llama3-gqa-bf16", false],
  ["stories260K", "models/stories260K/stories260K.bin", undefined],
];
for (const [name, dir, blocks] of layerPaths) {
  describe(`${dir}${blocks === false ? " (layers as separate kernels)" : ""} vs ${name} reference`, () => {
    const ref = readFixture(name);
    let model: EngineModel;
    beforeAll(async () => {
      model = await engine.load(join(shared, dir), { blocks });
    });
    afterAll(async () => {
      await model.unload();
    });
    for (const sub of [...new Set(ref.cases.map((c) => c.subnetwork))]) {
      test(`${sub}: every case, one at a time and as one ragged batch; scoring and shared prefixes agree`, async () => {
        const cases = ref.cases.filter((c) => c.subnetwork === sub);
        const spec = cases[0].spec as never;
        for (const c of cases) checkCase(model, c, await model.forward([c.input_ids], spec, { scores: true, lastLogits: true }), 0);
        const batch = await model.forward(cases.map((c) => c.input_ids), spec, { scores: true, lastLogits: true });
        cases.forEach((c, i) => checkCase(model, c, batch, i));
        // Last logits alone: the last kept layer runs past its keys and values on the last rows only.
        const lastOnly = await model.forward(cases.map((c) => c.input_ids), spec, { lastLogits: true });
        cases.forEach((c, i) => expectClose(lastOnly.lastLogits![i], c.last_logits, 1e-3));
        // scoreTokens (the evaluation path) gives the same per-token numbers as forward.
        const subnet = model.subnet(spec);
        const scored = await model.scoreTokens(cases.map((c) => c.input_ids), subnet);
        cases.forEach((c, i) => {
          expect(Array.from(scored[i].argmax)).toEqual(c.argmax.slice(0, -1));
          expectClose(scored[i].logprobs, batch.logprobs![i].subarray(0, c.input_ids.length - 1), 1e-4);
        });
        // Shared prefixes: every split point of every case, three continuations per group (the full tail and two
        // truncations), all groups in one call, equal the plain scores of the concatenations.
        const groups = cases.flatMap((c) => [1, 2, Math.floor(c.input_ids.length / 2), c.input_ids.length - 1].filter((p) => p >= 1 && p < c.input_ids.length).map((p) => {
          const tail = c.input_ids.slice(p);
          return { prefix: c.input_ids.slice(0, p), continuations: [tail, tail.slice(0, 1), tail.slice(0, Math.ceil(tail.length / 2))] };
        }));
        const shared = await model.scoreContinuations(groups, subnet);
        const plain = await model.scoreTokens(groups.flatMap((g) => g.continuations.map((t) => [...g.prefix, ...t])), subnet);
        let k = 0;
        groups.forEach((g, gi) => g.continuations.forEach((t, ci) => {
          const want = plain[k++];
          const off = g.prefix.length - 1;
          expect(shared[gi][ci].logprobs.length).toBe(t.length);
          expectClose(shared[gi][ci].logprobs, want.logprobs.subarray(off), 1e-4); // f32: other tiles, other rounding
          expect(Array.from(shared[gi][ci].argmax)).toEqual(Array.from(want.argmax.subarray(off)));
        }));
      });
    }
  });
}

describe("MLP widths that are not multiples of 4 (hidden rows zero-padded for the down projection)", () => {
  for (const [dir, spec] of [
    ["models/stories260K-hf", { mlp: [97, 1, 171, 50, 3], kvHeads: [3, 4, 1, 2, 4] }],
    ["models/tiny-llama3-gqa-bf16", { layers: [true, true, false, true], mlp: [333, 1, 704, 701] }],
  ] as const) {
    test(`${dir}: last logits and argmax equal the float64 reference`, async () => {
      const path = join(shared, dir);
      const model = await engine.load(path);
      const ref = await ReferenceModel.load(path);
      const seqs = [[1, 403, 407, 261, 378, 9, 22], Array.from({ length: 40 }, (_, t) => (t === 0 ? 1 : 3 + ((t * 53) % 500)))];
      const r = await model.forward(seqs, spec as never, { scores: true, lastLogits: true });
      seqs.forEach((ids, i) => {
        const want = ref.logits(ids, spec as never);
        expectClose(r.lastLogits![i], want[ids.length - 1], 1e-3);
        expect(Array.from(r.argmax![i])).toEqual(want.map((row) => row.indexOf(Math.max(...row))));
      });
      await model.unload();
    });
  }
});

describe("stories260K generation", () => {
  for (const blocks of [undefined, false]) {
    test(`greedy from BOS equals the reference for 200 tokens and reads as TinyStories${blocks === false ? " (layers as separate kernels)" : ""}`, async () => {
      const ref = readFixture("stories260K");
      const dir = join(shared, "models/stories260K-hf");
      const model = await engine.load(dir, { blocks });
      const { tokens } = await model.generate([1], null, 200, false);
      expect([1, ...tokens]).toEqual(ref.greedy_from_bos!);
      const text = (await loadTokenizer(dir)).decode(tokens);
      expect(text.startsWith("Once upon a time, there was a little girl named Lily")).toBe(true);
      await model.unload();
    });
  }

  test("on a CPU adapter layers and the scoring head run as row-local blocks by default (3 dispatches a layer), else as separate kernels", async () => {
    const cpu = /llvmpipe|lavapipe|swiftshader/i.test(`${engine.info.vendor} ${engine.info.architecture} ${engine.info.description}`);
    const dir = join(shared, "models/stories260K-hf");
    const kernels = async (options: { blocks?: boolean }) => {
      const model = await engine.load(dir, options);
      const d = await model.profile([[1, 403, 407, 261, 378]], null, { scores: true });
      await model.unload();
      return d.map((x) => x.kernel.slice(0, x.kernel.indexOf("(")));
    };
    if (!engine.info.features.includes("timestamp-query")) return; // profile() needs timestamps
    const byDefault = await kernels({});
    const separate = await kernels({ blocks: false });
    expect(separate).not.toContain("block");
    expect(separate).toContain("rope");
    if (!cpu || !engine.info.features.includes("subgroups")) return;
    expect(byDefault.filter((k) => k === "block").length).toBe(2 * 5 + 1); // PRE and POST per layer, HEAD
    expect(byDefault).not.toContain("rope");
    expect(byDefault).not.toContain("logsoftmax");
    expect(byDefault).not.toContain("embedding"); // gathered by the first layer's PRE block
    expect(byDefault.length).toBe(1 + 5 * 3); // per layer PRE, attention, POST; then HEAD
    expect(byDefault.length).toBeLessThan(separate.length / 2);
  });

  test("generation under a sub-network matches step-by-step argmax of full forwards", async () => {
    const model = await engine.load(join(shared, "models/stories260K-hf"));
    // The second skips the last layer, so the prompt pass's last kept layer (which runs on the last row only) is
    // not the model's last.
    for (const spec of [
      { layers: [true, false, true, true, true], mlp: [128, 172, 64, 172, 96], kvHeads: [2, 4, 1, 3, 4] },
      { layers: [true, true, false, true, false], mlp: [172, 40, 172, 100, 172], kvHeads: [4, 1, 2, 3, 4] },
    ]) {
      const prompt = [1, 403, 407, 9, 1000 % 512];
      const { tokens } = await model.generate(prompt, spec, 24, false);
      const seq = [...prompt, ...tokens];
      const r = await model.forward([seq], spec, { scores: true });
      // Each generated token is the argmax of the full forward at the previous position.
      for (let t = prompt.length - 1; t < seq.length - 1; t++) expect(seq[t + 1]).toBe(r.argmax![0][t]);
    }
    await model.unload();
  });
});

describe("elastic execution and bad input", () => {
  let model: EngineModel;
  beforeAll(async () => {
    model = await engine.load(join(shared, "models/stories260K-hf"));
  });
  afterAll(async () => {
    await model.unload();
  });

  test("blocks and separate kernels agree wherever the first kept layer is (it gathers the embeddings itself)", async () => {
    const separate = await engine.load(join(shared, "models/stories260K-hf"), { blocks: false });
    const seqs = [[1, 403, 407, 261, 378, 9, 22], Array.from({ length: 70 }, (_, t) => (t === 0 ? 1 : 3 + ((t * 53) % 500)))];
    for (const spec of [{ layers: [false, true, true, false, true] }, { layers: [false, false, false, false, true], mlp: [1, 1, 1, 1, 97] }, null]) {
      const [a, b] = await Promise.all([model, separate].map((m) => m.forward(seqs, spec, { scores: true, lastLogits: true })));
      seqs.forEach((_, i) => {
        expectClose(a.lastLogits![i], b.lastLogits![i], 1e-4);
        expectClose(a.logprobs![i].subarray(0, -1), b.logprobs![i].subarray(0, -1), 1e-4);
        expect(Array.from(a.argmax![i])).toEqual(Array.from(b.argmax![i]));
      });
      const [ga, gb] = await Promise.all([model, separate].map((m) => m.generate([1, 403], spec, 20, false)));
      expect(ga.tokens).toEqual(gb.tokens);
    }
    await separate.unload();
  });

  test("switching sub-networks allocates and uploads nothing", async () => {
    const ids = [1, 403, 407, 261, 378];
    await model.forward([ids], null, { scores: true });
    const before = await engine.memory();
    for (const spec of [{ layers: [true, false, true, true, false] }, { mlp: [32, 64, 96, 128, 172] }, { kvHeads: [1, 1, 2, 3, 4] }, null]) {
      await model.forward([ids], spec, { scores: true });
    }
    expect((await engine.memory()).allocated).toBe(before.allocated);
  });

  test("shared-prefix scoring runs the last kept layer on scored rows only, wherever that layer is", async () => {
    // Prefix rows need only the last kept layer's keys and values; these sub-networks put that layer at 4, 3 and 0.
    const groups = [
      { prefix: [1, 403, 407, 261], continuations: [[378, 9], [22], [5, 6, 7]] },
      { prefix: [1, 30], continuations: [[31, 32, 33, 34], [40]] },
      { prefix: Array.from({ length: 40 }, (_, t) => (t === 0 ? 1 : 3 + ((t * 53) % 500))), continuations: [[11, 12], [13]] },
    ];
    for (const spec of [null, { layers: [true, true, false, true, false], kvHeads: [1, 2, 3, 4, 2] }, { layers: [true, false, false, false, false], mlp: [50, 1, 1, 1, 1] }]) {
      const subnet = model.subnet(spec);
      const shared = await model.scoreContinuations(groups, subnet);
      const plain = await model.scoreTokens(groups.flatMap((g) => g.continuations.map((c) => [...g.prefix, ...c])), subnet);
      let k = 0;
      groups.forEach((g, gi) => g.continuations.forEach((c, ci) => {
        const want = plain[k++];
        expectClose(shared[gi][ci].logprobs, want.logprobs.subarray(g.prefix.length - 1), 1e-4);
        expect(Array.from(shared[gi][ci].argmax)).toEqual(Array.from(want.argmax.subarray(g.prefix.length - 1)));
      }));
    }
  });

  test("scoring takes maxPositions + 1 tokens (the last is only a target) and refuses bad groups by name", async () => {
    const full = model.subnet(null);
    const P = model.config.maxPositions;
    const seq = Array.from({ length: P + 1 }, (_, t) => (t === 0 ? 1 : 3 + ((t * 37) % 500)));
    const [long] = await model.scoreTokens([seq], full);
    expect(long.logprobs.length).toBe(P);
    const r = await model.forward([seq.slice(0, P)], full, { scores: true });
    expectClose(long.logprobs.subarray(0, P - 1), r.logprobs![0].subarray(0, P - 1), 1e-5);
    await expect(model.scoreTokens([[...seq, 5]], full)).rejects.toThrow(/exceed the model's 512 positions \+ 1/);
    await expect(model.scoreTokens([[1]], full)).rejects.toThrow(/sequence 0 has 1 tokens/);
    await expect(model.scoreContinuations([{ prefix: [], continuations: [[5]] }], full)).rejects.toThrow(/group 0: empty prefix/);
    await expect(model.scoreContinuations([{ prefix: [1], continuations: [[5], []] }], full)).rejects.toThrow(/group 0, continuation 1: empty/);
    await expect(model.scoreContinuations([{ prefix: [1], continuations: [[5, 512]] }], full)).rejects.toThrow(/token id 512 is outside the vocabulary/);
  });

  test("invalid sub-networks are refused with a message naming the field, and the engine keeps working", async () => {
    const bad: [unknown, RegExp][] = [
      [{ layers: [true, true] }, /layers has length 2/],
      [{ mlp: [0, 172, 172, 172, 172] }, /mlp\[0\] = 0 is out of range/],
      [{ mlp: [173, 172, 172, 172, 172] }, /mlp\[0\] = 173/],
      [{ kvHeads: [4, 4, 2.5, 4, 4] }, /kvHeads\[2\] must be an integer/],
      [{ layers: [false, false, false, false, false] }, /skips every layer/],
      [{ heads: [1] }, /unknown key "heads"/],
    ];
    for (const [spec, msg] of bad) expect(model.forward([[1, 2]], spec as never, { scores: true })).rejects.toThrow(msg);
    // The worker validates too, in case a caller bypasses the client.
    await expect(engine.call("forward", { id: model.id, sequences: [[1]], subnet: { mlp: [1] }, want: { scores: true } })).rejects.toThrow(/mlp has length 1/);
    await expect(model.forward([[1, 99999]], null, { scores: true })).rejects.toThrow(/token id 99999/);
    await expect(model.forward([[]], null, { scores: true })).rejects.toThrow(/empty/);
    const ok = await model.forward([[1, 403]], null, { scores: true });
    expect(ok.argmax![0].length).toBe(2);
  });

  test("a missing model gives an error naming the path", async () => {
    await expect(engine.load(join(shared, "models/does-not-exist"))).rejects.toThrow(/does-not-exist/);
  });

  test("a malformed load option is refused by name, and the engine keeps working", async () => {
    await expect(engine.load(join(shared, "models/stories260K-hf"), { blocks: "yes" as never })).rejects.toThrow(/blocks must be a boolean, got "yes"/);
    await expect(engine.load(join(shared, "models/stories260K-hf"), { keep16: 1 as never })).rejects.toThrow(/keep16 must be a boolean/);
    expect((await model.forward([[1, 403]], null, { scores: true })).argmax![0].length).toBe(2);
  });
});

describe("the waiting thread yields the CPU adapter's cores", () => {
  const field = (pid: number, tid: number, i: number) => Number(readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8").split(") ")[1].split(" ")[i]);
  const nice = (pid: number, tid: number) => field(pid, tid, 16);
  const policy = (pid: number, tid: number) => field(pid, tid, 38);
  test("on lavapipe the worker's main (polling) thread runs at nice 19 under SCHED_IDLE, llvmpipe's threads at their own", () => {
    if (process.platform !== "linux" || !/llvmpipe/.test(engine.info.description)) throw new Error(`this check needs Linux and lavapipe, got ${engine.info.description}`);
    const pid = engine.pid;
    expect(nice(pid, pid)).toBe(19);
    // SCHED_IDLE where util-linux's chrt exists (Debian always has it), else nice 19 alone (the documented fallback).
    expect(policy(pid, pid)).toBe(Bun.which("chrt") ? 5 : 0);
    const others = readdirSync(`/proc/${pid}/task`).map(Number).filter((t) => t !== pid);
    expect(others.some((t) => nice(pid, t) === 0)).toBe(true);
    // Only the main thread is SCHED_IDLE (Mesa runs its own disk-cache thread SCHED_BATCH at nice 19).
    expect(others.some((t) => policy(pid, t) === 0)).toBe(true);
    expect(others.filter((t) => policy(pid, t) === 5)).toEqual([]);
  });

  test.each([
    ["NAS_WAIT_NICE", "high", /NAS_WAIT_NICE must be an integer 0\.\.19, got "high"/],
    ["NAS_POLL_SLEEP_US", "-5", /NAS_POLL_SLEEP_US must be an integer 0\.\.10000 \(microseconds\), got "-5"/],
  ] as const)("a malformed %s stops the engine from starting, naming the variable", async (name, bad, message) => {
    const saved = process.env[name];
    process.env[name] = bad;
    try {
      // Engine workers of this test process (node .../nas-engine/worker-<hash>.mjs, children of this process).
      const workers = () =>
        readdirSync("/proc").filter((d) => {
          if (!/^\d+$/.test(d)) return false;
          try {
            const stat = readFileSync(`/proc/${d}/stat`, "utf8");
            return Number(stat.split(") ")[1].split(" ")[1]) === process.pid && readFileSync(`/proc/${d}/cmdline`, "utf8").includes("nas-engine/worker-");
          } catch {
            return false; // exited meanwhile
          }
        }).length;
      const before = workers();
      await expect(Engine.start()).rejects.toThrow(message);
      await Bun.sleep(200);
      expect(workers()).toBe(before); // the failed worker was stopped, not left running
    } finally {
      if (saved === undefined) delete process.env[name];
      else process.env[name] = saved;
    }
  });
});

describe("measured cost objectives", () => {
  test("latency: positive timings; a smaller sub-network needs fewer device bytes", async () => {
    const model = await engine.load(join(shared, "models/stories260K-hf"));
    const full = await model.latency(null, { T: 64, decodeTokens: 4, repeats: 1 });
    const small = await model.latency({ layers: [true, false, true, false, true], mlp: [64, 64, 64, 64, 64] }, { T: 64, decodeTokens: 4, repeats: 1 });
    for (const l of [full, small]) {
      expect(l.prefillMs).toBeGreaterThan(0);
      expect(l.decodeMsPerToken).toBeGreaterThanOrEqual(0);
      expect(l.T).toBe(64);
    }
    expect(small.deviceBytes).toBeLessThan(full.deviceBytes);
    await model.unload();
  });
});

describe("16-bit weights (in-kernel conversion)", () => {
  test("a BF16 checkpoint stays 16-bit on the device, with the same numbers as an f32 upload", async () => {
    const dir = join(shared, "models/tiny-llama3-gqa-bf16");
    const bf16 = await engine.load(dir);
    const f32 = await engine.load(dir, { keep16: false });
    expect(bf16.weightBytes).toBeLessThan(f32.weightBytes);
    const ref = readFixture("tiny-llama3-gqa-bf16");
    for (const c of ref.cases) {
      const [a, b] = await Promise.all([bf16, f32].map((m) => m.forward([c.input_ids], c.spec as never, { scores: true, lastLogits: true })));
      // Exact conversion, same kernels: bit-identical results (checkCase above already holds f32 to the fixture).
      expect(Array.from(a.lastLogits![0])).toEqual(Array.from(b.lastLogits![0]));
      expect(Array.from(a.logprobs![0])).toEqual(Array.from(b.logprobs![0]));
    }
    await expect(engine.load(dir, { keep16: "yes" as never })).rejects.toThrow(/keep16 must be a boolean/);
    await bf16.unload();
    await f32.unload();
  });
});

describe("Q8_0 weights (in-kernel dequantisation)", () => {
  test("tiny-llama3 under Q8_0 stays close to f32, and a column-sliced sub-network still runs", async () => {
    const dir = join(shared, "models/tiny-llama3-gqa-bf16");
    const ref = readFixture("tiny-llama3-gqa-bf16");
    const f32 = await engine.load(dir, { keep16: false });
    const q8 = await engine.load(dir, { quant: "q8_0" });
    expect(q8.weightBytes).toBeLessThan(f32.weightBytes / 2);
    for (const c of ref.cases.filter((c) => c.input_ids.length === 34)) {
      const [a, b] = await Promise.all([f32, q8].map((m) => m.forward([c.input_ids], c.spec as never, { scores: true, lastLogits: true })));
      let worst = 0;
      for (let v = 0; v < c.last_logits.length; v++) worst = Math.max(worst, Math.abs(a.lastLogits![0][v] - b.lastLogits![0][v]));
      const nll = (r: typeof a) => -r.logprobs![0].subarray(0, c.input_ids.length - 1).reduce((s, x) => s + x, 0);
      const rel = Math.abs(nll(b) - nll(a)) / nll(a);
      process.stderr.write(`q8_0 ${c.subnetwork}: max |dlogit| ${worst.toFixed(4)}, NLL ${nll(a).toFixed(3)} -> ${nll(b).toFixed(3)} (${(rel * 100).toFixed(2)}%)\n`);
      // Q8_0 rounding error on this random-weight model: measured max |dlogit| ~0.12, NLL change < 0.1%.
      expect(worst).toBeLessThan(0.5);
      expect(rel).toBeLessThan(0.01);
    }
    await f32.unload();
    await q8.unload();
  });
});

describe("importance permutation at load", () => {
  test("full logits are unchanged, a sliced sub-network changes, a bad permutation is refused", async () => {
    const dir = join(shared, "models/stories260K-hf");
    const rev = (n: number) => Array.from({ length: n }, (_, i) => n - 1 - i);
    const permutation = { mlp: Array.from({ length: 5 }, () => rev(172)), kvHeads: Array.from({ length: 5 }, () => rev(4)) };
    const plain = await engine.load(dir);
    const perm = await engine.load(dir, { permutation });
    const ids = [1, 403, 407, 261, 378, 432, 383, 286];
    const sliced = { mlp: [86, 86, 86, 86, 86], kvHeads: [2, 2, 2, 2, 2] };
    const [a, b] = await Promise.all([plain, perm].map((m) => m.forward([ids], null, { lastLogits: true })));
    let worst = 0;
    for (let v = 0; v < 512; v++) worst = Math.max(worst, Math.abs(a.lastLogits![0][v] - b.lastLogits![0][v]));
    expect(worst).toBeLessThan(1e-4);
    const [c, d] = await Promise.all([plain, perm].map((m) => m.forward([ids], sliced, { lastLogits: true })));
    let diff = 0;
    for (let v = 0; v < 512; v++) diff = Math.max(diff, Math.abs(c.lastLogits![0][v] - d.lastLogits![0][v]));
    expect(diff).toBeGreaterThan(1e-3);
    await expect(engine.load(dir, { permutation: { mlp: [[0]], kvHeads: [] } as never })).rejects.toThrow(/permutation/);
    await plain.unload();
    await perm.unload();
  });
});
