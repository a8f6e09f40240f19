/**
 * Load a model from an HF directory (config.json + safetensors, single or sharded) or a llama2.c v0 .bin
 * into HF-named tensors, check every tensor the config implies, and hash it.
 *
 * The model hash is sha256 over the bytes of config.json followed by every weight file in full, in file-name
 * order (for llama2.c: the .bin, whose header is its config). It identifies the exact files, so caches keyed
 * by it never mix models.
 */
import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { parseHfConfig, ConfigError } from "./config.ts";
import { parseLlama2c } from "./llama2c.ts";
import { readSafetensorsDir } from "./safetensors-sharded.ts";
import type { LlamaConfig, ModelSource, Tensor } from "./types.ts";

/** Thrown when a model's files do not fit together (missing tensor, shape mismatch, unreadable path). */
export class ModelLoadError extends Error {
  override name = "ModelLoadError";
}

/** A model in memory: config, HF-named tensors (raw dtype bytes) and its identity. */
export interface LoadedModel {
  config: LlamaConfig;
  /** HF names. A tied model has no "lm_head.weight" entry; use lmHeadWeight() to get the classifier. */
  tensors: Map<string, Tensor>;
  source: ModelSource;
}

/** Tensors that some checkpoints carry but the architecture recomputes (ignored on load). */
const IGNORED = /^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/;

/**
 * Every tensor a config implies, with its shape (HF names, `[out, in]` for linear weights). A tied model
 * lists no lm_head.
 *
 * @example
 * expectedTensorShapes(cfg).get("model.layers.0.self_attn.k_proj.weight") // [numKvHeads * headDim, hiddenSize]
 */
export function expectedTensorShapes(config: LlamaConfig): Map<string, number[]> {
  const d = config.hiddenSize;
  const shapes = new Map<string, number[]>([["model.embed_tokens.weight", [config.vocabSize, d]]]);
  for (let i = 0; i < config.numLayers; i++) {
    const p = `model.layers.${i}.`;
    const q = (config.perLayer?.numHeads[i] ?? config.numHeads) * config.headDim;
    const kv = (config.perLayer?.numKvHeads[i] ?? config.numKvHeads) * config.headDim;
    const ff = config.perLayer?.intermediateSize[i] ?? config.intermediateSize;
    shapes.set(`${p}input_layernorm.weight`, [d]);
    shapes.set(`${p}self_attn.q_proj.weight`, [q, d]);
    shapes.set(`${p}self_attn.k_proj.weight`, [kv, d]);
    shapes.set(`${p}self_attn.v_proj.weight`, [kv, d]);
    shapes.set(`${p}self_attn.o_proj.weight`, [d, q]);
    shapes.set(`${p}post_attention_layernorm.weight`, [d]);
    shapes.set(`${p}mlp.gate_proj.weight`, [ff, d]);
    shapes.set(`${p}mlp.up_proj.weight`, [ff, d]);
    shapes.set(`${p}mlp.down_proj.weight`, [d, ff]);
  }
  shapes.set("model.norm.weight", [d]);
  if (!config.tieWordEmbeddings) shapes.set("lm_head.weight", [config.vocabSize, d]);
  return shapes;
}

/**
 * Check that `tensors` hold exactly what `config` implies: every expected tensor present with the right shape,
 * nothing unexpected (apart from RoPE inv_freq buffers and a redundant lm_head of a tied model, which are
 * dropped). Mutates `tensors` only to drop those. `fileOf` names the file of each tensor in messages.
 *
 * @example
 * checkModelTensors(config, tensors, "model.safetensors");
 */
export function checkModelTensors(config: LlamaConfig, tensors: Map<string, Tensor>, fileOf: Map<string, string> | string): void {
  const where = (name: string) => (typeof fileOf === "string" ? fileOf : (fileOf.get(name) ?? "model"));
  for (const name of [...tensors.keys()]) {
    if (IGNORED.test(name) || (name === "lm_head.weight" && config.tieWordEmbeddings)) tensors.delete(name);
  }
  const expected = expectedTensorShapes(config);
  const anyFile = typeof fileOf === "string" ? fileOf : [...new Set(fileOf.values())].join(", ");
  for (const [name, shape] of expected) {
    const t = tensors.get(name);
    if (!t) throw new ModelLoadError(`${anyFile}: missing tensor "${name}" (config expects shape [${shape}])`);
    if (t.shape.length !== shape.length || t.shape.some((v, i) => v !== shape[i])) {
      throw new ModelLoadError(`${where(name)}: tensor "${name}" has shape [${t.shape}] but the config (${describe(config)}) expects [${shape}]`);
    }
  }
  for (const name of tensors.keys()) {
    if (!expected.has(name)) throw new ModelLoadError(`${where(name)}: unexpected tensor "${name}" (not part of a LlamaForCausalLM with this config: ${describe(config)})`);
  }
}

function describe(c: LlamaConfig): string {
  return (
    `hidden_size ${c.hiddenSize}, intermediate_size ${c.intermediateSize}, num_hidden_layers ${c.numLayers}, num_attention_heads ${c.numHeads}, ` +
    `num_key_value_heads ${c.numKvHeads}, head_dim ${c.headDim}, vocab_size ${c.vocabSize}, tie_word_embeddings ${c.tieWordEmbeddings}` +
    (c.perLayer ? ", per-layer sizes" : "")
  );
}

/**
 * The classifier weight [vocab, hidden]: lm_head.weight, or the embedding for a tied model.
 *
 * @example
 * const head = lmHeadWeight(model.config, model.tensors); // tied stories260K -> model.embed_tokens.weight
 */
export function lmHeadWeight(config: LlamaConfig, tensors: Map<string, Tensor>): Tensor {
  const name = config.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight";
  const t = tensors.get(name);
  if (!t) throw new ModelLoadError(`missing tensor "${name}" (the ${config.tieWordEmbeddings ? "tied " : ""}classifier)`);
  return t;
}

/**
 * Load a model: an HF directory (or a config.json / *.safetensors file inside one) or a llama2.c v0 .bin.
 *
 * @example
 * const { config, tensors, source } = await loadModel("../shared/models/tiny-llama3-gqa-bf16");
 * source.format // "hf"
 */
export async function loadModel(path: string): Promise<LoadedModel> {
  let info;
  try {
    info = await stat(path);
  } catch (e) {
    throw new ModelLoadError(`${path}: cannot read model path (${(e as Error).message})`);
  }
  if (info.isDirectory()) return loadHfDir(path);
  const name = basename(path);
  if (name === "config.json" || name.endsWith(".safetensors") || name === "model.safetensors.index.json") return loadHfDir(dirname(path));
  if (name.endsWith(".gguf")) throw new ModelLoadError(`${path}: GGUF files are not loaded by loadModel (give an HF directory or a llama2.c .bin)`);
  return loadLlama2c(path);
}

async function loadHfDir(dir: string): Promise<LoadedModel> {
  const configPath = join(dir, "config.json");
  let configBytes: Uint8Array;
  try {
    configBytes = await readFile(configPath);
  } catch (e) {
    throw new ModelLoadError(`${configPath}: cannot read (${(e as Error).message}); an HF model directory needs config.json`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(configBytes));
  } catch (e) {
    throw new ConfigError(`${configPath}: not valid JSON (${(e as Error).message})`);
  }
  const config = parseHfConfig(raw, configPath);
  const hash = createHash("sha256");
  hash.update(configBytes);
  const ckpt = await readSafetensorsDir(dir, { sink: hash });
  checkModelTensors(config, ckpt.tensors, ckpt.fileOf);
  return { config, tensors: ckpt.tensors, source: { path: dir, format: "hf", hash: hash.digest("hex") } };
}

async function loadLlama2c(path: string): Promise<LoadedModel> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new ModelLoadError(`${path}: cannot read llama2.c checkpoint (${(e as Error).message})`);
  }
  const { config, tensors } = parseLlama2c(bytes, path);
  checkModelTensors(config, tensors, path);
  const hash = createHash("sha256").update(bytes).digest("hex");
  return { config, tensors, source: { path, format: "llama2c", hash } };
}
