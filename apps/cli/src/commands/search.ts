import { existsSync } from "node:fs";
import { basename } from "node:path";
import { defaultModelPath } from "@nas/model";
import { createAlgorithm, createSearchSpace, SearchSpaceError, SearchStateError, type SearchSpaceOptions } from "@nas/search";
import { createSearch } from "@nas/store";
import { intFlag, parse, UsageError } from "../args.ts";
import { closeDb, defaultDbPath, openOrCreateDb } from "../db-file.ts";
import { objectiveSpecs, type ModelEvaluatorOptions } from "../model-evaluator.ts";
import { printFront, runWithProgress, startModel } from "../run-search.ts";
import { checkTaskNames } from "../tasks.ts";
import { importancePermutation, reorderFlag, type ReorderMetric } from "../reorder.ts";

export const help =
  "search [--model DIR] [--tasks tinystories,arc_easy] [--limit N] [--tokens N] [--objectives a,b,c] [--space paper|full|JSON]\n" +
  "         (lm-eval tasks on a seeded subset: --limit documents, or for perplexity tasks documents holding >= --tokens tokens)\n" +
  "         [--reorder activation|contribution|none] (importance reordering before the search; default activation)\n" +
  "         [--algorithm nsga2|random|linas] [--population 50] [--evaluations 250] [--seed 0] [--db FILE] [--name NAME]\n" +
  "         run a multi-objective sub-network search (Ctrl-C pauses; `resume` continues)";

/** What `nas search` and `nas default` run. Defaults: paper settings (NSGA-II, 50 x 250), TinyStories perplexity. */
export interface SearchCommandOptions {
  model: string;
  tasks: string[];
  limit: number;
  tokens: number;
  objectives?: string[];
  /** Importance reordering of the super-network before searching ("none" disables). */
  reorder: ReorderMetric | "none";
  space: SearchSpaceOptions;
  algorithm: string;
  population: number;
  evaluations: number;
  seed: number;
  db: string;
  name?: string;
}

export const searchDefaults = {
  tasks: ["tinystories"],
  limit: 20,
  tokens: 512,
  reorder: "activation",
  algorithm: "nsga2",
  population: 50,
  evaluations: 250,
  seed: 0,
  space: { preset: "paper" },
} satisfies Partial<SearchCommandOptions>;

const list = (v: string | undefined) => v?.split(",").map((s) => s.trim()).filter((s) => s !== "");

/** Parse --space: a preset name or a JSON object of search-space options. */
export function spaceFlag(value: string | undefined): SearchSpaceOptions {
  if (value === undefined) return searchDefaults.space as SearchSpaceOptions;
  if (!value.trim().startsWith("{")) return { preset: value as SearchSpaceOptions["preset"] };
  try {
    return JSON.parse(value) as SearchSpaceOptions;
  } catch (e) {
    throw new UsageError(`--space is neither a preset (paper, full) nor valid JSON: ${(e as Error).message}`);
  }
}

/**
 * Validate everything, load the model, create the search in the store and run it with progress. Nothing
 * is written to the store before every option has been checked against the model.
 */
export async function searchCommand(o: SearchCommandOptions): Promise<number> {
  checkTaskNames(o.tasks);
  const objectiveNames = o.objectives ?? [...o.tasks, "params", "throughput"];
  let objectives;
  try {
    objectives = objectiveSpecs(objectiveNames, o.tasks);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (objectives.length > 4) {
    throw new UsageError(`at most 4 objectives are supported, got ${objectives.length} (${objectiveNames.join(", ")}); choose some with --objectives`);
  }
  if (!existsSync(o.model)) throw new UsageError(`cannot read model ${o.model}: no such file or directory`);
  let reordering: Awaited<ReturnType<typeof importancePermutation>> | undefined;
  if (o.reorder !== "none") {
    try {
      reordering = await importancePermutation(o.model, o.reorder);
    } catch (e) {
      throw new UsageError(`cannot load model ${o.model}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  const { engine, model } = await startModel(o.model, reordering?.permutation);
  try {
    let space;
    try {
      space = createSearchSpace(model.config, o.space);
      createAlgorithm({ ...{ population: o.population, evaluations: o.evaluations }, name: o.algorithm as never, space, objectives, seed: o.seed });
    } catch (e) {
      if (e instanceof SearchSpaceError || e instanceof SearchStateError) throw new UsageError(e.message);
      throw e;
    }
    const evaluatorOptions: ModelEvaluatorOptions = { tasks: o.tasks, limit: o.limit, tokens: o.tokens, ...(reordering ?? {}) };
    const db = openOrCreateDb(o.db);
    try {
      const row = createSearch(db, {
        name: o.name ?? `${basename(o.model)} ${o.algorithm} ${o.tasks.join("+")}`,
        model: { path: o.model, hash: model.source.hash },
        space,
        objectives,
        algorithm: o.algorithm,
        options: { population: o.population, evaluations: o.evaluations },
        seed: o.seed,
        evaluator: { kind: "model", options: evaluatorOptions },
      });
      const how = reordering ? `importance-reordered (${o.reorder}, measured in ${(reordering.reorder.ms / 1000).toFixed(1)}s)` : "stored order";
      process.stderr.write(`search ${row.id} created in ${o.db} on ${engine.info.description || engine.info.device}; model ${how}\n`);
      return await finish(db, row.id, await runWithProgress(db, row.id, engine, model, o.model), o.db);
    } finally {
      closeDb(db);
    }
  } finally {
    await engine.close();
  }
}

/** Print the outcome; the exit code is 0 done, 130 paused by a signal, 1 engine lost. */
export async function finish(
  db: Parameters<typeof printFront>[0],
  id: number,
  out: { status: string; interrupted: boolean; engineError?: string; evaluated: number },
  dbPath: string,
): Promise<number> {
  const { getSearch } = await import("@nas/store");
  printFront(db, getSearch(db, id));
  if (out.status === "paused") {
    const why = out.engineError ? `the engine stopped (${out.engineError})` : "interrupted";
    process.stderr.write(`search ${id} paused (${why}); continue with: bun run nas resume ${id} --db ${dbPath}\n`);
    return out.engineError ? 1 : 130;
  }
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    model: { type: "string" },
    tasks: { type: "string" },
    limit: { type: "string" },
    tokens: { type: "string" },
    reorder: { type: "string" },
    objectives: { type: "string" },
    space: { type: "string" },
    algorithm: { type: "string" },
    population: { type: "string" },
    evaluations: { type: "string" },
    seed: { type: "string" },
    db: { type: "string" },
    name: { type: "string" },
  });
  return searchCommand({
    model: values.model ?? defaultModelPath(),
    tasks: list(values.tasks) ?? searchDefaults.tasks,
    limit: intFlag("limit", values.limit, searchDefaults.limit),
    tokens: intFlag("tokens", values.tokens, searchDefaults.tokens, 2),
    objectives: list(values.objectives),
    reorder: reorderFlag(values.reorder, searchDefaults.reorder),
    space: spaceFlag(values.space),
    algorithm: values.algorithm ?? searchDefaults.algorithm,
    population: intFlag("population", values.population, searchDefaults.population, 2),
    evaluations: intFlag("evaluations", values.evaluations, searchDefaults.evaluations),
    seed: intFlag("seed", values.seed, searchDefaults.seed, 0),
    db: values.db ?? defaultDbPath(),
    name: values.name,
  });
}
