import { countParams, evaluate, macsPerToken, toLmEvalJson, UnknownTaskError } from "@nas/eval";
import { defaultModelPath, loadTokenizer, subnetKey } from "@nas/model";
import { intFlag, parse, parseJsonFlag, UsageError } from "../args.ts";
import { measureThroughput } from "../model-evaluator.ts";
import { startModel } from "../run-search.ts";

export const help =
  "eval [--model DIR] [--subnet JSON] --tasks arc_easy,piqa [--limit N] [--seed S] [--throughput]\n" +
  "         lm-eval-faithful scores of one (sub-)network as one JSON object";

/**
 * `nas eval`: score one sub-network with @nas/eval on the GPU engine. Prints one JSON object: the model,
 * the normalized sub-network, lm-eval-style metrics per task, parameter and MAC counts, the device, and
 * (with --throughput) measured prefill tokens/s at 64 tokens.
 */
export async function run(argv: string[]): Promise<void> {
  const { values } = parse(argv, {
    model: { type: "string" },
    subnet: { type: "string" },
    tasks: { type: "string" },
    limit: { type: "string" },
    seed: { type: "string" },
    throughput: { type: "boolean" },
  });
  const tasks = values.tasks?.split(",").map((s) => s.trim()).filter((s) => s !== "") ?? [];
  if (tasks.length === 0) throw new UsageError("--tasks is required (e.g. --tasks arc_easy,piqa)");
  const path = values.model ?? defaultModelPath();
  const spec = parseJsonFlag("subnet", values.subnet);
  const limit = values.limit === undefined ? null : intFlag("limit", values.limit, 1);
  const { engine, model } = await startModel(path);
  try {
    let subnet;
    try {
      subnet = model.subnet(spec as never);
    } catch (e) {
      throw new UsageError(`--subnet: ${(e as Error).message}`);
    }
    const tokenizer = loadTokenizer(path, { vocabSize: model.config.vocabSize });
    const t0 = performance.now();
    let results;
    try {
      results = await evaluate(model, tokenizer, model, subnet, tasks, { limit, seed: values.seed === undefined ? undefined : intFlag("seed", values.seed, 0, 0) });
    } catch (e) {
      if (e instanceof UnknownTaskError) throw new UsageError(e.message);
      throw e;
    }
    const evalMs = performance.now() - t0;
    const out = {
      model: { path, hash: model.source.hash },
      subnet,
      subnetKey: subnetKey(subnet),
      results: toLmEvalJson(results),
      params: countParams(model.config, subnet),
      macsPerToken: macsPerToken(model.config, subnet, 64),
      ...(values.throughput ? { throughputTokPerS: await measureThroughput(model, subnet, 64, 3) } : {}),
      evalMs,
      device: engine.info.description || engine.info.device,
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } finally {
    await engine.close();
  }
}
