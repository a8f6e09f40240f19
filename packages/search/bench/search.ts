/**
 * Benchmark: non-dominated sort + crowding distance (rankAndCrowd, what one NSGA-II selection step needs)
 * per second, at population 100 and 1000 with 2 and 3 objectives, on uniform random points (few fronts,
 * large fronts: the costly case for crowding) and on points along a correlated line (many fronts: the costly
 * case for sorting). Also times one hypervolume evaluation of the first front. Prints one JSON object.
 *
 * Run: bun run bench:search   (or: bun packages/search/bench/search.ts [--seconds 0.5])
 */
import { parseArgs } from "node:util";
import { Rng, hypervolume, rankAndCrowd, seedRng } from "../src/index.ts";

const { values } = parseArgs({ options: { seconds: { type: "string", default: "0.5" } } });
const seconds = Number(values.seconds);
if (!(seconds > 0)) throw new Error(`--seconds must be a positive number, got ${values.seconds}`);

type Shape = "uniform" | "correlated";

function points(n: number, m: number, shape: Shape, rng: Rng): number[][] {
  return Array.from({ length: n }, () => {
    const t = rng.float();
    // Correlated: all objectives grow together (plus noise), so most points dominate each other.
    return Array.from({ length: m }, () => (shape === "uniform" ? rng.float() : t + 0.05 * rng.float()));
  });
}

/** Calls per second of fn, timed over `seconds` after a warm-up. */
function rate(fn: () => void): number {
  const warmEnd = performance.now() + 300;
  while (performance.now() < warmEnd) fn();
  let calls = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    fn();
    calls++;
  }
  return calls / ((performance.now() - start) / 1000);
}

const rng = new Rng(seedRng(1));
const results: Record<string, unknown>[] = [];
for (const n of [100, 1000]) {
  for (const m of [2, 3]) {
    for (const shape of ["uniform", "correlated"] as const) {
      const pts = points(n, m, shape, rng);
      const { fronts } = rankAndCrowd(pts);
      const first = fronts[0].map((i) => pts[i]);
      results.push({
        population: n,
        objectives: m,
        shape,
        fronts: fronts.length,
        sortCrowdPerSecond: Math.round(rate(() => rankAndCrowd(pts))),
        hypervolumeFirstFrontPerSecond: Math.round(rate(() => hypervolume(first, new Array(m).fill(2)))),
      });
    }
  }
}

console.log(JSON.stringify({
  benchmark: "search.rankAndCrowd",
  runtime: typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? "bun" : `node ${process.version}`,
  secondsPerCase: seconds,
  results,
}));
