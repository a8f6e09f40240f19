import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { Rng, RngError, checkRngState, seedRng } from "./rng.ts";

describe("Rng (xoshiro128**)", () => {
  test("matches the reference C implementation from state [1, 2, 3, 4]", () => {
    // Values printed by the xoshiro128** reference algorithm compiled with gcc.
    const rng = new Rng([1, 2, 3, 4]);
    const got = Array.from({ length: 6 }, () => rng.nextUint32());
    expect(got).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
  });

  test("state survives a JSON round trip and continues identically", () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat({ max: 200 }), (seed, skip) => {
        const a = new Rng(seedRng(seed));
        for (let i = 0; i < skip; i++) a.nextUint32();
        const b = new Rng(JSON.parse(JSON.stringify(a.state())));
        for (let i = 0; i < 20; i++) expect(b.nextUint32()).toBe(a.nextUint32());
      }),
    );
  });

  test("int(n) stays in range and sample() returns distinct sorted values", () => {
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 1000 }), (seed, n) => {
        const rng = new Rng(seedRng(seed));
        for (let i = 0; i < 50; i++) {
          const x = rng.int(n);
          expect(Number.isInteger(x) && x >= 0 && x < n).toBe(true);
        }
        const k = rng.int(n + 1);
        const s = rng.sample(n, k);
        expect(s.length).toBe(k);
        expect(new Set(s).size).toBe(k);
        expect([...s].sort((x, y) => x - y)).toEqual(s);
      }),
    );
  });

  test("int(n) is close to uniform", () => {
    const rng = new Rng(seedRng(1));
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 70000; i++) counts[rng.int(7)]++;
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(500);
  });

  test("different seeds give different streams; bad seeds and states are rejected", () => {
    expect(seedRng(1)).not.toEqual(seedRng(2));
    expect(seedRng(2 ** 40)).not.toEqual(seedRng(0));
    expect(() => seedRng(-1)).toThrow(RngError);
    expect(() => seedRng(1.5)).toThrow(/non-negative safe integer/);
    expect(() => checkRngState([0, 0, 0, 0])).toThrow(/all zero/);
    expect(() => checkRngState([1, 2, 3])).toThrow(/4 uint32/);
    expect(() => checkRngState([1, 2, 3, 2 ** 32])).toThrow(/uint32/);
  });
});
