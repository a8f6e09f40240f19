import { dirname, join } from "node:path";
import { getSearch } from "@nas/store";
import { parse } from "../args.ts";
import { closeDb, openExistingDb, searchIdArg } from "../db-file.ts";
import { allCandidates, frontTable, writeReport } from "../report/report.ts";

export const help = "pareto <id> --db FILE [--out DIR]   front table + SVG plot, CSV and JSON of all candidates (default DIR: beside the DB)";

/** `nas pareto`: print the front, write the report files and list them on stderr. */
export async function run(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, { db: { type: "string" }, out: { type: "string" } }, true);
  const id = searchIdArg(positionals, "pareto");
  const db = openExistingDb(values.db);
  try {
    const search = getSearch(db, id);
    const candidates = allCandidates(db, search);
    process.stdout.write(frontTable(search, candidates));
    const files = writeReport(search, candidates, values.out ?? join(dirname(values.db!), "reports"));
    process.stderr.write(`wrote ${files.svg}\nwrote ${files.csv}\nwrote ${files.json}\n`);
  } finally {
    closeDb(db);
  }
}
