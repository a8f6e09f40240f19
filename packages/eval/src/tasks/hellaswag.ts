/**
 * HellaSwag, validation split — lm-eval tasks/hellaswag/hellaswag.yaml + utils.py:
 *   query = preprocess(activity_label + ": " + ctx_a + " " + ctx_b.capitalize()), choices = preprocess(endings)
 *   preprocess: strip; " [title]" -> ". "; remove "[...]"; "  " -> " ".   target_delimiter " "; acc, acc_norm
 * Data: ../shared/data/hellaswag/hellaswag_val_full.txt is llama.cpp's derived text form (6 lines per item:
 * context, gold, 4 endings), already preprocessed but with ctx_b NOT capitalised (ctx_a/ctx_b are not separable
 * there). We apply lm-eval's preprocess again (a no-op on most lines); the capitalisation difference remains, so
 * expect small deviations from lm-eval's hellaswag numbers (see the data's SOURCE.txt).
 */
import { DataError, readText } from "../data.ts";
import { pyStrip } from "../pytext.ts";
import type { TaskDefinition } from "../task.ts";
import { choiceDoc } from "./multiple-choice.ts";

/** lm-eval hellaswag utils.preprocess */
export function hellaswagPreprocess(text: string): string {
  return pyStrip(text).replaceAll(" [title]", ". ").replace(/\[.*?\]/g, "").replaceAll("  ", " ");
}

export const hellaswag: TaskDefinition = {
  name: "hellaswag",
  about: "hellaswag/hellaswag_val_full.txt (llama.cpp form, ctx_b not capitalised); lm-eval hellaswag utils.preprocess",
  metrics: { acc: "mean", acc_norm: "mean" },
  load(dataDir) {
    const file = "hellaswag/hellaswag_val_full.txt";
    const lines = readText(dataDir, file).split("\n");
    if (lines.at(-1) === "") lines.pop();
    if (lines.length % 6 !== 0) throw new DataError(`${file}: ${lines.length} lines, not a multiple of 6 (context, gold, 4 endings)`);
    const docs = [];
    for (let i = 0; i < lines.length; i += 6) {
      const gold = Number(lines[i + 1]);
      if (!Number.isInteger(gold) || gold < 0 || gold > 3) throw new DataError(`${file} line ${i + 2}: gold ${JSON.stringify(lines[i + 1])} is not 0-3`);
      docs.push(choiceDoc(hellaswagPreprocess(lines[i]), lines.slice(i + 2, i + 6).map(hellaswagPreprocess), gold));
    }
    return docs;
  },
};
