import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeTensor, f16BitsToNumber, tensorToFloat32 } from "./dtypes.ts";
import { lmHeadWeight, loadModel } from "./load.ts";
import { encodeSafetensors } from "./safetensors-write.ts";
import { sharedDir } from "./paths.ts";
import type { Tensor } from "./types.ts";

const models = join(sharedDir(), "models");
const storiesHf = join(models, "stories260K-hf");
const tiny = join(models, "tiny-llama3-gqa-bf16");
const tmp = mkdtempSync(join(tmpdir(), "nas-load-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const sha = (...parts: Uint8Array[]) => parts.reduce((h, p) => h.update(p), createHash("sha256")).digest("hex");
const storiesConfig = () => JSON.parse(readFileSync(join(storiesHf, "config.json"), "utf8"));

let dirCount = 0;
/** An HF directory in the temp dir with the given config and one model.safetensors. */
function hfDir(config: object, tensors: Iterable<Tensor>): string {
  const dir = join(tmp, `m${dirCount++}`);
  mkdirSync(dir);
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  writeFileSync(join(dir, "model.safetensors"), encodeSafetensors(tensors));
  return dir;
}
const storiesTensors = async () => (await loadModel(storiesHf)).tensors;

describe("loadModel", () => {
  test("HF single file, HF sharded and llama2.c load with the right format and hash", async () => {
    const s = await loadModel(storiesHf);
    expect(s.source.format).toBe("hf");
    expect(s.source.hash).toBe(sha(readFileSync(join(storiesHf, "config.json")), readFileSync(join(storiesHf, "model.safetensors"))));
    expect(s.tensors.has("lm_head.weight")).toBe(false);
    expect(lmHeadWeight(s.config, s.tensors).name).toBe("model.embed_tokens.weight");

    const t = await loadModel(tiny);
    const shards = readdirSync(tiny).filter((f) => f.endsWith(".safetensors")).sort();
    expect(t.source.hash).toBe(sha(readFileSync(join(tiny, "config.json")), ...shards.map((f) => readFileSync(join(tiny, f)))));
    expect(t.tensors.size).toBe(39);
    expect(lmHeadWeight(t.config, t.tensors).name).toBe("lm_head.weight");
    expect(t.tensors.get("lm_head.weight")!.dtype).toBe("BF16");

    const bin = join(models, "stories260K", "stories260K.bin");
    const l = await loadModel(bin);
    expect(l.source).toEqual({ path: bin, format: "llama2c", hash: sha(readFileSync(bin)) });
    expect(l.config).toEqual(s.config);
  });

  test("a config.json or .safetensors path loads its directory", async () => {
    const a = await loadModel(join(storiesHf, "config.json"));
    const b = await loadModel(join(storiesHf, "model.safetensors"));
    expect(a.source.hash).toBe(b.source.hash);
  });

  test("v5-style config loads the same model; the hash follows the config bytes", async () => {
    const dir = join(tmp, "v5");
    mkdirSync(dir);
    for (const f of readdirSync(tiny)) copyFileSync(join(tiny, f), join(dir, f));
    const { rope_theta, ...rest } = JSON.parse(readFileSync(join(tiny, "config.json"), "utf8"));
    writeFileSync(join(dir, "config.json"), JSON.stringify({ ...rest, rope_parameters: { rope_type: "default", rope_theta } }));
    const [v4, v5] = [await loadModel(tiny), await loadModel(dir)];
    expect(v5.config).toEqual(v4.config);
    expect(v5.source.hash).not.toBe(v4.source.hash);
  });

  test("one changed weight byte changes the hash", async () => {
    const tensors = await storiesTensors();
    const a = await loadModel(hfDir(storiesConfig(), tensors.values()));
    const norm = tensors.get("model.norm.weight")!;
    const changed = { ...norm, data: norm.data.slice() };
    changed.data[0] ^= 1;
    const b = await loadModel(hfDir(storiesConfig(), [...tensors.values()].map((t) => (t.name === norm.name ? changed : t))));
    expect(a.source.hash).not.toBe(b.source.hash);
  });

  test("F16 weights: converted copy loads as F16 and decodes to the rounded F32 values", async () => {
    const tensors = await storiesTensors();
    const f16 = [...tensors.values()].map((t) => encodeTensor(t.name, "F16", t.shape, tensorToFloat32(t)));
    const m = await loadModel(hfDir({ ...storiesConfig(), torch_dtype: "float16" }, f16));
    const q = m.tensors.get("model.layers.0.self_attn.q_proj.weight")!;
    expect(q.dtype).toBe("F16");
    const original = tensorToFloat32(tensors.get(q.name)!);
    const decoded = tensorToFloat32(q);
    const bits = new Uint16Array(q.data.slice().buffer);
    let maxRel = 0;
    decoded.forEach((v, i) => {
      expect(v).toBe(f16BitsToNumber(bits[i]));
      if (Math.abs(original[i]) > 1e-4) maxRel = Math.max(maxRel, Math.abs(v - original[i]) / Math.abs(original[i]));
    });
    expect(maxRel).toBeLessThanOrEqual(2 ** -11); // half an ulp of a 10-bit mantissa
    expect(maxRel).toBeGreaterThan(0);
  });

  test("tied model: a stored lm_head is dropped (HF ties it to the embedding); rotary inv_freq is ignored", async () => {
    const tensors = await storiesTensors();
    const extra = [
      { ...tensors.get("model.embed_tokens.weight")!, name: "lm_head.weight" },
      encodeTensor("model.layers.0.self_attn.rotary_emb.inv_freq", "F32", [4], new Float32Array(4)),
    ];
    const m = await loadModel(hfDir(storiesConfig(), [...tensors.values(), ...extra]));
    expect(m.tensors.has("lm_head.weight")).toBe(false);
    expect(m.tensors.has("model.layers.0.self_attn.rotary_emb.inv_freq")).toBe(false);
  });

  const mismatch: [string, () => Promise<string>, RegExp][] = [
    ["intermediate_size disagrees with the weights", async () => hfDir({ ...storiesConfig(), intermediate_size: 170 }, (await storiesTensors()).values()),
      /model\.safetensors: tensor "model\.layers\.0\.mlp\.gate_proj\.weight" has shape \[172,64\] but the config \(.*intermediate_size 170.*\) expects \[170,64\]/],
    ["num_key_value_heads disagrees", async () => hfDir({ ...storiesConfig(), num_key_value_heads: 2 }, (await storiesTensors()).values()),
      /tensor "model\.layers\.0\.self_attn\.k_proj\.weight" has shape \[32,64\] but the config .* expects \[16,64\]/],
    ["untied config without lm_head", async () => hfDir({ ...storiesConfig(), tie_word_embeddings: false }, (await storiesTensors()).values()),
      /missing tensor "lm_head\.weight" \(config expects shape \[512,64\]\)/],
    ["a missing layer tensor", async () => hfDir(storiesConfig(), [...(await storiesTensors()).values()].filter((t) => t.name !== "model.layers.3.mlp.up_proj.weight")),
      /missing tensor "model\.layers\.3\.mlp\.up_proj\.weight"/],
    ["fewer layers in the config than in the weights", async () => hfDir({ ...storiesConfig(), num_hidden_layers: 4 }, (await storiesTensors()).values()),
      /unexpected tensor "model\.layers\.4\.[a-z_.]+" \(not part of a LlamaForCausalLM with this config: .*num_hidden_layers 4/],
    ["unsupported architecture", async () => hfDir({ ...storiesConfig(), model_type: "gpt2", architectures: ["GPT2LMHeadModel"] }, []), /config\.json: unsupported model_type "gpt2"/],
    ["config.json not JSON", async () => {
      const dir = hfDir({}, []);
      writeFileSync(join(dir, "config.json"), "{ nope");
      return dir;
    }, /config\.json: not valid JSON/],
    ["directory without config.json", async () => {
      const dir = join(tmp, "noconfig");
      mkdirSync(dir);
      return dir;
    }, /noconfig\/config\.json: cannot read .* an HF model directory needs config\.json/],
    ["path that does not exist", async () => join(tmp, "nothing-here"), /nothing-here: cannot read model path/],
    ["GGUF file", async () => {
      writeFileSync(join(tmp, "m.gguf"), "GGUF");
      return join(tmp, "m.gguf");
    }, /m\.gguf: GGUF files are not loaded by loadModel/],
    ["llama2.c file that is not one", async () => {
      writeFileSync(join(tmp, "junk.bin"), new Uint8Array(100).fill(0xff));
      return join(tmp, "junk.bin");
    }, /junk\.bin: header dim = -1 must be positive/],
  ];
  for (const [name, make, message] of mismatch) {
    test(`rejects: ${name}`, async () => {
      await expect(loadModel(await make())).rejects.toThrow(message);
    });
  }
});
