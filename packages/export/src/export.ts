/**
 * exportModel: importance permutation -> sub-network slice -> one of three standalone formats.
 * All outputs are written under a temporary name and renamed into place when complete.
 */
import { copyFileSync, existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { encodeSafetensors, encodeTensor, tensorToFloat32, type LlamaConfig, type ModelSource, type SubNetwork, type SubNetworkSpec, type Tensor } from "@nas/model";
import { ExportError, writeDirAtomic, writeFileAtomic } from "./atomic.ts";
import { modelToGguf, type GgufWeightType } from "./gguf-model.ts";
import { writeGguf } from "./gguf-write.ts";
import { dominantDtype, hfConfigJson } from "./hf-config.ts";
import { writeLlama2c } from "./llama2c-write.ts";
import { sliceModel, type ExportPermutation, type ModelTensors } from "./slice.ts";
import { findTokenizerFile, readVocab } from "./vocab.ts";

export type ExportFormat = "hf" | "gguf" | "llama2c";
/** Weight storage: "q8_0" (GGUF only), or a float type; omitted = keep each tensor's source dtype. */
export type ExportQuant = "q8_0" | "f16" | "bf16" | "f32";

export interface ExportOptions {
  /** The loaded super-network (HF names and layout), e.g. from `loadModel(dir)`. */
  model: ModelTensors & { source?: ModelSource };
  /** The sub-network to keep (partial specs allowed; `null` = the full model). */
  subnet: SubNetworkSpec | SubNetwork;
  format: ExportFormat;
  /** Output: a directory for "hf", a file for "gguf" and "llama2c". Replaced if it exists. */
  outPath: string;
  /** Tokenizer file or directory. Default: the model's own directory (`model.source.path`). */
  tokenizerDir?: string;
  /** Weight storage (default: keep the source dtype; llama2c is always F32). */
  quant?: ExportQuant;
  /** Importance order applied before slicing (the search's channel/head ranking). */
  permutation?: ExportPermutation;
  /** Model name stored in GGUF `general.name` (default "llama-nas-export"). */
  name?: string;
}

export interface ExportResult {
  format: ExportFormat;
  path: string;
  /** Files written, with sizes in bytes (the GGUF or .bin itself, or every file of the HF directory). */
  files: { path: string; bytes: number }[];
  /** Total bytes on disk. */
  bytes: number;
  /** Config of the standalone model (`perLayer` set when its layers differ). */
  config: LlamaConfig;
  /** "llama" or "deci" for GGUF; the config.json architecture for HF; "llama2c" otherwise. */
  architecture: string;
  /** Tensors whose storage differs from the request, and other remarks (e.g. no tokenizer found). */
  notes: string[];
}

const defaults = { name: "llama-nas-export" } satisfies Partial<ExportOptions>;

const HF_SIDE_FILES = ["tokenizer.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "generation_config.json"];

function tokenizerLocation(opts: ExportOptions): string | undefined {
  if (opts.tokenizerDir) return opts.tokenizerDir;
  const p = opts.model.source?.path;
  if (!p || !existsSync(p)) return undefined;
  return statSync(p).isDirectory() ? p : dirname(p);
}

function floatType(quant: ExportQuant | undefined): "F32" | "F16" | "BF16" | undefined {
  return quant === "f32" ? "F32" : quant === "f16" ? "F16" : quant === "bf16" ? "BF16" : undefined;
}

function castTensors(tensors: Map<string, Tensor>, dtype: "F32" | "F16" | "BF16" | undefined): Tensor[] {
  return [...tensors.values()].map((t) => (!dtype || t.dtype === dtype ? t : encodeTensor(t.name, dtype, t.shape, tensorToFloat32(t))));
}

function exportHf(small: ModelTensors, opts: ExportOptions, notes: string[]): ExportResult {
  if (opts.quant === "q8_0") throw new ExportError(`format hf cannot store Q8_0 weights (safetensors has no Q8_0 type); use --format gguf --quant q8_0`);
  const tensors = castTensors(small.tensors, floatType(opts.quant));
  const config = hfConfigJson(small.config, dominantDtype(tensors));
  const tokDir = tokenizerLocation(opts);
  const side: string[] = [];
  if (tokDir) {
    if (!existsSync(tokDir)) throw new ExportError(`tokenizer path "${tokDir}" does not exist`);
    if (statSync(tokDir).isDirectory()) {
      for (const n of readdirSync(tokDir)) if (HF_SIDE_FILES.includes(n) || /^tok.*\.bin$/.test(n)) side.push(join(tokDir, n));
    } else side.push(tokDir);
  }
  if (!side.some((f) => /tokenizer\.(model|json)$|\.bin$/.test(f))) notes.push(`no tokenizer file found${tokDir ? ` in "${tokDir}"` : ""}; the export has weights and config only`);
  writeDirAtomic(opts.outPath, (dir) => {
    writeFileAtomic(join(dir, "model.safetensors"), (sink) => sink.write(encodeSafetensors(tensors, { format: "pt" })));
    writeFileSync(join(dir, "config.json"), `${JSON.stringify(config, null, 2)}\n`);
    for (const f of side) copyFileSync(f, join(dir, basename(f)));
  });
  const files = readdirSync(opts.outPath).map((n) => ({ path: join(opts.outPath, n), bytes: statSync(join(opts.outPath, n)).size }));
  return result(opts, small.config, files, (config.architectures as string[])[0], notes);
}

function exportGguf(small: ModelTensors, opts: ExportOptions & typeof defaults, notes: string[]): ExportResult {
  const tokDir = tokenizerLocation(opts);
  const tokFile = tokDir ? findTokenizerFile(tokDir) : undefined;
  const vocab = tokFile ? readVocab(tokFile, small.config.vocabSize) : undefined;
  if (!vocab) notes.push(`no tokenizer found${tokDir ? ` in "${tokDir}"` : ""}; GGUF written with tokenizer.ggml.model = "none" (token ids only)`);
  const weightType: GgufWeightType = opts.quant === "q8_0" ? "Q8_0" : (floatType(opts.quant) ?? "keep");
  const { file, architecture, fallbacks } = modelToGguf(small, { weightType, vocab, name: opts.name });
  notes.push(...fallbacks);
  const { bytes } = writeGguf(opts.outPath, file);
  return result(opts, small.config, [{ path: opts.outPath, bytes }], architecture, notes);
}

function exportLlama2c(small: ModelTensors, opts: ExportOptions, notes: string[]): ExportResult {
  if (opts.quant && opts.quant !== "f32") throw new ExportError(`format llama2c stores float32 only (version 0); --quant ${opts.quant} is not possible`);
  const { bytes } = writeLlama2c(opts.outPath, small);
  return result(opts, small.config, [{ path: opts.outPath, bytes }], "llama2c", notes);
}

function result(opts: ExportOptions, config: LlamaConfig, files: ExportResult["files"], architecture: string, notes: string[]): ExportResult {
  return { format: opts.format, path: opts.outPath, files, bytes: files.reduce((a, f) => a + f.bytes, 0), config, architecture, notes };
}

/**
 * Export a sub-network of a loaded model as a standalone model.
 * - "hf": directory with config.json, model.safetensors and the tokenizer files (see ./hf-config.ts).
 * - "gguf": one GGUF v3 file for llama.cpp (`llama` when uniform, `deci` when layers differ).
 * - "llama2c": a llama2.c v0 .bin (uniform sub-networks of theta-10000 models only; else ExportError).
 * Throws ExportError (format cannot express the sub-network, unwritable path, bad sub-network or
 * permutation); a failed export leaves nothing under `outPath`.
 *
 * @example
 * const model = await loadModel("../shared/models/stories260K-hf");
 * const r = exportModel({ model, subnet: { mlp: [172, 128, 96, 64, 172] }, format: "gguf", quant: "q8_0", outPath: "out/s.gguf" });
 * r.architecture; // "deci"
 */
export function exportModel(options: ExportOptions): ExportResult {
  const opts = { ...defaults, ...options };
  if (!["hf", "gguf", "llama2c"].includes(opts.format)) throw new ExportError(`unknown export format "${String(opts.format)}" (expected hf, gguf or llama2c)`);
  if (opts.quant !== undefined && !["q8_0", "f16", "bf16", "f32"].includes(opts.quant)) {
    throw new ExportError(`unknown quant "${String(opts.quant)}" (expected q8_0, f16, bf16 or f32)`);
  }
  if (!opts.outPath) throw new ExportError("outPath is required");
  const small = sliceModel(opts.model, opts.subnet, opts.permutation);
  const notes: string[] = [];
  if (opts.format === "hf") return exportHf(small, opts, notes);
  if (opts.format === "gguf") return exportGguf(small, opts, notes);
  return exportLlama2c(small, opts, notes);
}
