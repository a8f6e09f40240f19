/** Opening the candidate store from the CLI: existing files only for reading commands, parent dirs for new ones. */
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { closeDb, openDb, type Db } from "@nas/db";
import { repoRoot } from "@nas/model";
import { UsageError } from "./args.ts";

/** Default store of `search` and `default`: runs/nas.db at the repository root (git-ignored *.db). */
export const defaultDbPath = () => join(repoRoot, "runs/nas.db");

/**
 * Open an existing store (reading commands must not create empty DBs for a typo'd path).
 *
 * @example
 * const db = openExistingDb(values.db); try { ... } finally { closeDb(db); }
 */
export function openExistingDb(path: string | undefined): Db {
  if (!path) throw new UsageError("--db FILE is required");
  if (!existsSync(path)) throw new UsageError(`cannot open store ${path}: no such file`);
  return openDb(path);
}

/** Open (creating if needed) the store a new search is written to. */
export function openOrCreateDb(path: string): Db {
  mkdirSync(dirname(path), { recursive: true });
  return openDb(path);
}

/** Parse a positional search id. */
export function searchIdArg(positionals: string[], command: string): number {
  const raw = positionals[0];
  const id = Number(raw);
  if (raw === undefined || !Number.isSafeInteger(id) || id <= 0) throw new UsageError(`usage: nas ${command} <search id> --db FILE`);
  return id;
}

export { closeDb };
