import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (works under Bun and Node, from source or from the bundled engine worker). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/**
 * `../shared` beside the repository: the read-only models, data and reference fixtures. $NAS_SHARED overrides.
 * @example
 * join(sharedDir(), "models/stories260K-hf")
 */
export function sharedDir(): string {
  if (process.env.NAS_SHARED) return process.env.NAS_SHARED;
  let dir = repoRoot;
  for (let i = 0; i < 4; i++) {
    const candidate = join(dirname(dir), "shared");
    if (existsSync(join(candidate, "README.md"))) return candidate;
    dir = dirname(dir);
  }
  return join(dirname(repoRoot), "shared");
}

/** The embedded default model: the real pretrained stories260K in HF format. */
export function defaultModelPath(): string {
  return join(sharedDir(), "models/stories260K-hf");
}
