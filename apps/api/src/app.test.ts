import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { closeDb, openDb } from "@nas/db";
import { insertPending } from "@nas/store";
import { searchBody, testApp, waitFor, type TestApp } from "./testing.ts";

let t: TestApp;
let doneId: number;
beforeAll(async () => {
  t = testApp();
  const created = await t.call("POST", "/searches", searchBody());
  expect(created.status).toBe(201);
  doneId = created.body.id;
  await waitFor(async () => ((await t.call("GET", `/searches/${doneId}`)).body.status === "done" ? true : undefined), 30_000, "search done");
}, 60_000);
afterAll(() => t.close());

describe("searches", () => {
  test("POST /searches stores the search and runs it in a server-owned process to completion", async () => {
    const { status, body } = await t.call("GET", `/searches/${doneId}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ id: doneId, name: "api-test", status: "done", algorithm: "nsga2", evaluator: { kind: "fake" }, owner: null });
    expect(body.progress.candidates).toEqual({ pending: 0, running: 0, done: 12, failed: 0, total: 12 });
    expect(body.progress.budget).toBe(12);
    expect(body.progress.generation).toBe(2);
    expect(body.progress.best.loss.status).toBe("done");
    expect(body.space.kind).toBe("llama-elastic");
  });

  test("GET /searches lists newest first with cursor pages and a status filter", async () => {
    const second = await t.call("POST", "/searches", searchBody({ name: "second" }));
    await waitFor(async () => ((await t.call("GET", `/searches/${second.body.id}`)).body.status === "done" ? true : undefined));
    const page1 = await t.call("GET", "/searches?limit=1");
    expect(page1.status).toBe(200);
    expect(page1.body.items.map((s: { id: number }) => s.id)).toEqual([second.body.id]);
    const page2 = await t.call("GET", `/searches?limit=1&cursor=${page1.body.nextCursor}`);
    expect(page2.body.items[0].id).toBe(doneId);
    expect((await t.call("GET", "/searches?status=running")).body.items).toEqual([]);
  }, 60_000);

  test("GET /searches/:id/pareto is the stored front, and candidates?pareto=true agrees", async () => {
    const front = await t.call("GET", `/searches/${doneId}/pareto`);
    expect(front.status).toBe(200);
    expect(front.body.objectives).toHaveLength(2);
    expect(front.body.items.length).toBeGreaterThan(0);
    expect(front.body.items.every((c: { onFront: boolean }) => c.onFront)).toBe(true);
    const viaQuery = await t.call("GET", `/searches/${doneId}/candidates?pareto=true&limit=1000`);
    expect(viaQuery.body.items.map((c: { id: number }) => c.id).sort()).toEqual(front.body.items.map((c: { id: number }) => c.id).sort());
  });

  test("candidates: range filters, sort, and cursor pages cover every match once", async () => {
    const all = (await t.call("GET", `/searches/${doneId}/candidates?limit=1000`)).body.items as any[];
    expect(all).toHaveLength(12);
    const losses = all.map((c) => c.objectives.loss).sort((a, b) => a - b);
    const cut = losses[5];
    const seen: number[] = [];
    let cursor = "";
    for (let i = 0; i < 20; i++) {
      const r = await t.call("GET", `/searches/${doneId}/candidates?range=loss::${cut}&sort=loss&order=desc&limit=2${cursor}`);
      expect(r.status).toBe(200);
      seen.push(...r.body.items.map((c: any) => c.objectives.loss));
      if (!r.body.nextCursor) break;
      cursor = `&cursor=${encodeURIComponent(r.body.nextCursor)}`;
    }
    expect(seen).toEqual(losses.filter((l) => l <= cut).sort((a, b) => b - a));
    const done = await t.call("GET", `/searches/${doneId}/candidates?status=done,failed&status=pending`);
    expect(done.body.items).toHaveLength(12);
  });

  test("a page cached by the server reflects a commit by another process's connection", async () => {
    const path = `/searches/${doneId}/candidates?status=pending`;
    expect((await t.call("GET", path)).body.items).toEqual([]);
    expect((await t.call("GET", path)).body.items).toEqual([]); // now served from the page cache
    const runner = openDb(t.dbPath);
    insertPending(runner, doneId, [{ key: "extra", genome: [0], subnet: { layers: [true], mlp: [1], kvHeads: [1] }, generation: 99 }]);
    closeDb(runner);
    expect((await t.call("GET", path)).body.items.map((c: { key: string }) => c.key)).toEqual(["extra"]);
  });

  test("GET /candidates/:id returns one candidate with objectives, metrics, device and timing", async () => {
    const first = (await t.call("GET", `/searches/${doneId}/candidates?limit=1`)).body.items[0];
    const { status, body } = await t.call("GET", `/candidates/${first.id}`);
    expect(status).toBe(200);
    expect(body).toEqual(first);
    expect(body.device).toMatchObject({ kind: "fake" });
    expect(typeof body.evalMs).toBe("number");
    expect(Object.keys(body.objectives)).toEqual(["loss", "accuracy"]);
  });
});

describe("errors", () => {
  test("unknown ids are 404 with a message", async () => {
    for (const path of ["/searches/9999", "/candidates/9999", "/searches/9999/candidates", "/searches/9999/pareto"]) {
      const r = await t.call("GET", path);
      expect([path, r.status]).toEqual([path, 404]);
      expect(r.body.error).toMatch(/9999 not found/);
    }
    expect((await t.call("POST", "/searches/9999/pause")).status).toBe(404);
    expect((await t.call("POST", "/searches/9999/resume")).status).toBe(404);
    expect((await t.call("GET", "/nope")).status).toBe(404);
  });

  test("validation errors are 400 and say what is wrong", async () => {
    const cases: [string, RegExp][] = [
      ["/searches/abc", /id must be a positive integer/],
      [`/searches/${doneId}/candidates?limit=0`, /limit must be an integer in \[1, 1000\]/],
      [`/searches/${doneId}/candidates?status=bogus`, /status must be one of/],
      [`/searches/${doneId}/candidates?range=loss:x:`, /bound that is not a number/],
      [`/searches/${doneId}/candidates?range=nope:0:1`, /unknown objective "nope"/],
      [`/searches/${doneId}/candidates?sort=size`, /unknown objective "size"/],
      [`/searches/${doneId}/candidates?cursor=zzz`, /cursor is malformed/],
      [`/searches/${doneId}/candidates?pareto=yes`, /pareto/],
      [`/searches/${doneId}/candidates?colour=red`, /colour/],
      ["/searches?status=sleeping", /status must be one of/],
    ];
    for (const [path, re] of cases) {
      const r = await t.call("GET", path);
      expect([path, r.status]).toEqual([path, 400]);
      expect(r.body.error).toMatch(re);
    }
  });

  test("bad POST /searches bodies are 400 and store nothing", async () => {
    const before = (await t.call("GET", "/searches?limit=1000")).body.items.length;
    const cases: [unknown, RegExp][] = [
      ["{not json", /Malformed JSON/],
      [{ ...searchBody(), objectives: [] }, /objectives/],
      [{ ...searchBody(), objectives: [{ name: "a b", direction: "min" }] }, /objective names must match/],
      [{ ...searchBody(), objectives: [{ name: "a", direction: "min" }, { name: "a", direction: "max" }] }, /"a" is repeated/],
      [{ ...searchBody(), seed: 1.5 }, /seed/],
      [{ ...searchBody(), evaluator: { kind: "model" } }, /evaluator kind "model" has no module on this host/],
      [{ ...searchBody(), model: { path: "x" } }, /model.hash is required/],
      [{ ...searchBody(), options: { population: 0 } }, /population/],
      [{ ...searchBody(), algorithm: "annealing" }, /unknown algorithm/],
      [{ ...searchBody(), space: { kind: "nope" } }, /space/],
      [{ ...searchBody(), extra: 1 }, /extra/],
    ];
    for (const [body, re] of cases) {
      const r = await t.call("POST", "/searches", body);
      expect([JSON.stringify(body).slice(0, 60), r.status]).toEqual([JSON.stringify(body).slice(0, 60), 400]);
      expect(r.body.error).toMatch(re);
    }
    expect((await t.call("GET", "/searches?limit=1000")).body.items.length).toBe(before);
  });

  test("pause of a search that is not running and resume of a done one are 409", async () => {
    expect((await t.call("POST", `/searches/${doneId}/pause`)).status).toBe(409);
    const r = await t.call("POST", `/searches/${doneId}/resume`);
    expect(r.status).toBe(409);
    expect(r.body.error).toMatch(/already done/);
  });
});

describe("pause and resume", () => {
  test("pause stops the process cleanly; resume continues to the same budget with nothing duplicated", async () => {
    const created = await t.call("POST", "/searches", searchBody({ options: { population: 6, evaluations: 36 }, evaluator: { kind: "fake", options: { delayMs: [15, 25] } } }));
    const id = created.body.id;
    expect(created.body.status).toBe("running");
    expect(created.body.ownedByServer).toBe(true);
    await waitFor(async () => ((await t.call("GET", `/searches/${id}`)).body.progress.candidates.done >= 3 ? true : undefined));
    const paused = await t.call("POST", `/searches/${id}/pause`);
    expect(paused.status).toBe(200);
    expect(paused.body.status).toBe("paused");
    expect(paused.body.progress.candidates.running).toBe(0);
    const doneAtPause = paused.body.progress.candidates.done;
    expect(doneAtPause).toBeLessThan(36);
    expect((await t.call("POST", `/searches/${id}/pause`)).status).toBe(409);
    const resumed = await t.call("POST", `/searches/${id}/resume`);
    expect(resumed.status).toBe(202);
    expect(resumed.body.status).toBe("running");
    expect((await t.call("POST", `/searches/${id}/resume`)).status).toBe(409);
    const final = await waitFor(async () => {
      const r = await t.call("GET", `/searches/${id}`);
      return r.body.status === "done" ? r.body : undefined;
    });
    expect(final.progress.candidates).toEqual({ pending: 0, running: 0, done: 36, failed: 0, total: 36 });
  }, 60_000);
});

describe("openapi", () => {
  test("/openapi.json documents every route from the zod schemas", async () => {
    const { status, body } = await t.call("GET", "/openapi.json");
    expect(status).toBe(200);
    expect(body.openapi).toBe("3.1.0");
    expect(Object.keys(body.paths).sort()).toEqual([
      "/candidates/{id}",
      "/candidates/{id}/export",
      "/searches",
      "/searches/{id}",
      "/searches/{id}/candidates",
      "/searches/{id}/pareto",
      "/searches/{id}/pause",
      "/searches/{id}/resume",
    ]);
    expect(Object.keys(body.paths["/searches"]).sort()).toEqual(["get", "post"]);
    const params = body.paths["/searches/{id}/candidates"].get.parameters.map((p: { name: string }) => p.name).sort();
    expect(params).toEqual(["cursor", "id", "limit", "order", "pareto", "range", "sort", "status"]);
    expect(body.components.schemas.Candidate).toBeDefined();
  });
});
