/**
 * Format details: RoPE row order against the original llama2.c file, GGUF metadata llama.cpp reads,
 * tokenizer metadata from both tokenizer kinds, DeciLM block_configs, and refusals of bad requests.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModel } from "@nas/model";
import { ReferenceModel } from "@nas/model";
import { ExportError } from "./atomic.ts";
import { exportModel } from "./export.ts";
import { readGguf } from "./gguf-read.ts";
import { loadShared, maxAbsDiff, shared } from "./testing.ts";
import { readVocab } from "./vocab.ts";

const out = mkdtempSync(join(tmpdir(), "nas-formats-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));
const F32 = 4;

describe("RoPE row order and llama2.c layout", () => {
  test("GGUF Q/K rows equal the interleaved rows of the original llama2.c checkpoint", async () => {
    const m = await loadShared("stories260K");
    const path = join(out, "full.gguf");
    exportModel({ model: m, subnet: null, format: "gguf", outPath: path });
    const gguf = readGguf(path);
    const bin = readFileSync(shared("models/stories260K/stories260K.bin"));
    const [dim, L, vocab, kvDim] = [64, 5, 512, 32];
    const wq = 28 + vocab * dim * F32 + L * dim * F32; // header, token embedding, rms_att
    const wk = wq + L * dim * dim * F32;
    for (let l = 0; l < L; l++) {
      const q = gguf.tensors.find((t) => t.name === `blk.${l}.attn_q.weight`)!;
      const k = gguf.tensors.find((t) => t.name === `blk.${l}.attn_k.weight`)!;
      expect(Buffer.from(q.data).equals(bin.subarray(wq + l * dim * dim * F32, wq + (l + 1) * dim * dim * F32))).toBe(true);
      expect(Buffer.from(k.data).equals(bin.subarray(wk + l * kvDim * dim * F32, wk + (l + 1) * kvDim * dim * F32))).toBe(true);
    }
  });

  test("llama2c export of the full HF model reproduces stories260K.bin (weights byte-exact)", async () => {
    const m = await loadShared("stories260K");
    const path = join(out, "full.bin");
    const r = exportModel({ model: m, subnet: null, format: "llama2c", outPath: path });
    const ours = readFileSync(path);
    const orig = readFileSync(shared("models/stories260K/stories260K.bin"));
    expect(r.bytes).toBe(orig.length);
    // Everything up to the legacy freq_cis tables (which run.c never reads) is identical.
    const freqStart = orig.length - 2 * 512 * 4 * F32;
    expect(ours.subarray(0, freqStart).equals(orig.subarray(0, freqStart))).toBe(true);
    const a = new Float32Array(ours.buffer.slice(ours.byteOffset + freqStart, ours.byteOffset + ours.length));
    const b = new Float32Array(orig.buffer.slice(orig.byteOffset + freqStart, orig.byteOffset + orig.length));
    expect(maxAbsDiff([a], [b])).toBeLessThan(1e-4);
  });
});

describe("GGUF metadata", () => {
  test("deci: per-layer arrays, explicit head size, block count of kept layers, tokenizer", async () => {
    const m = await loadShared("stories260K");
    const path = join(out, "combined.gguf");
    exportModel({ model: m, subnet: { layers: [true, false, true, true, true], mlp: [128, 172, 64, 172, 96], kvHeads: [2, 4, 1, 3, 4] }, format: "gguf", outPath: path });
    const md = readGguf(path).metadata;
    const v = (k: string) => md.get(k)?.value;
    expect(v("general.architecture")).toBe("deci");
    expect(v("deci.block_count")).toBe(4);
    expect(v("deci.feed_forward_length")).toEqual([128, 64, 172, 96]);
    expect(v("deci.attention.head_count")).toEqual([4, 2, 6, 8]);
    expect(v("deci.attention.head_count_kv")).toEqual([2, 1, 3, 4]);
    expect(md.get("deci.attention.head_count_kv")).toMatchObject({ type: "array", itemType: "i32" });
    expect([v("deci.attention.key_length"), v("deci.rope.dimension_count"), v("deci.embedding_length")]).toEqual([8, 8, 64]);
    expect([v("deci.context_length"), v("deci.rope.freq_base")]).toEqual([512, 10000]);
    expect(v("deci.attention.layer_norm_rms_epsilon")).toBeCloseTo(1e-5, 10);
    expect(v("tokenizer.ggml.model")).toBe("llama");
    expect((v("tokenizer.ggml.tokens") as string[]).length).toBe(512);
    expect([v("tokenizer.ggml.bos_token_id"), v("tokenizer.ggml.eos_token_id"), v("tokenizer.ggml.add_bos_token")]).toEqual([1, 2, true]);
  });

  test("llama (uniform, untied lm_head, theta 500000): scalar sizes and an output tensor", async () => {
    const m = await loadShared("tiny-llama3-gqa-bf16");
    const path = join(out, "tiny.gguf");
    const r = exportModel({ model: m, subnet: { layers: [true, false, false, true] }, format: "gguf", outPath: path });
    expect(r.notes.join(" ")).toMatch(/no tokenizer found.*"none"/);
    const g = readGguf(path);
    const v = (k: string) => g.metadata.get(k)?.value;
    expect([v("general.architecture"), v("llama.block_count"), v("llama.feed_forward_length"), v("llama.attention.head_count_kv")]).toEqual(["llama", 2, 704, 2]);
    expect(v("llama.rope.freq_base")).toBe(500000);
    expect(v("general.file_type")).toBe(32); // BF16 kept
    expect(g.tensors.find((t) => t.name === "output.weight")?.dtype).toBe("BF16");
    expect(g.tensors.find((t) => t.name === "blk.1.attn_norm.weight")?.dtype).toBe("F32");
  });

  test("the SentencePiece model and the llama2.c tokenizer give the same GGUF vocabulary", () => {
    const sp = readVocab(shared("models/stories260K-hf/tokenizer.model"), 512);
    const l2 = readVocab(shared("models/stories260K/tok512.bin"), 512);
    expect(l2.tokens).toEqual(sp.tokens);
    expect(l2.types).toEqual(sp.types);
    expect(l2.scores).toEqual(sp.scores);
    expect(sp.tokens.slice(0, 4)).toEqual(["<unk>", "<s>", "</s>", "<0x00>"]);
    expect(sp.types.slice(0, 4)).toEqual([2, 3, 3, 6]);
    const big = readVocab(shared("models/llama2-tokenizer/tokenizer.model"), 32000);
    expect(big.tokens[29871]).toBe("▁");
    expect(() => readVocab(shared("models/llama2-tokenizer/tokenizer.model"), 512)).toThrow(/has 32000 tokens but the model's vocab_size is 512/);
    expect(readVocab(shared("models/stories260K/tok512.bin"), 520).tokens[519]).toBe("<pad_519>");
  });
});

describe("HF config forms", () => {
  test("widths in steps of 256 with all heads kept also get DeciLM block_configs, which our loader reads", async () => {
    const m = await loadShared("tiny-llama3-gqa-bf16");
    const spec = { mlp: [512, 256, 512, 256] };
    const dir = join(out, "deci-hf");
    exportModel({ model: m, subnet: spec, format: "hf", outPath: dir });
    const json = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    expect(json.architectures).toEqual(["DeciLMForCausalLM"]);
    expect(json.block_configs.map((b: { attention: { n_heads_in_group: number } }) => b.attention.n_heads_in_group)).toEqual([4, 4, 4, 4]);
    expect(json.nas_per_layer.intermediate_size).toEqual([512, 256, 512, 256]);
    const back = await loadModel(dir);
    expect(back.config.perLayer?.intermediateSize).toEqual([512, 256, 512, 256]);
    const ids = [1, 5, 77, 300, 1000];
    expect(maxAbsDiff(new ReferenceModel(back.config, back.tensors).logits(ids), new ReferenceModel(m.config, m.tensors).logits(ids, spec))).toBeLessThanOrEqual(1e-5);
    // A KV-head cut drops query heads, which DeciLM cannot express: nas_per_layer only.
    exportModel({ model: m, subnet: { mlp: [512, 256, 512, 256], kvHeads: [1, 2, 2, 2] }, format: "hf", outPath: dir });
    const json2 = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    expect([json2.architectures, json2.block_configs]).toEqual([["LlamaForCausalLM"], undefined]);
  });

  test("uniform exports are plain LlamaForCausalLM configs with the tokenizer files copied; f16 cast works", async () => {
    const m = await loadShared("stories260K");
    const dir = join(out, "uniform-hf");
    const r = exportModel({ model: m, subnet: { kvHeads: [2, 2, 2, 2, 2] }, format: "hf", outPath: dir, quant: "f16" });
    expect(readdirSync(dir).sort()).toEqual(["config.json", "model.safetensors", "tokenizer.model", "tokenizer_config.json"]);
    const json = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    expect(json).toMatchObject({ architectures: ["LlamaForCausalLM"], model_type: "llama", num_attention_heads: 4, num_key_value_heads: 2, head_dim: 8, hidden_size: 64, torch_dtype: "float16" });
    expect(json).not.toHaveProperty("nas_per_layer");
    const back = await loadModel(dir);
    expect(back.tensors.get("model.layers.0.mlp.up_proj.weight")?.dtype).toBe("F16");
    expect(r.bytes).toBeLessThan(600_000);
  });
});

describe("bad requests", () => {
  test("formats that cannot express the request, unknown options and unwritable paths: clear errors, nothing written", async () => {
    const m = await loadShared("stories260K");
    const nonUniform = { mlp: [172, 128, 96, 64, 172] };
    const bin = join(out, "refused.bin");
    expect(() => exportModel({ model: m, subnet: nonUniform, format: "llama2c", outPath: bin })).toThrow(/cannot export as llama2c: llama2\.c stores one hidden_dim.*172\/128\/96\/64\/172.*use --format gguf or hf/);
    expect(existsSync(bin)).toBe(false);
    expect(() => exportModel({ model: m, subnet: null, format: "hf", quant: "q8_0", outPath: join(out, "q8-hf") })).toThrow(/hf cannot store Q8_0/);
    expect(() => exportModel({ model: m, subnet: null, format: "llama2c", quant: "q8_0", outPath: bin })).toThrow(/llama2c stores float32 only/);
    expect(() => exportModel({ model: m, subnet: null, format: "onnx" as "hf", outPath: bin })).toThrow(/unknown export format "onnx"/);
    expect(() => exportModel({ model: m, subnet: null, format: "gguf", quant: "q4_0" as "q8_0", outPath: bin })).toThrow(/unknown quant "q4_0"/);
    expect(() => exportModel({ model: m, subnet: null, format: "gguf", outPath: join(out, "missing-dir", "m.gguf") })).toThrow(ExportError);
    expect(() => exportModel({ model: m, subnet: null, format: "gguf", outPath: join(out, "missing-dir", "m.gguf") })).toThrow(/does not exist/);
    expect(() => exportModel({ model: m, subnet: { mlp: [1, 2, 3] }, format: "gguf", outPath: join(out, "x.gguf") })).toThrow(/mlp has length 3, the model has 5 layers/);
    expect(() => exportModel({ model: m, subnet: null, format: "gguf", outPath: join(out, "x.gguf"), tokenizerDir: join(out, "nope") })).toThrow(/tokenizer path ".*nope" does not exist/);
    expect(readdirSync(out).filter((n) => n.includes(".partial") || n === "x.gguf" || n === "q8-hf")).toEqual([]);
  });
});
