import { describe, expect, test } from "bun:test";
import { subnetKey } from "@nas/model";
import fc from "fast-check";
import type { EvalResult, Proposal } from "./contract.ts";
import { createAlgorithm, restoreAlgorithm } from "./engine.ts";
import { genomeToSubnet, largestGenome, smallestGenome } from "./genome.ts";
import { createSearchSpace } from "./space.ts";
import { SearchStateError, type AlgorithmName, type SearchState } from "./state.ts";
import { stories260KConfig } from "./testing.ts";

const objectives = [
  { name: "loss", direction: "min" as const },
  { name: "params", direction: "min" as const },
];
const names: AlgorithmName[] = ["nsga2", "random", "linas"];

/** FNV-1a: a deterministic pseudo-random number per key, so evaluations do not depend on call order. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Synthetic evaluator: params from the sub-network, a loss that rewards size plus noise, some failures. */
function evaluate(p: Proposal): EvalResult {
  const h = hash(p.key);
  if (h % 11 === 0) return { key: p.key, error: "simulated OOM" };
  const params = p.subnet.layers.reduce((a, kept, i) => a + (kept ? p.subnet.mlp[i] * 3 + p.subnet.kvHeads[i] * 16 : 0), 0);
  const loss = 10 - params / 400 + (h % 1000) / 500;
  return { key: p.key, objectives: [loss, params], ...(h % 13 === 0 ? { constraintViolation: (h % 5) + 1 } : {}) };
}

function setup(name: AlgorithmName, seed = 1, extra: Partial<Parameters<typeof createAlgorithm>[0]> = {}) {
  const space = createSearchSpace(stories260KConfig, { preset: "full", minKeptLayers: 3 });
  return createAlgorithm({ name, space, objectives, population: 8, evaluations: 40, seed, linas: { innerPopulation: 16, innerGenerations: 3 }, ...extra });
}

/** Drive to the end telling each generation in one batch; returns every state after each ask and tell. */
function trajectory(name: AlgorithmName, seed: number): SearchState[] {
  const { algorithm, initialState } = setup(name, seed);
  const states = [initialState];
  let s = initialState;
  while (!algorithm.isDone(s)) {
    const asked = algorithm.ask(s);
    states.push(asked.state);
    s = algorithm.tell(asked.state, asked.proposals.map(evaluate));
    states.push(s);
  }
  return states;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object" && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

describe("ask/tell contract", () => {
  test("first generation: distinct proposals with the largest and smallest network, correct keys and sub-networks", () => {
    const { algorithm, initialState } = setup("nsga2");
    const { state, proposals } = algorithm.ask(initialState);
    expect(proposals.length).toBe(8);
    expect(proposals[0].genome).toEqual(largestGenome(state.space));
    expect(proposals[1].genome).toEqual(smallestGenome(state.space));
    expect(new Set(proposals.map((p) => p.key)).size).toBe(8);
    for (const p of proposals) {
      expect(p.subnet).toEqual(genomeToSubnet(state.space, p.genome));
      expect(p.key).toBe(subnetKey(p.subnet));
      expect(p.generation).toBe(0);
    }
  });

  test("ask returns the untold proposals again until all are told; partial tells in any order", () => {
    const { algorithm, initialState } = setup("nsga2");
    const first = algorithm.ask(initialState);
    const again = algorithm.ask(first.state);
    expect(again.proposals).toEqual(first.proposals);
    const s1 = algorithm.tell(first.state, [evaluate(first.proposals[5]), evaluate(first.proposals[2])]);
    const rest = algorithm.ask(s1).proposals.map((p) => p.key);
    expect(rest).toEqual(first.proposals.filter((_, i) => i !== 5 && i !== 2).map((p) => p.key));
    const s2 = algorithm.tell(s1, algorithm.ask(s1).proposals.map(evaluate));
    const next = algorithm.ask(s2);
    expect(next.proposals.every((p) => p.generation === 1)).toBe(true);
    expect(next.proposals.some((p) => first.proposals.some((q) => q.key === p.key))).toBe(false);
  });

  test("bad tells throw and change nothing", () => {
    const { algorithm, initialState } = setup("nsga2");
    const { state, proposals } = algorithm.ask(initialState);
    const frozen = deepFreeze(state);
    expect(() => algorithm.tell(frozen, [{ key: "nope", objectives: [1, 2] }])).toThrow(/"nope" is not a pending proposal/);
    expect(() => algorithm.tell(frozen, [evaluate(proposals[0]), evaluate(proposals[0])])).toThrow(SearchStateError);
    expect(() => algorithm.tell(frozen, [{ key: proposals[0].key, objectives: [1] }])).toThrow(/must have objectives: 2 numbers \(loss, params\)/);
    expect(() => algorithm.tell(frozen, [{ key: proposals[0].key, objectives: [1, "2"] } as never])).toThrow(SearchStateError);
    const told = algorithm.tell(frozen, [evaluate(proposals[0])]);
    expect(() => algorithm.tell(told, [evaluate(proposals[0])])).toThrow(/already told/);
  });

  test("failures and non-finite values are recorded as failed, counted, never re-proposed or selected", () => {
    const { algorithm, initialState } = setup("nsga2", 3, { evaluations: 64 });
    let s = initialState;
    const failedKeys = new Set<string>();
    while (!algorithm.isDone(s)) {
      const asked = algorithm.ask(s);
      for (const p of asked.proposals) expect(failedKeys.has(p.key)).toBe(false);
      const results = asked.proposals.map((p, i): EvalResult => {
        if (i % 4 === 0) return { key: p.key, error: "boom" };
        if (i % 4 === 1) return { key: p.key, objectives: [NaN, 1] };
        if (i % 4 === 2) return { key: p.key, objectives: [1, 2], constraintViolation: Infinity };
        return evaluate(p);
      });
      results.forEach((r, i) => i % 4 < 3 && failedKeys.add(r.key));
      s = algorithm.tell(asked.state, results);
    }
    const failed = s.archive.filter((e) => e.status === "failed");
    expect(failed.length).toBe(s.counters.failed);
    expect(failed.some((e) => e.error === 'objective "loss" is NaN (not finite)')).toBe(true);
    expect(failed.some((e) => /constraintViolation is Infinity/.test(e.error!))).toBe(true);
    for (const i of s.population) expect(s.archive[i].status).toBe("ok");
    for (const f of algorithm.front(s)) expect(failedKeys.has(f.key)).toBe(false);
    expect(s.counters.proposed).toBe(64);
  });

  test("a search whose every evaluation fails still runs to its budget", () => {
    for (const name of names) {
      const { algorithm, initialState } = setup(name);
      let s = initialState;
      while (!algorithm.isDone(s)) {
        const asked = algorithm.ask(s);
        s = algorithm.tell(asked.state, asked.proposals.map((p) => ({ key: p.key, error: "down" })));
      }
      expect(s.counters).toEqual({ proposed: 40, evaluated: 0, failed: 40 });
      expect(algorithm.front(s)).toEqual([]);
    }
  });

  test("a tiny space is enumerated completely, then the search stops (exhausted)", () => {
    const space = createSearchSpace({ ...stories260KConfig, numLayers: 2 }, { mlp: false, minKeptLayers: 1, pinFirst: false, pinLast: false });
    for (const name of names) {
      const { algorithm, initialState } = createAlgorithm({ name, space, objectives, population: 2, evaluations: 100, seed: 5 });
      let s = initialState;
      const keys: string[] = [];
      while (!algorithm.isDone(s)) {
        const asked = algorithm.ask(s);
        s = asked.state;
        keys.push(...asked.proposals.map((p) => p.key));
        if (asked.proposals.length > 0) s = algorithm.tell(s, asked.proposals.map(evaluate));
      }
      expect(keys.sort()).toEqual(["L01|M172,172|K4,4", "L10|M172,172|K4,4", "L11|M172,172|K4,4"]);
      expect(s.exhausted).toBe(true);
    }
  });

  test("the algorithm object refuses another algorithm's state", () => {
    const a = setup("nsga2");
    const b = setup("random");
    expect(() => a.algorithm.ask(b.initialState)).toThrow(/belongs to algorithm "random", not "nsga2"/);
  });

  test("option errors name the option", () => {
    const space = createSearchSpace(stories260KConfig);
    const bad: [object, RegExp][] = [
      [{ name: "cma" }, /unknown algorithm "cma"/],
      [{ population: 1 }, /population must be an integer >= 2/],
      [{ evaluations: 0 }, /evaluations must be an integer >= 1/],
      [{ seed: -3 }, /seed must be a non-negative safe integer/],
      [{ mutationRate: 2 }, /mutationRate must be a number in \[0, 1\]/],
      [{ crossover: "sbx" }, /crossover must be "uniform" or "n-point"/],
      [{ objectives: [] }, /objectives must be a non-empty array/],
      [{ objectives: [{ name: "a", direction: "up" }] }, /direction must be "min" or "max"/],
      [{ objectives: [{ name: "a", direction: "min" }, { name: "a", direction: "max" }] }, /"a" appears twice/],
      [{ linas: { ridgeLambda: 0 } }, /linas.ridgeLambda must be a finite number > 0/],
      [{ linas: { exploration: 1.5 } }, /linas.exploration must be a number in \[0, 1\]/],
      [{ linas: { inner: 3 } }, /unknown LINAS option "inner"/],
      [{ populaton: 10 }, /unknown search option "populaton"/],
      [{ space: { ...space, genes: [] } }, /invalid search space/],
    ];
    for (const [o, message] of bad) expect(() => createAlgorithm({ name: "nsga2", space, objectives, ...o } as never)).toThrow(message);
  });
});

describe("determinism and resumability", () => {
  test("state is exact JSON after every step, and ask/tell never mutate their input", () => {
    for (const name of names) {
      const states = trajectory(name, 2);
      for (const s of states) expect(JSON.parse(JSON.stringify(s))).toStrictEqual(s);
      const { algorithm } = setup(name);
      // Replaying from frozen copies gives the same states: nothing was mutated in place.
      let s = deepFreeze(structuredClone(states[0]));
      for (let i = 1; i < states.length; i += 2) {
        const asked = algorithm.ask(s);
        expect(asked.state).toStrictEqual(states[i]);
        s = deepFreeze(algorithm.tell(deepFreeze(asked.state), asked.proposals.map(evaluate)));
        expect(s).toStrictEqual(states[i + 1]);
      }
    }
  });

  test("same seed -> same trajectory; another seed -> another one", () => {
    fc.assert(
      fc.property(fc.constantFrom(...names), fc.nat({ max: 1000 }), (name, seed) => {
        const a = trajectory(name, seed);
        const b = trajectory(name, seed);
        expect(JSON.stringify(a)).toBe(JSON.stringify(b));
        const c = trajectory(name, seed + 1);
        expect(JSON.stringify(c.at(-1)!.archive)).not.toBe(JSON.stringify(a.at(-1)!.archive));
      }),
      { numRuns: 8 },
    );
  });

  test("tell order and batching do not change the outcome", () => {
    fc.assert(
      fc.property(fc.constantFrom(...names), fc.nat({ max: 1000 }), fc.nat(), (name, seed, shuffleSeed) => {
        const reference = trajectory(name, seed).at(-1)!;
        const { algorithm, initialState } = setup(name, seed);
        let s = initialState;
        let r = shuffleSeed;
        const next = () => (r = (Math.imul(r, 1103515245) + 12345) >>> 0);
        while (!algorithm.isDone(s)) {
          const asked = algorithm.ask(s);
          s = asked.state;
          const results = asked.proposals.map(evaluate);
          for (let i = results.length - 1; i > 0; i--) {
            const j = next() % (i + 1);
            [results[i], results[j]] = [results[j], results[i]];
          }
          while (results.length > 0) s = algorithm.tell(s, results.splice(0, 1 + (next() % 3)));
        }
        expect(JSON.stringify(s)).toBe(JSON.stringify(reference));
      }),
      { numRuns: 12 },
    );
  });

  test("save/restore at any step (mid-generation included) continues identically", () => {
    fc.assert(
      fc.property(fc.constantFrom(...names), fc.nat({ max: 1000 }), fc.nat({ max: 60 }), (name, seed, stopAt) => {
        const reference = trajectory(name, seed).at(-1)!;
        const { algorithm, initialState } = setup(name, seed);
        let s = initialState;
        let steps = 0;
        let restored = false;
        while (!algorithm.isDone(s)) {
          const asked = algorithm.ask(s);
          s = asked.state;
          for (const p of asked.proposals) {
            if (!restored && steps++ === stopAt) {
              const resumed = restoreAlgorithm(JSON.stringify(s));
              expect(resumed.algorithm.name).toBe(name);
              s = resumed.state;
              restored = true;
            }
            s = algorithm.tell(s, [evaluate(p)]);
          }
        }
        expect(JSON.stringify(s)).toBe(JSON.stringify(reference));
      }),
      { numRuns: 20 },
    );
  });

  test("restore rejects damaged checkpoints with a clear message", () => {
    const s = trajectory("nsga2", 4)[5];
    const text = JSON.stringify(s);
    expect(() => restoreAlgorithm("{oops")).toThrow(/not valid JSON/);
    expect(() => restoreAlgorithm({ ...s, format: "x" })).toThrow(/format is "x"/);
    expect(() => restoreAlgorithm({ ...s, algorithm: "cma" })).toThrow(/unknown algorithm "cma"/);
    expect(() => restoreAlgorithm({ ...s, rng: [0, 0, 0, 0] })).toThrow(/all zero/);
    const tampered = JSON.parse(text);
    tampered.archive[3].key = tampered.archive[4].key;
    expect(() => restoreAlgorithm(tampered)).toThrow(/archive\[3\].key does not match its genome/);
    const counters = JSON.parse(text);
    counters.counters.evaluated += 1;
    expect(() => restoreAlgorithm(counters)).toThrow(/counters .* disagree with the archive/);
    const settings = JSON.parse(text);
    settings.settings.mutationRate = 7;
    expect(() => restoreAlgorithm(settings)).toThrow(/settings.mutationRate = 7/);
    const pop = JSON.parse(text);
    pop.population.push(10_000);
    expect(() => restoreAlgorithm(pop)).toThrow(/population must list archive indices/);
  });
});

describe("NSGA-II invariants", () => {
  test("the population holds min(N, evaluated so far) distinct successful candidates", () => {
    fc.assert(
      fc.property(fc.nat({ max: 1000 }), (seed) => {
        for (const s of trajectory("nsga2", seed)) {
          if (s.archive.slice(s.batchStart).some((e) => e.status === "pending")) continue;
          expect(s.population.length).toBe(Math.min(8, s.counters.evaluated));
          expect(new Set(s.population).size).toBe(s.population.length);
          for (const i of s.population) expect(s.archive[i].status).toBe("ok");
        }
      }),
      { numRuns: 10 },
    );
  });
});
