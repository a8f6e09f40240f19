/**
 * The shared shape of lm-eval `output_type: multiple_choice` tasks (api/task.py construct_requests and
 * process_results): one loglikelihood request per choice, `(context, target_delimiter + choice)` with
 * target_delimiter " "; acc / acc_norm from the lls (acc_norm divides by the choice's length in code points).
 */
import { multipleChoiceScores } from "../metrics.ts";
import { pyLen } from "../pytext.ts";
import { llOf, type TaskDoc } from "../task.ts";

/** A multiple-choice document with the choices in the continuation. */
export function choiceDoc(context: string, choices: string[], gold: number, group?: string): TaskDoc {
  return {
    requests: choices.map((c) => ({ kind: "loglikelihood" as const, context, continuation: ` ${c}` })),
    score: (results) => multipleChoiceScores(results.map((r) => llOf(r).ll), choices.map(pyLen), gold),
    group,
  };
}

/** A multiple-input document (lm-eval `multiple_inputs: true`, e.g. WinoGrande): choices are contexts. */
export function contextChoiceDoc(contexts: string[], continuation: string, gold: number): TaskDoc {
  return {
    requests: contexts.map((context) => ({ kind: "loglikelihood" as const, context, continuation: ` ${continuation}` })),
    score: (results) => ({ acc: multipleChoiceScores(results.map((r) => llOf(r).ll), contexts.map(pyLen), gold).acc }),
  };
}
