/**
 * Compare our per-request loglikelihoods / is_greedy and per-document metric values with a fixture written by
 * lm_eval_reference.py (the real lm-evaluation-harness + transformers). Prints one JSON line per task; exits 1 on a
 * mismatch (|ll difference| > 1e-3 + 1e-6 |ll| — float32 sums over thousands of tokens drift by ~1e-7 relative —,
 * a different is_greedy, or a different per-document metric value).
 *
 *   bun packages/eval/tools/compare-lm-eval.ts [--fixture F] [--tasks arc_easy,piqa] [--limit N]
 *       [--num-fewshot K] [--scorer engine|reference] [--prefix-space sentencepiece|metaspace]
 *
 * The fixture's max_length is used as maxLength. With --limit the seeded subset is compared, unless the fixture
 * itself was made with lm-eval's --limit (first documents only), in which case those documents are compared.
 * Documents whose sequences exceed the scorer's positions are counted as skipped.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadModel, loadTokenizer, normalizeSubnet, ReferenceModel, repoRoot, SentencePieceTokenizer, type LlamaConfig, type TokenScorer } from "@nas/model";
import { Engine } from "../../compute/src/index.ts";
import { defaultDataDir, getTask, LoglikelihoodRunner, seededSubset, type RequestResult } from "../src/index.ts";

const args = process.argv.slice(2);
const arg = (n: string, d: string) => (args.indexOf(`--${n}`) >= 0 ? args[args.indexOf(`--${n}`) + 1] : d);
const fixture = JSON.parse(readFileSync(arg("fixture", join(repoRoot, "packages/eval/src/fixtures/lm-eval-stories260K.json")), "utf8"));
const tasks = arg("tasks", Object.keys(fixture.tasks).join(",")).split(",");
const limit = Number(arg("limit", "0"));
const numFewshot = Number(arg("num-fewshot", "-1"));
const modelDir = join(repoRoot, fixture.model);
// transformers 5.x's LlamaTokenizer adds no dummy prefix before a leading space: --prefix-space metaspace
const prefixSpace = arg("prefix-space", "sentencepiece") as "sentencepiece" | "metaspace";
const tokenizer = prefixSpace === "metaspace" ? SentencePieceTokenizer.fromFile(join(modelDir, "tokenizer.model"), { prefixSpace }) : loadTokenizer(modelDir);
let engine: Engine | undefined;
let scorer: TokenScorer;
let config: LlamaConfig;
if (arg("scorer", "engine") === "engine") {
  engine = await Engine.start();
  const m = await engine.load(modelDir);
  scorer = m;
  config = m.config;
} else {
  const m = await loadModel(modelDir);
  scorer = new ReferenceModel(m.config, m.tensors);
  config = m.config;
}
const runner = new LoglikelihoodRunner(scorer, tokenizer, normalizeSubnet(config, null), { maxLength: fixture.max_length });
let bad = false;
for (const task of tasks) {
  // lm-eval's per-subject mmlu_<subject> tasks are our mmlu documents of that subject
  const subject = task.startsWith("mmlu_") ? task.slice(5) : null;
  const def = getTask(subject ? "mmlu" : task);
  const all = def.load(defaultDataDir(), { numFewshot: numFewshot >= 0 ? numFewshot : (def.fewshot?.default ?? 0) });
  const docs = subject ? all.filter((d) => d.group === subject) : all;
  const theirLl = fixture.tasks[task].ll as number[][];
  const theirGreedy = new Set((fixture.tasks[task].greedy as [number, number][]).map(([d, k]) => `${d}:${k}`));
  const available = theirLl.length;
  const pick = (limit > 0 && available === docs.length ? seededSubset(docs.length, limit, 1234) : [...Array(available).keys()]);
  let maxDiff = 0;
  let outOfTolerance = 0;
  const tol = (ll: number) => 1e-3 + 1e-6 * Math.abs(ll);
  let greedyMismatch = 0;
  let metricMismatch = 0;
  let skipped = 0;
  let compared = 0;
  for (const i of pick) {
    const ours: RequestResult[] = [];
    let tooLong = false;
    for (const req of docs[i].requests) {
      if (req.kind === "loglikelihood") {
        const p = runner.encodePair(req.context, req.continuation);
        if (Math.min(p.context.length + p.continuation.length, fixture.max_length + 1) > config.maxPositions) tooLong = true;
        else ours.push((await runner.loglikelihoodTokens([p]))[0]);
      } else ours.push((await runner.rolling([req.text], req.addBos))[0]);
    }
    if (tooLong) {
      skipped++;
      continue;
    }
    const theirs: RequestResult[] = ours.map((r, k) => ("tokens" in r ? { ll: theirLl[i][k], tokens: r.tokens } : { ll: theirLl[i][k], isGreedy: theirGreedy.has(`${i}:${k}`) }));
    ours.forEach((r, k) => {
      maxDiff = Math.max(maxDiff, Math.abs(r.ll - theirs[k].ll));
      if (Math.abs(r.ll - theirs[k].ll) > tol(theirs[k].ll)) outOfTolerance++;
      if ("isGreedy" in r && r.isGreedy !== (theirs[k] as { isGreedy: boolean }).isGreedy) greedyMismatch++;
    });
    // the same document scoring applied to their results must give our metric values (acc, acc_norm, mc2 ...)
    const a = docs[i].score(ours);
    const b = docs[i].score(theirs);
    for (const m of Object.keys(def.metrics)) {
      const x = a[m];
      const y = b[m];
      const close =
        typeof x === "number" && typeof y === "number"
          ? m.startsWith("acc") && !task.endsWith("mc2") ? x === y : Math.abs(x - y) <= tol(y)
          : (x as number[])[1] === (y as number[])[1] && Math.abs((x as number[])[0] - (y as number[])[0]) <= tol((y as number[])[0]);
      if (!close) metricMismatch++;
    }
    compared++;
  }
  if (greedyMismatch > 0 || metricMismatch > 0 || outOfTolerance > 0) bad = true;
  console.log(JSON.stringify({ task, compared, skipped, max_abs_ll_diff: maxDiff, lls_out_of_tolerance: outOfTolerance, greedy_mismatches: greedyMismatch, metric_mismatches: metricMismatch, lm_eval_metrics: fixture.tasks[task].metrics }));
}
await engine?.close();
process.exit(bad ? 1 : 0);
