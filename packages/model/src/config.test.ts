import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { llamaConfigToHf, parseHfConfig } from "./config.ts";
import { sharedDir } from "./paths.ts";
import type { LlamaConfig, RopeConfig } from "./types.ts";

const models = join(sharedDir(), "models");
const read = (dir: string) => JSON.parse(readFileSync(join(models, dir, "config.json"), "utf8"));
const base = { model_type: "llama", architectures: ["LlamaForCausalLM"], hidden_size: 64, intermediate_size: 172, num_hidden_layers: 2, num_attention_heads: 8, vocab_size: 512 };
const llama31 = { rope_type: "llama3", factor: 8.0, low_freq_factor: 1.0, high_freq_factor: 4.0, original_max_position_embeddings: 8192 };

describe("HF config.json", () => {
  test("v4 style: the two shared models", () => {
    const s = parseHfConfig(read("stories260K-hf"));
    expect(s).toMatchObject({ hiddenSize: 64, intermediateSize: 172, numLayers: 5, numHeads: 8, numKvHeads: 4, headDim: 8, vocabSize: 512, maxPositions: 512, rmsNormEps: 1e-5, tieWordEmbeddings: true, rope: { theta: 10000 } });
    const t = parseHfConfig(read("tiny-llama3-gqa-bf16"));
    expect(t).toMatchObject({ hiddenSize: 256, numHeads: 8, numKvHeads: 2, headDim: 32, tieWordEmbeddings: false, rope: { theta: 500000 } });
    expect(t.perLayer).toBeUndefined();
  });

  test("v5 style rope_parameters equals the v4 style", () => {
    const v4 = read("tiny-llama3-gqa-bf16");
    const { rope_theta, ...rest } = v4;
    expect(parseHfConfig({ ...rest, rope_parameters: { rope_type: "default", rope_theta } })).toEqual(parseHfConfig(v4));
  });

  test("llama3 rope scaling, v4 (rope_scaling with `type` or `rope_type`) and v5 (rope_parameters)", () => {
    const want: RopeConfig = { theta: 500000, scaling: { type: "llama3", factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 } };
    expect(parseHfConfig({ ...base, rope_theta: 500000, rope_scaling: llama31 }).rope).toEqual(want);
    const { rope_type, ...noType } = llama31;
    expect(parseHfConfig({ ...base, rope_theta: 500000, rope_scaling: { ...noType, type: rope_type } }).rope).toEqual(want);
    expect(parseHfConfig({ ...base, rope_parameters: { ...llama31, rope_theta: 500000 } }).rope).toEqual(want);
  });

  test("defaults: head_dim = hidden / heads, kv heads = heads, HF LlamaConfig defaults", () => {
    const c = parseHfConfig(base);
    expect(c).toMatchObject({ headDim: 8, numKvHeads: 8, maxPositions: 2048, rmsNormEps: 1e-6, tieWordEmbeddings: false, bosTokenId: 1, eosTokenId: 2, rope: { theta: 10000 } });
    expect(parseHfConfig({ ...base, head_dim: null }).headDim).toBe(8);
    expect(parseHfConfig({ ...base, head_dim: 16 }).headDim).toBe(16);
    expect(parseHfConfig({ ...base, eos_token_id: [128, 129] }).eosTokenId).toBe(128);
  });

  const bad: [string, object, RegExp][] = [
    ["unsupported model_type", { ...base, model_type: "mistral" }, /unsupported model_type "mistral"/],
    ["unsupported architecture", { ...base, architectures: ["GPT2LMHeadModel"] }, /unsupported architectures \["GPT2LMHeadModel"\]/],
    ["unknown architecture", { hidden_size: 64 }, /neither "model_type" nor "architectures"/],
    ["missing field", { ...base, vocab_size: undefined }, /missing required field "vocab_size"/],
    ["non-integer field", { ...base, intermediate_size: 171.5 }, /"intermediate_size" must be a positive integer, got 171\.5/],
    ["string field", { ...base, num_hidden_layers: "2" }, /"num_hidden_layers" must be a positive integer, got "2"/],
    ["zero field", { ...base, num_attention_heads: 0 }, /"num_attention_heads" must be a positive integer/],
    ["heads not dividing hidden", { ...base, num_attention_heads: 6 }, /hidden_size 64 is not divisible by num_attention_heads 6; give "head_dim"/],
    ["kv heads not dividing heads", { ...base, num_key_value_heads: 3 }, /num_attention_heads 8 is not a multiple of num_key_value_heads 3/],
    ["odd head dim", { ...base, head_dim: 7 }, /head dimension 7 must be even/],
    ["other activation", { ...base, hidden_act: "gelu" }, /hidden_act "gelu" is not supported/],
    ["biases", { ...base, attention_bias: true }, /"attention_bias": true is not supported/],
    ["other rope type", { ...base, rope_scaling: { rope_type: "yarn", factor: 4 } }, /rope type "yarn" is not supported/],
    ["incomplete llama3 scaling", { ...base, rope_scaling: { ...llama31, low_freq_factor: undefined } }, /needs a positive "low_freq_factor"/],
    ["bad theta", { ...base, rope_theta: "big" }, /rope_theta must be a number/],
    ["token id out of vocab", { ...base, bos_token_id: 512 }, /"bos_token_id" must be a token id in \[0, 512\)/],
    ["tie flag not boolean", { ...base, tie_word_embeddings: 1 }, /"tie_word_embeddings" must be true or false/],
    ["not an object", [1] as object, /must be a JSON object/],
  ];
  for (const [name, raw, message] of bad) {
    test(`rejects: ${name}`, () => {
      expect(() => parseHfConfig(raw, "/m/config.json")).toThrow(message);
      expect(() => parseHfConfig(raw, "/m/config.json")).toThrow(/^\/m\/config\.json: /);
    });
  }
});

describe("non-uniform layers", () => {
  const perLayer = { intermediate_size: [172, 64], num_attention_heads: [8, 4], num_key_value_heads: [4, 2] };

  test("nas_per_layer gives per-layer sizes; missing arrays default to the top level", () => {
    const c = parseHfConfig({ ...base, head_dim: 8, num_key_value_heads: 4, nas_per_layer: perLayer });
    expect(c.perLayer).toEqual({ intermediateSize: [172, 64], numHeads: [8, 4], numKvHeads: [4, 2] });
    const partial = parseHfConfig({ ...base, head_dim: 8, nas_per_layer: { intermediate_size: [100, 50] } });
    expect(partial.perLayer).toEqual({ intermediateSize: [100, 50], numHeads: [8, 8], numKvHeads: [8, 8] });
    const noTop = parseHfConfig({ ...base, intermediate_size: undefined, head_dim: 8, nas_per_layer: perLayer });
    expect(noTop.intermediateSize).toBe(172);
  });

  test("nas_per_layer is validated", () => {
    expect(() => parseHfConfig({ ...base, nas_per_layer: perLayer })).toThrow(/"head_dim" is required when "nas_per_layer" is given/);
    expect(() => parseHfConfig({ ...base, head_dim: 8, nas_per_layer: { intermediate_size: [1] } })).toThrow(/"nas_per_layer\.intermediate_size" must be an array of 2 entries/);
    expect(() => parseHfConfig({ ...base, head_dim: 8, nas_per_layer: { intermediate_size: [1, 0.5] } })).toThrow(/"nas_per_layer\.intermediate_size\[1\]" must be a positive integer/);
    expect(() => parseHfConfig({ ...base, head_dim: 8, nas_per_layer: { ...perLayer, num_key_value_heads: [3, 2] } })).toThrow(/layer 0 has 8 attention heads, not a multiple of its 3 KV heads/);
    expect(() => parseHfConfig({ ...base, head_dim: 8, nas_per_layer: { widths: [1, 2] } })).toThrow(/unknown key "widths"/);
  });

  test("DeciLM block_configs: ffn_mult -> multiple of 256, n_heads_in_group -> KV heads", () => {
    const deci = {
      architectures: ["DeciLMForCausalLM"],
      model_type: "nemotron-nas",
      hidden_size: 1024,
      num_hidden_layers: 2,
      num_attention_heads: 16,
      vocab_size: 1000,
      intermediate_size: null,
      num_key_value_heads: null,
      block_configs: [
        { attention: { n_heads_in_group: 8, no_op: false }, ffn: { ffn_mult: 2.625, no_op: false } },
        { attention: { n_heads_in_group: 4 }, ffn: { ffn_mult: 1.3 } },
      ],
    };
    const c = parseHfConfig(deci);
    // 2 * 2.625 * 1024 / 3 = 1792 (already a multiple of 256); 2 * 1.3 * 1024 / 3 = 887.46 -> 887 -> 1024
    expect(c.perLayer).toEqual({ intermediateSize: [1792, 1024], numHeads: [16, 16], numKvHeads: [2, 4] });
    expect(c.intermediateSize).toBe(1792);
    const noop = { ...deci, block_configs: [deci.block_configs[0], { attention: { no_op: true }, ffn: { ffn_mult: 1 } }] };
    expect(() => parseHfConfig(noop)).toThrow(/block_configs\[1\]\.attention is a no-op\/linear replacement/);
    expect(() => parseHfConfig({ ...deci, block_configs: [deci.block_configs[0]] })).toThrow(/"block_configs" has 1 blocks, num_hidden_layers is 2/);
  });
});

describe("llamaConfigToHf", () => {
  const positive = fc.integer({ min: 1, max: 64 });
  const configArb = fc
    .record({ layers: fc.integer({ min: 1, max: 4 }), kv: positive, group: fc.integer({ min: 1, max: 4 }), half: fc.integer({ min: 1, max: 32 }), hidden: positive, ff: positive, vocab: fc.integer({ min: 3, max: 1000 }), tie: fc.boolean(), llama3: fc.boolean(), nonUniform: fc.boolean(), seed: fc.integer({ min: 1, max: 1000 }) })
    .map((r): LlamaConfig => {
      const c: LlamaConfig = {
        architecture: "llama", hiddenSize: r.hidden, intermediateSize: r.ff, numLayers: r.layers, numHeads: r.kv * r.group, numKvHeads: r.kv, headDim: 2 * r.half,
        vocabSize: r.vocab, maxPositions: 512, rmsNormEps: 1e-5, rope: { theta: 10000 }, tieWordEmbeddings: r.tie, bosTokenId: 1, eosTokenId: 2,
      };
      if (r.llama3) c.rope.scaling = { type: "llama3", factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 };
      if (r.nonUniform) {
        const kv = Array.from({ length: r.layers }, (_, i) => 1 + ((r.seed + i) % r.kv));
        c.perLayer = { intermediateSize: kv.map((k) => k * 3), numHeads: kv.map((k) => k * r.group), numKvHeads: kv };
      }
      return c;
    });

  test("round trip: parseHfConfig(llamaConfigToHf(c)) equals c (JSON and back)", () => {
    fc.assert(fc.property(configArb, (c) => {
      expect(parseHfConfig(JSON.parse(JSON.stringify(llamaConfigToHf(c))))).toEqual(c);
    }));
  });
});
