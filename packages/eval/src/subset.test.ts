import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { limitForTokens, seededSubset, subsetInfo } from "./subset.ts";

describe("seededSubset", () => {
  test("deterministic, ascending, distinct, of size limit", () => {
    const a = seededSubset(2376, 200, 1234);
    expect(a).toEqual(seededSubset(2376, 200, 1234));
    expect(a.length).toBe(200);
    expect(new Set(a).size).toBe(200);
    expect([...a].sort((x, y) => x - y)).toEqual(a);
    expect(a).not.toEqual(seededSubset(2376, 200, 1235));
    expect(a[0]).toBeGreaterThanOrEqual(0);
    expect(a.at(-1)!).toBeLessThan(2376);
  });

  test("limit >= n returns every document", () => {
    expect(seededSubset(5, 10, 1)).toEqual([0, 1, 2, 3, 4]);
    expect(() => seededSubset(5, 0, 1)).toThrow(RangeError);
  });

  test("stratified: proportional allocation by largest remainder, each stratum's picks from its own members", () => {
    const strata = [...Array(60).fill("a"), ...Array(30).fill("b"), ...Array(10).fill("c")];
    const s = seededSubset(100, 10, 7, strata);
    const count = (l: string) => s.filter((i) => strata[i] === l).length;
    expect([count("a"), count("b"), count("c")]).toEqual([6, 3, 1]);
    expect(seededSubset(100, 10, 7, strata)).toEqual(s);
  });

  test("property: stratified allocation is within one of proportional and sums to the limit", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 100 }), fc.integer(), (sizes, limit, seed) => {
        const strata = sizes.flatMap((n, i) => Array(n).fill(`s${i}`));
        const n = strata.length;
        const picked = seededSubset(n, limit, seed, strata);
        expect(picked.length).toBe(Math.min(limit, n));
        if (limit < n) sizes.forEach((size, i) => {
          const got = picked.filter((k) => strata[k] === `s${i}`).length;
          expect(Math.abs(got - (size * limit) / n)).toBeLessThan(1);
        });
      }),
    );
  });

  test("subsetInfo records the indices' hash", () => {
    const info = subsetInfo([1, 2, 3], 3, 9, false);
    expect(info).toEqual({ limit: 3, seed: 9, stratified: false, indicesSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(subsetInfo([1, 2, 4], 3, 9, false).indicesSha256).not.toBe(info.indicesSha256);
  });
});

test("limitForTokens: the smallest seeded subset that holds the token budget", () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 0, max: 1e6 }), (counts, budget, seed) => {
      const k = limitForTokens(counts, budget, seed);
      const held = (limit: number) => seededSubset(counts.length, limit, seed).reduce((a, i) => a + counts[i], 0);
      const total = counts.reduce((a, b) => a + b, 0);
      if (total < budget) expect(k).toBe(counts.length);
      else {
        expect(held(k)).toBeGreaterThanOrEqual(budget);
        if (k > 1) expect(held(k - 1)).toBeLessThan(budget);
      }
    }),
  );
  expect(() => limitForTokens([1, 2], 0, 1)).toThrow(/token budget must be a positive integer/);
});
