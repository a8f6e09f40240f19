import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { HypervolumeError, hypervolume } from "./hypervolume.ts";

/** Reference: coordinate-compressed grid, count every cell dominated by some point (exact for any m). */
function bruteForce(points: number[][], ref: number[]): number {
  const m = ref.length;
  const pts = points.filter((p) => p.every((v, k) => v < ref[k]));
  const axes = Array.from({ length: m }, (_, k) => [...new Set([...pts.map((p) => p[k]), ref[k]])].sort((a, b) => a - b));
  let total = 0;
  const visit = (k: number, lower: number[], vol: number) => {
    if (k === m) {
      if (pts.some((p) => p.every((v, j) => v <= lower[j]))) total += vol;
      return;
    }
    for (let c = 0; c + 1 < axes[k].length; c++) visit(k + 1, [...lower, axes[k][c]], vol * (axes[k][c + 1] - axes[k][c]));
  };
  visit(0, [], 1);
  return total;
}

const pointsArb = (m: number) => fc.array(fc.array(fc.integer({ min: 0, max: 12 }), { minLength: m, maxLength: m }), { maxLength: m === 3 ? 14 : 30 });

describe("hypervolume", () => {
  for (const m of [1, 2, 3]) {
    test(`${m} objectives: equals the brute-force grid computation`, () => {
      fc.assert(
        fc.property(pointsArb(m), fc.array(fc.integer({ min: 0, max: 14 }), { minLength: m, maxLength: m }), (points, ref) => {
          expect(hypervolume(points, ref)).toBe(bruteForce(points, ref));
        }),
        { numRuns: 200 },
      );
    });

    test(`${m} objectives: monotone under adding points`, () => {
      fc.assert(
        fc.property(pointsArb(m), fc.array(fc.double({ min: 0, max: 12, noNaN: true }), { minLength: m, maxLength: m }), (points, extra) => {
          const ref = new Array(m).fill(13);
          // Up to float rounding: a point a few ulps inside a box changes the summation order, and
          // [[2,0,5],[2,0,0]] + [1.9999999999999991, 0, 11.999999999532728] gave 1858.9999999999998 vs 1859.
          const before = hypervolume(points, ref);
          expect(hypervolume([...points, extra], ref)).toBeGreaterThanOrEqual(before * (1 - 1e-12));
        }),
      );
    });
  }

  test("maximised objectives are normalised to minimisation", () => {
    fc.assert(
      fc.property(pointsArb(2), (points) => {
        const flipped = points.map(([a, b]) => [-a, b]);
        expect(hypervolume(flipped, [-13, 13], ["max", "min"])).toBe(hypervolume(points, [13, 13]));
      }),
    );
    expect(hypervolume([[0.9, 100]], [0, 200], ["max", "min"])).toBeCloseTo(90, 12);
  });

  test("known values and bad input", () => {
    expect(hypervolume([[1, 2], [2, 1]], [3, 3])).toBe(3);
    expect(hypervolume([[1, 1, 1]], [2, 3, 4])).toBe(6);
    expect(hypervolume([], [1, 1])).toBe(0);
    expect(hypervolume([[5, 0]], [3, 3])).toBe(0); // does not beat the reference
    expect(() => hypervolume([[1, 2, 3, 4]], [5, 5, 5, 5])).toThrow(HypervolumeError);
    expect(() => hypervolume([[1]], [2, 2])).toThrow(/has 1 objectives, the reference has 2/);
    expect(() => hypervolume([[NaN, 1]], [2, 2])).toThrow(/non-finite/);
  });
});
