import { describe, expect, test } from "bun:test";
import { mkdtempSync, copyFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TokenizerError } from "./errors.ts";
import { sharedDir } from "./fixtures/paths.ts";
import { HfJsonTokenizer } from "./hf-json.ts";
import { Llama2cTokenizer } from "./llama2c.ts";
import { loadTokenizer } from "./load.ts";
import { SentencePieceTokenizer } from "./sentencepiece.ts";

const models = join(sharedDir(), "models");

describe("loadTokenizer", () => {
  test("picks the tokenizer next to each model", () => {
    expect(loadTokenizer(join(models, "stories260K-hf"))).toBeInstanceOf(SentencePieceTokenizer);
    expect(loadTokenizer(join(models, "stories260K"))).toBeInstanceOf(Llama2cTokenizer);
    expect(loadTokenizer(join(models, "stories260K/stories260K.bin"))).toBeInstanceOf(Llama2cTokenizer);
    expect(loadTokenizer(join(models, "llama2-tokenizer"))).toBeInstanceOf(SentencePieceTokenizer);
    expect(loadTokenizer(join(models, "llama2-tokenizer/tokenizer.bin"))).toBeInstanceOf(Llama2cTokenizer);
  });

  test("finds tokenizer.json with its tokenizer_config.json", () => {
    const dir = mkdtempSync(join(tmpdir(), "tok-"));
    copyFileSync(new URL("./fixtures/stories260K-tokenizer.json", import.meta.url), join(dir, "tokenizer.json"));
    writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify({ bos_token: "<s>", eos_token: { content: "</s>" } }));
    const tok = loadTokenizer(dir);
    expect(tok).toBeInstanceOf(HfJsonTokenizer);
    expect([tok.bosId, tok.eosId]).toEqual([1, 2]);
  });

  test("clear errors: no tokenizer, missing path, vocabulary larger than the model", () => {
    expect(() => loadTokenizer(join(models, "tiny-llama3-gqa-bf16"))).toThrow(/no tokenizer found \(looked for tokenizer\.model, tokenizer\.json, tokenizer\.bin, tok\*\.bin\)/);
    expect(() => loadTokenizer(join(models, "nope"))).toThrow(TokenizerError);
    expect(() => loadTokenizer(join(models, "llama2-tokenizer"), { vocabSize: 512 })).toThrow(/32000 tokens but the model's vocab_size is 512/);
  });
});
