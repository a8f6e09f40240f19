/**
 * Hugging Face `tokenizer.json` for LLaMA-1/2-style tokenizers: a BPE model (merge ranks, byte fallback, fused
 * unknowns) behind a SentencePiece-like normalizer (`Prepend("▁")` + `Replace(" ", "▁")`) or a `Metaspace`
 * pre-tokenizer. Semantics follow the `tokenizers` crate: added tokens split the input first; the rest is
 * normalized, pre-tokenized and each word merged by the lowest merge rank (leftmost on ties), with characters
 * missing from the vocabulary replaced by their `<0xXX>` byte tokens before merging.
 *
 * Byte-level BPE (GPT-2/LLaMA-3 `ByteLevel` pre-tokenizer with a split regex) is not supported and is rejected
 * with a clear error rather than tokenized wrongly.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Tokenizer } from "../types.ts";
import { bpeMerge, type BpeEntry, type BpeSymbol } from "./bpe.ts";
import { TokenizerError } from "./errors.ts";

type Json = Record<string, unknown>;
const SPACE_SYMBOL = "\u2581";
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { ignoreBOM: true });

interface AddedToken {
  id: number;
  content: string;
  special: boolean;
  lstrip: boolean;
  rstrip: boolean;
}

type Normalize = (s: string) => string;

/** Build the normalizer function from its JSON; unsupported types are an error naming the type. */
function buildNormalizer(spec: unknown, file: string): Normalize {
  if (spec === null || spec === undefined) return (s) => s;
  const n = spec as Json;
  switch (n.type) {
    case "Sequence": {
      const parts = ((n.normalizers as unknown[]) ?? []).map((x) => buildNormalizer(x, file));
      return (s) => parts.reduce((acc, f) => f(acc), s);
    }
    case "Prepend":
      return (s) => (s.length > 0 ? String(n.prepend) + s : s);
    case "Replace": {
      const pattern = n.pattern as Json;
      if (typeof pattern?.String !== "string") throw new TokenizerError(`${file}: normalizer Replace with a regex pattern is not supported`);
      const from = pattern.String;
      const to = String(n.content);
      return (s) => s.replaceAll(from, to);
    }
    case "NFC":
    case "NFD":
    case "NFKC":
    case "NFKD": {
      const form = n.type;
      return (s) => s.normalize(form);
    }
    default:
      throw new TokenizerError(`${file}: normalizer type ${JSON.stringify(n.type)} is not supported`);
  }
}

/** A pre-tokenizer maps one segment (and whether it starts the input) to words. */
type PreTokenize = (s: string, atStart: boolean) => string[];

function buildPreTokenizer(spec: unknown, file: string): PreTokenize {
  if (spec === null || spec === undefined) return (s) => [s];
  const p = spec as Json;
  if (p.type === "Sequence") {
    const parts = ((p.pretokenizers as unknown[]) ?? []).map((x) => buildPreTokenizer(x, file));
    return (s, atStart) => parts.reduce<string[]>((words, f) => words.flatMap((w, i) => f(w, atStart && i === 0)), [s]);
  }
  if (p.type === "Metaspace") {
    const rep = String(p.replacement ?? SPACE_SYMBOL);
    // tokenizers < 0.19 wrote add_prefix_space instead of prepend_scheme
    const scheme = (p.prepend_scheme as string | undefined) ?? (p.add_prefix_space === false ? "never" : "always");
    const split = p.split !== false;
    return (s, atStart) => {
      let t = s.replaceAll(" ", rep);
      if ((scheme === "always" || (scheme === "first" && atStart)) && !t.startsWith(rep)) t = rep + t;
      if (!split) return [t];
      // MergedWithNext: each replacement character starts a new word
      const words: string[] = [];
      let cur = "";
      for (const ch of t) {
        if (ch === rep && cur.length > 0) {
          words.push(cur);
          cur = "";
        }
        cur += ch;
      }
      if (cur.length > 0) words.push(cur);
      return words;
    };
  }
  throw new TokenizerError(`${file}: pre_tokenizer type ${JSON.stringify(p.type)} is not supported (only LLaMA-style Metaspace / SentencePiece BPE tokenizers)`);
}

/**
 * tokenizer.json BPE tokenizer (LLaMA-1/2 style). BOS/EOS come from tokenizer_config.json beside the file when it
 * names them, else from the added tokens `<s>` / `</s>`. `encode` defaults: bos=false, eos=false.
 *
 * @example
 * const tok = HfJsonTokenizer.fromFile("model/tokenizer.json");
 * tok.encode("Hello", { bos: true });
 */
export class HfJsonTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  private readonly vocab = new Map<string, number>();
  private readonly pieces: string[] = [];
  private readonly mergeRank = new Map<string, number>();
  private readonly added: AddedToken[];
  private readonly normalize: Normalize;
  private readonly preTokenize: PreTokenize;
  private readonly byteFallback: boolean;
  private readonly fuseUnk: boolean;
  private readonly ignoreMerges: boolean;
  private readonly unkId: number | undefined;
  private readonly stripLeadingSpace: boolean;
  private readonly specialIds: Set<number>;

  constructor(json: Json, file: string, config: Json = {}) {
    const model = json.model as Json | undefined;
    if (!model || model.type !== "BPE") throw new TokenizerError(`${file}: model type ${JSON.stringify(model?.type)} is not supported (only BPE)`);
    if (model.continuing_subword_prefix || model.end_of_word_suffix) throw new TokenizerError(`${file}: BPE with subword prefixes/suffixes is not supported`);
    const vocab = model.vocab as Record<string, number> | undefined;
    if (!vocab || typeof vocab !== "object") throw new TokenizerError(`${file}: model.vocab is missing`);
    for (const [piece, id] of Object.entries(vocab)) {
      if (!Number.isInteger(id) || id < 0) throw new TokenizerError(`${file}: model.vocab[${JSON.stringify(piece)}] = ${id} is not a token id`);
      this.vocab.set(piece, id);
      this.pieces[id] = piece;
    }
    const merges = (model.merges as unknown[]) ?? [];
    merges.forEach((m, rank) => {
      const [a, b] = typeof m === "string" ? splitMerge(m, file, rank) : (m as [string, string]);
      const key = `${a}\u0000${b}`;
      if (!this.mergeRank.has(key)) this.mergeRank.set(key, rank);
    });
    this.byteFallback = model.byte_fallback === true;
    this.fuseUnk = model.fuse_unk === true;
    this.ignoreMerges = model.ignore_merges === true;
    this.unkId = typeof model.unk_token === "string" ? this.vocab.get(model.unk_token) : undefined;
    this.added = ((json.added_tokens as Json[]) ?? []).map((t) => ({
      id: Number(t.id),
      content: String(t.content),
      special: t.special === true,
      lstrip: t.lstrip === true,
      rstrip: t.rstrip === true,
    }));
    for (const t of this.added) this.pieces[t.id] = t.content;
    this.added.sort((a, b) => b.content.length - a.content.length);
    this.normalize = buildNormalizer(json.normalizer, file);
    this.preTokenize = buildPreTokenizer(json.pre_tokenizer, file);
    this.vocabSize = this.pieces.length;
    this.stripLeadingSpace = decoderStripsLeadingSpace(json.decoder);
    const tokenId = (v: unknown, fallbacks: string[], what: string): number => {
      const names = [typeof v === "string" ? v : typeof (v as Json)?.content === "string" ? String((v as Json).content) : undefined, ...fallbacks];
      for (const name of names) {
        if (name === undefined) continue;
        const id = this.added.find((t) => t.content === name)?.id ?? this.vocab.get(name);
        if (id !== undefined) return id;
      }
      throw new TokenizerError(`${file}: cannot find the ${what} token (tried ${names.filter(Boolean).join(", ")})`);
    };
    this.bosId = tokenId(config.bos_token, ["<s>", "<|begin_of_text|>"], "BOS");
    this.eosId = tokenId(config.eos_token, ["</s>", "<|end_of_text|>"], "EOS");
    this.specialIds = new Set(this.added.filter((t) => t.special).map((t) => t.id));
  }

  /** Load tokenizer.json (and tokenizer_config.json beside it, when present, for the BOS/EOS names). */
  static fromFile(path: string): HfJsonTokenizer {
    const parse = (p: string): Json => {
      try {
        return JSON.parse(readFileSync(p, "utf8")) as Json;
      } catch (e) {
        throw new TokenizerError(`${p}: not valid JSON (${(e as Error).message})`);
      }
    };
    const configPath = join(dirname(path), "tokenizer_config.json");
    return new HfJsonTokenizer(parse(path), path, existsSync(configPath) ? parse(configPath) : {});
  }

  encode(text: string, options: { bos?: boolean; eos?: boolean } = {}): number[] {
    const ids: number[] = [];
    if (options.bos) ids.push(this.bosId);
    for (const seg of this.splitAdded(text)) {
      if (typeof seg === "number") ids.push(seg);
      else for (const word of this.preTokenize(this.normalize(seg.text), seg.atStart)) this.encodeWord(word, ids);
    }
    if (options.eos) ids.push(this.eosId);
    return ids;
  }

  private encodeWord(word: string, out: number[]): void {
    if (word.length === 0) return;
    if (this.ignoreMerges) {
      const id = this.vocab.get(word);
      if (id !== undefined) {
        out.push(id);
        return;
      }
    }
    const symbols: BpeSymbol[] = [];
    let prevUnk = false;
    for (const ch of word) {
      const id = this.vocab.get(ch);
      if (id !== undefined) {
        symbols.push({ piece: ch, id });
        prevUnk = false;
        continue;
      }
      const byteIds = this.byteFallback ? [...utf8.encode(ch)].map((b) => this.vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`)) : [];
      if (byteIds.length > 0 && byteIds.every((b) => b !== undefined)) {
        // byte tokens are opaque symbols: their piece text never forms merges with letters
        for (const b of byteIds) symbols.push({ piece: this.pieces[b!], id: b! });
        prevUnk = false;
        continue;
      }
      if (this.unkId === undefined) throw new TokenizerError(`character ${JSON.stringify(ch)} is not in the vocabulary and the tokenizer has no unk_token`);
      if (this.fuseUnk && prevUnk) {
        symbols[symbols.length - 1].piece += ch;
      } else symbols.push({ piece: ch, id: this.unkId, frozen: true });
      prevUnk = true;
    }
    const lookup = (concat: string, left: string, right: string): BpeEntry | undefined => {
      const rank = this.mergeRank.get(`${left}\u0000${right}`);
      const id = this.vocab.get(concat);
      return rank === undefined || id === undefined ? undefined : { id, score: -rank };
    };
    for (const s of bpeMerge(symbols, lookup)) out.push(s.id);
  }

  /** Split on added tokens (longest first, leftmost), honouring lstrip/rstrip. Specials become their ids. */
  private splitAdded(text: string): ({ text: string; atStart: boolean } | number)[] {
    const out: ({ text: string; atStart: boolean } | number)[] = [];
    let start = 0;
    let i = 0;
    let pendingLstrip = false;
    const pushText = (from: number, to: number, rstripBefore: boolean) => {
      let t = text.slice(from, to);
      if (pendingLstrip) t = t.replace(/^\s+/, "");
      if (rstripBefore) t = t.replace(/\s+$/, "");
      if (t.length > 0) out.push({ text: t, atStart: from === 0 });
    };
    while (i < text.length) {
      const hit = this.added.find((t) => text.startsWith(t.content, i));
      if (hit === undefined) {
        i++;
        continue;
      }
      pushText(start, i, hit.lstrip);
      out.push(hit.id);
      pendingLstrip = hit.rstrip;
      i += hit.content.length;
      start = i;
    }
    pushText(start, text.length, false);
    return out;
  }

  /** Decode: special added tokens print nothing, `<0xXX>` are raw bytes, "▁" -> " ", one leading space stripped. */
  decode(ids: number[]): string {
    let out = "";
    let bytes: number[] = [];
    let first = true;
    const flush = () => {
      if (bytes.length > 0) out += utf8Decoder.decode(Uint8Array.from(bytes));
      bytes = [];
    };
    for (const id of ids) {
      const piece = this.pieces[id];
      if (piece === undefined) throw new TokenizerError(`token id ${id} is outside the vocabulary`);
      if (this.specialIds.has(id)) continue;
      const m = /^<0x([0-9A-F]{2})>$/.exec(piece);
      if (m && this.byteFallback) {
        bytes.push(parseInt(m[1], 16));
        first = false;
        continue;
      }
      flush();
      let s = piece.replaceAll(SPACE_SYMBOL, " ");
      if (first && this.stripLeadingSpace && s.startsWith(" ")) s = s.slice(1);
      first = false;
      out += s;
    }
    flush();
    return out;
  }
}

function splitMerge(m: string, file: string, rank: number): [string, string] {
  const at = m.indexOf(" ", 1);
  if (at < 0) throw new TokenizerError(`${file}: merges[${rank}] = ${JSON.stringify(m)} is not "left right"`);
  return [m.slice(0, at), m.slice(at + 1)];
}

/** LLaMA tokenizer.json decoders strip the dummy-prefix space: Strip(start>=1) or Metaspace with a prepend scheme. */
function decoderStripsLeadingSpace(spec: unknown): boolean {
  if (spec === null || spec === undefined) return false;
  const d = spec as Json;
  if (d.type === "Sequence") return ((d.decoders as unknown[]) ?? []).some(decoderStripsLeadingSpace);
  if (d.type === "Strip") return Number(d.start ?? 0) >= 1;
  if (d.type === "Metaspace") return (d.prepend_scheme ?? (d.add_prefix_space === false ? "never" : "always")) !== "never";
  return false;
}
