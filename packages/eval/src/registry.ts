/** Task registry with lm-evaluation-harness task names (plus our tinystories). */
import type { TaskDefinition } from "./task.ts";
import { arcChallenge, arcEasy } from "./tasks/arc.ts";
import { boolq } from "./tasks/boolq.ts";
import { hellaswag } from "./tasks/hellaswag.ts";
import { lambadaOpenai } from "./tasks/lambada.ts";
import { mmlu } from "./tasks/mmlu.ts";
import { piqa } from "./tasks/piqa.ts";
import { tinystories } from "./tasks/tinystories.ts";
import { truthfulqaMc1, truthfulqaMc2Task } from "./tasks/truthfulqa.ts";
import { wikitext } from "./tasks/wikitext.ts";
import { winogrande } from "./tasks/winogrande.ts";

/** Thrown for a task name that is not registered; the message lists the valid names. */
export class UnknownTaskError extends Error {
  override name = "UnknownTaskError";
}

export const TASKS: ReadonlyMap<string, TaskDefinition> = new Map(
  [arcEasy, arcChallenge, mmlu, truthfulqaMc1, truthfulqaMc2Task, winogrande, hellaswag, piqa, boolq, lambadaOpenai, wikitext, tinystories].map((t) => [t.name, t]),
);

/** Names of every registered task. */
export function taskNames(): string[] {
  return [...TASKS.keys()];
}

/**
 * Look a task up by its lm-eval name.
 *
 * @example
 * getTask("arc_easy").metrics // { acc: "mean", acc_norm: "mean" }
 */
export function getTask(name: string): TaskDefinition {
  const t = TASKS.get(name);
  if (!t) throw new UnknownTaskError(`unknown task "${name}"; valid tasks: ${taskNames().join(", ")}`);
  return t;
}
