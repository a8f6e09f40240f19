/**
 * HF config.json -> LlamaConfig. Accepts transformers v4 style (`rope_theta`, `rope_scaling`) and v5 style
 * (`rope_parameters: {rope_type, rope_theta, ...}`), the "llama3" RoPE scaling, and two ways of giving
 * non-uniform layers:
 *
 * - `nas_per_layer` (ours, written by the export code): `{"intermediate_size": [..], "num_attention_heads": [..],
 *   "num_key_value_heads": [..]}`, each array one entry per layer (a missing array means the top-level value for
 *   every layer). `head_dim` must then be given explicitly, since heads no longer divide hidden_size.
 * - DeciLM (`DeciLMForCausalLM`, model_type "nemotron-nas"/"deci") `block_configs` whose blocks all have real
 *   attention and FFN (no `no_op` / `replace_with_linear`): `ffn_mult` -> intermediate size rounded up to a
 *   multiple of 256, `n_heads_in_group` -> KV heads.
 */
import type { LlamaConfig, RopeConfig } from "./types.ts";

/** Thrown for an unusable config.json; the message names the file and the field. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

type Json = Record<string, unknown>;
const LLAMA_ARCH = "LlamaForCausalLM";
const DECI_ARCH = "DeciLMForCausalLM";
const DECI_TYPES = ["nemotron-nas", "deci"];

/**
 * Normalise a parsed config.json. `file` is used in error messages.
 *
 * @example
 * const cfg = parseHfConfig(JSON.parse(readFileSync(join(dir, "config.json"), "utf8")), join(dir, "config.json"));
 * cfg.headDim // hidden_size / num_attention_heads unless head_dim is given
 */
export function parseHfConfig(raw: unknown, file = "config.json"): LlamaConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new ConfigError(`${file}: must be a JSON object`);
  const c = raw as Json;
  const fail = (msg: string): never => {
    throw new ConfigError(`${file}: ${msg}`);
  };
  const isDeci = checkArchitecture(c, fail);
  const int = (key: string, fallback?: number): number => {
    const v = c[key] ?? fallback;
    if (v === undefined) return fail(`missing required field "${key}"`);
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1) return fail(`"${key}" must be a positive integer, got ${JSON.stringify(v)}`);
    return v;
  };
  const num = (key: string, fallback: number): number => {
    const v = c[key] ?? fallback;
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) return fail(`"${key}" must be a positive number, got ${JSON.stringify(v)}`);
    return v;
  };
  if (c.hidden_act !== undefined && c.hidden_act !== "silu") fail(`hidden_act ${JSON.stringify(c.hidden_act)} is not supported (LLaMA uses "silu")`);
  for (const key of ["attention_bias", "mlp_bias"]) if (c[key] === true) fail(`"${key}": true is not supported (LLaMA projections have no bias)`);

  const hiddenSize = int("hidden_size");
  const numLayers = int("num_hidden_layers");
  const numHeads = int("num_attention_heads");
  const numKvHeads = int("num_key_value_heads", numHeads);
  const vocabSize = int("vocab_size");
  const perLayer = isDeci ? deciPerLayer(c, numLayers, numHeads, hiddenSize, fail) : nasPerLayer(c, numLayers, fail);
  const intermediateSize = perLayer && (c.intermediate_size ?? null) === null ? Math.max(...perLayer.intermediateSize) : int("intermediate_size");
  if (perLayer && !isDeci && (c.head_dim ?? null) === null) fail(`"head_dim" is required when "nas_per_layer" is given`);
  const headDim = (c.head_dim ?? null) === null ? hiddenSize / numHeads : int("head_dim");
  if (!Number.isInteger(headDim)) fail(`hidden_size ${hiddenSize} is not divisible by num_attention_heads ${numHeads}; give "head_dim"`);
  if (headDim % 2 !== 0) fail(`head dimension ${headDim} must be even for RoPE`);
  if (numHeads % numKvHeads !== 0) fail(`num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}`);
  const bosTokenId = tokenId(c, "bos_token_id", 1, vocabSize, fail);
  const eosTokenId = tokenId(c, "eos_token_id", 2, vocabSize, fail);
  const config: LlamaConfig = {
    architecture: "llama",
    hiddenSize,
    intermediateSize,
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    vocabSize,
    maxPositions: int("max_position_embeddings", 2048),
    rmsNormEps: num("rms_norm_eps", 1e-6),
    rope: parseRope(c, fail),
    tieWordEmbeddings: parseBool(c, "tie_word_embeddings", false, fail),
    bosTokenId,
    eosTokenId,
  };
  if (perLayer) config.perLayer = perLayer;
  return config;
}

/** Returns true for DeciLM; throws for anything that is not a LLaMA causal LM. */
function checkArchitecture(c: Json, fail: (m: string) => never): boolean {
  const archs = c.architectures;
  if (archs !== undefined && archs !== null && (!Array.isArray(archs) || !archs.every((a) => typeof a === "string"))) {
    fail(`"architectures" must be a list of strings`);
  }
  const list = (archs as string[] | undefined | null) ?? [];
  const type = c.model_type;
  if (list.includes(DECI_ARCH) || (typeof type === "string" && DECI_TYPES.includes(type))) {
    if (!Array.isArray(c.block_configs)) fail(`DeciLM config without "block_configs" is not supported`);
    return true;
  }
  if (type === undefined && list.length === 0) fail(`neither "model_type" nor "architectures" is given; cannot tell the architecture`);
  if (type !== undefined && type !== "llama") fail(`unsupported model_type ${JSON.stringify(type)} (supported: "llama", DeciLM "nemotron-nas")`);
  if (list.length > 0 && !list.includes(LLAMA_ARCH)) fail(`unsupported architectures ${JSON.stringify(list)} (supported: ${LLAMA_ARCH}, ${DECI_ARCH})`);
  return false;
}

function tokenId(c: Json, key: string, fallback: number, vocab: number, fail: (m: string) => never): number {
  let v = c[key] ?? fallback;
  if (Array.isArray(v)) v = v[0] ?? fallback; // Llama 3.1 lists several EOS ids; the first is the canonical one
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0 || v >= vocab) fail(`"${key}" must be a token id in [0, ${vocab}), got ${JSON.stringify(c[key])}`);
  return v as number;
}

function parseBool(c: Json, key: string, fallback: boolean, fail: (m: string) => never): boolean {
  const v = c[key] ?? fallback;
  if (typeof v !== "boolean") fail(`"${key}" must be true or false, got ${JSON.stringify(v)}`);
  return v as boolean;
}

/** RoPE from v5 `rope_parameters` or v4 `rope_theta` + `rope_scaling`. */
function parseRope(c: Json, fail: (m: string) => never): RopeConfig {
  const params = c.rope_parameters;
  let theta: unknown;
  let scaling: unknown;
  if (params !== undefined && params !== null) {
    if (typeof params !== "object" || Array.isArray(params)) fail(`"rope_parameters" must be an object`);
    const p = params as Json;
    theta = p.rope_theta ?? c.rope_theta ?? 10000;
    scaling = p;
  } else {
    theta = c.rope_theta ?? 10000;
    scaling = c.rope_scaling;
  }
  if (typeof theta !== "number" || !Number.isFinite(theta) || theta <= 1) fail(`rope_theta must be a number > 1, got ${JSON.stringify(theta)}`);
  const rope: RopeConfig = { theta: theta as number };
  if (scaling === undefined || scaling === null) return rope;
  if (typeof scaling !== "object" || Array.isArray(scaling)) fail(`"rope_scaling" must be an object or null`);
  const s = scaling as Json;
  const type = s.rope_type ?? s.type ?? "default";
  if (s.partial_rotary_factor !== undefined && s.partial_rotary_factor !== 1) fail(`partial_rotary_factor ${s.partial_rotary_factor} is not supported`);
  if (type === "default") return rope;
  if (type !== "llama3") fail(`rope type ${JSON.stringify(type)} is not supported (supported: "default", "llama3")`);
  const pos = (key: string): number => {
    const v = s[key];
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) fail(`llama3 rope scaling needs a positive "${key}", got ${JSON.stringify(v)}`);
    return v as number;
  };
  const scalingOut = {
    type: "llama3" as const,
    factor: pos("factor"),
    lowFreqFactor: pos("low_freq_factor"),
    highFreqFactor: pos("high_freq_factor"),
    originalMaxPositions: pos("original_max_position_embeddings"),
  };
  if (!(scalingOut.highFreqFactor > scalingOut.lowFreqFactor)) fail(`llama3 rope scaling needs high_freq_factor > low_freq_factor`);
  rope.scaling = scalingOut;
  return rope;
}

type PerLayer = NonNullable<LlamaConfig["perLayer"]>;

function nasPerLayer(c: Json, numLayers: number, fail: (m: string) => never): PerLayer | undefined {
  const p = c.nas_per_layer;
  if (p === undefined || p === null) return undefined;
  if (typeof p !== "object" || Array.isArray(p)) fail(`"nas_per_layer" must be an object of per-layer arrays`);
  const obj = p as Json;
  for (const key of Object.keys(obj)) {
    if (!["intermediate_size", "num_attention_heads", "num_key_value_heads"].includes(key)) fail(`"nas_per_layer" has unknown key "${key}"`);
  }
  const list = (key: string): number[] => {
    const v = obj[key];
    if (v === undefined) {
      const top = c[key] ?? (key === "num_key_value_heads" ? c.num_attention_heads : undefined);
      if (typeof top !== "number") fail(`"nas_per_layer.${key}" is missing and there is no top-level "${key}"`);
      return new Array<number>(numLayers).fill(top as number);
    }
    if (!Array.isArray(v) || v.length !== numLayers) fail(`"nas_per_layer.${key}" must be an array of ${numLayers} entries (num_hidden_layers)`);
    (v as unknown[]).forEach((x, i) => {
      if (typeof x !== "number" || !Number.isSafeInteger(x) || x < 1) fail(`"nas_per_layer.${key}[${i}]" must be a positive integer, got ${JSON.stringify(x)}`);
    });
    return [...(v as number[])];
  };
  const perLayer = { intermediateSize: list("intermediate_size"), numHeads: list("num_attention_heads"), numKvHeads: list("num_key_value_heads") };
  perLayer.numHeads.forEach((h, i) => {
    if (h % perLayer.numKvHeads[i] !== 0) fail(`"nas_per_layer": layer ${i} has ${h} attention heads, not a multiple of its ${perLayer.numKvHeads[i]} KV heads`);
  });
  return perLayer;
}

function deciPerLayer(c: Json, numLayers: number, numHeads: number, hidden: number, fail: (m: string) => never): PerLayer {
  const blocks = c.block_configs as unknown[];
  if (blocks.length !== numLayers) fail(`"block_configs" has ${blocks.length} blocks, num_hidden_layers is ${numLayers}`);
  const out: PerLayer = { intermediateSize: [], numHeads: [], numKvHeads: [] };
  blocks.forEach((b, i) => {
    const attn = (b as Json | null)?.attention as Json | undefined;
    const ffn = (b as Json | null)?.ffn as Json | undefined;
    if (!attn || !ffn) fail(`block_configs[${i}] needs "attention" and "ffn"`);
    for (const [part, v] of [["attention", attn], ["ffn", ffn]] as const) {
      if (v!.no_op === true || v!.replace_with_linear === true) fail(`block_configs[${i}].${part} is a no-op/linear replacement, which is not supported`);
    }
    const group = attn!.n_heads_in_group;
    if (typeof group !== "number" || !Number.isSafeInteger(group) || group < 1 || numHeads % group !== 0) {
      fail(`block_configs[${i}].attention.n_heads_in_group must be a positive divisor of num_attention_heads ${numHeads}, got ${JSON.stringify(group)}`);
    }
    const mult = ffn!.ffn_mult;
    if (typeof mult !== "number" || !(mult > 0)) fail(`block_configs[${i}].ffn.ffn_mult must be a positive number, got ${JSON.stringify(mult)}`);
    const size = Math.trunc((2 * (mult as number) * hidden) / 3);
    out.intermediateSize.push(Math.ceil(size / 256) * 256);
    out.numHeads.push(numHeads);
    out.numKvHeads.push(numHeads / (group as number));
  });
  return out;
}

/**
 * LlamaConfig -> HF config.json object (v4 style, readable by transformers for uniform models); non-uniform
 * models get `nas_per_layer` and an explicit `head_dim`. Inverse of parseHfConfig.
 *
 * @example
 * writeFileSync("out/config.json", JSON.stringify({ ...llamaConfigToHf(cfg), torch_dtype: "float32" }, null, 2));
 */
export function llamaConfigToHf(config: LlamaConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {
    architectures: [LLAMA_ARCH],
    model_type: "llama",
    hidden_size: config.hiddenSize,
    intermediate_size: config.intermediateSize,
    num_hidden_layers: config.numLayers,
    num_attention_heads: config.numHeads,
    num_key_value_heads: config.numKvHeads,
    head_dim: config.headDim,
    vocab_size: config.vocabSize,
    max_position_embeddings: config.maxPositions,
    rms_norm_eps: config.rmsNormEps,
    rope_theta: config.rope.theta,
    rope_scaling: config.rope.scaling
      ? {
          rope_type: "llama3",
          factor: config.rope.scaling.factor,
          low_freq_factor: config.rope.scaling.lowFreqFactor,
          high_freq_factor: config.rope.scaling.highFreqFactor,
          original_max_position_embeddings: config.rope.scaling.originalMaxPositions,
        }
      : null,
    hidden_act: "silu",
    attention_bias: false,
    mlp_bias: false,
    tie_word_embeddings: config.tieWordEmbeddings,
    bos_token_id: config.bosTokenId,
    eos_token_id: config.eosTokenId,
  };
  if (config.perLayer) {
    out.nas_per_layer = {
      intermediate_size: config.perLayer.intermediateSize,
      num_attention_heads: config.perLayer.numHeads,
      num_key_value_heads: config.perLayer.numKvHeads,
    };
  }
  return out;
}
