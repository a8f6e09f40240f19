/**
 * Exact hypervolume (the Lebesgue measure of the region dominated by a point set and bounded by a reference
 * point) for 1, 2 and 3 objectives. Directions are normalised to minimisation first, so for a maximised
 * objective the reference must be below the points (e.g. 0 accuracy).
 */
import type { Direction } from "./contract.ts";

/** Thrown for inputs the exact algorithms cannot handle. */
export class HypervolumeError extends Error {
  override name = "HypervolumeError";
}

/**
 * Hypervolume of `points` with respect to `reference`. Points that do not strictly beat the reference in
 * every objective contribute nothing. `directions` defaults to minimising every objective.
 * 2 objectives: sort + sweep, O(n log n). 3 objectives: sweep over the third objective keeping the 2-D
 * non-dominated staircase of the points seen so far, O(n^2) worst case.
 *
 * @example
 * hypervolume([[1, 2], [2, 1]], [3, 3]); // 3
 * hypervolume([[0.9, 100]], [0, 200], ["max", "min"]); // 0.9 * 100 = 90
 */
export function hypervolume(points: readonly (readonly number[])[], reference: readonly number[], directions?: readonly Direction[]): number {
  const m = reference.length;
  if (m < 1 || m > 3) throw new HypervolumeError(`exact hypervolume supports 1 to 3 objectives, got a ${m}-dimensional reference point`);
  if (directions && directions.length !== m) throw new HypervolumeError(`got ${directions.length} directions for ${m} objectives`);
  for (const r of reference) if (!Number.isFinite(r)) throw new HypervolumeError(`reference point must be finite, got ${JSON.stringify(reference)}`);
  const flip = (v: number, k: number) => (directions?.[k] === "max" ? -v : v);
  const ref = reference.map(flip);
  const pts: number[][] = [];
  for (const p of points) {
    if (p.length !== m) throw new HypervolumeError(`point ${JSON.stringify(p)} has ${p.length} objectives, the reference has ${m}`);
    if (p.some((v) => !Number.isFinite(v))) throw new HypervolumeError(`point ${JSON.stringify(p)} has a non-finite value`);
    const q = p.map(flip);
    if (q.every((v, k) => v < ref[k])) pts.push(q);
  }
  if (pts.length === 0) return 0;
  if (m === 1) return ref[0] - Math.min(...pts.map((p) => p[0]));
  if (m === 2) return area2d(pts, ref[0], ref[1]);
  return volume3d(pts, ref);
}

/** Area dominated by 2-D points (all strictly inside the reference box). */
function area2d(pts: number[][], rx: number, ry: number): number {
  const sorted = pts.slice().sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let area = 0;
  let bestY = ry;
  for (const [x, y] of sorted) {
    if (y < bestY) {
      area += (rx - x) * (bestY - y);
      bestY = y;
    }
  }
  return area;
}

/** Volume dominated by 3-D points: slices between consecutive third coordinates times the 2-D area so far. */
function volume3d(pts: number[][], ref: number[]): number {
  const sorted = pts.slice().sort((a, b) => a[2] - b[2]);
  // Staircase: non-dominated (x, y) so far, x ascending and y strictly descending.
  const xs: number[] = [];
  const ys: number[] = [];
  let area = 0;
  let volume = 0;
  for (let i = 0; i < sorted.length; i++) {
    const [x, y, z] = sorted[i];
    if (insertStaircase(xs, ys, x, y)) area = staircaseArea(xs, ys, ref[0], ref[1]);
    const nextZ = i + 1 < sorted.length ? sorted[i + 1][2] : ref[2];
    volume += area * (nextZ - z);
  }
  return volume;
}

/** Insert (x, y) into the staircase; false when it is weakly dominated (the staircase is unchanged). */
function insertStaircase(xs: number[], ys: number[], x: number, y: number): boolean {
  // First position whose x >= new x.
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  // Dominated (weakly) by the left neighbour, or by an equal-x point with y <= new y.
  if (lo > 0 && ys[lo - 1] <= y) return false;
  if (lo < xs.length && xs[lo] === x && ys[lo] <= y) return false;
  // Remove points the new one dominates: x >= new x and y >= new y (they are contiguous from lo).
  let end = lo;
  while (end < xs.length && ys[end] >= y) end++;
  xs.splice(lo, end - lo, x);
  ys.splice(lo, end - lo, y);
  return true;
}

function staircaseArea(xs: number[], ys: number[], rx: number, ry: number): number {
  let area = 0;
  for (let j = 0; j < xs.length; j++) {
    const right = j + 1 < xs.length ? xs[j + 1] : rx;
    area += (right - xs[j]) * (ry - ys[j]);
  }
  return area;
}
