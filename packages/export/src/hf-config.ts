/**
 * config.json for an exported HF model.
 * - Uniform sub-network: a plain `LlamaForCausalLM` config (explicit `head_dim`, since after head slicing
 *   hidden_size / num_attention_heads no longer equals it) that Hugging Face transformers loads as is.
 * - Non-uniform: the same fields (scalars hold the largest layer's sizes) plus `nas_per_layer`:
 *   `{ intermediate_size: number[], num_attention_heads: number[], num_key_value_heads: number[] }`, one
 *   entry per (kept, renumbered) layer, which this project's loader reads (packages/model/src/config.ts). When every layer keeps all its
 *   query heads and every MLP width is a multiple of 256, the file is also written in DeciLM form
 *   (`architectures: ["DeciLMForCausalLM"]`, `model_type: "nemotron-nas"`, `block_configs`) so vLLM and
 *   llama.cpp's HF converter read it.
 */
import { llamaConfigToHf, type DType, type LlamaConfig, type Tensor } from "@nas/model";

const TORCH_DTYPE: Record<DType, string> = { F32: "float32", F16: "float16", BF16: "bfloat16", Q8_0: "int8" };

/** The dtype most of the weight bytes are stored in (HF's `torch_dtype`). */
export function dominantDtype(tensors: Iterable<Tensor>): DType {
  const bytes = new Map<DType, number>();
  for (const t of tensors) bytes.set(t.dtype, (bytes.get(t.dtype) ?? 0) + t.data.length);
  return [...bytes].sort((a, b) => b[1] - a[1])[0]?.[0] ?? "F32";
}

/** DeciLM's ffn_mult -> intermediate size rule (round 2/3 * mult * hidden up to a multiple of 256). */
export function deciIntermediateSize(ffnMult: number, hiddenSize: number): number {
  const size = Math.trunc((2 * ffnMult * hiddenSize) / 3);
  return Math.ceil(size / 256) * 256;
}

/**
 * DeciLM `block_configs` for a config, or undefined when some layer cannot be expressed (DeciLM keeps
 * all query heads in every layer and derives MLP widths from ffn_mult in steps of 256).
 */
export function deciBlockConfigs(config: LlamaConfig): object[] | undefined {
  const p = config.perLayer;
  const heads = p?.numHeads ?? new Array<number>(config.numLayers).fill(config.numHeads);
  const kv = p?.numKvHeads ?? new Array<number>(config.numLayers).fill(config.numKvHeads);
  const ff = p?.intermediateSize ?? new Array<number>(config.numLayers).fill(config.intermediateSize);
  const fullHeads = Math.max(...heads);
  const blocks: object[] = [];
  for (let i = 0; i < config.numLayers; i++) {
    if (heads[i] !== fullHeads || fullHeads % kv[i] !== 0) return undefined;
    const ffnMult = (ff[i] * 3) / (2 * config.hiddenSize);
    if (deciIntermediateSize(ffnMult, config.hiddenSize) !== ff[i]) return undefined;
    blocks.push({
      attention: { n_heads_in_group: fullHeads / kv[i], no_op: false, replace_with_linear: false },
      ffn: { ffn_mult: ffnMult, no_op: false, replace_with_linear: false },
    });
  }
  return blocks;
}

/**
 * Build config.json (as an object) for a standalone model.
 *
 * @example
 * JSON.stringify(hfConfigJson(small.config, "F32"), null, 2)
 */
export function hfConfigJson(config: LlamaConfig, dtype: DType): Record<string, unknown> {
  const json: Record<string, unknown> = { ...llamaConfigToHf(config), torch_dtype: TORCH_DTYPE[dtype] };
  if (json.rope_scaling === null) delete json.rope_scaling;
  const blocks = config.perLayer ? deciBlockConfigs(config) : undefined;
  if (blocks) {
    json.architectures = ["DeciLMForCausalLM"];
    json.model_type = "nemotron-nas";
    json.block_configs = blocks;
  }
  return json;
}
