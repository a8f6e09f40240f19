/**
 * The vocabulary GGUF's "llama" (SentencePiece) tokenizer metadata needs: every token's text, score and
 * type, plus the special ids. Read from a SentencePiece `tokenizer.model` or a llama2.c `tokenizer.bin`
 * (whose pieces store "▁" as a plain space and BOS/EOS as "\n<s>\n" / "\n</s>\n"; they are mapped back
 * the way llama.cpp's own llama2.c converter does).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseLlama2cTokenizer, parseSentencePieceModel, type PieceType } from "@nas/model";
import { ExportError } from "./atomic.ts";

/** GGUF / SentencePiece token types. */
export const TOKEN_TYPE: Record<PieceType, number> = { normal: 1, unknown: 2, control: 3, user_defined: 4, unused: 5, byte: 6 };

export interface GgufVocab {
  /** Where it was read from. */
  file: string;
  tokens: string[];
  scores: number[];
  types: number[];
  bosId: number;
  eosId: number;
  unkId: number;
}

const BYTE_PIECE = /^<0x[0-9A-Fa-f]{2}>$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

function fromSentencePiece(file: string): GgufVocab {
  const m = parseSentencePieceModel(readFileSync(file), file);
  const find = (piece: string, fallback: number) => {
    const i = m.pieces.findIndex((p) => p.piece === piece);
    return i >= 0 ? i : fallback;
  };
  return {
    file,
    tokens: m.pieces.map((p) => p.piece),
    scores: m.pieces.map((p) => p.score),
    types: m.pieces.map((p) => TOKEN_TYPE[p.type]),
    bosId: find(m.bosPiece, 1),
    eosId: find(m.eosPiece, 2),
    unkId: find(m.unkPiece, 0),
  };
}

function fromLlama2c(file: string): GgufVocab {
  const v = parseLlama2cTokenizer(readFileSync(file), file);
  const tokens: string[] = [];
  const types: number[] = [];
  v.pieces.forEach((binary, id) => {
    // llama2.c ids are fixed: 0 <unk>, 1 BOS, 2 EOS (run.c hard-codes them).
    if (id === 0) return void (tokens.push("<unk>"), types.push(TOKEN_TYPE.unknown));
    if (id === 1) return void (tokens.push("<s>"), types.push(TOKEN_TYPE.control));
    if (id === 2) return void (tokens.push("</s>"), types.push(TOKEN_TYPE.control));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      throw new ExportError(`${file}: token ${id} is not valid UTF-8; cannot store it as GGUF token text`);
    }
    if (BYTE_PIECE.test(text)) return void (tokens.push(text), types.push(TOKEN_TYPE.byte));
    tokens.push(text.replaceAll(" ", "\u2581"));
    types.push(TOKEN_TYPE.normal);
  });
  return { file, tokens, scores: Array.from(v.scores), types, bosId: 1, eosId: 2, unkId: 0 };
}

/**
 * Find the tokenizer in `pathOrDir` (a file, or a directory holding `tokenizer.model`, `tokenizer.bin`
 * or a llama2.c `tok*.bin`); undefined when a directory has none.
 *
 * @example
 * findTokenizerFile("../shared/models/stories260K") // ".../tok512.bin"
 */
export function findTokenizerFile(pathOrDir: string): string | undefined {
  if (!existsSync(pathOrDir)) throw new ExportError(`tokenizer path "${pathOrDir}" does not exist`);
  if (!statSync(pathOrDir).isDirectory()) return pathOrDir;
  for (const name of ["tokenizer.model", "tokenizer.bin"]) {
    if (existsSync(join(pathOrDir, name))) return join(pathOrDir, name);
  }
  const tok = readdirSync(pathOrDir)
    .filter((n) => /^tok.*\.bin$/.test(n))
    .sort();
  return tok.length ? join(pathOrDir, tok[0]) : undefined;
}

/**
 * Read a vocabulary for GGUF. `.model` files are SentencePiece, `.bin` files llama2.c tokenizers.
 * `vocabSize` (the model's) must be at least the tokenizer's size; missing ids are padded as unused
 * tokens `<pad_N>` (models often round the embedding up).
 *
 * @example
 * const v = readVocab("../shared/models/stories260K-hf/tokenizer.model", 512); // v.tokens.length === 512
 */
export function readVocab(file: string, vocabSize: number): GgufVocab {
  let v: GgufVocab;
  try {
    v = file.endsWith(".bin") ? fromLlama2c(file) : fromSentencePiece(file);
  } catch (err) {
    if (err instanceof ExportError) throw err;
    throw new ExportError(`cannot read tokenizer "${file}": ${(err as Error).message}`);
  }
  if (v.tokens.length > vocabSize) {
    throw new ExportError(`tokenizer "${file}" has ${v.tokens.length} tokens but the model's vocab_size is ${vocabSize}`);
  }
  for (let id = v.tokens.length; id < vocabSize; id++) {
    v.tokens.push(`<pad_${id}>`);
    v.scores.push(0);
    v.types.push(TOKEN_TYPE.unused);
  }
  return v;
}
