/**
 * PIQA, validation split — lm-eval tasks/piqa/piqa.yaml:
 *   doc_to_text: "Question: {{goal}}\nAnswer:"   doc_to_choice: "{{[sol1, sol2]}}"   doc_to_target: label
 *   target_delimiter " "   metrics: acc, acc_norm
 * Data: ../shared/data/piqa/valid.jsonl + valid-labels.lst (the original files; HF piqa builds the same rows).
 */
import { DataError, readJsonl, readText } from "../data.ts";
import type { TaskDefinition } from "../task.ts";
import { choiceDoc } from "./multiple-choice.ts";

export const piqa: TaskDefinition = {
  name: "piqa",
  about: 'piqa/valid.jsonl + valid-labels.lst; lm-eval piqa.yaml template "Question: {goal}\\nAnswer:" + " " + sol',
  metrics: { acc: "mean", acc_norm: "mean" },
  load(dataDir) {
    const rows = readJsonl<{ goal: string; sol1: string; sol2: string }>(dataDir, "piqa/valid.jsonl");
    const labels = readText(dataDir, "piqa/valid-labels.lst").split("\n").filter((l) => l.trim() !== "");
    if (labels.length !== rows.length) throw new DataError(`piqa: ${rows.length} questions but ${labels.length} labels in valid-labels.lst`);
    return rows.map((r, i) => {
      const gold = Number(labels[i]);
      if (gold !== 0 && gold !== 1) throw new DataError(`piqa/valid-labels.lst line ${i + 1}: label ${JSON.stringify(labels[i])} is not 0 or 1`);
      return choiceDoc(`Question: ${r.goal}\nAnswer:`, [r.sol1, r.sol2], gold);
    });
  },
};
