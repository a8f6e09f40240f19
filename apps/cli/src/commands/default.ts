import { defaultModelPath } from "@nas/model";
import { parse } from "../args.ts";
import { defaultDbPath } from "../db-file.ts";
import { searchCommand } from "./search.ts";

export const help = "default   a short demo search on stories260K (TinyStories perplexity + ARC-Easy, 16 evaluations) and its front";

/**
 * `nas default` (what scripts/nas.sh runs with no arguments): NSGA-II over the paper space of the embedded
 * stories260K, objectives TinyStories perplexity, ARC-Easy accuracy (first 8 test questions), parameters
 * and measured prefill throughput, after importance reordering (activation norms); 2 generations of 8, about a minute on a 2-core CPU with lavapipe.
 */
export async function run(argv: string[]): Promise<number> {
  parse(argv, {});
  return searchCommand({
    model: defaultModelPath(),
    tasks: ["tinystories", "arc_easy"],
    limit: 8,
    tokens: 256,
    space: { preset: "paper" },
    reorder: "activation",
    algorithm: "nsga2",
    population: 8,
    evaluations: 16,
    seed: 0,
    db: defaultDbPath(),
    name: "default: stories260K demo",
  });
}
