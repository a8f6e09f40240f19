import { listSearches, reconcileInterrupted, searchProgress } from "@nas/store";
import { parse } from "../args.ts";
import { closeDb, openExistingDb } from "../db-file.ts";
import { formatTable } from "../report/table.ts";

export const help = "list --db FILE   the searches in a store (id, status, progress, front size)";

/** `nas list`: one row per search, newest first. */
export async function run(argv: string[]): Promise<void> {
  const { values } = parse(argv, { db: { type: "string" } });
  const db = openExistingDb(values.db);
  try {
    reconcileInterrupted(db); // a killed run's "running" reads as "interrupted"
    const rows = listSearches(db, { limit: 1000 }).map((s) => {
      const p = searchProgress(db, s);
      return [
        s.id,
        s.name,
        s.status,
        s.algorithm,
        `${p.candidates.done + p.candidates.failed}/${p.budget ?? "?"}`,
        p.candidates.failed,
        p.frontSize,
        s.objectives.map((o) => o.name).join(","),
        new Date(s.createdAt).toISOString().slice(0, 19).replace("T", " "),
      ];
    });
    process.stdout.write(formatTable(["id", "name", "status", "algorithm", "evaluated", "failed", "front", "objectives", "created"], rows));
  } finally {
    closeDb(db);
  }
}
