import { afterEach, beforeEach, expect, test } from "bun:test";
import { closeDb, openDb, type Db } from "@nas/db";
import { createSearch } from "@nas/store";
import { tempDir, toySpec } from "@nas/store/src/testing.ts";
import { PageCache } from "./page-cache.ts";

let t: ReturnType<typeof tempDir>;
let db: Db;
let other: Db;
beforeEach(() => {
  t = tempDir("nas-cache-");
  db = openDb(t.dbPath);
  other = openDb(t.dbPath); // stands for a runner process: a second connection to the same file
});
afterEach(() => {
  closeDb(other);
  closeDb(db);
  t.cleanup();
});

function counting() {
  let n = 0;
  return { render: () => `page ${++n}`, count: () => n };
}

test("serves the cached page until any connection commits", () => {
  const cache = new PageCache(db);
  const r = counting();
  expect(cache.get("a", r.render)).toBe("page 1");
  expect(cache.get("a", r.render)).toBe("page 1");
  expect(r.count()).toBe(1);
  createSearch(other, toySpec()); // another connection commits
  expect(cache.get("a", r.render)).toBe("page 2");
  createSearch(db, toySpec()); // this connection commits
  expect(cache.get("a", r.render)).toBe("page 3");
  expect(cache.get("a", r.render)).toBe("page 3");
});

test("keys are independent and the oldest entry is dropped at capacity", () => {
  const cache = new PageCache(db, 2);
  const r = counting();
  cache.get("a", r.render);
  cache.get("b", r.render);
  cache.get("c", r.render); // evicts a
  expect(cache.get("b", r.render)).toBe("page 2");
  expect(cache.get("a", r.render)).toBe("page 4");
});

test("a render that throws caches nothing", () => {
  const cache = new PageCache(db);
  expect(() => cache.get("x", () => { throw new Error("no such search"); })).toThrow("no such search");
  expect(cache.get("x", () => "ok")).toBe("ok");
});

test("capacity 0 renders every time", () => {
  const cache = new PageCache(db, 0);
  const r = counting();
  cache.get("a", r.render);
  cache.get("a", r.render);
  expect(r.count()).toBe(2);
});
