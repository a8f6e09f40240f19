import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { constrainedDominates, crowdingDistance, nonDominatedSort, rankAndCrowd, selectSurvivors, toMinimization } from "./sort.ts";

/** Points on a small integer grid (many ties and duplicates), 1-4 objectives, some infeasible. */
const population = fc.integer({ min: 1, max: 4 }).chain((m) =>
  fc.array(
    fc.record({
      p: fc.array(fc.integer({ min: 0, max: 6 }), { minLength: m, maxLength: m }),
      v: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }) }),
    }),
    { maxLength: 60 },
  ),
);

/** O(n^2)-per-front reference: peel off the points no remaining point constrained-dominates. */
function bruteForceRanks(points: number[][], v: number[]): number[] {
  const rank = new Array<number>(points.length).fill(-1);
  let remaining = points.map((_, i) => i);
  for (let r = 0; remaining.length > 0; r++) {
    const front = remaining.filter((i) => !remaining.some((j) => constrainedDominates(points[j], v[j], points[i], v[i])));
    for (const i of front) rank[i] = r;
    remaining = remaining.filter((i) => rank[i] === -1);
  }
  return rank;
}

describe("non-dominated sort", () => {
  test("equals the brute-force checker (with constraints, ties, duplicates)", () => {
    fc.assert(
      fc.property(population, (pop) => {
        const points = pop.map((x) => x.p);
        const v = pop.map((x) => x.v);
        const { rank, fronts } = nonDominatedSort(points, v);
        expect(rank).toEqual(bruteForceRanks(points, v));
        expect(fronts.flat().sort((a, b) => a - b)).toEqual(points.map((_, i) => i));
      }),
      { numRuns: 300 },
    );
  });

  test("two objectives on continuous values match too", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.double({ min: -1, max: 1, noNaN: true }), fc.double({ min: -1, max: 1, noNaN: true })), { maxLength: 80 }), (pts) => {
        const points = pts.map(([a, b]) => [a + 0, b + 0]);
        expect(nonDominatedSort(points).rank).toEqual(bruteForceRanks(points, points.map(() => 0)));
      }),
    );
  });

  test("max objectives are negated", () => {
    expect(toMinimization([0.5, 3], ["max", "min"])).toEqual([-0.5, 3]);
    expect(Object.is(toMinimization([-0], ["max"])[0], 0)).toBe(true);
  });
});

describe("crowding distance", () => {
  const front = fc.integer({ min: 1, max: 3 }).chain((m) =>
    fc.array(fc.array(fc.integer({ min: -50, max: 50 }), { minLength: m, maxLength: m }), { minLength: 1, maxLength: 30 }),
  );

  test("boundary points are infinite, interior points finite and non-negative", () => {
    fc.assert(
      fc.property(front, (points) => {
        const idx = points.map((_, i) => i);
        const d = crowdingDistance(points, idx);
        if (points.length <= 2) return expect(d.every((x) => x === Infinity)).toBe(true);
        for (let k = 0; k < points[0].length; k++) {
          const vals = points.map((p) => p[k]);
          const lo = Math.min(...vals);
          const hi = Math.max(...vals);
          if (lo === hi) continue;
          // Ties are ordered by index, so the first point holding the minimum and the last holding the
          // maximum are the boundary points.
          expect(d[vals.indexOf(lo)]).toBe(Infinity);
          expect(d[vals.lastIndexOf(hi)]).toBe(Infinity);
        }
        for (const x of d) expect(x === Infinity || (Number.isFinite(x) && x >= 0)).toBe(true);
        // Only the two extremes per objective can be infinite.
        expect(d.filter((x) => x === Infinity).length).toBeLessThanOrEqual(2 * points[0].length);
      }),
    );
  });

  test("invariant under positive scaling and translation of each objective", () => {
    fc.assert(
      fc.property(front, fc.array(fc.double({ min: 0.001, max: 1000, noNaN: true }), { minLength: 3, maxLength: 3 }), fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 3, maxLength: 3 }), (points, scale, shift) => {
        const idx = points.map((_, i) => i);
        const moved = points.map((p) => p.map((x, k) => x * scale[k] + shift[k]));
        const a = crowdingDistance(points, idx);
        const b = crowdingDistance(moved, idx);
        a.forEach((x, i) => (x === Infinity ? expect(b[i]).toBe(Infinity) : expect(b[i]).toBeCloseTo(x, 9)));
      }),
    );
  });

  test("the textbook example", () => {
    expect(crowdingDistance([[0, 3], [1, 1], [3, 0]], [0, 1, 2])).toEqual([Infinity, 2, Infinity]);
    expect(rankAndCrowd([[0, 3], [1, 1], [3, 0], [4, 4]]).crowding).toEqual([Infinity, 2, Infinity, Infinity]);
  });
});

describe("elitist survival", () => {
  test("keeps whole better fronts and cuts the last one by crowding", () => {
    fc.assert(
      fc.property(population, fc.nat({ max: 70 }), (pop, count) => {
        const points = pop.map((x) => x.p);
        const v = pop.map((x) => x.v);
        const chosen = selectSurvivors(points, v, count);
        expect(chosen.length).toBe(Math.min(count, points.length));
        expect(new Set(chosen).size).toBe(chosen.length);
        const { rank, crowding } = rankAndCrowd(points, v);
        const worstChosen = Math.max(-1, ...chosen.map((i) => rank[i]));
        const set = new Set(chosen);
        for (let i = 0; i < points.length; i++) {
          if (rank[i] < worstChosen) expect(set.has(i)).toBe(true);
          if (!set.has(i) && rank[i] === worstChosen) {
            for (const c of chosen) if (rank[c] === worstChosen) expect(crowding[c]).toBeGreaterThanOrEqual(crowding[i]);
          }
        }
      }),
    );
  });
});
