/** Helpers for the API's tests: a temp store with an app on it, request shorthands, polling. */
import { closeDb, openDb, type Db } from "@nas/db";
import { stories260KSpace, tempDir } from "@nas/store/src/testing.ts";
import { createApp } from "./app.ts";
import { SearchSupervisor } from "./supervisor.ts";

export interface TestApp {
  db: Db;
  dbPath: string;
  app: ReturnType<typeof createApp>;
  supervisor: SearchSupervisor;
  /** JSON request; returns status and parsed body. */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

export function testApp(options: { token?: string; evaluatorModules?: Record<string, string> } = {}): TestApp {
  const t = tempDir("nas-api-");
  const db = openDb(t.dbPath);
  const supervisor = new SearchSupervisor(db, { dbPath: t.dbPath, evaluatorModules: options.evaluatorModules });
  const app = createApp({ db, supervisor, token: options.token });
  return {
    db,
    dbPath: t.dbPath,
    app,
    supervisor,
    async call(method, path, body, headers = {}) {
      const init: RequestInit = { method, headers: { ...headers } };
      if (body !== undefined) {
        init.body = typeof body === "string" ? body : JSON.stringify(body);
        (init.headers as Record<string, string>)["content-type"] ??= "application/json";
      }
      const res = await app.request(path, init);
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // non-JSON body: keep the text
      }
      return { status: res.status, body: parsed };
    },
    async close() {
      await supervisor.stopAll();
      closeDb(db);
      t.cleanup();
    },
  };
}

/** A valid POST /searches body (fake evaluator unless overridden). */
export function searchBody(overrides: Record<string, unknown> = {}) {
  return {
    name: "api-test",
    model: { path: "shared/models/stories260K-hf", hash: "f".repeat(64) },
    space: stories260KSpace(),
    objectives: [
      { name: "loss", direction: "min" },
      { name: "accuracy", direction: "max" },
    ],
    algorithm: "nsga2",
    options: { population: 4, evaluations: 12 },
    seed: 3,
    evaluator: { kind: "fake", options: { delayMs: [0, 2] } },
    ...overrides,
  };
}

/** Poll `check` until it returns a value other than undefined (throws after `ms`). */
export async function waitFor<T>(check: () => Promise<T | undefined> | T | undefined, ms = 30_000, what = "condition"): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(25);
  }
}
