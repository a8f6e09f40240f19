/**
 * ARC-Easy / ARC-Challenge, test split — lm-eval tasks/arc/arc_easy.yaml (arc_challenge.yaml includes it):
 *   doc_to_text: "Question: {{question}}\nAnswer:"   doc_to_choice: "{{choices.text}}"
 *   doc_to_target: "{{choices.label.index(answerKey)}}"   target_delimiter " "   metrics: acc, acc_norm
 * Data: ../shared/data/arc_{easy,challenge}/ARC-*-test.jsonl (HF allenai/ai2_arc schema, 3-5 choices).
 */
import { DataError, readJsonl } from "../data.ts";
import type { TaskDefinition } from "../task.ts";
import { choiceDoc } from "./multiple-choice.ts";

interface ArcRow {
  id: string;
  question: string;
  choices: { text: string[]; label: string[] };
  answerKey: string;
}

function arcTask(name: string, file: string): TaskDefinition {
  return {
    name,
    about: `${file} (test); lm-eval arc_easy.yaml template "Question: {question}\\nAnswer:" + " " + choice`,
    metrics: { acc: "mean", acc_norm: "mean" },
    load(dataDir) {
      return readJsonl<ArcRow>(dataDir, file).map((row, i) => {
        if (!row.choices || !Array.isArray(row.choices.text) || !Array.isArray(row.choices.label)) {
          throw new DataError(`${file} row ${i + 1}: missing choices.text / choices.label`);
        }
        // lm-eval turns a gold label outside the choices into -100 (counted wrong); same here with -1
        const gold = row.choices.label.indexOf(row.answerKey);
        return choiceDoc(`Question: ${row.question}\nAnswer:`, row.choices.text, gold);
      });
    },
  };
}

export const arcEasy = arcTask("arc_easy", "arc_easy/ARC-Easy-test.jsonl");
export const arcChallenge = arcTask("arc_challenge", "arc_challenge/ARC-Challenge-test.jsonl");
