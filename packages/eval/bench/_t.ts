import { join } from "node:path";
import { loadTokenizer, sharedDir } from "@nas/model";
import { Engine } from "../../compute/src/index.ts";
import { evaluate } from "../src/index.ts";
const dir = join(sharedDir(), "models/stories260K-hf");
const tok = loadTokenizer(dir);
const engine = await Engine.start({ stderr: false });
const m = await engine.load(dir);
const full = m.subnet(null);
const orig = m.scoreTokens.bind(m);
(m as any).scoreTokens = async (seqs: number[][], sub: any) => {
  const t0 = performance.now();
  const r = await orig(seqs, sub);
  const lens = seqs.map((s) => s.length);
  console.log("scoreTokens", seqs.length, "seqs", lens.reduce((a, b) => a + b, 0), "tokens max", Math.max(...lens), "min", Math.min(...lens), (performance.now() - t0).toFixed(0), "ms");
  return r;
};
for (const share of [] as boolean[]) {
  const t0 = performance.now();
  const r = await evaluate(m, tok, m, full, ["arc_easy"], { cache: null, seed: 1234, limit: 200, sharePrefixes: share });
  console.log("arc share", share, (performance.now() - t0).toFixed(0), "ms", JSON.stringify(r.arc_easy.stats));
}
for (let i = 0; i < 2; i++) {
  const t0 = performance.now();
  const r = await evaluate(m, tok, m, full, ["tinystories"], { cache: null, seed: 1234, limit: 186 });
  console.log("tiny", (performance.now() - t0).toFixed(0), "ms", JSON.stringify(r.tinystories.stats));
}
await engine.close();
