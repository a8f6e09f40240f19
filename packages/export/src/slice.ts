/**
 * Cut a sub-network out of a loaded model as a standalone tensor set: kept layers only (renumbered from 0),
 * per layer the kept MLP channels and KV-head groups (with their query heads), in HF naming and layout.
 * An optional importance permutation reorders channels / head groups first, so "keep the first k" keeps
 * the k most important ones (the semantics the search used).
 */
import { normalizeSubnet, type ImportancePermutation, type LlamaConfig, type SubNetwork, type SubNetworkSpec, type Tensor } from "@nas/model";
import { ExportError } from "./atomic.ts";
import { gatherCols, gatherRows, headRows, renamed } from "./tensor-ops.ts";

/** A model as loaded by `loadModel` (HF names and layout). */
export interface ModelTensors {
  config: LlamaConfig;
  tensors: Map<string, Tensor>;
}

/**
 * Importance order of each layer's MLP channels and KV-head groups: @nas/model's ImportancePermutation
 * (`mlp[i][c]` is the OLD index of the channel that becomes channel c; `kvHeads[i][g]` likewise for KV-head
 * groups, a group being one KV head and the query heads that share it). A missing key means identity;
 * `layerScores` is informational (layers are skipped, never reordered).
 */
export type ExportPermutation = Partial<ImportancePermutation>;

const LAYER_TENSORS = [
  "input_layernorm.weight",
  "post_attention_layernorm.weight",
  "self_attn.q_proj.weight",
  "self_attn.k_proj.weight",
  "self_attn.v_proj.weight",
  "self_attn.o_proj.weight",
  "mlp.gate_proj.weight",
  "mlp.up_proj.weight",
  "mlp.down_proj.weight",
] as const;

/** Per-layer sizes of a config (uniform configs repeat their scalars). */
export function layerSizes(config: LlamaConfig, i: number): { mlp: number; heads: number; kvHeads: number } {
  return {
    mlp: config.perLayer?.intermediateSize[i] ?? config.intermediateSize,
    heads: config.perLayer?.numHeads[i] ?? config.numHeads,
    kvHeads: config.perLayer?.numKvHeads[i] ?? config.numKvHeads,
  };
}

function getTensor(model: ModelTensors, name: string): Tensor {
  const t = model.tensors.get(name);
  if (!t) throw new ExportError(`model is missing tensor "${name}"`);
  return t;
}

function checkKnownTensors(model: ModelTensors): void {
  const n = model.config.numLayers;
  for (const name of model.tensors.keys()) {
    const m = /^model\.layers\.(\d+)\.(.+)$/.exec(name);
    if (m) {
      if (Number(m[1]) >= n) throw new ExportError(`tensor "${name}" belongs to layer ${m[1]}, but the model has ${n} layers`);
      if (!(LAYER_TENSORS as readonly string[]).includes(m[2])) {
        throw new ExportError(`tensor "${name}" is not part of a LLaMA decoder layer this exporter knows (${LAYER_TENSORS.join(", ")})`);
      }
    } else if (!["model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"].includes(name)) {
      throw new ExportError(`tensor "${name}" is not a LLaMA tensor this exporter knows; refusing to drop it silently`);
    }
  }
}

function checkPermutation(what: string, p: unknown, size: number): number[] {
  if (!Array.isArray(p) || p.length !== size) {
    throw new ExportError(`permutation ${what} must be an array of length ${size}, got ${Array.isArray(p) ? `length ${p.length}` : JSON.stringify(p)}`);
  }
  const seen = new Uint8Array(size);
  for (const v of p) {
    if (!Number.isInteger(v) || v < 0 || v >= size || seen[v]) {
      throw new ExportError(`permutation ${what} is not a permutation of [0, ${size}): bad or repeated entry ${JSON.stringify(v)}`);
    }
    seen[v] = 1;
  }
  return p as number[];
}

/**
 * Validate an importance permutation against a config; returns per-layer index arrays (identity where
 * the permutation says nothing).
 */
export function resolvePermutation(config: LlamaConfig, perm: ExportPermutation | undefined): { mlp: number[][]; kvHeads: number[][] } {
  const n = config.numLayers;
  const iota = (k: number) => Array.from({ length: k }, (_, i) => i);
  for (const key of ["mlp", "kvHeads"] as const) {
    const v = perm?.[key];
    if (v !== undefined && (!Array.isArray(v) || v.length !== n)) {
      throw new ExportError(`permutation ${key} must have one entry per layer (${n}), got ${Array.isArray(v) ? v.length : JSON.stringify(v)}`);
    }
  }
  return {
    mlp: iota(n).map((i) => (perm?.mlp ? checkPermutation(`mlp[${i}]`, perm.mlp[i], layerSizes(config, i).mlp) : iota(layerSizes(config, i).mlp))),
    kvHeads: iota(n).map((i) =>
      perm?.kvHeads ? checkPermutation(`kvHeads[${i}]`, perm.kvHeads[i], layerSizes(config, i).kvHeads) : iota(layerSizes(config, i).kvHeads),
    ),
  };
}

/** The tensors of one layer after keeping `channels` (MLP) and KV groups `groups`, named for layer `to`. */
function sliceLayer(model: ModelTensors, from: number, to: number, channels: number[], groups: number[]): Tensor[] {
  const { config } = model;
  const { heads, kvHeads } = layerSizes(config, from);
  if (heads % kvHeads !== 0) throw new ExportError(`layer ${from}: ${heads} query heads are not a multiple of ${kvHeads} KV heads`);
  const ratio = heads / kvHeads;
  // Query heads follow their KV group: HF's repeat_kv maps query head h to KV head floor(h / ratio).
  const qHeads = groups.flatMap((g) => Array.from({ length: ratio }, (_, j) => g * ratio + j));
  const qRows = headRows(qHeads, config.headDim);
  const kvRows = headRows(groups, config.headDim);
  const src = (s: string) => getTensor(model, `model.layers.${from}.${s}`);
  const dst = (s: string) => `model.layers.${to}.${s}`;
  return [
    renamed(src("input_layernorm.weight"), dst("input_layernorm.weight")),
    gatherRows(src("self_attn.q_proj.weight"), qRows, dst("self_attn.q_proj.weight")),
    gatherRows(src("self_attn.k_proj.weight"), kvRows, dst("self_attn.k_proj.weight")),
    gatherRows(src("self_attn.v_proj.weight"), kvRows, dst("self_attn.v_proj.weight")),
    gatherCols(src("self_attn.o_proj.weight"), qRows, dst("self_attn.o_proj.weight")),
    renamed(src("post_attention_layernorm.weight"), dst("post_attention_layernorm.weight")),
    gatherRows(src("mlp.gate_proj.weight"), channels, dst("mlp.gate_proj.weight")),
    gatherRows(src("mlp.up_proj.weight"), channels, dst("mlp.up_proj.weight")),
    gatherCols(src("mlp.down_proj.weight"), channels, dst("mlp.down_proj.weight")),
  ];
}

/** Config of the standalone model: kept layers only; `perLayer` only when the kept layers differ. */
export function slicedConfig(config: LlamaConfig, subnet: SubNetwork): LlamaConfig {
  const kept = subnet.layers.flatMap((keep, i) => (keep ? [i] : []));
  const mlp = kept.map((i) => subnet.mlp[i]);
  const kv = kept.map((i) => subnet.kvHeads[i]);
  const heads = kept.map((i) => (subnet.kvHeads[i] * layerSizes(config, i).heads) / layerSizes(config, i).kvHeads);
  const uniform = [mlp, kv, heads].every((a) => a.every((v) => v === a[0]));
  const { perLayer: _drop, ...rest } = config;
  const out: LlamaConfig = {
    ...rest,
    numLayers: kept.length,
    intermediateSize: Math.max(...mlp),
    numHeads: Math.max(...heads),
    numKvHeads: Math.max(...kv),
  };
  if (!uniform) out.perLayer = { intermediateSize: mlp, numHeads: heads, numKvHeads: kv };
  return out;
}

/** True when every kept layer has the same MLP width, query heads and KV heads. */
export function isUniform(config: LlamaConfig): boolean {
  return config.perLayer === undefined;
}

/**
 * Apply an importance permutation (if any) and keep the sub-network: the result is a standalone model
 * whose plain forward pass equals the super-network's forward pass under `spec`.
 * Tensors that do not change (norms, embeddings, fully kept matrices) are shared, not copied.
 *
 * @example
 * const small = sliceModel(model, { layers: [true, true, true, false, true] });
 * small.config.numLayers; // 4
 */
export function sliceModel(model: ModelTensors, spec: SubNetworkSpec | SubNetwork, permutation?: ExportPermutation): ModelTensors {
  checkKnownTensors(model);
  let subnet: SubNetwork;
  try {
    subnet = normalizeSubnet(model.config, spec);
  } catch (err) {
    throw new ExportError((err as Error).message);
  }
  const perm = resolvePermutation(model.config, permutation);
  const config = slicedConfig(model.config, subnet);
  const tensors = new Map<string, Tensor>();
  const put = (t: Tensor) => tensors.set(t.name, t);
  put(getTensor(model, "model.embed_tokens.weight"));
  let to = 0;
  subnet.layers.forEach((keep, from) => {
    if (!keep) return;
    const channels = perm.mlp[from].slice(0, subnet.mlp[from]);
    const groups = perm.kvHeads[from].slice(0, subnet.kvHeads[from]);
    for (const t of sliceLayer(model, from, to, channels, groups)) put(t);
    to++;
  });
  put(getTensor(model, "model.norm.weight"));
  if (!model.config.tieWordEmbeddings) put(getTensor(model, "lm_head.weight"));
  return { config, tensors };
}

/**
 * Apply an importance permutation to the full model without slicing (same function, reordered weights).
 *
 * @example
 * const p = permuteModel(model, { mlp: [[2, 0, 1, ...], ...], kvHeads: [[1, 0, 3, 2], ...] });
 */
export function permuteModel(model: ModelTensors, permutation: ExportPermutation): ModelTensors {
  const sliced = sliceModel(model, null, permutation);
  return { config: model.config, tensors: sliced.tensors };
}
