import { checkResumable, getSearch } from "@nas/store";
import { parse } from "../args.ts";
import { closeDb, openExistingDb, searchIdArg } from "../db-file.ts";
import { printFront, runWithProgress, startModel } from "../run-search.ts";
import { finish } from "./search.ts";
import type { ModelEvaluatorOptions } from "../model-evaluator.ts";

export const help = "resume <id> --db FILE [--model DIR]   continue a paused, interrupted or killed search (stored results are not re-run)";

/**
 * `nas resume`: continue a search from its last stored result. The model (stored path, or --model) must hash
 * to the search's model hash; otherwise it refuses before touching the store.
 */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { db: { type: "string" }, model: { type: "string" } }, true);
  const id = searchIdArg(positionals, "resume");
  const db = openExistingDb(values.db);
  try {
    const search = getSearch(db, id);
    if (search.status === "done") {
      process.stderr.write(`search ${id} is already done\n`);
      printFront(db, search);
      return 0;
    }
    const modelPath = values.model ?? search.modelPath;
    const { permutation } = (search.evaluator.options ?? {}) as ModelEvaluatorOptions;
    // Another path may hold another model: check its hash before applying the search's permutation to it.
    const checkFirst = values.model !== undefined && values.model !== search.modelPath && permutation !== undefined;
    let { engine, model } = await startModel(modelPath, checkFirst ? undefined : permutation);
    try {
      checkResumable(search, { modelHash: model.source.hash });
      if (checkFirst) {
        await model.unload();
        model = await engine.load(modelPath, { permutation });
      }
      return await finish(db, id, await runWithProgress(db, id, engine, model, modelPath), values.db!);
    } finally {
      await engine.close();
    }
  } finally {
    closeDb(db);
  }
}
