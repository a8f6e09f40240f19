/**
 * llama2.c `tokenizer.bin`: int32 max_token_length, then per token { float32 score, int32 len, len bytes }.
 * The vocabulary size is not stored; it is the number of entries up to the end of the file.
 *
 * Encoding follows llama2.c run.c `encode` exactly: optional BOS (id 1), a dummy-prefix " " token when the text is
 * non-empty, one token per UTF-8 character (or byte-fallback tokens id = byte + 3 when the character is not in the
 * vocabulary), then BPE merges of adjacent tokens by the score of the merged string (BOS takes part in the merge
 * scan, as in run.c). Strings are handled as raw bytes (one JS char per byte) so merges concatenate bytes exactly
 * like the C code.
 */
import { readFileSync } from "node:fs";
import type { Tokenizer } from "../types.ts";
import { bpeMergeIds, buildPairTable } from "./bpe.ts";
import { TokenizerError } from "./errors.ts";

const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** bytes -> "binary string" (char code = byte), the representation the C code effectively works on */
function toBinary(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return s;
}

function fromBinary(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Parsed contents of a llama2.c tokenizer.bin. `pieces` are binary strings (one char per byte). */
export interface Llama2cVocab {
  maxTokenLength: number;
  pieces: string[];
  scores: Float32Array;
}

/**
 * Parse tokenizer.bin bytes. `file` names the source in errors; `expectedVocabSize` (from the model header) is
 * checked when given.
 *
 * @example
 * const vocab = parseLlama2cTokenizer(readFileSync("tok512.bin"), "tok512.bin", 512);
 */
export function parseLlama2cTokenizer(bytes: Uint8Array, file: string, expectedVocabSize?: number): Llama2cVocab {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4) throw new TokenizerError(`${file}: too short for a llama2.c tokenizer (${bytes.length} bytes)`);
  const maxTokenLength = view.getInt32(0, true);
  if (maxTokenLength <= 0 || maxTokenLength > 1 << 16) {
    throw new TokenizerError(`${file}: max_token_length ${maxTokenLength} is not plausible; not a llama2.c tokenizer.bin?`);
  }
  const pieces: string[] = [];
  const scores: number[] = [];
  let pos = 4;
  while (pos < bytes.length) {
    const index = pieces.length;
    if (pos + 8 > bytes.length) throw new TokenizerError(`${file}: truncated at token ${index} (header needs 8 bytes at offset ${pos})`);
    const score = view.getFloat32(pos, true);
    const len = view.getInt32(pos + 4, true);
    pos += 8;
    if (len < 0 || len > maxTokenLength || pos + len > bytes.length) {
      throw new TokenizerError(`${file}: token ${index} has length ${len} at offset ${pos - 4} (max_token_length ${maxTokenLength}, ${bytes.length - pos} bytes left)`);
    }
    pieces.push(toBinary(bytes.subarray(pos, pos + len)));
    scores.push(score);
    pos += len;
  }
  if (expectedVocabSize !== undefined && pieces.length !== expectedVocabSize) {
    throw new TokenizerError(`${file}: has ${pieces.length} tokens, the model expects vocab_size ${expectedVocabSize}`);
  }
  if (pieces.length < 3 + 256) throw new TokenizerError(`${file}: only ${pieces.length} tokens; llama2.c needs <unk>, <s>, </s> and 256 byte tokens`);
  return { maxTokenLength, pieces, scores: Float32Array.from(scores) };
}

/**
 * llama2.c tokenizer. BOS = 1, EOS = 2 (hard-coded in run.c). `encode` defaults: bos=false, eos=false.
 *
 * @example
 * const tok = Llama2cTokenizer.fromFile("../shared/models/stories260K/tok512.bin");
 * tok.encode("Once upon a time", { bos: true }); // [1, ...]
 */
export class Llama2cTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId = 1;
  readonly eosId = 2;
  private readonly pieces: string[];
  private readonly scores: Float32Array;
  /** piece string -> lowest id with that string (run.c's bsearch is unspecified on duplicates; none occur in practice) */
  private readonly lookupId = new Map<string, number>();
  private readonly dummyPrefixId: number;
  /** a * vocabSize + b -> id of the token spelled by tokens a and b (run.c's sprintf + str_lookup, precomputed) */
  private readonly pairs: Map<number, number>;
  /**
   * True when no token has a space after a non-space byte (LLaMA vocabularies: spaces only lead a token, or the
   * token is all spaces). Then no merge can cross a space that follows a non-space, the text splits there into
   * words that merge independently, and each word's tokens can be memoised.
   */
  private readonly wordwise: boolean;
  private readonly wordCache = new Map<string, number[]>();

  constructor(vocab: Llama2cVocab) {
    this.pieces = vocab.pieces;
    this.scores = vocab.scores;
    this.vocabSize = vocab.pieces.length;
    vocab.pieces.forEach((p, i) => {
      if (!this.lookupId.has(p)) this.lookupId.set(p, i);
    });
    const space = this.lookupId.get(" ");
    if (space === undefined) throw new TokenizerError('llama2.c tokenizer has no " " token for the dummy prefix');
    this.dummyPrefixId = space;
    this.pairs = buildPairTable(this.pieces, (p) => this.lookupId.get(p));
    this.wordwise = this.pieces.every((p) => !/[^ ] /.test(p));
  }

  /** Load a tokenizer.bin file; `expectedVocabSize` is checked when given. */
  static fromFile(path: string, expectedVocabSize?: number): Llama2cTokenizer {
    return new Llama2cTokenizer(parseLlama2cTokenizer(readFileSync(path), path, expectedVocabSize));
  }

  encode(text: string, options: { bos?: boolean; eos?: boolean } = {}): number[] {
    const out: number[] = [];
    if (options.bos) out.push(this.bosId);
    const bytes = utf8.encode(text);
    if (bytes.length > 0) {
      // the dummy-prefix token is the token " ", i.e. a leading space byte
      const all = " " + toBinary(bytes);
      if (this.wordwise) {
        let start = 0;
        for (let i = 1; i <= all.length; i++) {
          if (i === all.length || (all.charCodeAt(i) === 32 && all.charCodeAt(i - 1) !== 32)) {
            const word = all.slice(start, i);
            let ids = this.wordCache.get(word);
            if (!ids) {
              if (this.wordCache.size > 200_000) this.wordCache.clear();
              ids = this.merge(word);
              this.wordCache.set(word, ids);
            }
            for (const id of ids) out.push(id);
            start = i;
          }
        }
      } else {
        // BOS takes part in run.c's merge scan
        const merged = this.merge(all, options.bos ? [this.bosId] : []);
        out.length = 0;
        out.push(...merged);
      }
    }
    if (options.eos) out.push(this.eosId);
    return out;
  }

  /** run.c's per-character lookup with byte fallback, then score-ordered merges, on a binary string. */
  private merge(s: string, leading: number[] = []): number[] {
    const symbols = leading.slice();
    let i = 0;
    // One code point at a time: a lead byte plus at most 3 continuation bytes (run.c's str_len < 4 guard).
    while (i < s.length) {
      let end = i + 1;
      while (end < s.length && (s.charCodeAt(end) & 0xc0) === 0x80 && end - i < 4) end++;
      const id = this.lookupId.get(end - i === 1 ? s[i] : s.slice(i, end));
      if (id !== undefined) symbols.push(id);
      else for (let k = i; k < end; k++) symbols.push(s.charCodeAt(k) + 3);
      i = end;
    }
    const V = this.vocabSize;
    const pair = (a: number, b: number) => {
      const id = this.pairs.get(a * V + b);
      // run.c starts its best score at -1e10 and requires strictly greater
      if (id === undefined || !(this.scores[id] > -1e10)) return undefined;
      return { id, score: this.scores[id] };
    };
    return bpeMergeIds(symbols, pair, (id) => this.pieces[id].length);
  }

  /**
   * Decode as run.c: BOS/EOS print nothing, a piece's leading space is dropped right after BOS, and `<0xXX>`
   * pieces are raw bytes. The bytes are then read as UTF-8 (invalid sequences become U+FFFD).
   */
  decode(ids: number[]): string {
    let out = "";
    let prev = -1;
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) throw new TokenizerError(`token id ${id} is outside the vocabulary [0, ${this.vocabSize})`);
      if (id !== this.bosId && id !== this.eosId) {
        let piece = this.pieces[id];
        if (prev === this.bosId && piece.startsWith(" ")) piece = piece.slice(1);
        const m = BYTE_PIECE.exec(piece);
        out += m ? String.fromCharCode(parseInt(m[1], 16)) : piece;
      }
      prev = id;
    }
    return utf8Decoder.decode(fromBinary(out));
  }

  /** The raw piece (as UTF-8 text) of one id, for debugging and tests. */
  piece(id: number): string {
    return utf8Decoder.decode(fromBinary(this.pieces[id]));
  }
}
