/**
 * BoolQ (SuperGLUE validation) — lm-eval tasks/super_glue/boolq/default.yaml:
 *   doc_to_text: "{{passage}}\nQuestion: {{question}}?\nAnswer:"   doc_to_choice: ["no", "yes"]   doc_to_target: label
 *   target_delimiter " "   metric: acc
 * Data: ../shared/data/boolq/boolq_validation.llm-foundry.jsonl, whose query is "Passage: <passage>\nQuestion:
 * <question>?"; passage and question are recovered from it (the question as lm-eval sees it has no "?").
 * This reconstruction of the SuperGLUE fields is exact only if llm-foundry kept them verbatim.
 */
import { DataError, readJsonl } from "../data.ts";
import type { TaskDefinition } from "../task.ts";
import { choiceDoc } from "./multiple-choice.ts";

export const boolq: TaskDefinition = {
  name: "boolq",
  about: 'boolq/boolq_validation.llm-foundry.jsonl; lm-eval boolq template "{passage}\\nQuestion: {question}?\\nAnswer:" + " no"/" yes"',
  metrics: { acc: "mean" },
  load(dataDir) {
    const file = "boolq/boolq_validation.llm-foundry.jsonl";
    return readJsonl<{ query: string; choices: string[]; gold: number }>(dataDir, file).map((r, i) => {
      // 21 passages contain newlines: the passage runs up to the last "\nQuestion: "
      const m = /^Passage: ([\s\S]*)\nQuestion: ([^\n]*)\?$/.exec(r.query);
      if (!m) throw new DataError(`${file} row ${i + 1}: query is not "Passage: ...\\nQuestion: ...?"`);
      if (r.gold !== 0 && r.gold !== 1) throw new DataError(`${file} row ${i + 1}: gold ${r.gold} is not 0 or 1`);
      return choiceDoc(`${m[1]}\nQuestion: ${m[2]}?\nAnswer:`, ["no", "yes"], r.gold);
    });
  },
};
