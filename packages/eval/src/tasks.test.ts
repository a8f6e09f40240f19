/**
 * Template and metric tests per task on hand-made documents (a temporary data folder in each data set's format),
 * plus checks on the real data files.
 */
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { defaultDataDir, readText } from "./data.ts";
import { getTask, taskNames, UnknownTaskError } from "./registry.ts";
import type { EvalRequest, RequestResult, TaskDoc } from "./task.ts";
import { hellaswagPreprocess } from "./tasks/hellaswag.ts";
import { MMLU_CATEGORIES, MMLU_SUBJECTS } from "./tasks/mmlu.ts";
import { QA_PROMPT } from "./tasks/truthfulqa.ts";
import { tinystoriesParagraphs } from "./tasks/tinystories.ts";
import { wikitextDetokenize, wikitextPages } from "./tasks/wikitext.ts";

const dir = mkdtempSync(join(tmpdir(), "eval-data-"));
function put(rel: string, text: string) {
  mkdirSync(dirname(join(dir, rel)), { recursive: true });
  writeFileSync(join(dir, rel), text);
}
const ll = (...v: number[]): RequestResult[] => v.map((x) => ({ ll: x, isGreedy: false }));
const only = (name: string, k = 0): TaskDoc => getTask(name).load(dir, { numFewshot: k })[0];
const texts = (reqs: EvalRequest[]) => reqs.map((r) => (r.kind === "loglikelihood" ? [r.context, r.continuation] : [r.text]));

put("arc_easy/ARC-Easy-test.jsonl", JSON.stringify({ id: "x", question: "Which is a gas?", choices: { text: ["rock", "steam", "ice"], label: ["1", "2", "3"] }, answerKey: "2" }) + "\n");
put("piqa/valid.jsonl", JSON.stringify({ goal: "Open a jar", sol1: "twist the lid", sol2: "eat the lid" }) + "\n");
put("piqa/valid-labels.lst", "0\n");
put("hellaswag/hellaswag_val_full.txt", "Cooking: A man cuts [step] an onion. he\n2\n  cries.\nsings [title] loudly.\nsmiles.\nleaves  now.\n");
put("winogrande/winogrande_xl_dev.llm-foundry.jsonl", JSON.stringify({ context_options: ["Ann beat Bo so Ann", "Ann beat Bo so Bo"], continuation: "was sad.", gold: 1 }) + "\n");
put("winogrande/dev-labels.lst", "2\n");
put("boolq/boolq_validation.llm-foundry.jsonl", JSON.stringify({ query: "Passage: Cats purr.\nSo do some\nQuestion: do cats purr?", choices: ["no", "yes"], gold: 1 }) + "\n");
put("truthfulqa_mc/mc_task.json", JSON.stringify([{ question: "Is the sky green?", mc1_targets: { "No.": 1, "Yes.": 0 }, mc2_targets: { "No.": 1, "Yes.": 0, "Never.": 1 } }]));
put("lambada_openai/lambada_openai_test.llm-foundry.jsonl", JSON.stringify({ context: "He opened the", continuation: "door" }) + "\n");
put("wikitext2/wiki.test.raw", " \n = Title = \n \n A @-@ b , c ( d ) . \n \n = = Sub = = \n \n e 's f \n \n = Next = \n \n g \n");
put("tinystories/tinystories_validation_sample.txt", "Once upon a time.\n\nThe end.\n\n");
const mmluHeader = "question,choice0,choice1,choice2,choice3,answer\n";
for (const s of MMLU_SUBJECTS) {
  put(`mmlu/test/${s}_test.csv`, mmluHeader + (s === "anatomy" ? '"  What is\nbone? ",calcium,iron,"a, b",none,0\n' : "q,a,b,c,d,1\n"));
  put(`mmlu/dev/${s}_dev.csv`, mmluHeader + "d1,w,x,y,z,2\nd2,w,x,y,z,3\n");
}

describe("task templates on hand-made documents", () => {
  test("arc_easy: Question/Answer template, ' ' + choice, numeric labels", () => {
    const d = only("arc_easy");
    expect(texts(d.requests)).toEqual([
      ["Question: Which is a gas?\nAnswer:", " rock"],
      ["Question: Which is a gas?\nAnswer:", " steam"],
      ["Question: Which is a gas?\nAnswer:", " ice"],
    ]);
    // gold is "2" -> index 1; acc_norm divides by len("rock")=4, len("steam")=5, len("ice")=3
    expect(d.score(ll(-4, -5.5, -3.3))).toEqual({ acc: 0, acc_norm: 0 });
    expect(d.score(ll(-4, -4.5, -3.3))).toEqual({ acc: 0, acc_norm: 1 });
  });

  test("piqa", () => {
    const d = only("piqa");
    expect(texts(d.requests)).toEqual([
      ["Question: Open a jar\nAnswer:", " twist the lid"],
      ["Question: Open a jar\nAnswer:", " eat the lid"],
    ]);
    expect(d.score(ll(-1, -2))).toEqual({ acc: 1, acc_norm: 1 });
  });

  test("hellaswag: lm-eval preprocess of query and endings", () => {
    const d = only("hellaswag");
    expect(texts(d.requests)).toEqual([
      ["Cooking: A man cuts an onion. he", " cries."],
      ["Cooking: A man cuts an onion. he", " sings. loudly."],
      ["Cooking: A man cuts an onion. he", " smiles."],
      ["Cooking: A man cuts an onion. he", " leaves now."],
    ]);
    expect(d.score(ll(-9, -9, -1, -9)).acc).toBe(1);
    expect(hellaswagPreprocess(" a [header] b [title] c  d ")).toBe("a b. c d");
  });

  test("winogrande: partial scoring, contexts are the choices", () => {
    const d = only("winogrande");
    expect(texts(d.requests)).toEqual([
      ["Ann beat Bo so Ann", " was sad."],
      ["Ann beat Bo so Bo", " was sad."],
    ]);
    expect(d.score(ll(-3, -2))).toEqual({ acc: 1 });
  });

  test("boolq: passage (even with newlines) / question? / Answer:, choices no/yes", () => {
    const d = only("boolq");
    expect(texts(d.requests)).toEqual([
      ["Cats purr.\nSo do some\nQuestion: do cats purr?\nAnswer:", " no"],
      ["Cats purr.\nSo do some\nQuestion: do cats purr?\nAnswer:", " yes"],
    ]);
    expect(d.score(ll(-2, -1)).acc).toBe(1);
  });

  test("truthfulqa mc1 / mc2: QA preamble, choices in file order", () => {
    const mc1 = only("truthfulqa_mc1");
    const ctx = `${QA_PROMPT}\n\nQ: Is the sky green?\nA:`;
    expect(texts(mc1.requests)).toEqual([[ctx, " No."], [ctx, " Yes."]]);
    expect(mc1.score(ll(-1, -2))).toEqual({ acc: 1 });
    const mc2 = only("truthfulqa_mc2");
    expect(mc2.requests.length).toBe(3);
    expect(mc2.score(ll(Math.log(0.5), Math.log(0.3), Math.log(0.2))).acc as number).toBeCloseTo(0.7, 12);
    expect(QA_PROMPT.startsWith("Q: What is human life expectancy in the United States?\nA: Human life")).toBe(true);
    expect(QA_PROMPT.endsWith("A: The 1992 Olympics were held in Barcelona, Spain.")).toBe(true);
  });

  test("lambada_openai: ' ' + last word; perplexity from ll, acc from is_greedy", () => {
    const d = only("lambada_openai");
    expect(texts(d.requests)).toEqual([["He opened the", " door"]]);
    expect(d.score([{ ll: -2, isGreedy: true }])).toEqual({ perplexity: -2, acc: 1 });
  });

  test("mmlu: description, 5-shot from dev (first_n), question.strip(), ' ' + letter", () => {
    const docs = getTask("mmlu").load(dir, { numFewshot: 2 });
    const anatomy = docs.find((d) => d.group === "anatomy")!;
    const shot = (q: string, a: string) => `${q}\nA. w\nB. x\nC. y\nD. z\nAnswer: ${a}\n\n`;
    const ctx = "The following are multiple choice questions (with answers) about anatomy.\n\n" + shot("d1", "C") + shot("d2", "D") + "What is\nbone?\nA. calcium\nB. iron\nC. a, b\nD. none\nAnswer:";
    expect(texts(anatomy.requests)).toEqual(["A", "B", "C", "D"].map((l) => [ctx, ` ${l}`]));
    expect(anatomy.score(ll(-1, -2, -3, -4))).toEqual({ acc: 1, acc_norm: 1 });
    expect(docs.length).toBe(57);
    expect(getTask("mmlu").groupsOf!("high_school_us_history")).toEqual(["high_school_us_history", "humanities"]);
    const zero = getTask("mmlu").load(dir, { numFewshot: 0 }).find((d) => d.group === "college_physics")!;
    expect((zero.requests[0] as { context: string }).context).toBe("The following are multiple choice questions (with answers) about college physics.\n\nq\nA. a\nB. b\nC. c\nD. d\nAnswer:");
  });

  test("wikitext: document-level pages, detokenised text, word/byte counts of the original page", () => {
    const docs = getTask("wikitext").load(dir, { numFewshot: 0 });
    expect(docs.length).toBe(2);
    // expected strings and counts printed by lm-eval's own python (wikitext_document_level split + detokenizer)
    expect(texts(docs[0].requests)).toEqual([[" = Title =\n\nA-b, c (d).\n\n== Sub ==\n\ne's f\n"]]);
    expect(texts(docs[1].requests)).toEqual([[" = Next =\n\ng\n"]]);
    const v = docs[0].score([{ ll: -10, tokens: 7 }]);
    expect(v.word_perplexity).toEqual([-10, 22]);
    expect(v.bits_per_byte).toEqual([-10, 64]);
    expect(docs[1].score([{ ll: -1, tokens: 1 }]).byte_perplexity).toEqual([-1, 17]);
  });

  test("tinystories: paragraphs, token-level perplexity weight", () => {
    const docs = getTask("tinystories").load(dir, { numFewshot: 0 });
    expect(docs.map((d) => texts(d.requests)[0][0])).toEqual(["Once upon a time.", "The end."]);
    expect(docs[0].requests[0]).toEqual({ kind: "rolling", text: "Once upon a time.", addBos: false });
    expect(docs[0].score([{ ll: -6, tokens: 3 }]).perplexity).toEqual([-6, 3]);
    expect(tinystoriesParagraphs("a\n\n\nb\n\n")).toEqual(["a", "b"]);
  });
});

describe("real data files", () => {
  const data = defaultDataDir();

  test("document counts match the official split sizes", () => {
    const counts: Record<string, number> = { arc_easy: 2376, arc_challenge: 1172, piqa: 1838, winogrande: 1267, boolq: 3270, truthfulqa_mc1: 817, lambada_openai: 5153, wikitext: 62, hellaswag: 10042 };
    for (const [name, n] of Object.entries(counts)) expect({ name, n: getTask(name).load(data, { numFewshot: 0 }).length }).toEqual({ name, n });
    const mmlu = getTask("mmlu").load(data, { numFewshot: 5 });
    expect(mmlu.length).toBe(14042);
    expect(new Set(mmlu.map((d) => d.group)).size).toBe(57);
    expect(Object.keys(MMLU_CATEGORIES).length).toBe(57);
  });

  test("wikitext pages and detokenisation are byte-identical to lm-eval's Python (sha256 computed with lm_eval 0.4.13)", () => {
    const pages = wikitextPages(readText(data, "wikitext2/wiki.test.raw"));
    const sha = (s: string) => createHash("sha256").update(s).digest("hex");
    expect(pages.length).toBe(62);
    expect(sha(pages.join("\u0000"))).toBe("d0b16b3ea2df933c8a7c98e8b39093f025b25aa357d03b598e6532b2ec27f78c");
    expect(sha(pages.map(wikitextDetokenize).join("\u0000"))).toBe("b0ae50e166add20959a5406d9b3c99fe1f23819ec0a10149047149434fb85d81");
    // sum(len(re.split(r"\s+", page))) and sum(len(page.encode())) from the same Python run
    const docs = getTask("wikitext").load(data, { numFewshot: 0 });
    const totals = docs.map((d) => d.score([{ ll: 0, tokens: 0 }])).reduce((a, v) => [a[0] + (v.word_perplexity as number[])[1], a[1] + (v.byte_perplexity as number[])[1]], [0, 0]);
    expect(totals).toEqual([241335, 1290527]);
  });
});

describe("registry", () => {
  test("lm-eval names, and a clear error listing them for an unknown one", () => {
    expect(taskNames()).toEqual(["arc_easy", "arc_challenge", "mmlu", "truthfulqa_mc1", "truthfulqa_mc2", "winogrande", "hellaswag", "piqa", "boolq", "lambada_openai", "wikitext", "tinystories"]);
    expect(() => getTask("arc-easy")).toThrow(UnknownTaskError);
    expect(() => getTask("arc-easy")).toThrow(/unknown task "arc-easy"; valid tasks: arc_easy, arc_challenge, mmlu/);
  });
});
