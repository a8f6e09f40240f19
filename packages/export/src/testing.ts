/**
 * Test helpers: the shared models and their fixture sub-networks, and a max-abs-difference over logit rows.
 * (Used by the *.test.ts files beside it; not part of the public API.)
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadModel, sharedDir, type LoadedModel, type SubNetworkSpec } from "@nas/model";

export const FIXTURE_MODELS = {
  stories260K: "models/stories260K-hf",
  "tiny-llama3-gqa-bf16": "models/tiny-llama3-gqa-bf16",
} as const;
export type FixtureModel = keyof typeof FIXTURE_MODELS;

export interface FixtureCase {
  name: string;
  spec: SubNetworkSpec;
  inputIds: number[];
}

/** Path of a file or folder under shared/. */
export function shared(rel: string): string {
  return join(sharedDir(), rel);
}

/** The fixture's sub-networks, each with the longest reference input of at most 40 tokens (keeps tests fast). */
export function fixtureCases(model: FixtureModel): FixtureCase[] {
  const ref = JSON.parse(readFileSync(shared(`fixtures/${model}.reference.json`), "utf8")) as {
    cases: { subnetwork: string; spec: SubNetworkSpec; input_ids: number[] }[];
  };
  const byName = new Map<string, FixtureCase>();
  for (const c of ref.cases) {
    const prev = byName.get(c.subnetwork);
    if (c.input_ids.length <= 40 && (!prev || c.input_ids.length > prev.inputIds.length)) {
      byName.set(c.subnetwork, { name: c.subnetwork, spec: c.spec, inputIds: c.input_ids });
    }
  }
  return [...byName.values()];
}

const cache = new Map<string, Promise<LoadedModel>>();
/** Load a shared model once per test process. */
export function loadShared(model: FixtureModel): Promise<LoadedModel> {
  let p = cache.get(model);
  if (!p) cache.set(model, (p = loadModel(shared(FIXTURE_MODELS[model]))));
  return p;
}

/** Largest |a - b| over two lists of logit rows of the same shape. */
export function maxAbsDiff(a: ArrayLike<number>[], b: ArrayLike<number>[]): number {
  if (a.length !== b.length) throw new Error(`row counts differ: ${a.length} vs ${b.length}`);
  let m = 0;
  a.forEach((row, i) => {
    if (row.length !== b[i].length) throw new Error(`row ${i} lengths differ: ${row.length} vs ${b[i].length}`);
    for (let j = 0; j < row.length; j++) m = Math.max(m, Math.abs(row[j] - b[i][j]));
  });
  return m;
}
