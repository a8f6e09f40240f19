/** Helpers shared by the store's and the API's tests and benches: temp databases, toy searches, a seeded PRNG. Not exported from index. */
import { afterEach, beforeEach } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeDb, openDb, type Db } from "@nas/db";
import { createSearchSpace, type Proposal, type SearchSpace } from "@nas/search";
import type { SearchSpec } from "./searches.ts";

/** A fresh directory under the OS temp dir; `cleanup()` removes it. */
export function tempDir(prefix = "nas-store-"): { dir: string; dbPath: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, dbPath: join(dir, "nas.db"), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A fresh store for every test of the calling file: registers `beforeEach`/`afterEach` hooks that open a
 * database in a new temp dir and close and remove it afterwards. Read `db` inside tests (it changes per test);
 * `reset()` swaps in another empty store mid-test.
 */
export function storePerTest(): { readonly db: Db; reset(): void } {
  let t: ReturnType<typeof tempDir> | undefined;
  let db: Db | undefined;
  const open = () => {
    t = tempDir();
    db = openDb(t.dbPath);
  };
  const close = () => {
    closeDb(db!);
    t!.cleanup();
  };
  beforeEach(open);
  afterEach(close);
  return {
    get db() {
      return db!;
    },
    reset() {
      close();
      open();
    },
  };
}

/**
 * Deterministic uniform [0, 1) stream (mulberry32): a tiny seeded PRNG, so crash-test kill schedules can be
 * replayed and benchmark data is the same on every run.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** A valid search spec over a toy space (the store treats `space` as opaque). */
export function toySpec(overrides: Partial<SearchSpec> = {}): SearchSpec {
  return {
    name: "toy",
    model: { path: "shared/models/stories260K-hf", hash: "a".repeat(64) },
    space: { kind: "toy", layers: 4 },
    objectives: [
      { name: "loss", direction: "min" },
      { name: "accuracy", direction: "max" },
    ],
    algorithm: "nsga2",
    options: { population: 8, evaluations: 32 },
    seed: 7,
    evaluator: { kind: "fake" },
    ...overrides,
  };
}

/** A proposal with key `k<i>` over a 4-layer toy sub-network. */
export function toyProposal(i: number, generation = 0): Proposal {
  const mlp = [1 + (i % 7), 1 + ((i >> 3) % 7), 8, 8];
  return { key: `k${i}`, genome: [i % 7, (i >> 3) % 7], subnet: { layers: [true, true, true, true], mlp, kvHeads: [1, 1, 1, 1] }, generation };
}

/** The "full" search space of shared/models/stories260K (5 layers, MLP 172, 8 heads / 4 KV heads): 13 genes. */
export function stories260KSpace(): SearchSpace {
  return createSearchSpace(
    {
      architecture: "llama", hiddenSize: 64, intermediateSize: 172, numLayers: 5, numHeads: 8, numKvHeads: 4, headDim: 8,
      vocabSize: 512, maxPositions: 512, rmsNormEps: 1e-5, rope: { theta: 10000 }, tieWordEmbeddings: true, bosTokenId: 1, eosTokenId: 2,
    },
    { preset: "full" },
  );
}

/** A search spec the real NSGA-II can run with the fake evaluator. */
export function nsgaSpec(overrides: Partial<SearchSpec> = {}): SearchSpec {
  return toySpec({ space: stories260KSpace(), options: { population: 6, evaluations: 30 }, seed: 11, ...overrides });
}
