import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { TokenizerError } from "./errors.ts";
import { sharedDir } from "./fixtures/paths.ts";
import { HfJsonTokenizer } from "./hf-json.ts";
import { SentencePieceTokenizer } from "./sentencepiece.ts";

// stories260K-tokenizer.json and hf-golden.json come from transformers 5.x (fixtures/make_hf_golden.py).
const fixture = (f: string) => new URL(`./fixtures/${f}`, import.meta.url);
const hf = new HfJsonTokenizer(JSON.parse(readFileSync(fixture("stories260K-tokenizer.json"), "utf8")), "stories260K-tokenizer.json", {
  bos_token: "<s>",
  eos_token: "</s>",
});
const golden = JSON.parse(readFileSync(fixture("hf-golden.json"), "utf8")) as { cases: { text: string; ids: number[] }[] };
const spMeta = SentencePieceTokenizer.fromFile(join(sharedDir(), "models/stories260K-hf/tokenizer.model"), { prefixSpace: "metaspace" });

describe("HfJsonTokenizer", () => {
  test("matches transformers' fast LlamaTokenizer on the golden strings", () => {
    for (const c of golden.cases) expect({ text: c.text, ids: hf.encode(c.text) }).toEqual({ text: c.text, ids: c.ids });
  });

  test("property: equals the SentencePiece encoder in metaspace mode (no literal ▁ in the text)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 60 }).filter((s) => !s.includes("\u2581")), (s) => {
        expect(hf.encode(s)).toEqual(spMeta.encode(s));
      }),
      { numRuns: 300 },
    );
  });

  test("bos/eos ids and decode", () => {
    expect([hf.bosId, hf.eosId, hf.vocabSize]).toEqual([1, 2, 512]);
    const ids = hf.encode("Once upon a time", { bos: true, eos: true });
    expect(ids[0]).toBe(1);
    expect(ids.at(-1)).toBe(2);
    expect(hf.decode(ids)).toBe("Once upon a time");
    expect(hf.decode(hf.encode("😀 ok"))).toBe("😀 ok");
  });

  test("unsupported or malformed files are rejected with the file named", () => {
    expect(() => new HfJsonTokenizer({ model: { type: "WordPiece" } }, "wp.json")).toThrow(/wp\.json: model type "WordPiece"/);
    const byteLevel = { model: { type: "BPE", vocab: { a: 0 }, merges: [] }, pre_tokenizer: { type: "ByteLevel" } };
    expect(() => new HfJsonTokenizer(byteLevel, "bl.json")).toThrow(TokenizerError);
    expect(() => new HfJsonTokenizer({ model: { type: "BPE", vocab: { "<s>": 0, "</s>": 1 }, merges: ["nospace"] } }, "m.json")).toThrow(/m\.json: merges\[0\]/);
  });
});
