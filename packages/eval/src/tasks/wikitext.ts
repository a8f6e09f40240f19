/**
 * WikiText-2 raw, test split, document level — lm-eval tasks/wikitext/wikitext.yaml + preprocess_wikitext.py:
 *   documents: EleutherAI/wikitext_document_level pages (wiki.test.raw split before each top-level " = Title = "
 *   heading line, as that dataset's generator does: 62 pages), output_type loglikelihood_rolling on
 *   wikitext_detokenizer(page).
 *   word_perplexity = exp(-sum ll / sum words), byte_perplexity = exp(-sum ll / sum bytes),
 *   bits_per_byte = -sum ll / sum bytes / ln 2, where words = len(re.split(r"\s+", page)) and bytes =
 *   len(page.encode("utf-8")) count the ORIGINAL page (before detokenising), as lm-eval does.
 * Data: ../shared/data/wikitext2/wiki.test.raw (the canonical byte-exact file).
 */
import { readText } from "../data.ts";
import { PY_WS_CLASS, pyStrip, pyWhitespaceSplitCount, utf8Length } from "../pytext.ts";
import { rollingOf, type TaskDefinition } from "../task.ts";

/** Pages as EleutherAI/wikitext_document_level's `_generate_examples` builds them from wiki.test.raw. */
export function wikitextPages(raw: string): string[] {
  const pages: string[] = [];
  let lines: string[] = [];
  for (const line of raw.split("\n")) {
    const r = pyStrip(line.replaceAll("= = =", "===").replaceAll("= =", "=="));
    if (r.startsWith("= ") && pyStrip(r).endsWith(" =")) {
      const page = lines.join("\n");
      if (pyStrip(page) !== "") pages.push(page);
      lines = [];
    }
    lines.push(line);
  }
  pages.push(lines.join("\n"));
  return pages;
}

const S = PY_WS_CLASS;
const PAREN = new RegExp(`\\(${S}*([^\\)]*?)${S}*\\)`, "g");
const BRACKET = new RegExp(`\\[${S}*([^\\]]*?)${S}*\\]`, "g");
const BRACE = new RegExp(`\\{${S}*([^}]*?)${S}*\\}`, "g");
const DQUOTE = new RegExp(`"${S}*([^"]*?)${S}*"`, "g");
const SQUOTE = new RegExp(`'${S}*([^']*?)${S}*'`, "g");

/** lm-eval preprocess_wikitext.wikitext_detokenizer, step for step. */
export function wikitextDetokenize(page: string): string {
  let s = page;
  s = s.replaceAll("s '", "s'");
  s = s.replace(/\/' [0-9]\//g, "/'[0-9]/"); // sic: lm-eval's pattern and literal replacement
  s = s.replaceAll(" @-@ ", "-").replaceAll(" @,@ ", ",").replaceAll(" @.@ ", ".");
  s = s.replaceAll(" : ", ": ").replaceAll(" ; ", "; ").replaceAll(" . ", ". ").replaceAll(" ! ", "! ").replaceAll(" ? ", "? ").replaceAll(" , ", ", ");
  s = s.replace(PAREN, "($1)").replace(BRACKET, "[$1]").replace(BRACE, "{$1}").replace(DQUOTE, '"$1"').replace(SQUOTE, "'$1'");
  s = s.replaceAll("= = = =", "====").replaceAll("= = =", "===").replaceAll("= =", "==");
  s = s.replaceAll(" \u00b0 ", "\u00b0").replaceAll(" \n", "\n").replaceAll("\n ", "\n").replaceAll(" N ", " 1 ").replaceAll(" 's", "'s");
  return s;
}

export const wikitext: TaskDefinition = {
  name: "wikitext",
  about: "wikitext2/wiki.test.raw split into 62 document-level pages; lm-eval wikitext.yaml (rolling loglikelihood of the detokenised page)",
  metrics: { word_perplexity: "weighted_perplexity", byte_perplexity: "weighted_perplexity", bits_per_byte: "bits_per_byte" },
  load(dataDir) {
    return wikitextPages(readText(dataDir, "wikitext2/wiki.test.raw")).map((page) => {
      const words = pyWhitespaceSplitCount(page);
      const bytes = utf8Length(page);
      return {
        requests: [{ kind: "rolling" as const, text: wikitextDetokenize(page) }],
        score: ([r]) => {
          const { ll } = rollingOf(r);
          return { word_perplexity: [ll, words], byte_perplexity: [ll, bytes], bits_per_byte: [ll, bytes] };
        },
      };
    });
  },
};
