import { Engine } from "@nas/compute";
import { defaultModelPath } from "@nas/model";
import { idsFlag, parse, parseJsonFlag } from "../args.ts";


export const help = "logits --model DIR [--subnet JSON] --ids 1,5,9   print {last_logits, argmax, sum_nll} as JSON";

/**
 * `nas logits`: one forward pass; prints the fixture-style record (last-position logits, argmax at every
 * position, sum over t >= 1 of -log p(ids[t] | ids[<t])).
 */
export async function run(argv: string[]): Promise<void> {
  const { values } = parse(argv, { model: { type: "string" }, subnet: { type: "string" }, ids: { type: "string" } });
  const ids = idsFlag(values.ids);
  const engine = await Engine.start();
  try {
    const model = await engine.load(values.model ?? defaultModelPath());
    const subnet = model.subnet(parseJsonFlag("subnet", values.subnet) as never);
    const r = await model.forward([ids], subnet, { scores: true, lastLogits: true });
    let sumNll = 0;
    for (let t = 0; t < ids.length - 1; t++) sumNll -= r.logprobs![0][t];
    process.stdout.write(`${JSON.stringify({ last_logits: Array.from(r.lastLogits![0]), argmax: Array.from(r.argmax![0]), sum_nll: sumNll })}\n`);
  } finally {
    await engine.close();
  }
}
