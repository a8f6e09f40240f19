/**
 * Pareto machinery of NSGA-II, on minimisation vectors (see {@link toMinimization}):
 * constrained non-dominated sorting, crowding distance and elitist survival.
 *
 * Constraint domination (Deb 2000): a feasible point (violation 0) beats an infeasible one; of two infeasible
 * points the smaller violation wins; two feasible points compare by Pareto dominance.
 */
import type { Direction } from "./contract.ts";

/**
 * Objective values turned into a vector to minimise: maximised objectives are negated.
 *
 * @example
 * toMinimization([0.8, 1e6], ["max", "min"]); // [-0.8, 1e6]
 */
export function toMinimization(objectives: readonly number[], directions: readonly Direction[]): number[] {
  // `+ 0` turns -0 into 0 so that JSON round trips cannot change a value.
  return objectives.map((v, i) => (directions[i] === "max" ? -v : v) + 0);
}

/** Pareto dominance for minimisation: a is no worse everywhere and better somewhere. */
export function dominates(a: readonly number[], b: readonly number[]): boolean {
  let better = false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] > b[i]) return false;
    if (a[i] < b[i]) better = true;
  }
  return better;
}

/** Deb's constrained dominance; violations are >= 0 and 0 means feasible. */
export function constrainedDominates(a: readonly number[], va: number, b: readonly number[], vb: number): boolean {
  if (va > 0 || vb > 0) return va < vb;
  return dominates(a, b);
}

/** Fronts (point indices, ascending within a front) and each point's front number (0 = best). */
export interface SortResult {
  fronts: number[][];
  rank: number[];
}

/**
 * Constrained non-dominated sort. Feasible points are sorted with ENS-BS (efficient non-dominated sort with
 * binary search over fronts: points are visited in lexicographic order, so only earlier points can dominate
 * later ones, and "front k holds a dominator of p" is monotone in k). With two objectives only a front's last
 * point needs checking, giving O(n log n). Infeasible points follow, one front per distinct violation value.
 *
 * @example
 * nonDominatedSort([[1, 2], [2, 1], [2, 2]]).rank; // [0, 0, 1]
 */
export function nonDominatedSort(points: readonly (readonly number[])[], violations?: readonly number[]): SortResult {
  const n = points.length;
  const rank = new Array<number>(n).fill(0);
  const feasible: number[] = [];
  const infeasible: number[] = [];
  for (let i = 0; i < n; i++) ((violations?.[i] ?? 0) > 0 ? infeasible : feasible).push(i);

  const fronts = sortFeasible(points, feasible);
  infeasible.sort((a, b) => violations![a] - violations![b] || a - b);
  for (let j = 0; j < infeasible.length; j++) {
    const i = infeasible[j];
    if (j === 0 || violations![i] !== violations![infeasible[j - 1]]) fronts.push([]);
    fronts[fronts.length - 1].push(i);
  }
  fronts.forEach((front, r) => {
    front.sort((a, b) => a - b);
    for (const i of front) rank[i] = r;
  });
  return { fronts, rank };
}

function sortFeasible(points: readonly (readonly number[])[], indices: number[]): number[][] {
  const m = points[indices[0]]?.length ?? 0;
  const order = indices.slice().sort((a, b) => {
    const pa = points[a];
    const pb = points[b];
    for (let k = 0; k < m; k++) if (pa[k] !== pb[k]) return pa[k] - pb[k];
    return a - b;
  });
  const fronts: number[][] = [];
  const frontHasDominator = (front: number[], p: readonly number[]): boolean => {
    if (m === 2) return dominates(points[front[front.length - 1]], p);
    for (let j = front.length - 1; j >= 0; j--) if (dominates(points[front[j]], p)) return true;
    return false;
  };
  for (const i of order) {
    const p = points[i];
    let lo = 0;
    let hi = fronts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (frontHasDominator(fronts[mid], p)) lo = mid + 1;
      else hi = mid;
    }
    if (lo === fronts.length) fronts.push([]);
    fronts[lo].push(i);
  }
  return fronts;
}

/**
 * Crowding distance of the points of one front (result aligned with `front`). Per objective the front is
 * ordered by value (ties by position in `front`, i.e. by index for the ascending fronts of
 * {@link nonDominatedSort}); the first and last get Infinity, the others add the normalised gap
 * between their neighbours. An objective that is constant on the front adds nothing. Fronts of at most two
 * points are all Infinity. Infinity is only used in memory, never stored in a search state.
 *
 * @example
 * crowdingDistance([[0, 3], [1, 1], [3, 0]], [0, 1, 2]); // [Infinity, 2, Infinity]
 */
export function crowdingDistance(points: readonly (readonly number[])[], front: readonly number[]): number[] {
  const size = front.length;
  const dist = new Array<number>(size).fill(0);
  if (size <= 2) return dist.fill(Infinity);
  const m = points[front[0]].length;
  const pos = Array.from({ length: size }, (_, j) => j);
  const vals = new Float64Array(size);
  for (let k = 0; k < m; k++) {
    for (let j = 0; j < size; j++) vals[j] = points[front[j]][k];
    pos.sort((a, b) => vals[a] - vals[b] || a - b);
    const lo = vals[pos[0]];
    const hi = vals[pos[size - 1]];
    if (hi === lo) continue;
    dist[pos[0]] = Infinity;
    dist[pos[size - 1]] = Infinity;
    const range = hi - lo;
    for (let j = 1; j < size - 1; j++) dist[pos[j]] += (vals[pos[j + 1]] - vals[pos[j - 1]]) / range;
  }
  return dist;
}

/** Fronts, ranks and the crowding distance of every point within its own front. */
export interface RankCrowdResult extends SortResult {
  crowding: number[];
}

/**
 * Non-dominated sort plus crowding distance for every point: what NSGA-II's selection needs.
 *
 * @example
 * const { rank, crowding } = rankAndCrowd(points, violations);
 */
export function rankAndCrowd(points: readonly (readonly number[])[], violations?: readonly number[]): RankCrowdResult {
  const sorted = nonDominatedSort(points, violations);
  const crowding = new Array<number>(points.length).fill(0);
  for (const front of sorted.fronts) {
    const d = crowdingDistance(points, front);
    front.forEach((i, j) => (crowding[i] = d[j]));
  }
  return { ...sorted, crowding };
}

/**
 * NSGA-II elitist survival: whole fronts in order, then the last front that does not fit is cut by crowding
 * distance (largest first, ties by index). Returns the chosen indices in selection order.
 *
 * @example
 * selectSurvivors(points, violations, 50); // indices of the 50 survivors
 */
export function selectSurvivors(points: readonly (readonly number[])[], violations: readonly number[] | undefined, count: number): number[] {
  const { fronts } = nonDominatedSort(points, violations);
  const chosen: number[] = [];
  for (const front of fronts) {
    if (chosen.length >= count) break;
    if (chosen.length + front.length <= count) {
      chosen.push(...front);
      continue;
    }
    const d = crowdingDistance(points, front);
    const order = front.map((_, j) => j).sort((a, b) => (d[b] === d[a] ? front[a] - front[b] : d[b] > d[a] ? 1 : -1));
    for (const j of order.slice(0, count - chosen.length)) chosen.push(front[j]);
  }
  return chosen;
}
