import { Engine } from "@nas/compute";
import { defaultModelPath, loadTokenizer } from "@nas/model";
import { intFlag, parse, parseJsonFlag } from "../args.ts";


export const help = "generate --model DIR [--subnet JSON] [--tokens N]   greedy text from BOS (tokens/s on stderr)";

/** `nas generate`: greedy decoding from BOS with the KV cache; prints the decoded text. */
export async function run(argv: string[]): Promise<void> {
  const { values } = parse(argv, { model: { type: "string" }, subnet: { type: "string" }, tokens: { type: "string" } });
  const path = values.model ?? defaultModelPath();
  const maxNew = intFlag("tokens", values.tokens, 200);
  const tokenizer = await loadTokenizer(path);
  const engine = await Engine.start();
  try {
    const model = await engine.load(path);
    const subnet = model.subnet(parseJsonFlag("subnet", values.subnet) as never);
    const prompt = [model.config.bosTokenId];
    const { tokens, ms } = await model.generate(prompt, subnet, Math.min(maxNew, model.config.maxPositions - 1));
    process.stdout.write(`${tokenizer.decode(tokens)}\n`);
    const a = engine.info;
    process.stderr.write(`${tokens.length} tokens in ${ms.toFixed(0)} ms (${((tokens.length * 1000) / ms).toFixed(1)} tok/s) on ${a.description || a.vendor} [${a.architecture}, ${a.backend}]\n`);
  } finally {
    await engine.close();
  }
}
