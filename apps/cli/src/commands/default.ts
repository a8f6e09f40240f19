import { defaultModelPath } from "@nas/model";
import { parse } from "../args.ts";
import { defaultDbPath } from "../db-file.ts";
import { searchCommand } from "./search.ts";

export const help = "default   a short demo search on stories260K (TinyStories perplexity + ARC-Easy, 64 evaluations) and its front";

/**
 * `nas default` (what scripts/nas.sh runs with no arguments): NSGA-II over the paper space of the embedded
 * stories260K, objectives TinyStories perplexity (seeded paragraphs holding >= 1024 tokens), ARC-Easy accuracy
 * (40 seeded test questions), parameters and measured prefill throughput, after importance reordering
 * (activation norms); 4 generations of 16, under a minute on a 2-core CPU with lavapipe.
 */
export async function run(argv: string[]): Promise<number> {
  parse(argv, {});
  return searchCommand({
    model: defaultModelPath(),
    tasks: ["tinystories", "arc_easy"],
    limit: 40,
    tokens: 1024,
    space: { preset: "paper" },
    reorder: "activation",
    algorithm: "nsga2",
    population: 16,
    evaluations: 64,
    seed: 0,
    db: defaultDbPath(),
    name: "default: stories260K demo",
  });
}
