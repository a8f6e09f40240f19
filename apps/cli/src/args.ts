import { parseArgs, type ParseArgsConfig } from "node:util";

/** A user-facing CLI error: printed as one line, exit code 2, no stack. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Parse `argv` strictly; unknown flags and bad values become a UsageError naming the flag. */
export function parse<T extends NonNullable<ParseArgsConfig["options"]>>(argv: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Parse a JSON flag value (e.g. --subnet) with an error that names the flag. */
export function parseJsonFlag(name: string, value: string | undefined): unknown {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value);
  } catch (e) {
    throw new UsageError(`--${name} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Parse a positive integer flag. */
export function intFlag(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got "${value}"`);
  return n;
}

/** Comma-separated token ids. */
export function idsFlag(value: string | undefined): number[] {
  if (!value) throw new UsageError("--ids is required (comma-separated token ids, e.g. --ids 1,5,9)");
  return value.split(",").map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`--ids has an invalid token id "${s}"`);
    return n;
  });
}
