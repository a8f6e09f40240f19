/**
 * TinyStories validation-sample perplexity (not an lm-eval task; defined here in lm-eval's rolling style):
 *   documents: the paragraphs of tinystories_validation_sample.txt (blocks separated by a blank line; story
 *   boundaries are not marked in the file), each scored by rolling loglikelihood of its tokens WITHOUT a BOS in
 *   the text and with BOS as the window prefix, i.e. every token predicted given BOS and what precedes it.
 *   perplexity = exp(-sum ll / sum tokens) (token level), word_perplexity, byte_perplexity and bits_per_byte as
 *   for wikitext (words = whitespace-separated fields, bytes = UTF-8 bytes of the paragraph).
 * Data: ../shared/data/tinystories/tinystories_validation_sample.txt.
 */
import { readText } from "../data.ts";
import { pyStrip, pyWhitespaceSplitCount, utf8Length } from "../pytext.ts";
import { rollingOf, type TaskDefinition } from "../task.ts";

/** The paragraphs of the sample file, in order. */
export function tinystoriesParagraphs(text: string): string[] {
  return text.split(/\n\n+/).map(pyStrip).filter((p) => p !== "");
}

export const tinystories: TaskDefinition = {
  name: "tinystories",
  about: "tinystories/tinystories_validation_sample.txt paragraphs; token perplexity by rolling loglikelihood (BOS prefix)",
  metrics: { perplexity: "weighted_perplexity", word_perplexity: "weighted_perplexity", byte_perplexity: "weighted_perplexity", bits_per_byte: "bits_per_byte" },
  load(dataDir) {
    return tinystoriesParagraphs(readText(dataDir, "tinystories/tinystories_validation_sample.txt")).map((text) => {
      const words = pyWhitespaceSplitCount(text);
      const bytes = utf8Length(text);
      return {
        requests: [{ kind: "rolling" as const, text, addBos: false }],
        score: ([r]) => {
          const { ll, tokens } = rollingOf(r);
          return { perplexity: [ll, tokens], word_perplexity: [ll, words], byte_perplexity: [ll, bytes], bits_per_byte: [ll, bytes] };
        },
      };
    });
  },
};
