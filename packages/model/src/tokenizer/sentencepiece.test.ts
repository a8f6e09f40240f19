import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { sharedDir } from "./fixtures/paths.ts";
import { Llama2cTokenizer } from "./llama2c.ts";
import { SentencePieceTokenizer, parseSentencePieceModel } from "./sentencepiece.ts";
import { TokenizerError } from "./errors.ts";

const shared = sharedDir();
const llama2Sp = SentencePieceTokenizer.fromFile(join(shared, "models/llama2-tokenizer/tokenizer.model"));
const llama2C = Llama2cTokenizer.fromFile(join(shared, "models/llama2-tokenizer/tokenizer.bin"));
const storiesSp = SentencePieceTokenizer.fromFile(join(shared, "models/stories260K-hf/tokenizer.model"));
const storiesC = Llama2cTokenizer.fromFile(join(shared, "models/stories260K/tok512.bin"));
const golden = JSON.parse(readFileSync(new URL("./fixtures/sentencepiece-golden.json", import.meta.url), "utf8")) as {
  cases: { text: string; llama2: number[]; stories260K: number[] }[];
};

// Text that llama2.c and sentencepiece must encode alike: llama2.c cannot tell a literal "▁" from a space-escape
// (sentencepiece can't either, but maps it to the space piece while llama2.c byte-falls-back), and raw sentencepiece
// treats "<s>" as text while HF splits it out, so both are excluded from the cross-implementation comparison.
const comparableText = fc.string({ unit: "grapheme", maxLength: 60 }).filter((s) => !s.includes("\u2581"));

describe("SentencePieceTokenizer", () => {
  test("parses LLaMA-2 and stories260K ModelProtos", () => {
    expect(llama2Sp.vocabSize).toBe(32000);
    expect(storiesSp.vocabSize).toBe(512);
    expect([llama2Sp.bosId, llama2Sp.eosId, llama2Sp.unkId]).toEqual([1, 2, 0]);
  });

  test("matches the sentencepiece library on the golden strings (both models)", () => {
    for (const c of golden.cases) {
      expect({ text: c.text, ids: llama2Sp.encodeChunk(c.text) }).toEqual({ text: c.text, ids: c.llama2 });
      expect({ text: c.text, ids: storiesSp.encodeChunk(c.text) }).toEqual({ text: c.text, ids: c.stories260K });
    }
  });

  test("stories260K tokenizer.model encodes like llama2.c tok512.bin (SOURCE.txt's claim)", () => {
    const s = "Once upon a time, there was a little girl named Lily.";
    expect(storiesSp.encode(s, { bos: true })).toEqual([1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426]);
    expect(storiesSp.encode(s, { bos: true })).toEqual(storiesC.encode(s, { bos: true }));
  });

  test("property: equals the llama2.c encoder on random unicode text (LLaMA-2 and tok512)", () => {
    fc.assert(
      fc.property(comparableText, (s) => {
        expect(llama2Sp.encodeChunk(s)).toEqual(llama2C.encode(s));
        expect(storiesSp.encodeChunk(s)).toEqual(storiesC.encode(s));
      }),
      { numRuns: 300 },
    );
  });

  test("equals the llama2.c encoder on lines of every data set", () => {
    const files = ["arc_easy/ARC-Easy-test.jsonl", "piqa/valid.jsonl", "wikitext2/wiki.test.raw", "hellaswag/hellaswag_val_full.txt", "mmlu/test/professional_law_test.csv", "tinystories/tinystories_validation_sample.txt", "truthfulqa_mc/TruthfulQA.csv"];
    let n = 0;
    for (const f of files) {
      const lines = readFileSync(join(shared, "data", f), "utf8").split("\n").filter((l) => !l.includes("\u2581"));
      // 150 evenly spaced lines per file keep the test fast while covering each file
      const step = Math.max(1, Math.floor(lines.length / 150));
      for (let i = 0; i < lines.length; i += step) {
        expect({ f, i, ids: llama2Sp.encodeChunk(lines[i]) }).toEqual({ f, i, ids: llama2C.encode(lines[i]) });
        n++;
      }
    }
    expect(n).toBeGreaterThan(1000);
  });

  test("HF-style special-token split: <s> becomes id 1 and each side gets its own dummy prefix", () => {
    expect(llama2Sp.encode("a <s> b")).toEqual([...llama2Sp.encodeChunk("a "), 1, ...llama2Sp.encodeChunk(" b")]);
    const raw = new SentencePieceTokenizer(parseSentencePieceModel(readFileSync(join(shared, "models/llama2-tokenizer/tokenizer.model")), "llama2"), { splitSpecialTokens: false });
    expect(raw.encode("a <s> b")).toEqual(llama2Sp.encodeChunk("a <s> b"));
  });

  test("metaspace prefix rule drops only the leading dummy space", () => {
    const meta = SentencePieceTokenizer.fromFile(join(shared, "models/stories260K-hf/tokenizer.model"), { prefixSpace: "metaspace" });
    expect(meta.encode(" Hello")).toEqual([346, 306, 414]);
    expect(storiesSp.encode(" Hello")).toEqual([410, 346, 306, 414]);
    expect(meta.encode("Hello world")).toEqual(storiesSp.encode("Hello world"));
  });

  test("bos/eos options and empty text", () => {
    expect(llama2Sp.encode("")).toEqual([]);
    expect(llama2Sp.encode("", { bos: true, eos: true })).toEqual([1, 2]);
    expect(llama2Sp.encode("Hello", { bos: true, eos: true })).toEqual([1, 15043, 2]);
  });

  test("property: decode(encode(s)) === s for text without special-token strings", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 60 }).filter((s) => !/<s>|<\/s>|<unk>/.test(s) && !s.includes("\u2581")), (s) => {
        expect(llama2Sp.decode(llama2Sp.encode(s, { bos: true }))).toBe(s);
        expect(storiesSp.decode(storiesSp.encode(s))).toBe(s);
      }),
      { numRuns: 200 },
    );
  });

  test("malformed files give a TokenizerError naming the file", () => {
    const bytes = readFileSync(join(shared, "models/stories260K-hf/tokenizer.model"));
    expect(() => parseSentencePieceModel(bytes.subarray(0, 1000), "cut.model")).toThrow(TokenizerError);
    expect(() => parseSentencePieceModel(bytes.subarray(0, 1000), "cut.model")).toThrow(/cut\.model/);
    expect(() => parseSentencePieceModel(new Uint8Array(0), "empty.model")).toThrow(/no pieces/);
    expect(() => SentencePieceTokenizer.fromFile(join(shared, "models/stories260K/tok512.bin"))).toThrow(/tok512\.bin/);
  });
});
