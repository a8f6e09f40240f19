/**
 * Entry script of a search process (what the API server spawns):
 *
 *   bun packages/store/src/worker.ts --db FILE --search ID [--evaluator-module PATH]
 *
 * Builds the evaluator from the search's stored `evaluator` spec (built-in kind, or the module given with
 * --evaluator-module), runs the search, and pauses cleanly on SIGTERM/SIGINT (the current evaluation is
 * aborted, the state stays at the last checkpoint, status becomes "paused"). Exit codes: 0 done or
 * paused, 1 failed (the error is also stored on the search), 2 bad arguments.
 */
import { parseArgs } from "node:util";
import { closeDb, openDb } from "@nas/db";
import { evaluatorModuleFor, loadEvaluator } from "./evaluators.ts";
import { runSearch } from "./runner.ts";
import { getSearch, releaseSearch } from "./searches.ts";

export const workerScript = new URL(import.meta.url).pathname;

async function main(): Promise<number> {
  let args: { db?: string; search?: string; "evaluator-module"?: string };
  try {
    args = parseArgs({
      options: { db: { type: "string" }, search: { type: "string" }, "evaluator-module": { type: "string" } },
      strict: true,
    }).values;
  } catch (e) {
    console.error(`worker: ${(e as Error).message}`);
    return 2;
  }
  const id = Number(args.search);
  if (!args.db || !Number.isSafeInteger(id) || id <= 0) {
    console.error("usage: worker.ts --db FILE --search ID [--evaluator-module PATH]");
    return 2;
  }
  const controller = new AbortController();
  for (const sig of ["SIGTERM", "SIGINT"] as const) process.on(sig, () => controller.abort(new Error(`received ${sig}`)));
  const db = openDb(args.db);
  try {
    const search = getSearch(db, id);
    let evaluator;
    try {
      evaluator = await loadEvaluator(args["evaluator-module"] ?? evaluatorModuleFor(search.evaluator.kind), search);
    } catch (e) {
      releaseSearch(db, id, "failed", (e as Error).message);
      throw e;
    }
    const out = await runSearch(db, id, evaluator, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.checkpointed) console.log(JSON.stringify({ event: "checkpoint", ...p }));
      },
    });
    console.log(JSON.stringify({ event: "end", ...out }));
    return 0;
  } catch (e) {
    console.error(`worker: search ${id}: ${(e as Error).message}`);
    return 1;
  } finally {
    closeDb(db);
  }
}

if (import.meta.main) process.exit(await main());
