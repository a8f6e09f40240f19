/**
 * LAMBADA (OpenAI preprocessed test) — lm-eval tasks/lambada/lambada_openai.yaml, output_type loglikelihood:
 *   doc_to_text: text.split(' ')[:-1] joined by ' '   doc_to_target: ' ' + text.split(' ')[-1]
 *   metrics: perplexity (exp(-mean ll)), acc (the last word is the greedy continuation)
 * Data: ../shared/data/lambada_openai/lambada_openai_test.llm-foundry.jsonl: {context, continuation} with
 * text = context + " " + continuation, i.e. exactly that split.
 */
import { DataError, readJsonl } from "../data.ts";
import { llOf, type TaskDefinition } from "../task.ts";

export const lambadaOpenai: TaskDefinition = {
  name: "lambada_openai",
  about: "lambada_openai/lambada_openai_test.llm-foundry.jsonl; lm-eval lambada_openai.yaml (context, ' ' + last word)",
  metrics: { perplexity: "perplexity", acc: "mean" },
  load(dataDir) {
    const file = "lambada_openai/lambada_openai_test.llm-foundry.jsonl";
    return readJsonl<{ context: string; continuation: string }>(dataDir, file).map((r, i) => {
      if (typeof r.context !== "string" || typeof r.continuation !== "string" || r.continuation.includes(" ")) {
        throw new DataError(`${file} row ${i + 1}: expected {context, continuation} with a one-word continuation`);
      }
      return {
        requests: [{ kind: "loglikelihood" as const, context: r.context, continuation: ` ${r.continuation}` }],
        score: ([res]) => {
          const { ll, isGreedy } = llOf(res);
          return { perplexity: ll, acc: isGreedy ? 1 : 0 };
        },
      };
    });
  },
};
