/**
 * `bun packages/compute/bench/decode.ts [--model DIR] [--tokens 200] [--runs 20]`: greedy generation from BOS
 * with each way of running decode steps (ModelOptions.decode: "gen", "step", "blocks"), one model per way in one
 * engine, timed alternately so host load hits all alike. Prints one JSON object: per way the p10 and p50 ms of a
 * generation and tokens/s at the p50, and whether all ways gave the same tokens. Not a test.
 */
import { parseArgs } from "node:util";
import { defaultModelPath } from "@nas/model";
import { Engine, type EngineModel } from "../src/client.ts";

const { values } = parseArgs({ options: { model: { type: "string" }, tokens: { type: "string", default: "200" }, runs: { type: "string", default: "20" } } });
const N = Number(values.tokens), runs = Number(values.runs);
const ways = ["gen", "step", "blocks"] as const;
const engine = await Engine.start();
try {
  const models: EngineModel[] = [];
  for (const decode of ways) models.push(await engine.load(values.model ?? defaultModelPath(), { decode }));
  const bos = models[0].config.bosTokenId;
  const ms: number[][] = ways.map(() => []);
  const tokens: string[] = [];
  for (let r = -1; r < runs; r++) {
    for (const [i, m] of models.entries()) {
      const t0 = performance.now();
      const g = await m.generate([bos], null, N, false);
      if (r >= 0) ms[i].push(performance.now() - t0); // run -1 warms up: pipelines, packing, buffers
      tokens[i] = g.tokens.join(",");
    }
  }
  const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor(p * (xs.length - 1))];
  const round = (x: number) => Math.round(x * 10) / 10;
  const out: Record<string, unknown> = { adapter: engine.info.description, tokens: N, runs };
  ways.forEach((w, i) => {
    out[w] = { path: models[i].decodePath, ms_p10: round(q(ms[i], 0.1)), ms_p50: round(q(ms[i], 0.5)), tok_s_p50: Math.round((N * 1000) / q(ms[i], 0.5)) };
  });
  out.same_tokens = tokens.every((t) => t === tokens[0]);
  console.log(JSON.stringify(out));
} finally {
  await engine.close();
}
