/**
 * Evaluator kinds → modules. A worker process builds its evaluator by importing a module that exports
 * `createEvaluator` (see EvaluatorFactory). "fake" is built in; a host (the CLI) registers the real GPU
 * kind, e.g. `{ model: "/abs/path/apps/cli/src/model-evaluator.ts" }`, and passes it to the worker with
 * `--evaluator-module`.
 */
import { fileURLToPath } from "node:url";
import type { SearchRow } from "@nas/db";
import { InvalidInputError } from "./errors.ts";
import type { Evaluator, EvaluatorFactory } from "./evaluator.ts";

/** Evaluator modules shipped with the store. */
export const builtinEvaluatorModules: Readonly<Record<string, string>> = {
  fake: fileURLToPath(new URL("./fake-evaluator.ts", import.meta.url)),
};

/**
 * The module path for an evaluator kind: `extra` (host-registered) first, then built-ins.
 *
 * @example
 * evaluatorModuleFor("fake") // ".../packages/store/src/fake-evaluator.ts"
 */
export function evaluatorModuleFor(kind: string, extra: Readonly<Record<string, string>> = {}): string {
  const path = Object.hasOwn(extra, kind) ? extra[kind] : Object.hasOwn(builtinEvaluatorModules, kind) ? builtinEvaluatorModules[kind] : undefined;
  if (path === undefined) {
    const known = [...new Set([...Object.keys(extra), ...Object.keys(builtinEvaluatorModules)])].join(", ");
    throw new InvalidInputError(`evaluator kind "${kind}" has no module on this host (known kinds: ${known})`);
  }
  return path;
}

/**
 * Import an evaluator module and build the evaluator for `search`.
 *
 * @example
 * const evaluator = await loadEvaluator(evaluatorModuleFor("fake"), search);
 */
export async function loadEvaluator(modulePath: string, search: SearchRow): Promise<Evaluator> {
  let mod: { createEvaluator?: EvaluatorFactory };
  try {
    mod = (await import(modulePath)) as { createEvaluator?: EvaluatorFactory };
  } catch (e) {
    throw new Error(`cannot load evaluator module ${modulePath}: ${(e as Error).message}`);
  }
  if (typeof mod.createEvaluator !== "function") throw new Error(`evaluator module ${modulePath} does not export createEvaluator`);
  return mod.createEvaluator(search.evaluator.options, { search });
}
