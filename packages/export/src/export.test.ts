/**
 * Exactness: every fixture sub-network of both shared models, exported and loaded back, computes the same
 * logits on the CPU reference as the elastic super-network under that sub-network (F32/BF16 kept as stored).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModel, normalizeSubnet, tensorToFloat32 } from "@nas/model";
import { ReferenceModel } from "@nas/model";
import { exportModel } from "./export.ts";
import { ggufToModel } from "./gguf-model.ts";
import { readGguf } from "./gguf-read.ts";
import { llama2cRefusal } from "./llama2c-write.ts";
import { sliceModel } from "./slice.ts";
import { fixtureCases, loadShared, maxAbsDiff, type FixtureModel } from "./testing.ts";

const out = mkdtempSync(join(tmpdir(), "nas-export-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));
const TOL = 1e-5;
const superNets = new Map<string, ReferenceModel>();
async function superNet(name: FixtureModel): Promise<ReferenceModel> {
  let r = superNets.get(name);
  if (!r) {
    const m = await loadShared(name);
    superNets.set(name, (r = new ReferenceModel(m.config, m.tensors)));
  }
  return r;
}

for (const modelName of ["stories260K", "tiny-llama3-gqa-bf16"] as FixtureModel[]) {
  describe(`${modelName}: export and load back`, () => {
    for (const c of fixtureCases(modelName)) {
      test(`${c.name}: hf, gguf and llama2c give the elastic reference's logits`, async () => {
        const model = await loadShared(modelName);
        const elastic = (await superNet(modelName)).logits(c.inputIds, c.spec);
        const subnet = normalizeSubnet(model.config, c.spec);
        const kept = subnet.layers.filter(Boolean).length;

        // HF: config.json + model.safetensors, read by our loader.
        const hfDir = join(out, `${modelName}-${c.name}-hf`);
        const hf = exportModel({ model, subnet: c.spec, format: "hf", outPath: hfDir });
        const hfBack = await loadModel(hfDir);
        expect(hfBack.config).toEqual(hf.config);
        expect(hfBack.config.numLayers).toBe(kept);
        expect(maxAbsDiff(new ReferenceModel(hfBack.config, hfBack.tensors).logits(c.inputIds), elastic)).toBeLessThanOrEqual(TOL);
        const json = JSON.parse(readFileSync(join(hfDir, "config.json"), "utf8"));
        if (hf.config.perLayer) expect(json.nas_per_layer.intermediate_size).toEqual(hf.config.perLayer.intermediateSize);
        else expect(json).not.toHaveProperty("nas_per_layer");

        // GGUF: read back with our reader, Q/K rows un-interleaved.
        const ggufPath = join(out, `${modelName}-${c.name}.gguf`);
        const gguf = exportModel({ model, subnet: c.spec, format: "gguf", outPath: ggufPath });
        expect(gguf.architecture).toBe(hf.config.perLayer ? "deci" : "llama");
        const back = ggufToModel(readGguf(ggufPath));
        expect(back.config.perLayer).toEqual(hf.config.perLayer);
        // GGUF stores eps as f32; everything else in the config is exact.
        expect({ ...back.config, rmsNormEps: 0 }).toEqual({ ...hf.config, rmsNormEps: 0 });
        expect(back.config.rmsNormEps).toBeCloseTo(hf.config.rmsNormEps, 12);
        const sliced = sliceModel(model, c.spec);
        for (const [name, t] of sliced.tensors) {
          const b = back.tensors.get(name);
          expect(b?.shape).toEqual(t.shape);
          // Matrices keep their dtype and bytes; norms are widened to F32 (exactly) as llama.cpp expects.
          if (t.shape.length === 2) expect(Buffer.from(b!.data).equals(Buffer.from(t.data))).toBe(true);
          else expect(Array.from(tensorToFloat32(b!))).toEqual(Array.from(tensorToFloat32(t)));
        }
        expect(maxAbsDiff(new ReferenceModel(back.config, back.tensors).logits(c.inputIds), elastic)).toBeLessThanOrEqual(TOL);

        // llama2.c: only uniform sub-networks of theta-10000 models; others are refused with the reason.
        const binPath = join(out, `${modelName}-${c.name}.bin`);
        const refusal = llama2cRefusal(sliced);
        if (refusal) {
          expect(() => exportModel({ model, subnet: c.spec, format: "llama2c", outPath: binPath })).toThrow(/cannot export as llama2c/);
          expect(readdirSync(out).filter((n) => n.startsWith(`${modelName}-${c.name}.bin`) || n.includes(".partial"))).toEqual([]);
        } else {
          exportModel({ model, subnet: c.spec, format: "llama2c", outPath: binPath });
          const binBack = await loadModel(binPath);
          expect(binBack.config.numLayers).toBe(kept);
          expect(maxAbsDiff(new ReferenceModel(binBack.config, binBack.tensors).logits(c.inputIds), elastic)).toBeLessThanOrEqual(TOL);
        }
      });
    }
  });
}

describe("which sub-networks each format can express", () => {
  test("stories260K: uniform fixtures go to llama2.c, non-uniform ones are refused; tiny-llama3 (theta 500000) never", async () => {
    const s = await loadShared("stories260K");
    const t = await loadShared("tiny-llama3-gqa-bf16");
    const expressible = (m: typeof s, spec: Parameters<typeof sliceModel>[1]) => llama2cRefusal(sliceModel(m, spec)) === undefined;
    expect(fixtureCases("stories260K").map((c) => [c.name, expressible(s, c.spec)])).toEqual([
      ["full", true],
      ["skip-layer-3", true],
      ["mlp-widths", false],
      ["kv-heads", false],
      ["combined", false],
    ]);
    // Uniform head slicing changes head_size = dim / n_heads, which llama2.c cannot express.
    expect(llama2cRefusal(sliceModel(s, { kvHeads: [2, 2, 2, 2, 2] }))).toMatch(/head_size = dim \/ n_heads/);
    expect(llama2cRefusal(sliceModel(t, null))).toMatch(/theta 500000/);
  });
});
