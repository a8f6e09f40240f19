/**
 * The loaders and the reference run under Node too (the GPU engine is a Node worker): bundle a small entry
 * with Bun's bundler for the node target, run it with `node`, and check what it computed.
 */
import { afterAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { sharedDir } from "./paths.ts";

const tmp = mkdtempSync(join(tmpdir(), "nas-model-node-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const here = dirname(fileURLToPath(import.meta.url));

test("loadModel (HF sharded BF16, llama2.c) and the reference forward run under Node", () => {
  const entry = join(tmp, "entry.ts");
  writeFileSync(
    entry,
    `import { loadModel } from ${JSON.stringify(join(here, "load.ts"))};
import { ReferenceModel } from ${JSON.stringify(join(here, "reference.ts"))};
const [tiny, bin] = process.argv.slice(2);
const t = await loadModel(tiny);
const b = await loadModel(bin);
const ref = new ReferenceModel(b.config, b.tensors);
console.log(JSON.stringify({ node: process.version, tinyHash: t.source.hash, tensors: t.tensors.size, greedy: ref.generateGreedy([1], null, 12), nll: ref.sumNll([1, 175, 50, 120, 195, 326, 254, 198]) }));
`,
  );
  const out = join(tmp, "entry.mjs");
  const build = spawnSync(process.execPath, ["build", entry, "--target", "node", "--outfile", out], { encoding: "utf8" });
  expect(build.stderr + (build.status === 0 ? "" : build.stdout)).not.toContain("error");
  expect(build.status).toBe(0);
  const models = join(sharedDir(), "models");
  const run = spawnSync(process.env.NAS_NODE ?? "node", [out, join(models, "tiny-llama3-gqa-bf16"), join(models, "stories260K", "stories260K.bin")], { encoding: "utf8" });
  expect(run.stderr).toBe("");
  const result = JSON.parse(run.stdout);
  expect(result.node).toStartWith("v");
  expect(result.tensors).toBe(39);
  expect(result.tinyHash).toMatch(/^[0-9a-f]{64}$/);
  expect(result.greedy).toEqual([403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421]); // greedy_from_bos[1..12]
  expect(Math.abs(result.nll - 172.714044) / 172.714044).toBeLessThan(1e-6); // fixture stories260K full, case 0
}, 60_000);
