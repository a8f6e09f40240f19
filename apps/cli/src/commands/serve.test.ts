/**
 * `nas serve` end to end: the API started by the CLI runs a real model search (kind "model", the CLI's
 * evaluator module) in a worker process on stories260K, hashing the model itself when the body omits it.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultModelPath, loadModel } from "@nas/model";
import { createSearchSpace } from "@nas/search";

const main = join(import.meta.dir, "../main.ts");
const dir = mkdtempSync(join(tmpdir(), "nas-serve-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function readUntil(stream: ReadableStream<Uint8Array>, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    const m = text.match(pattern);
    if (m) {
      reader.releaseLock();
      return m;
    }
  }
  throw new Error(`never saw ${pattern} in:\n${text}`);
}

/**
 * Keep reading a child's output pipe for the rest of the test, remembering the last `keep` characters: an
 * unread pipe is buffered by the runner without bound, and on failure the tail says what the server printed.
 */
function drain(stream: ReadableStream<Uint8Array>, keep = 64 * 1024): { tail: () => string } {
  let text = "";
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      if (text.length > 2 * keep) text = text.slice(-keep);
    }
  })();
  return { tail: () => text.slice(-keep) };
}

test("POST /searches with kind model measures real candidates; SIGINT stops the server", async () => {
  const db = join(dir, "api.db");
  const server = Bun.spawn([process.execPath, main, "serve", "--db", db, "--port", "0"], { stdout: "pipe", stderr: "pipe" });
  try {
    const [, url] = await readUntil(server.stderr, /at (http:\/\/\S+) /, 30_000);
    const err = drain(server.stderr);
    const out = drain(server.stdout);
    const model = await loadModel(defaultModelPath());
    const body = {
      name: "api model search",
      model: { path: defaultModelPath() },
      space: createSearchSpace(model.config, { preset: "paper" }),
      objectives: [{ name: "tinystories", direction: "min" }, { name: "params", direction: "min" }],
      algorithm: "nsga2",
      options: { population: 2, evaluations: 2 },
      seed: 1,
      evaluator: { kind: "model", options: { tasks: ["tinystories"], tokens: 64 } },
    };
    const created = await fetch(`${url}/searches`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    expect(created.status).toBe(201);
    const { id, model: stored } = (await created.json()) as { id: number; model: { hash: string } };
    expect(stored.hash).toBe(model.source.hash);
    let status = "";
    for (let i = 0; i < 300 && status !== "done" && status !== "failed"; i++) {
      await Bun.sleep(200);
      status = ((await (await fetch(`${url}/searches/${id}`)).json()) as { status: string }).status;
    }
    if (status !== "done") throw new Error(`search ended "${status}"; server stderr tail:\n${err.tail()}\nstdout tail:\n${out.tail()}`);
    const page = (await (await fetch(`${url}/searches/${id}/candidates`)).json()) as { items: { status: string; objectives: Record<string, number> }[] };
    expect(page.items).toHaveLength(2);
    for (const c of page.items) {
      expect(c.status).toBe("done");
      expect(c.objectives.tinystories).toBeGreaterThan(1);
      expect(c.objectives.params).toBeGreaterThan(100_000);
    }
  } finally {
    server.kill("SIGINT");
    expect(await server.exited).toBe(0);
  }
}, 120_000);
