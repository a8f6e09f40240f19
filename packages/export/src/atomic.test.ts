import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ExportError, writeDirAtomic, writeFileAtomic } from "./atomic.ts";

const dir = mkdtempSync(join(tmpdir(), "nas-atomic-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const leftovers = (d: string) => readdirSync(d).filter((n) => n.includes(".partial") || n.includes(".old-"));

describe("atomic writes", () => {
  test("a failure in the middle leaves neither the final name nor a temp file", () => {
    const path = join(dir, "model.gguf");
    expect(() =>
      writeFileAtomic(path, (sink) => {
        sink.write(new Uint8Array(1000));
        throw new Error("disk full (simulated)");
      }),
    ).toThrow(/writing ".*model\.gguf" failed.*disk full.*nothing was left/);
    expect(existsSync(path)).toBe(false);
    expect(leftovers(dir)).toEqual([]);
  });

  test("a failure keeps the previous file intact", () => {
    const path = join(dir, "keep.bin");
    writeFileSync(path, "old");
    expect(() => writeFileAtomic(path, () => { throw new ExportError("refused"); })).toThrow("refused");
    expect(readFileSync(path, "utf8")).toBe("old");
    writeFileAtomic(path, (s) => s.write(new TextEncoder().encode("new")));
    expect(readFileSync(path, "utf8")).toBe("new");
  });

  test("unwritable destinations give a clear ExportError", () => {
    expect(() => writeFileAtomic(join(dir, "no/such/dir/m.gguf"), () => {})).toThrow(/directory ".*no\/such\/dir" does not exist/);
    writeFileSync(join(dir, "afile"), "x");
    expect(() => writeFileAtomic(join(dir, "afile/m.gguf"), () => {})).toThrow(/"[^"]*afile" is not a directory/);
    mkdirSync(join(dir, "adir"));
    expect(() => writeFileAtomic(join(dir, "adir"), () => {})).toThrow(/it is a directory/);
    expect(() => writeDirAtomic(join(dir, "afile"), () => {})).toThrow(/exists and is not a directory/);
  });

  test("directories appear whole and replace an existing one; a failed fill leaves the old one", () => {
    const out = join(dir, "hf");
    writeDirAtomic(out, (d) => writeFileSync(join(d, "config.json"), "{}"));
    expect(readdirSync(out)).toEqual(["config.json"]);
    expect(() =>
      writeDirAtomic(out, (d) => {
        writeFileSync(join(d, "model.safetensors"), "partial");
        throw new Error("boom");
      }),
    ).toThrow(/boom/);
    expect(readdirSync(out)).toEqual(["config.json"]);
    writeDirAtomic(out, (d) => writeFileSync(join(d, "model.safetensors"), "x"));
    expect(readdirSync(out)).toEqual(["model.safetensors"]);
    expect(leftovers(dir)).toEqual([]);
  });
});
