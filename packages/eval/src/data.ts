/**
 * Reading the evaluation data under `../shared/data` (see each folder's SOURCE.txt): JSONL, CSV with quoted
 * fields, plain text. Errors name the file and line.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { sharedDir } from "@nas/model";

/** Thrown for a missing or malformed data file; the message names the file (and line/row). */
export class DataError extends Error {
  override name = "DataError";
}

/** `../shared/data` (override with $NAS_SHARED, as for the models). */
export function defaultDataDir(): string {
  return join(sharedDir(), "data");
}

/** Read a UTF-8 text file under the data dir, with a clear error if it is missing. */
export function readText(dataDir: string, rel: string): string {
  const path = join(dataDir, rel);
  if (!existsSync(path)) throw new DataError(`${path}: data file not found (see ${join(dataDir, rel.split("/")[0], "SOURCE.txt")})`);
  return readFileSync(path, "utf8");
}

/** Parse JSONL: one JSON object per non-empty line. */
export function readJsonl<T>(dataDir: string, rel: string): T[] {
  const text = readText(dataDir, rel);
  const out: T[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    try {
      out.push(JSON.parse(line) as T);
    } catch (e) {
      throw new DataError(`${join(dataDir, rel)}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
  });
  return out;
}

/** Parse JSON. */
export function readJson<T>(dataDir: string, rel: string): T {
  try {
    return JSON.parse(readText(dataDir, rel)) as T;
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(`${join(dataDir, rel)}: not valid JSON (${(e as Error).message})`);
  }
}

/**
 * RFC 4180 CSV: comma-separated, fields optionally in double quotes (a doubled quote inside is one quote;
 * quoted fields may hold commas and newlines). A UTF-8 BOM at the start is dropped. Returns rows of fields.
 *
 * @example
 * parseCsv('a,"b,c"\n1,"x ""y"""\n', "t.csv") // [["a","b,c"],["1",'x "y"']]
 */
export function parseCsv(text: string, file: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let quoted = false;
  let line = 1;
  let fieldStarted = false;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      if (c === "\n") line++;
      field += c;
      i++;
      continue;
    }
    if (c === '"' && field === "" && !fieldStarted) {
      quoted = true;
      fieldStarted = true;
      i++;
    } else if (c === ",") {
      row.push(field);
      field = "";
      fieldStarted = false;
      i++;
    } else if (c === "\n" || c === "\r") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      fieldStarted = false;
      i += c === "\r" && text[i + 1] === "\n" ? 2 : 1;
      line++;
    } else {
      if (c === '"') throw new DataError(`${file}:${line}: stray quote inside an unquoted field`);
      field += c;
      fieldStarted = true;
      i++;
    }
  }
  if (quoted) throw new DataError(`${file}: unterminated quoted field at end of file`);
  if (field !== "" || fieldStarted || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}
