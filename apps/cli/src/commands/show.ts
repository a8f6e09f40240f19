import { getSearch, reconcileInterrupted, searchProgress } from "@nas/store";
import { parse } from "../args.ts";
import { closeDb, openExistingDb, searchIdArg } from "../db-file.ts";
import { formatNumber } from "../report/table.ts";

export const help = "show <id> --db FILE [--json]   a search's settings, progress and best candidate per objective";

/** `nas show`: the search's spec and progress (human-readable, or one JSON object with --json). */
export async function run(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, { db: { type: "string" }, json: { type: "boolean" } }, true);
  const id = searchIdArg(positionals, "show");
  const db = openExistingDb(values.db);
  try {
    reconcileInterrupted(db);
    const s = getSearch(db, id);
    const p = searchProgress(db, s);
    if (values.json) {
      const { space: _space, ...rest } = s;
      process.stdout.write(`${JSON.stringify({ search: rest, progress: p })}\n`);
      return;
    }
    const lines = [
      `search ${s.id}: ${s.name}`,
      `status:      ${s.status}${s.error ? ` (${s.error})` : ""}`,
      `model:       ${s.modelPath} (sha256 ${s.modelHash.slice(0, 16)}...)`,
      `algorithm:   ${s.algorithm} ${JSON.stringify(s.options)} seed ${s.seed}`,
      `objectives:  ${s.objectives.map((o) => `${o.name} (${o.direction})`).join(", ")}`,
      `evaluator:   ${evaluatorSummary(s.evaluator)}`,
      `candidates:  ${p.candidates.done} done, ${p.candidates.failed} failed, ${p.candidates.pending + p.candidates.running} pending of budget ${p.budget ?? "?"}`,
      `generation:  ${p.generation ?? "-"} (checkpointed after ${p.evaluationsCheckpointed} results)`,
      `front size:  ${p.frontSize}`,
      ...Object.entries(p.best).map(([name, c]) => `best ${name}: ${c ? `${formatNumber(c.objectives![name])} (candidate ${c.id})` : "-"}`),
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    closeDb(db);
  }
}

/** The evaluator spec without the (long) stored permutation, which is summarised instead. */
function evaluatorSummary(spec: { kind: string; options?: unknown }): string {
  const { permutation, reorder, ...rest } = (spec.options ?? {}) as Record<string, unknown>;
  const how = permutation ? `; importance-reordered (${(reorder as { metric?: string } | undefined)?.metric ?? "stored permutation"})` : "; stored order";
  return `${spec.kind} ${JSON.stringify(rest)}${how}`;
}
