/**
 * File sizes: the original checkpoint vs exports of the full model and of a fixture sub-network in every
 * format (source dtype kept) and as Q8_0 GGUF. Prints one JSON object.
 * Run: bun packages/export/bench/sizes.ts
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModel, sharedDir, type SubNetworkSpec } from "@nas/model";
import { exportModel, type ExportFormat, type ExportQuant } from "../src/index.ts";

const out = mkdtempSync(join(tmpdir(), "nas-sizes-"));
const dirBytes = (dir: string, match: RegExp) =>
  readdirSync(dir)
    .filter((n) => match.test(n))
    .reduce((a, n) => a + statSync(join(dir, n)).size, 0);

const MODELS: { name: string; dir: string; original: () => number; subnet: string; spec: SubNetworkSpec }[] = [
  {
    name: "stories260K",
    dir: "models/stories260K-hf",
    original: () => dirBytes(join(sharedDir(), "models/stories260K-hf"), /\.safetensors$/),
    subnet: "combined",
    spec: { layers: [true, false, true, true, true], mlp: [128, 172, 64, 172, 96], kvHeads: [2, 4, 1, 3, 4] },
  },
  {
    name: "tiny-llama3-gqa-bf16",
    dir: "models/tiny-llama3-gqa-bf16",
    original: () => dirBytes(join(sharedDir(), "models/tiny-llama3-gqa-bf16"), /\.safetensors$/),
    subnet: "combined",
    spec: { layers: [true, true, false, true], mlp: [256, 704, 704, 448], kvHeads: [1, 2, 2, 1] },
  },
];

const result: Record<string, unknown> = {};
for (const m of MODELS) {
  const model = await loadModel(join(sharedDir(), m.dir));
  const row: Record<string, number | string> = { originalSafetensorsBytes: m.original(), subnet: m.subnet };
  const run = (label: string, spec: SubNetworkSpec, format: ExportFormat, quant?: ExportQuant) => {
    const outPath = join(out, `${m.name}-${label}${format === "hf" ? "" : format === "gguf" ? ".gguf" : ".bin"}`);
    try {
      const r = exportModel({ model, subnet: spec, format, quant, outPath });
      // HF: weights file only (tokenizer and config are the same few KB for every export).
      row[label] = format === "hf" ? r.files.find((f) => f.path.endsWith(".safetensors"))!.bytes : r.bytes;
    } catch (err) {
      row[label] = `refused: ${(err as Error).message.slice(0, 80)}`;
    }
  };
  run("full.gguf", null, "gguf");
  run("full.gguf.q8_0", null, "gguf", "q8_0");
  run("subnet.hf", m.spec, "hf");
  run("subnet.gguf", m.spec, "gguf");
  run("subnet.gguf.q8_0", m.spec, "gguf", "q8_0");
  run("subnet.llama2c", m.spec, "llama2c");
  // A uniform sub-network (one layer skipped) for the format that only takes uniform ones.
  const skipOne = Array.from({ length: model.config.numLayers }, (_, i) => i !== 1);
  run("skip-layer-1.llama2c", { layers: skipOne }, "llama2c");
  run("skip-layer-1.gguf", { layers: skipOne }, "gguf");
  result[m.name] = row;
}
rmSync(out, { recursive: true, force: true });
console.log(JSON.stringify(result));
