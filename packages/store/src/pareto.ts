/**
 * Constrained Pareto dominance (Deb's rule, as NSGA-II uses it) and the first non-dominated front.
 * The store keeps the front as a flag on candidate rows, updated incrementally per stored result
 * (see `frontUpdate`), so reading it is an index lookup.
 */
import type { Direction } from "@nas/search";

/** An evaluated point: objective values in the search's order and its constraint violation (<= 0: feasible). */
export interface ParetoPoint {
  objectives: readonly number[];
  constraintViolation?: number | null;
}

function violation(p: ParetoPoint): number {
  const v = p.constraintViolation;
  return v === null || v === undefined || !(v > 0) ? 0 : v;
}

/**
 * Whether `a` dominates `b`: a feasible point dominates an infeasible one; of two infeasible points the one
 * with the smaller violation dominates; of two feasible points, `a` is no worse in every objective and
 * strictly better in one (respecting each objective's direction). A strict partial order, which is what
 * makes the incremental front update below exact.
 *
 * @example
 * dominates({ objectives: [1, 5] }, { objectives: [2, 5] }, ["min", "max"]) // true
 */
export function dominates(a: ParetoPoint, b: ParetoPoint, directions: readonly Direction[]): boolean {
  const va = violation(a);
  const vb = violation(b);
  if (va > 0 || vb > 0) return va < vb;
  let strictly = false;
  for (let i = 0; i < directions.length; i++) {
    const x = directions[i] === "min" ? a.objectives[i] : -a.objectives[i];
    const y = directions[i] === "min" ? b.objectives[i] : -b.objectives[i];
    if (x > y) return false;
    if (x < y) strictly = true;
  }
  return strictly;
}

/**
 * The change to the front when `added` joins a set whose current front is `front`:
 * `added` joins iff no front member dominates it (anything dominating it is dominated by, or is, a front
 * member, by transitivity), and the members it dominates leave.
 *
 * @example
 * frontUpdate([{ id: 1, objectives: [2, 2] }], { objectives: [1, 1] }, ["min", "min"]) // { joins: true, leave: [1] }
 */
export function frontUpdate<T extends ParetoPoint & { id: number }>(
  front: readonly T[],
  added: ParetoPoint,
  directions: readonly Direction[],
): { joins: boolean; leave: number[] } {
  for (const f of front) if (dominates(f, added, directions)) return { joins: false, leave: [] };
  return { joins: true, leave: front.filter((f) => dominates(added, f, directions)).map((f) => f.id) };
}

/**
 * The first front of `points` from scratch (O(n^2); the reference the incremental flag is tested against,
 * and what the crash test compares).
 *
 * @example
 * firstFront([{ objectives: [1, 2] }, { objectives: [2, 1] }, { objectives: [2, 2] }], ["min", "min"]) // first two
 */
export function firstFront<T extends ParetoPoint>(points: readonly T[], directions: readonly Direction[]): T[] {
  return points.filter((p) => !points.some((q) => q !== p && dominates(q, p, directions)));
}
