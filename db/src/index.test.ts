import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readMigrationFiles } from "drizzle-orm/migrator";
import { closeDb, integrityCheck, migrationsFolder, openDb, searches } from "./index.ts";

const MIGRATIONS = readMigrationFiles({ migrationsFolder }).length;

const dirs: string[] = [];
function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), "nas-db-"));
  dirs.push(dir);
  return join(dir, "nas.db");
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function newSearch(now = Date.now()) {
  return {
    name: "s",
    modelPath: "m",
    modelHash: "h",
    space: { layers: 2 },
    spaceHash: "x",
    objectives: [{ name: "a", direction: "min" as const }],
    algorithm: "nsga2",
    options: {},
    seed: 1,
    evaluator: { kind: "fake" },
    createdAt: now,
    updatedAt: now,
  };
}

describe("openDb", () => {
  test("creates a migrated WAL database with foreign keys on", () => {
    const path = tempDb();
    const db = openDb(path);
    const pragma = (p: string) => Object.values(db.$client.query(`PRAGMA ${p}`).get() as object)[0];
    expect(pragma("journal_mode")).toBe("wal");
    expect(pragma("foreign_keys")).toBe(1);
    expect(pragma("busy_timeout")).toBe(10000);
    const tables = db.$client
      .query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
      .all()
      .map((r) => r.name);
    expect(tables).toEqual(expect.arrayContaining(["candidates", "checkpoints", "searches", "__drizzle_migrations"]));
    expect(integrityCheck(db)).toBe("ok");
    closeDb(db);
  });

  test("reopening applies nothing twice and keeps data", () => {
    const path = tempDb();
    const db = openDb(path);
    db.insert(searches).values(newSearch()).run();
    closeDb(db);
    const again = openDb(path);
    expect(again.select().from(searches).all()).toHaveLength(1);
    expect(again.$client.query("SELECT count(*) AS n FROM __drizzle_migrations").get()).toEqual({ n: MIGRATIONS });
    closeDb(again);
  });

  test("the schema's CHECK and foreign keys reject bad rows", () => {
    const db = openDb(tempDb());
    expect(() => db.insert(searches).values({ ...newSearch(), status: "bogus" as never }).run()).toThrow(/CHECK/);
    expect(() =>
      db.$client.exec(
        "INSERT INTO candidates (search_id, key, genome, subnet, generation, created_at, updated_at) VALUES (99, 'k', '[]', '{}', 0, 0, 0)",
      ),
    ).toThrow(/FOREIGN KEY/);
    closeDb(db);
  });

  test("processes opening a fresh file at the same time all end up with one migrated schema", async () => {
    const path = tempDb();
    const script = `import { openDb, closeDb } from ${JSON.stringify(new URL("./index.ts", import.meta.url).pathname)};
      const db = openDb(process.argv.at(-1)); closeDb(db);`;
    const procs = Array.from({ length: 4 }, () =>
      Bun.spawn([process.execPath, "-e", script, path], { stderr: "pipe", stdout: "ignore" }),
    );
    const codes = await Promise.all(procs.map((p) => p.exited));
    const errors = await Promise.all(procs.map((p) => new Response(p.stderr).text()));
    expect({ codes, errors: errors.filter(Boolean) }).toEqual({ codes: [0, 0, 0, 0], errors: [] });
    const db = openDb(path);
    expect(db.$client.query("SELECT count(*) AS n FROM __drizzle_migrations").get()).toEqual({ n: MIGRATIONS });
    expect(integrityCheck(db)).toBe("ok");
    closeDb(db);
  });

  test("a path that cannot be opened names the file", () => {
    expect(() => openDb("/proc/definitely/not/here.db")).toThrow(/here\.db/);
  });
});
