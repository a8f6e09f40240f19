import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { TokenizerError } from "./errors.ts";
import { sharedDir } from "./fixtures/paths.ts";
import { Llama2cTokenizer, parseLlama2cTokenizer } from "./llama2c.ts";

const shared = sharedDir();
const tok512 = Llama2cTokenizer.fromFile(join(shared, "models/stories260K/tok512.bin"), 512);
const llama2 = Llama2cTokenizer.fromFile(join(shared, "models/llama2-tokenizer/tokenizer.bin"), 32000);

describe("Llama2cTokenizer", () => {
  test("reads both tokenizer.bin files", () => {
    expect(tok512.vocabSize).toBe(512);
    expect(llama2.vocabSize).toBe(32000);
    expect(tok512.piece(261)).toBe(" a");
  });

  test("encodes like run.c (ids verified against llama2.c for this sentence)", () => {
    const ids = tok512.encode("Once upon a time, there was a little girl named Lily.", { bos: true });
    expect(ids).toEqual([1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426]);
    expect(llama2.encode("Hello world", { bos: true, eos: true })).toEqual([1, 15043, 3186, 2]);
  });

  test("byte fallback uses id = byte + 3 and decodes back to the bytes", () => {
    // "😀" is not in tok512's vocabulary: four UTF-8 bytes F0 9F 98 80
    const ids = tok512.encode("😀");
    expect(ids).toEqual([410, 0xf0 + 3, 0x9f + 3, 0x98 + 3, 0x80 + 3]);
    expect(tok512.decode(ids)).toBe(" 😀");
    expect(tok512.decode([1, ...ids])).toBe("😀");
  });

  test("decode strips the leading space only right after BOS, and prints nothing for BOS/EOS", () => {
    const ids = llama2.encode("Hello world");
    expect(llama2.decode(ids)).toBe(" Hello world");
    expect(llama2.decode([1, ...ids, 2])).toBe("Hello world");
    expect(() => llama2.decode([32000])).toThrow(TokenizerError);
  });

  test("empty text has no dummy prefix", () => {
    expect(tok512.encode("")).toEqual([]);
    expect(tok512.encode("", { bos: true })).toEqual([1]);
  });

  test("malformed files give a TokenizerError naming the file", () => {
    const bytes = readFileSync(join(shared, "models/stories260K/tok512.bin"));
    expect(() => parseLlama2cTokenizer(bytes.subarray(0, bytes.length - 3), "cut.bin")).toThrow(/cut\.bin: .*token 511/);
    expect(() => parseLlama2cTokenizer(bytes, "tok512.bin", 1000)).toThrow(/512 tokens, the model expects vocab_size 1000/);
    expect(() => parseLlama2cTokenizer(new Uint8Array(2), "tiny.bin")).toThrow(/tiny\.bin/);
    const lie = Uint8Array.from(bytes);
    new DataView(lie.buffer).setInt32(8, 1 << 20, true); // token 0's length field
    expect(() => parseLlama2cTokenizer(lie, "lie.bin")).toThrow(/lie\.bin: token 0 has length/);
  });
});
