import { describe, expect, test } from "bun:test";
import { isPySpace, pyLen, pyRstrip, pyStrip, pyWhitespaceSplitCount, utf8Length } from "./pytext.ts";

// Expected values are what CPython 3.11 returns for the same expressions.
describe("Python string semantics", () => {
  test("str.isspace set: includes \\x1c-\\x1f, \\x85 and NBSP; excludes ZWSP and BOM (unlike JS \\s)", () => {
    for (const c of ["\t", "\n", "\x0b", "\x0c", "\r", "\x1c", "\x1f", " ", "\x85", "\xa0", "\u2000", "\u3000"]) expect(isPySpace(c)).toBe(true);
    for (const c of ["\u200b", "\ufeff", "a", "_"]) expect(isPySpace(c)).toBe(false);
  });

  test("rstrip / strip", () => {
    expect(pyRstrip("Answer: \n\t")).toBe("Answer:");
    expect(pyRstrip("x\ufeff")).toBe("x\ufeff"); // 'x\ufeff'.rstrip() == 'x\ufeff'
    expect(pyStrip("\x85 a b \x1c")).toBe("a b");
  });

  test("len counts code points", () => {
    expect(pyLen("abc")).toBe(3);
    expect(pyLen("😀a")).toBe(2); // len("😀a") == 2, while "😀a".length === 3
  });

  test("len(re.split(r'\\s+', s)) keeps empty edge fields", () => {
    expect(pyWhitespaceSplitCount(" a  b\n")).toBe(4); // ['', 'a', 'b', '']
    expect(pyWhitespaceSplitCount("a")).toBe(1);
    expect(pyWhitespaceSplitCount("")).toBe(1);
  });

  test("utf-8 byte length", () => {
    expect(utf8Length("é😀")).toBe(6);
  });
});
