/**
 * WinoGrande (winogrande_xl validation) — lm-eval tasks/winogrande/default.yaml + preprocess_winogrande.py,
 * `multiple_inputs: true` (partial scoring): the contexts are sentence[:blank] + option (one per option), the shared
 * continuation is " " + sentence[blank+1:].strip(), and the option whose context makes the continuation most
 * likely wins. Metric: acc.
 * Data: ../shared/data/winogrande/winogrande_xl_dev.llm-foundry.jsonl holds exactly those inputs
 * (context_options, continuation, gold); gold is checked against dev-labels.lst.
 */
import { DataError, readJsonl, readText } from "../data.ts";
import type { TaskDefinition } from "../task.ts";
import { contextChoiceDoc } from "./multiple-choice.ts";

export const winogrande: TaskDefinition = {
  name: "winogrande",
  about: "winogrande/winogrande_xl_dev.llm-foundry.jsonl; lm-eval winogrande partial scoring (context options, shared continuation)",
  metrics: { acc: "mean" },
  load(dataDir) {
    const file = "winogrande/winogrande_xl_dev.llm-foundry.jsonl";
    const rows = readJsonl<{ context_options: string[]; continuation: string; gold: number }>(dataDir, file);
    const labels = readText(dataDir, "winogrande/dev-labels.lst").split("\n").filter((l) => l.trim() !== "");
    if (labels.length !== rows.length) throw new DataError(`winogrande: ${rows.length} rows but ${labels.length} labels in dev-labels.lst`);
    return rows.map((r, i) => {
      if (!Array.isArray(r.context_options) || r.context_options.length !== 2) throw new DataError(`${file} row ${i + 1}: context_options must hold 2 contexts`);
      if (Number(labels[i]) !== r.gold + 1) throw new DataError(`${file} row ${i + 1}: gold ${r.gold} disagrees with dev-labels.lst (${labels[i]})`);
      return contextChoiceDoc(r.context_options, r.continuation, r.gold);
    });
  },
};
