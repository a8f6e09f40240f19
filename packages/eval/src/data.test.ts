import { describe, expect, test } from "bun:test";
import { DataError, parseCsv, readJsonl } from "./data.ts";
import { mkdtempSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

describe("parseCsv", () => {
  test("quotes, doubled quotes, embedded commas and newlines, CRLF, BOM", () => {
    const text = '\ufeffq,a\r\n"x, ""y""\nz",1\nplain,2\n';
    expect(parseCsv(text, "t.csv")).toEqual([
      ["q", "a"],
      ['x, "y"\nz', "1"],
      ["plain", "2"],
    ]);
  });

  test("empty fields and no trailing newline", () => {
    expect(parseCsv('a,,""\n,b', "t.csv")).toEqual([["a", "", ""], ["", "b"]]);
  });

  test("malformed input names the file and line", () => {
    expect(() => parseCsv('a,"open\n', "bad.csv")).toThrow(/bad\.csv: unterminated/);
    expect(() => parseCsv('a,b"c\n', "bad.csv")).toThrow(/bad\.csv:1: stray quote/);
  });
});

describe("readJsonl", () => {
  test("a broken line is reported with file and line number", () => {
    const dir = mkdtempSync(join(tmpdir(), "data-"));
    mkdirSync(join(dir, "x"));
    writeFileSync(join(dir, "x/f.jsonl"), '{"a":1}\n{"a":\n');
    expect(() => readJsonl(dir, "x/f.jsonl")).toThrow(DataError);
    expect(() => readJsonl(dir, "x/f.jsonl")).toThrow(/f\.jsonl:2: not valid JSON/);
    expect(() => readJsonl(dir, "x/missing.jsonl")).toThrow(/data file not found/);
  });
});
