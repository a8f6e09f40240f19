/**
 * Result caches keyed by (model hash, sub-network key, task, options). Values are plain JSON (TaskResult).
 * MemoryCache is process-wide and bounded; FileCache keeps one JSON file per key in a directory, written
 * atomically (temp file + rename) so a crash never leaves a torn entry.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface EvalCache {
  get(key: string): unknown | undefined;
  set(key: string, value: unknown): void;
}

/** The cache key of one task evaluation: sha256 over the canonical JSON of its parts. */
export function cacheKey(parts: Record<string, unknown>): string {
  const canonical = JSON.stringify(Object.keys(parts).sort().map((k) => [k, parts[k]]));
  return createHash("sha256").update(canonical).digest("hex");
}

/**
 * In-memory cache, dropping the oldest entry beyond `maxEntries` (default 10000).
 *
 * @example
 * const cache = new MemoryCache(); cache.set(k, result); cache.get(k);
 */
export class MemoryCache implements EvalCache {
  private readonly map = new Map<string, unknown>();
  constructor(private readonly maxEntries = 10_000) {}
  get(key: string): unknown | undefined {
    const v = this.map.get(key);
    // deep copy so callers cannot mutate cached results
    return v === undefined ? undefined : structuredClone(v);
  }
  set(key: string, value: unknown): void {
    this.map.delete(key);
    this.map.set(key, structuredClone(value));
    while (this.map.size > this.maxEntries) this.map.delete(this.map.keys().next().value as string);
  }
  get size(): number {
    return this.map.size;
  }
}

/**
 * One `<key>.json` per entry under `dir` (created on first write). Unreadable entries count as misses.
 *
 * @example
 * const cache = new FileCache(".cache/eval");
 */
export class FileCache implements EvalCache {
  constructor(private readonly dir: string) {}
  get(key: string): unknown | undefined {
    const file = join(this.dir, `${key}.json`);
    if (!existsSync(file)) return undefined;
    try {
      return JSON.parse(readFileSync(file, "utf8"));
    } catch {
      return undefined;
    }
  }
  set(key: string, value: unknown): void {
    mkdirSync(this.dir, { recursive: true });
    const file = join(this.dir, `${key}.json`);
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    writeFileSync(tmp, JSON.stringify(value));
    renameSync(tmp, file);
  }
}
