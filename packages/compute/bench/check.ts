/**
 * `bun packages/compute/bench/check.ts`: the engine against the float64 references on the current adapter, as one
 * JSON object; exits 1 when anything is outside the bounds (fixtures.ts FIXTURE_TOLERANCE). Both models,
 * every fixture case one at a time and, per sub-network, as one ragged batch; both layer encodings (separate
 * kernels, the GPU default, and row-local blocks, the CPU default); stories260K's greedy_from_bos.
 * The tests check the same on lavapipe. This script is for GPU hosts, which have no test runner:
 * scripts/device-bench.sh runs it (under Node, engine in process) before the benchmark.
 */
import { join } from "node:path";
import { sharedDir } from "@nas/model";
import { caseError, readFixture, withinTolerance } from "../src/fixtures.ts";
import { startEngine } from "./start-engine.ts";

const engine = await startEngine();
const results = [];
for (const [name, dir] of [["stories260K", "models/stories260K-hf"], ["tiny-llama3-gqa-bf16", "models/tiny-llama3-gqa-bf16"]]) {
  const ref = readFixture(name);
  for (const blocks of [false, true]) {
    const model = await engine.load(join(sharedDir(), dir), { blocks });
    const worst = { logits: 0, argmax: 0, nll: 0 };
    let failed = 0, checked = 0;
    const tally = (e: ReturnType<typeof caseError>) => {
      worst.logits = Math.max(worst.logits, e.logits);
      worst.argmax = Math.max(worst.argmax, e.argmax);
      worst.nll = Math.max(worst.nll, e.nll);
      checked++;
      if (!withinTolerance(e)) failed++;
    };
    for (const c of ref.cases) tally(caseError(c, await model.forward([c.input_ids], c.spec as never, { scores: true, lastLogits: true }), 0));
    for (const sub of new Set(ref.cases.map((c) => c.subnetwork))) {
      const cases = ref.cases.filter((c) => c.subnetwork === sub);
      const batch = await model.forward(cases.map((c) => c.input_ids), cases[0].spec as never, { scores: true, lastLogits: true });
      cases.forEach((c, i) => tally(caseError(c, batch, i)));
    }
    let greedy: boolean | null = null;
    if (ref.greedy_from_bos) {
      const { tokens } = await model.generate([model.config.bosTokenId], null, ref.greedy_from_bos.length - 1, false);
      greedy = JSON.stringify([model.config.bosTokenId, ...tokens]) === JSON.stringify(ref.greedy_from_bos);
      if (!greedy) failed++;
    }
    results.push({ model: name, layers: blocks ? "blocks" : "kernels", decodePath: model.decodePath, checked, failed, worst, greedy });
    await model.unload();
  }
}
const pass = results.every((r) => r.failed === 0);
console.log(JSON.stringify({ adapter: `${engine.info.vendor} ${engine.info.architecture} ${engine.info.description}`.trim(), pass, results }));
await engine.close();
process.exitCode = pass ? 0 : 1;
