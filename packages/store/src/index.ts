/**
 * @nas/store: the candidate store and search runner on top of @nas/db.
 *
 * @example
 * import { openDb } from "@nas/db";
 * import { createSearch, runSearch } from "@nas/store";
 * const db = openDb("runs/nas.db");
 * const s = createSearch(db, { name, model: { path, hash }, space, objectives, algorithm: "nsga2", options, seed: 1 });
 * await runSearch(db, s.id, evaluator, { signal });
 */
export * from "./errors.ts";
export * from "./pareto.ts";
export * from "./searches.ts";
export * from "./candidates.ts";
export * from "./query.ts";
export * from "./candidate-query.ts";
export * from "./evaluator.ts";
export * from "./evaluators.ts";
export { createFakeEvaluator, fakeObjectives, type FakeEvaluatorOptions } from "./fake-evaluator.ts";
export * from "./runner.ts";
export { workerScript } from "./worker.ts";
export { createAlgorithmFromSearchPackage } from "./algorithms.ts";
