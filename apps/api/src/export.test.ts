import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { loadModel, sharedDir } from "@nas/model";
import { ggufGet, readGguf } from "@nas/export";
import { createSearch, insertPending, storeOutcome, candidatesByKey } from "@nas/store";
import { testApp, type TestApp } from "./testing.ts";

let t: TestApp;
let candidateId: number;
let otherModelCandidate: number;
beforeAll(async () => {
  t = testApp();
  const modelPath = join(sharedDir(), "models/stories260K-hf");
  const { source } = await loadModel(modelPath);
  const mk = (hash: string, name: string) => {
    const search = createSearch(t.db, { name, model: { path: modelPath, hash }, space: { kind: "test" }, objectives: [{ name: "loss", direction: "min" }], algorithm: "nsga2", seed: 1, evaluator: { kind: "fake" } });
    const subnet = { layers: [true, false, true, true, true], mlp: [128, 172, 64, 172, 96], kvHeads: [2, 4, 1, 3, 4] };
    insertPending(t.db, search.id, [{ key: "k", genome: [0], subnet, generation: 0 }]);
    const row = candidatesByKey(t.db, search.id, ["k"]).get("k")!;
    storeOutcome(t.db, search, row.id, { objectives: [1] }, 1, "test");
    return row.id;
  };
  candidateId = mk(source.hash, "export");
  otherModelCandidate = mk("0".repeat(64), "other-model");
}, 60_000);
afterAll(() => t.close());

test("GET /candidates/:id/export?format=gguf returns the sub-network as a GGUF file (deci: non-uniform)", async () => {
  const res = await t.app.request(`/candidates/${candidateId}/export?format=gguf&quant=q8_0`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("application/octet-stream");
  const bytes = new Uint8Array(await res.arrayBuffer());
  expect(new TextDecoder().decode(bytes.subarray(0, 4))).toBe("GGUF");
  const path = join(t.dbPath, "..", "c.gguf");
  await Bun.write(path, bytes);
  const gguf = readGguf(path);
  expect(JSON.stringify(ggufGet(gguf, "general.architecture"))).toContain("deci");
  expect(JSON.stringify(ggufGet(gguf, "deci.block_count"))).toContain("4"); // layer 1 skipped: 4 blocks
});

test("export refusals: hf over HTTP, a format that cannot express the sub-network, unknown id, bad query, other model", async () => {
  expect((await t.call("GET", `/candidates/${candidateId}/export?format=hf`)).status).toBe(400);
  const llama2c = await t.call("GET", `/candidates/${candidateId}/export?format=llama2c`);
  expect(llama2c.status).toBe(400);
  expect(llama2c.body.error).toMatch(/uniform|llama2c/i);
  expect((await t.call("GET", "/candidates/999999/export?format=gguf")).status).toBe(404);
  expect((await t.call("GET", `/candidates/${candidateId}/export?format=onnx`)).status).toBe(400);
  expect((await t.call("GET", `/candidates/${otherModelCandidate}/export?format=gguf`)).status).toBe(409);
});
