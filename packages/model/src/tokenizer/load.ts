import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { Tokenizer } from "../types.ts";
import { TokenizerError } from "./errors.ts";
import { HfJsonTokenizer } from "./hf-json.ts";
import { Llama2cTokenizer } from "./llama2c.ts";
import { SentencePieceTokenizer } from "./sentencepiece.ts";

/** Options for {@link loadTokenizer}. */
export interface LoadTokenizerOptions {
  /** When given, the tokenizer's vocabulary must have exactly this size (the model's vocab_size). Default: unchecked. */
  vocabSize?: number;
}

/**
 * Find and load the tokenizer of a model. `modelPath` is a model directory, a model file (its directory is
 * searched) or a tokenizer file. Search order in the directory: `tokenizer.model` (SentencePiece),
 * `tokenizer.json` (HF), `tokenizer.bin` (llama2.c), then `tok*.bin` (llama2.c, e.g. tok512.bin; the only one).
 *
 * @example
 * const tok = loadTokenizer("../shared/models/stories260K-hf"); // SentencePieceTokenizer
 * const tok2 = loadTokenizer("../shared/models/stories260K/stories260K.bin"); // Llama2cTokenizer (tok512.bin)
 */
export function loadTokenizer(modelPath: string, options: LoadTokenizerOptions = {}): Tokenizer {
  if (!existsSync(modelPath)) throw new TokenizerError(`${modelPath}: no such file or directory`);
  const isDir = statSync(modelPath).isDirectory();
  if (!isDir) {
    const name = basename(modelPath);
    if (name.endsWith(".model")) return checked(SentencePieceTokenizer.fromFile(modelPath), modelPath, options);
    if (name.endsWith(".json") && name !== "config.json") return checked(HfJsonTokenizer.fromFile(modelPath), modelPath, options);
    if (/^tok.*\.bin$/.test(name)) return checked(Llama2cTokenizer.fromFile(modelPath, options.vocabSize), modelPath, options);
  }
  const dir = isDir ? modelPath : dirname(modelPath);
  const at = (f: string) => join(dir, f);
  if (existsSync(at("tokenizer.model"))) return checked(SentencePieceTokenizer.fromFile(at("tokenizer.model")), at("tokenizer.model"), options);
  if (existsSync(at("tokenizer.json"))) return checked(HfJsonTokenizer.fromFile(at("tokenizer.json")), at("tokenizer.json"), options);
  if (existsSync(at("tokenizer.bin"))) return checked(Llama2cTokenizer.fromFile(at("tokenizer.bin"), options.vocabSize), at("tokenizer.bin"), options);
  const toks = readdirSync(dir).filter((f) => /^tok.*\.bin$/.test(f)).sort();
  if (toks.length > 1) throw new TokenizerError(`${dir}: several llama2.c tokenizers (${toks.join(", ")}); pass the one to use`);
  if (toks.length === 1) return checked(Llama2cTokenizer.fromFile(at(toks[0]), options.vocabSize), at(toks[0]), options);
  throw new TokenizerError(`${dir}: no tokenizer found (looked for tokenizer.model, tokenizer.json, tokenizer.bin, tok*.bin)`);
}

function checked(tok: Tokenizer, file: string, options: LoadTokenizerOptions): Tokenizer {
  if (options.vocabSize !== undefined && tok.vocabSize > options.vocabSize) {
    throw new TokenizerError(`${file}: tokenizer has ${tok.vocabSize} tokens but the model's vocab_size is ${options.vocabSize}`);
  }
  return tok;
}
