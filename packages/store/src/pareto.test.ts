import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { dominates, firstFront, frontUpdate, type ParetoPoint } from "./pareto.ts";

const dirsArb = fc.array(fc.constantFrom("min" as const, "max" as const), { minLength: 1, maxLength: 4 });
// Small integer grids make ties and equal points common, which is where dominance bugs hide.
const pointArb = (m: number) =>
  fc.record({
    objectives: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: m, maxLength: m }),
    constraintViolation: fc.oneof(fc.constant(undefined), fc.constant(0), fc.integer({ min: 1, max: 3 })),
  });
const caseArb = dirsArb.chain((dirs) => fc.tuple(fc.constant(dirs), fc.array(pointArb(dirs.length), { maxLength: 40 })));

describe("dominates", () => {
  test("is a strict partial order (irreflexive, asymmetric, transitive)", () => {
    fc.assert(
      fc.property(caseArb, ([dirs, pts]) => {
        for (const a of pts) {
          expect(dominates(a, a, dirs)).toBe(false);
          for (const b of pts) {
            if (dominates(a, b, dirs)) expect(dominates(b, a, dirs)).toBe(false);
            for (const c of pts) if (dominates(a, b, dirs) && dominates(b, c, dirs)) expect(dominates(a, c, dirs)).toBe(true);
          }
        }
      }),
      { numRuns: 100 },
    );
  });

  test("respects directions and feasibility", () => {
    expect(dominates({ objectives: [1, 5] }, { objectives: [2, 5] }, ["min", "max"])).toBe(true);
    expect(dominates({ objectives: [1, 5] }, { objectives: [1, 6] }, ["min", "max"])).toBe(false);
    expect(dominates({ objectives: [9, 9] }, { objectives: [0, 0], constraintViolation: 1 }, ["min", "min"])).toBe(true);
    expect(dominates({ objectives: [9], constraintViolation: 1 }, { objectives: [0], constraintViolation: 2 }, ["min"])).toBe(true);
  });
});

describe("frontUpdate", () => {
  test("maintaining the front one point at a time equals computing it from scratch", () => {
    fc.assert(
      fc.property(caseArb, ([dirs, pts]) => {
        const withIds = pts.map((p, id) => ({ ...p, id }));
        let front: (ParetoPoint & { id: number })[] = [];
        for (const p of withIds) {
          const change = frontUpdate(front, p, dirs);
          front = front.filter((f) => !change.leave.includes(f.id));
          if (change.joins) front.push(p);
        }
        const expected = firstFront(withIds, dirs).map((p) => p.id);
        expect(front.map((p) => p.id).sort((a, b) => a - b)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});
