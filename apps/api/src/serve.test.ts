import { afterAll, describe, expect, test } from "bun:test";
import { tempDir } from "@nas/store/src/testing.ts";
import { isLoopback } from "./auth.ts";
import { serve } from "./serve.ts";
import { searchBody, testApp, waitFor } from "./testing.ts";

const t = tempDir("nas-serve-");
afterAll(() => t.cleanup());
const TOKEN = "s3cret-token-for-tests-0123456789";

describe("access", () => {
  test("binding off loopback without a token is refused before anything listens", async () => {
    await expect(serve({ dbPath: `${t.dir}/a.db`, host: "0.0.0.0", port: 0 })).rejects.toThrow(/refusing to bind 0.0.0.0 without a bearer token/);
    await expect(serve({ dbPath: `${t.dir}/a.db`, host: "::", port: 0, token: "" })).rejects.toThrow(/refusing to bind/);
    await expect(serve({ dbPath: `${t.dir}/a.db`, port: 0, token: "short" })).rejects.toThrow(/at least 16 characters/);
  });

  test("with a token, requests without it or with a wrong one are 401; with it they pass", async () => {
    const a = testApp({ token: TOKEN });
    try {
      const none = await a.app.request("/searches");
      expect(none.status).toBe(401);
      expect(none.headers.get("www-authenticate")).toMatch(/^Bearer/);
      expect(((await none.json()) as { error: string }).error).toMatch(/missing bearer token/);
      const wrong = await a.call("GET", "/searches", undefined, { authorization: `Bearer ${TOKEN}x` });
      expect(wrong.status).toBe(401);
      expect((await a.call("GET", "/openapi.json")).status).toBe(401);
      expect((await a.call("POST", "/searches", searchBody())).status).toBe(401);
      const ok = await a.call("GET", "/searches", undefined, { authorization: `Bearer ${TOKEN}` });
      expect(ok.status).toBe(200);
    } finally {
      await a.close();
    }
  });

  test("loopback detection", () => {
    for (const h of ["127.0.0.1", "localhost", "::1", "[::1]", "127.1.2.3"]) expect([h, isLoopback(h)]).toEqual([h, true]);
    for (const h of ["0.0.0.0", "::", "192.168.1.2", "example.com", "128.0.0.1"]) expect([h, isLoopback(h)]).toEqual([h, false]);
  });
});

describe("end to end over a real socket", () => {
  test("serve on 127.0.0.1:0, start a search over HTTP, watch it finish, read its front, stop", async () => {
    const server = await serve({ dbPath: `${t.dir}/e2e.db`, port: 0 });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(server.port).toBeGreaterThan(0);
      const post = await fetch(`${server.url}/searches`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(searchBody()),
      });
      expect(post.status).toBe(201);
      const { id } = (await post.json()) as { id: number };
      const detail = await waitFor(async () => {
        const d = (await (await fetch(`${server.url}/searches/${id}`)).json()) as { status: string; progress: { candidates: { done: number } } };
        return d.status === "done" ? d : undefined;
      });
      expect(detail.progress.candidates.done).toBe(12);
      const front = await fetch(`${server.url}/searches/${id}/pareto`);
      expect(front.status).toBe(200);
      expect(((await front.json()) as { items: unknown[] }).items.length).toBeGreaterThan(0);
      const page = await fetch(`${server.url}/searches/${id}/candidates?pareto=true&sort=loss&limit=2`);
      expect(page.status).toBe(200);
      const bad = await fetch(`${server.url}/searches/${id}/candidates?limit=-1`);
      expect(bad.status).toBe(400);
      expect(((await (await fetch(`${server.url}/openapi.json`)).json()) as { openapi: string }).openapi).toBe("3.1.0");
    } finally {
      await server.stop();
    }
    await expect(fetch(`${server.url}/searches`)).rejects.toThrow();
  }, 60_000);

  test("off loopback with a token: the socket answers 401 without it", async () => {
    const server = await serve({ dbPath: `${t.dir}/auth.db`, host: "0.0.0.0", port: 0, token: TOKEN });
    try {
      const base = `http://127.0.0.1:${server.port}`;
      expect((await fetch(`${base}/searches`)).status).toBe(401);
      expect((await fetch(`${base}/searches`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    } finally {
      await server.stop();
    }
  });
});
