/**
 * Sharded safetensors: `model.safetensors.index.json` maps each tensor name to the shard file holding it.
 * Every listed shard must exist and contain the tensors the index assigns to it; a tensor may live in one
 * shard only.
 */
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { readSafetensorsFile, SafetensorsError, type ReadOptions } from "./safetensors.ts";
import type { Tensor } from "./types.ts";

/** File name of the shard index in an HF model directory. */
export const SAFETENSORS_INDEX = "model.safetensors.index.json";

/** Tensors of a (possibly sharded) checkpoint with the file each came from (for error messages). */
export interface SafetensorsCheckpoint {
  tensors: Map<string, Tensor>;
  fileOf: Map<string, string>;
  /** The weight files read, in the order read (sorted by name). */
  files: string[];
}

/**
 * Parse an index's JSON: tensor name -> shard file name (a plain file name inside the model directory).
 *
 * @example
 * parseShardIndex('{"weight_map": {"lm_head.weight": "model-00001-of-00002.safetensors"}}', "index.json")
 */
export function parseShardIndex(text: string, file: string): Map<string, string> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const weightMap = (raw as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== "object" || weightMap === null || Array.isArray(weightMap)) {
    throw new SafetensorsError(`${file}: missing "weight_map" object (tensor name -> shard file)`);
  }
  const map = new Map<string, string>();
  for (const [name, shard] of Object.entries(weightMap)) {
    if (typeof shard !== "string" || shard === "" || shard.includes("/") || shard.includes("\\") || shard === "." || shard === "..") {
      throw new SafetensorsError(`${file}: tensor "${name}" maps to ${JSON.stringify(shard)}, which is not a file name in the model directory`);
    }
    map.set(name, shard);
  }
  if (map.size === 0) throw new SafetensorsError(`${file}: "weight_map" lists no tensors`);
  return map;
}

/**
 * Read every shard an index lists (in file-name order, each byte fed to `options.sink`) and check the index against
 * the shards' contents.
 *
 * @example
 * const ckpt = await readShardedSafetensors("../shared/models/tiny-llama3-gqa-bf16");
 * ckpt.tensors.get("lm_head.weight")?.dtype // "BF16"
 */
export async function readShardedSafetensors(dir: string, options: ReadOptions = {}): Promise<SafetensorsCheckpoint> {
  const indexPath = join(dir, SAFETENSORS_INDEX);
  let text: string;
  try {
    text = await readFile(indexPath, "utf8");
  } catch (e) {
    throw new SafetensorsError(`${indexPath}: cannot read shard index (${(e as Error).message})`);
  }
  const index = parseShardIndex(text, indexPath);
  const byShard = new Map<string, string[]>();
  for (const [name, shard] of index) byShard.set(shard, [...(byShard.get(shard) ?? []), name]);
  const shards = [...byShard.keys()].sort();
  for (const shard of shards) {
    if (!existsSync(join(dir, shard))) {
      const names = byShard.get(shard)!;
      throw new SafetensorsError(`${join(dir, shard)}: missing shard (${SAFETENSORS_INDEX} lists ${names.length} tensor(s) in it, e.g. "${names[0]}")`);
    }
  }
  const tensors = new Map<string, Tensor>();
  const fileOf = new Map<string, string>();
  const files: string[] = [];
  for (const shard of shards) {
    const path = join(dir, shard);
    const f = await readSafetensorsFile(path, options);
    files.push(path);
    for (const name of byShard.get(shard)!) {
      if (!f.tensors.has(name)) throw new SafetensorsError(`${path}: tensor "${name}" is listed in ${SAFETENSORS_INDEX} for this shard but the shard does not contain it`);
    }
    for (const [name, t] of f.tensors) {
      const other = fileOf.get(name);
      if (other !== undefined) throw new SafetensorsError(`${path}: tensor "${name}" also appears in ${other}; a tensor may be stored once`);
      tensors.set(name, t);
      fileOf.set(name, path);
    }
  }
  return { tensors, fileOf, files };
}

/**
 * Read a single-file (`model.safetensors`) or sharded checkpoint from an HF model directory.
 *
 * @example
 * const { tensors } = await readSafetensorsDir("../shared/models/stories260K-hf");
 */
export async function readSafetensorsDir(dir: string, options: ReadOptions = {}): Promise<SafetensorsCheckpoint> {
  if (existsSync(join(dir, SAFETENSORS_INDEX))) return readShardedSafetensors(dir, options);
  const single = join(dir, "model.safetensors");
  if (!existsSync(single)) {
    const legacy = existsSync(join(dir, "pytorch_model.bin")) || existsSync(join(dir, "pytorch_model.bin.index.json"));
    throw new SafetensorsError(
      `${dir}: no model.safetensors or ${SAFETENSORS_INDEX}` + (legacy ? " (PyTorch .bin checkpoints are not supported; convert to safetensors)" : ""),
    );
  }
  const f = await readSafetensorsFile(single, options);
  return { tensors: f.tensors, fileOf: new Map([...f.tensors.keys()].map((n) => [n, single])), files: [single] };
}
