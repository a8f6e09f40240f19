/**
 * SentencePiece `tokenizer.model` (a serialized sentencepiece.ModelProto) for BPE models, as used by LLaMA-1/2.
 *
 * Parsed fields (sentencepiece_model.proto): ModelProto.pieces = 1 {piece = 1, score = 2, type = 3},
 * trainer_spec = 2 {model_type = 3, treat_whitespace_as_suffix = 24, byte_fallback = 35, unk_piece = 45,
 * bos_piece = 46, eos_piece = 47}, normalizer_spec = 3 {name = 1, precompiled_charsmap = 2, add_dummy_prefix = 3,
 * remove_extra_whitespaces = 4, escape_whitespaces = 5}. Proto2 defaults apply to absent fields.
 *
 * Encoding reproduces sentencepiece's normalizer + bpe_model.cc + byte fallback, and on top of it what Hugging Face's
 * slow `LlamaTokenizer` (legacy=true) does: the text is first split on the special-token strings (<unk>, <s>, </s>:
 * the UNKNOWN and CONTROL pieces), which map straight to their ids, and every other chunk is encoded by sentencepiece
 * on its own (so each chunk gets its own dummy prefix).
 */
import { readFileSync } from "node:fs";
import type { Tokenizer } from "../types.ts";
import { bpeMerge, bpeMergeIds, buildPairTable, type BpeEntry, type BpeSymbol } from "./bpe.ts";
import { TokenizerError } from "./errors.ts";
import { ProtoError, fieldFloat32, readFields } from "./protobuf.ts";

/** sentencepiece ModelProto.SentencePiece.Type */
export type PieceType = "normal" | "unknown" | "control" | "user_defined" | "unused" | "byte";
const PIECE_TYPES: Record<number, PieceType> = { 1: "normal", 2: "unknown", 3: "control", 4: "user_defined", 5: "unused", 6: "byte" };
const MODEL_TYPES: Record<number, string> = { 1: "unigram", 2: "bpe", 3: "word", 4: "char" };

/** The parts of a ModelProto the encoder needs. */
export interface SentencePieceModel {
  pieces: { piece: string; score: number; type: PieceType }[];
  modelType: string;
  byteFallback: boolean;
  treatWhitespaceAsSuffix: boolean;
  unkPiece: string;
  bosPiece: string;
  eosPiece: string;
  normalizer: { name: string; charsmapBytes: number; addDummyPrefix: boolean; removeExtraWhitespaces: boolean; escapeWhitespaces: boolean };
}

const textDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const SPACE_SYMBOL = "\u2581"; // "▁"

function str(bytes: Uint8Array, what: string): string {
  try {
    return textDecoder.decode(bytes);
  } catch {
    throw new TokenizerError(`${what} is not valid UTF-8`);
  }
}

/**
 * Parse ModelProto bytes. `file` names the source in errors.
 *
 * @example
 * const model = parseSentencePieceModel(readFileSync("tokenizer.model"), "tokenizer.model");
 * model.pieces.length; // 32000 for LLaMA-2
 */
export function parseSentencePieceModel(bytes: Uint8Array, file: string): SentencePieceModel {
  const model: SentencePieceModel = {
    pieces: [],
    modelType: "unigram",
    byteFallback: false,
    treatWhitespaceAsSuffix: false,
    unkPiece: "<unk>",
    bosPiece: "<s>",
    eosPiece: "</s>",
    normalizer: { name: "", charsmapBytes: 0, addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true },
  };
  try {
    for (const f of readFields(bytes, `${file} ModelProto`)) {
      if (f.field === 1 && f.wireType === 2) {
        const index = model.pieces.length;
        const entry = { piece: "", score: 0, type: "normal" as PieceType };
        for (const g of readFields(f.bytes, `${file} pieces[${index}]`)) {
          if (g.field === 1 && g.wireType === 2) entry.piece = str(g.bytes, `${file} pieces[${index}].piece`);
          else if (g.field === 2 && g.wireType === 5) entry.score = fieldFloat32(g);
          else if (g.field === 3 && g.wireType === 0) {
            const t = PIECE_TYPES[g.varint];
            if (t === undefined) throw new TokenizerError(`${file}: pieces[${index}] has unknown type ${g.varint}`);
            entry.type = t;
          }
        }
        model.pieces.push(entry);
      } else if (f.field === 2 && f.wireType === 2) {
        for (const g of readFields(f.bytes, `${file} trainer_spec`)) {
          if (g.field === 3 && g.wireType === 0) model.modelType = MODEL_TYPES[g.varint] ?? `type ${g.varint}`;
          else if (g.field === 24 && g.wireType === 0) model.treatWhitespaceAsSuffix = g.varint !== 0;
          else if (g.field === 35 && g.wireType === 0) model.byteFallback = g.varint !== 0;
          else if (g.field === 45 && g.wireType === 2) model.unkPiece = str(g.bytes, `${file} trainer_spec.unk_piece`);
          else if (g.field === 46 && g.wireType === 2) model.bosPiece = str(g.bytes, `${file} trainer_spec.bos_piece`);
          else if (g.field === 47 && g.wireType === 2) model.eosPiece = str(g.bytes, `${file} trainer_spec.eos_piece`);
        }
      } else if (f.field === 3 && f.wireType === 2) {
        const n = model.normalizer;
        for (const g of readFields(f.bytes, `${file} normalizer_spec`)) {
          if (g.field === 1 && g.wireType === 2) n.name = str(g.bytes, `${file} normalizer_spec.name`);
          else if (g.field === 2 && g.wireType === 2) n.charsmapBytes = g.bytes.length;
          else if (g.field === 3 && g.wireType === 0) n.addDummyPrefix = g.varint !== 0;
          else if (g.field === 4 && g.wireType === 0) n.removeExtraWhitespaces = g.varint !== 0;
          else if (g.field === 5 && g.wireType === 0) n.escapeWhitespaces = g.varint !== 0;
        }
      }
    }
  } catch (e) {
    if (e instanceof ProtoError) throw new TokenizerError(`${e.message} (not a SentencePiece model?)`);
    throw e;
  }
  if (model.pieces.length === 0) throw new TokenizerError(`${file}: ModelProto has no pieces (not a SentencePiece model?)`);
  return model;
}

/** Split `text` into code points; lone surrogates become U+FFFD, as UTF-8 encoding would make them. */
function codePoints(text: string): string[] {
  const out: string[] = [];
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    out.push(c >= 0xd800 && c <= 0xdfff ? "\ufffd" : ch);
  }
  return out;
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** Options of {@link SentencePieceTokenizer}. */
export interface SentencePieceOptions {
  /** Split the text on special-token strings first, as HF's LlamaTokenizer does. Default true. */
  splitSpecialTokens?: boolean;
  /**
   * Dummy prefix rule. "sentencepiece" (default): always prepend "▁" (sentencepiece, HF slow LlamaTokenizer and
   * transformers 4.x fast LlamaTokenizer with legacy=true). "metaspace": do not prepend when the text already starts
   * with a space, as transformers 5.x's LlamaTokenizer (Metaspace prepend_scheme "always") does. Only texts that
   * start with a space encode differently.
   */
  prefixSpace?: "sentencepiece" | "metaspace";
}

/**
 * SentencePiece BPE tokenizer. `encode` defaults: bos=false, eos=false. See {@link SentencePieceOptions}.
 *
 * @example
 * const tok = SentencePieceTokenizer.fromFile("../shared/models/llama2-tokenizer/tokenizer.model");
 * tok.encode("Hello world"); // [15043, 3186]
 */
export class SentencePieceTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly unkId: number;
  private readonly model: SentencePieceModel;
  /** normal, user-defined and unused pieces: the ones BPE may produce (sentencepiece's `pieces_`) */
  private readonly mergeable = new Map<string, number>();
  private readonly userDefined: string[];
  private readonly byteIds = new Int32Array(256).fill(-1);
  private readonly specials: { text: string; id: number }[];
  private readonly splitSpecialTokens: boolean;
  private readonly prefixSpace: "sentencepiece" | "metaspace";
  /**
   * Integer fast path (a * V + b -> merged id), exact when every character of every mergeable piece is itself a
   * mergeable piece (then an unknown character can never be part of a merge) and no piece is UNUSED. LLaMA's
   * models satisfy this; others use the string path.
   */
  private readonly pairs: Map<number, number> | null;
  /**
   * True when no mergeable piece has "▁" after another character except all-"▁" pieces (LLaMA): then no merge
   * crosses a "▁" that follows a non-"▁", the normalized text splits there into words that merge independently,
   * and each word's result can be memoised.
   */
  private readonly wordwise: boolean;
  private readonly wordCache = new Map<string, number[]>();

  constructor(model: SentencePieceModel, options: SentencePieceOptions = {}) {
    const opts = { splitSpecialTokens: true, prefixSpace: "sentencepiece", ...options } satisfies Required<SentencePieceOptions>;
    if (model.modelType !== "bpe") throw new TokenizerError(`SentencePiece model type "${model.modelType}" is not supported (only BPE, as LLaMA uses)`);
    if (model.normalizer.charsmapBytes > 0) {
      throw new TokenizerError(`SentencePiece normalizer "${model.normalizer.name}" with a precompiled charsmap is not supported (only identity normalization, as LLaMA uses)`);
    }
    if (model.treatWhitespaceAsSuffix) throw new TokenizerError("SentencePiece treat_whitespace_as_suffix=true is not supported");
    this.model = model;
    this.vocabSize = model.pieces.length;
    this.splitSpecialTokens = opts.splitSpecialTokens;
    this.prefixSpace = opts.prefixSpace;
    let unk = -1;
    const reserved = new Map<string, number>();
    const userDefined: string[] = [];
    model.pieces.forEach((p, i) => {
      if (p.type === "normal" || p.type === "user_defined" || p.type === "unused") {
        if (this.mergeable.has(p.piece) || reserved.has(p.piece)) throw new TokenizerError(`SentencePiece piece ${JSON.stringify(p.piece)} is defined twice (id ${i})`);
        this.mergeable.set(p.piece, i);
        if (p.type === "user_defined") userDefined.push(p.piece);
      } else {
        reserved.set(p.piece, i);
        if (p.type === "unknown") unk = i;
        if (p.type === "byte") {
          const m = /^<0x([0-9A-F]{2})>$/.exec(p.piece);
          if (!m) throw new TokenizerError(`SentencePiece byte piece ${JSON.stringify(p.piece)} (id ${i}) is not of the form <0xXX>`);
          this.byteIds[parseInt(m[1], 16)] = i;
        }
      }
    });
    if (unk < 0) throw new TokenizerError("SentencePiece model has no UNKNOWN piece");
    if (model.byteFallback && this.byteIds.some((v) => v < 0)) throw new TokenizerError("SentencePiece model enables byte_fallback but lacks some of the 256 <0xXX> pieces");
    this.unkId = unk;
    // Longest first so that prefix matching is greedy (sentencepiece's PrefixMatcher is a longest-match trie).
    this.userDefined = userDefined.sort((a, b) => b.length - a.length);
    const idOf = (piece: string, what: string) => {
      const id = reserved.get(piece) ?? this.mergeable.get(piece);
      if (id === undefined) throw new TokenizerError(`SentencePiece ${what} piece ${JSON.stringify(piece)} is not in the vocabulary`);
      return id;
    };
    this.bosId = idOf(model.bosPiece, "bos");
    this.eosId = idOf(model.eosPiece, "eos");
    this.specials = model.pieces
      .map((p, id) => ({ text: p.piece, id, type: p.type }))
      .filter((p) => (p.type === "control" || p.type === "unknown") && p.text.length > 0)
      .map(({ text, id }) => ({ text, id }))
      .sort((a, b) => b.text.length - a.text.length);
    const closed = model.pieces.every((p) => !this.mergeable.has(p.piece) || p.type !== "unused") && [...this.mergeable.keys()].every((p) => [...p].every((c) => this.mergeable.has(c)));
    this.wordwise = this.userDefined.length === 0 && [...this.mergeable.keys()].every((p) => !/[^\u2581]\u2581/.test(p));
    this.pairs = closed ? buildPairTable(model.pieces.map((p) => (this.mergeable.has(p.piece) ? p.piece : undefined)), (p) => this.mergeable.get(p)) : null;
  }

  /** Load a tokenizer.model file. */
  static fromFile(path: string, options?: SentencePieceOptions): SentencePieceTokenizer {
    return new SentencePieceTokenizer(parseSentencePieceModel(readFileSync(path), path), options);
  }

  encode(text: string, options: { bos?: boolean; eos?: boolean } = {}): number[] {
    const ids: number[] = [];
    if (options.bos) ids.push(this.bosId);
    for (const chunk of this.splitSpecialTokens ? this.splitOnSpecials(text) : [text]) {
      if (typeof chunk === "number") ids.push(chunk);
      else this.encodeChunk(chunk, ids);
    }
    if (options.eos) ids.push(this.eosId);
    return ids;
  }

  /** sentencepiece `EncodeAsIds` on one chunk (no special-token handling). Appends to `out`. */
  encodeChunk(text: string, out: number[] = []): number[] {
    const normalized = this.normalize(text);
    if (normalized.length === 0) return out;
    if (this.pairs && this.wordwise) {
      let start = 0;
      for (let i = 1; i <= normalized.length; i++) {
        if (i === normalized.length || (normalized[i] === SPACE_SYMBOL && normalized[i - 1] !== SPACE_SYMBOL)) {
          const word = normalized.slice(start, i);
          let ids = this.wordCache.get(word);
          if (!ids) {
            if (this.wordCache.size > 200_000) this.wordCache.clear();
            ids = this.encodeIds(word, []);
            this.wordCache.set(word, ids);
          }
          // without byte fallback, sentencepiece folds adjacent unknowns into one <unk>, across words too
          for (const id of ids) if (!(id === this.unkId && out.length > 0 && out[out.length - 1] === this.unkId && !this.model.byteFallback)) out.push(id);
          start = i;
        }
      }
      return out;
    }
    if (this.pairs) return this.encodeIds(normalized, out);
    const revMerge = new Map<string, [string, string]>();
    const lookup = (s: string, left: string, right: string): BpeEntry | undefined => {
      const id = this.mergeable.get(s);
      if (id === undefined) return undefined;
      if (this.model.pieces[id].type === "unused") revMerge.set(s, [left, right]);
      return { id, score: this.model.pieces[id].score };
    };
    const symbols: BpeSymbol[] = [];
    for (const sym of bpeMerge(this.initialSymbols(normalized), lookup)) this.resegment(sym, revMerge, symbols);
    let prevUnk = false;
    for (const sym of symbols) {
      const id = this.mergeable.get(sym.piece) ?? this.unkId;
      if (id === this.unkId && this.model.byteFallback) {
        for (const b of utf8.encode(sym.piece)) out.push(this.byteIds[b]);
        prevUnk = false;
      } else if (id === this.unkId) {
        // Without byte fallback sentencepiece folds a run of unknown pieces into one <unk>.
        if (!prevUnk) out.push(id);
        prevUnk = true;
      } else {
        out.push(id);
        prevUnk = false;
      }
    }
    return out;
  }

  /** The integer fast path of encodeChunk (see `pairs`). Unknown characters get negative ids that never merge. */
  private encodeIds(normalized: string, out: number[]): number[] {
    const symbols: number[] = [];
    const frozen: boolean[] = [];
    const unknown: string[] = [];
    const pieces = this.model.pieces;
    let i = 0;
    outer: while (i < normalized.length) {
      for (const u of this.userDefined) {
        if (normalized.startsWith(u, i)) {
          symbols.push(this.mergeable.get(u)!);
          frozen.push(true);
          i += u.length;
          continue outer;
        }
      }
      const cp = normalized.codePointAt(i)!;
      const c = cp > 0xffff ? normalized.slice(i, i + 2) : normalized[i];
      const id = this.mergeable.get(c);
      if (id !== undefined) symbols.push(id);
      else {
        unknown.push(c);
        symbols.push(-unknown.length);
      }
      frozen.push(false);
      i += c.length;
    }
    const V = pieces.length;
    const pair = (a: number, b: number): BpeEntry | undefined => {
      if (a < 0 || b < 0) return undefined;
      const id = this.pairs!.get(a * V + b);
      return id === undefined ? undefined : { id, score: pieces[id].score };
    };
    const len = (id: number) => (id < 0 ? unknown[-id - 1].length : pieces[id].piece.length);
    let prevUnk = false;
    for (const id of bpeMergeIds(symbols, pair, len, this.userDefined.length > 0 ? frozen : undefined)) {
      if (id >= 0) {
        out.push(id);
        prevUnk = false;
      } else if (this.model.byteFallback) {
        for (const b of utf8.encode(unknown[-id - 1])) out.push(this.byteIds[b]);
      } else {
        if (!prevUnk) out.push(this.unkId);
        prevUnk = true;
      }
    }
    return out;
  }

  /**
   * sentencepiece's normalizer without a charsmap: optional removal of extra spaces, the dummy-prefix "▁", and
   * " " -> "▁". Only U+0020 counts as whitespace here, as in sentencepiece.
   */
  private normalize(text: string): string {
    const n = this.model.normalizer;
    let chars = codePoints(text);
    if (n.removeExtraWhitespaces) {
      let start = 0;
      while (start < chars.length && chars[start] === " ") start++;
      chars = chars.slice(start);
    }
    if (chars.length === 0) return "";
    const space = n.escapeWhitespaces ? SPACE_SYMBOL : " ";
    const prefix = n.addDummyPrefix && !(this.prefixSpace === "metaspace" && (chars[0] === " " || chars[0] === SPACE_SYMBOL));
    let out = prefix ? space : "";
    let prevSpace = n.removeExtraWhitespaces;
    for (const c of chars) {
      if (c === " ") {
        if (!prevSpace || !n.removeExtraWhitespaces) out += space;
        prevSpace = true;
      } else {
        out += c;
        prevSpace = false;
      }
    }
    if (n.removeExtraWhitespaces) while (out.endsWith(space)) out = out.slice(0, -space.length);
    return out;
  }

  /** Split into code points, except that user-defined pieces are matched greedily and frozen. */
  private initialSymbols(normalized: string): BpeSymbol[] {
    const symbols: BpeSymbol[] = [];
    let i = 0;
    outer: while (i < normalized.length) {
      for (const u of this.userDefined) {
        if (normalized.startsWith(u, i)) {
          symbols.push({ piece: u, id: this.mergeable.get(u)!, frozen: true });
          i += u.length;
          continue outer;
        }
      }
      const c = String.fromCodePoint(normalized.codePointAt(i)!);
      symbols.push({ piece: c, id: this.mergeable.get(c) ?? this.unkId });
      i += c.length;
    }
    return symbols;
  }

  /**
   * sentencepiece never outputs an UNUSED piece: one produced by a merge is split back into the two symbols it was
   * last queued from (`revMerge`), recursively.
   */
  private resegment(sym: BpeSymbol, revMerge: Map<string, [string, string]>, out: BpeSymbol[]): void {
    const id = this.mergeable.get(sym.piece);
    const split = id !== undefined && this.model.pieces[id].type === "unused" ? revMerge.get(sym.piece) : undefined;
    if (split === undefined) {
      out.push(sym);
      return;
    }
    for (const half of split) this.resegment({ piece: half, id: this.mergeable.get(half) ?? this.unkId }, revMerge, out);
  }

  /** Split on special-token strings (leftmost, longest first); specials become their ids. Empty chunks dropped. */
  private splitOnSpecials(text: string): (string | number)[] {
    if (this.specials.length === 0) return [text];
    const out: (string | number)[] = [];
    let start = 0;
    let i = 0;
    while (i < text.length) {
      const hit = this.specials.find((s) => text.startsWith(s.text, i));
      if (hit === undefined) {
        i++;
        continue;
      }
      if (i > start) out.push(text.slice(start, i));
      out.push(hit.id);
      i += hit.text.length;
      start = i;
    }
    if (start < text.length) out.push(text.slice(start));
    return out;
  }

  /**
   * Decode as sentencepiece: "▁" -> " ", byte pieces are raw bytes (read as UTF-8, invalid -> U+FFFD), control
   * pieces print nothing, <unk> prints " ⁇ ", and the leading space of the first piece (the dummy prefix) is dropped.
   */
  decode(ids: number[]): string {
    const parts: (string | Uint8Array)[] = [];
    let first = true;
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) throw new TokenizerError(`token id ${id} is outside the vocabulary [0, ${this.vocabSize})`);
      const p = this.model.pieces[id];
      if (p.type === "control") continue;
      if (p.type === "byte") {
        parts.push(Uint8Array.of(parseInt(p.piece.slice(3, 5), 16)));
        first = false;
        continue;
      }
      let s = p.type === "unknown" ? " \u2047 " : p.piece.replaceAll(SPACE_SYMBOL, " ");
      if (first && this.model.normalizer.addDummyPrefix && s.startsWith(" ")) s = s.slice(1);
      first = false;
      parts.push(s);
    }
    // Consecutive byte pieces form one UTF-8 sequence; decode each run of bytes together.
    let out = "";
    let run: number[] = [];
    const flush = () => {
      if (run.length > 0) out += utf8Decoder.decode(Uint8Array.from(run));
      run = [];
    };
    for (const part of parts) {
      if (typeof part === "string") {
        flush();
        out += part;
      } else run.push(part[0]);
    }
    flush();
    return out;
  }

  /** The piece string of one id (SentencePiece form, with "▁"). */
  piece(id: number): string {
    return this.model.pieces[id].piece;
  }
}
