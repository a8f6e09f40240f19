/**
 * MMLU (57 subjects, test split; few-shot from dev) — lm-eval tasks/mmlu/default/_default_template_yaml and the
 * per-subject yamls:
 *   description: "The following are multiple choice questions (with answers) about {subject with spaces}.\n\n"
 *   doc_to_text: "{{question.strip()}}\nA. {{choices[0]}}\nB. {{choices[1]}}\nC. {{choices[2]}}\nD. {{choices[3]}}\nAnswer:"
 *   doc_to_choice: ["A", "B", "C", "D"]   doc_to_target: answer   fewshot: sampler first_n from dev
 *   prompt = description + k x (doc_to_text + " " + letter + "\n\n") + doc_to_text; continuation " " + letter
 * Metric acc. The "mmlu" group aggregates subjects weighted by size (aggregate_metric_list weight_by_size: True),
 * i.e. acc = mean over all questions; we also report acc_macro (mean of subject accs), and acc per subject and per
 * category (stem, humanities, social_sciences, other, as lm-eval's mmlu_* groups).
 * Data: ../shared/data/mmlu/{test,dev}/<subject>_{test,dev}.csv with header question,choice0..3,answer (0-3).
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { DataError, parseCsv, readText } from "../data.ts";
import { pyStrip } from "../pytext.ts";
import type { TaskDefinition } from "../task.ts";
import { choiceDoc } from "./multiple-choice.ts";

/** lm-eval's category of each subject (the `tag`/`group` of tasks/mmlu/default/mmlu_<subject>.yaml). */
export const MMLU_CATEGORIES: Record<string, "stem" | "humanities" | "social_sciences" | "other"> = {};
const CATEGORY_SUBJECTS = {
  stem: "abstract_algebra anatomy astronomy college_biology college_chemistry college_computer_science college_mathematics college_physics computer_security conceptual_physics electrical_engineering elementary_mathematics high_school_biology high_school_chemistry high_school_computer_science high_school_mathematics high_school_physics high_school_statistics machine_learning",
  humanities: "formal_logic high_school_european_history high_school_us_history high_school_world_history international_law jurisprudence logical_fallacies moral_disputes moral_scenarios philosophy prehistory professional_law world_religions",
  social_sciences: "econometrics high_school_geography high_school_government_and_politics high_school_macroeconomics high_school_microeconomics high_school_psychology human_sexuality professional_psychology public_relations security_studies sociology us_foreign_policy",
  other: "business_ethics clinical_knowledge college_medicine global_facts human_aging management marketing medical_genetics miscellaneous nutrition professional_accounting professional_medicine virology",
} as const;
for (const [cat, subjects] of Object.entries(CATEGORY_SUBJECTS)) {
  for (const s of subjects.split(" ")) MMLU_CATEGORIES[s] = cat as keyof typeof CATEGORY_SUBJECTS;
}
export const MMLU_SUBJECTS = Object.keys(MMLU_CATEGORIES).sort();

interface MmluRow {
  question: string;
  choices: [string, string, string, string];
  answer: number;
}

function readSubject(dataDir: string, rel: string): MmluRow[] {
  const rows = parseCsv(readText(dataDir, rel), rel);
  const header = rows.shift()?.join(",");
  if (header !== "question,choice0,choice1,choice2,choice3,answer") throw new DataError(`${rel}: unexpected header ${JSON.stringify(header)}`);
  return rows
    .filter((r) => !(r.length === 1 && r[0] === ""))
    .map((r, i) => {
      const answer = Number(r[5]);
      if (r.length !== 6 || !Number.isInteger(answer) || answer < 0 || answer > 3) throw new DataError(`${rel} row ${i + 2}: expected 6 fields with answer 0-3`);
      return { question: r[0], choices: [r[1], r[2], r[3], r[4]], answer };
    });
}

const LETTERS = ["A", "B", "C", "D"];

/** lm-eval doc_to_text of the MMLU default template */
export function mmluQuestionText(row: MmluRow): string {
  return `${pyStrip(row.question)}\nA. ${row.choices[0]}\nB. ${row.choices[1]}\nC. ${row.choices[2]}\nD. ${row.choices[3]}\nAnswer:`;
}

/** description + k first dev examples with their answer letter, as lm-eval's first_n sampler builds them */
export function mmluFewshotPrefix(subject: string, dev: MmluRow[], k: number): string {
  const description = `The following are multiple choice questions (with answers) about ${subject.split("_").join(" ")}.\n\n`;
  return description + dev.slice(0, k).map((d) => `${mmluQuestionText(d)} ${LETTERS[d.answer]}\n\n`).join("");
}

export const mmlu: TaskDefinition = {
  name: "mmlu",
  about: "mmlu/{test,dev}/*.csv; lm-eval mmlu default template, k-shot first_n from dev (default 5), acc weighted by subject size",
  metrics: { acc: "mean" },
  stratified: true,
  fewshot: { default: 5, max: 5 },
  groupsOf: (subject) => [subject, MMLU_CATEGORIES[subject] ?? "other"],
  load(dataDir, { numFewshot }) {
    const present = readdirSync(join(dataDir, "mmlu/test")).filter((f) => f.endsWith("_test.csv")).map((f) => f.slice(0, -"_test.csv".length)).sort();
    const missing = MMLU_SUBJECTS.filter((s) => !present.includes(s));
    if (missing.length > 0) throw new DataError(`mmlu: missing test files for ${missing.join(", ")}`);
    return MMLU_SUBJECTS.flatMap((subject) => {
      const dev = numFewshot > 0 ? readSubject(dataDir, `mmlu/dev/${subject}_dev.csv`) : [];
      if (dev.length < numFewshot) throw new DataError(`mmlu/dev/${subject}_dev.csv has ${dev.length} examples, ${numFewshot}-shot needs ${numFewshot}`);
      const prefix = numFewshot > 0 ? mmluFewshotPrefix(subject, dev, numFewshot) : mmluFewshotPrefix(subject, [], 0);
      return readSubject(dataDir, `mmlu/test/${subject}_test.csv`).map((row) => choiceDoc(prefix + mmluQuestionText(row), LETTERS, row.answer, subject));
    });
  },
};
