/**
 * Importance permutations of a super-network's weights. Prefix slicing (./subnet.ts) keeps MLP channels
 * [0, k) and KV-head groups [0, g); reordering the stored weights so the most important channels and
 * groups come first makes those prefixes keep the most important parts, without changing the full model's
 * function (a permutation of hidden units of a two-layer block is an exact symmetry).
 *
 * Convention (shared with @nas/export's sliceModel): `mlp[i][c]` is the OLD index of the channel that
 * becomes channel c of layer i; `kvHeads[i][g]` likewise for KV-head groups (one KV head plus the query
 * heads that share it under GQA). RoPE acts within a head, so moving whole heads is exact.
 */
import { byteSize } from "./dtypes.ts";
import type { LlamaConfig, Tensor } from "./types.ts";

/**
 * Per-layer reorderings as plain JSON (stored with a search). `layerScores` (higher = more important) is
 * informational: layers are skipped, never reordered, so it does not change any weight.
 */
export interface ImportancePermutation {
  mlp: number[][];
  kvHeads: number[][];
  layerScores?: number[];
}

/** Thrown for a permutation that does not fit the model; the message names the field and entry. */
export class PermutationError extends Error {
  override name = "PermutationError";
}

function sizes(config: LlamaConfig, i: number): { mlp: number; heads: number; kvHeads: number } {
  return {
    mlp: config.perLayer?.intermediateSize[i] ?? config.intermediateSize,
    heads: config.perLayer?.numHeads[i] ?? config.numHeads,
    kvHeads: config.perLayer?.numKvHeads[i] ?? config.numKvHeads,
  };
}

function checkOne(what: string, p: unknown, size: number): number[] {
  if (!Array.isArray(p)) throw new PermutationError(`permutation ${what} must be an array of length ${size}, got ${JSON.stringify(p)}`);
  if (p.length !== size) throw new PermutationError(`permutation ${what} has length ${p.length}, the model has ${size}`);
  const seen = new Uint8Array(size);
  p.forEach((v, j) => {
    if (!Number.isInteger(v) || v < 0 || v >= size) {
      throw new PermutationError(`permutation ${what}[${j}] = ${JSON.stringify(v)} is not an integer in [0, ${size})`);
    }
    if (seen[v]) throw new PermutationError(`permutation ${what} repeats ${v} (at position ${j}); it must be a permutation of [0, ${size})`);
    seen[v] = 1;
  });
  return p.slice();
}

/**
 * Check that `value` is an {@link ImportancePermutation} for `config` and return a clean copy.
 * Throws PermutationError naming the first bad field (wrong layer count, size, repeated or out-of-range entry).
 *
 * @example
 * validatePermutation(cfg, JSON.parse(stored)) // -> { mlp: [[...172 ids], ...], kvHeads: [[1, 0, 3, 2], ...] }
 */
export function validatePermutation(config: LlamaConfig, value: unknown): ImportancePermutation {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new PermutationError(`permutation must be an object {mlp, kvHeads, layerScores?}, got ${JSON.stringify(value)}`);
  }
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v)) {
    if (key !== "mlp" && key !== "kvHeads" && key !== "layerScores") {
      throw new PermutationError(`permutation has unknown key "${key}" (expected mlp, kvHeads, layerScores)`);
    }
  }
  const n = config.numLayers;
  const perLayer = (key: "mlp" | "kvHeads"): unknown[] => {
    const a = v[key];
    if (!Array.isArray(a)) throw new PermutationError(`permutation ${key} must be an array with one entry per layer (${n}), got ${JSON.stringify(a)}`);
    if (a.length !== n) throw new PermutationError(`permutation ${key} has ${a.length} entries, the model has ${n} layers`);
    return a;
  };
  const mlp = perLayer("mlp").map((p, i) => checkOne(`mlp[${i}]`, p, sizes(config, i).mlp));
  const kvHeads = perLayer("kvHeads").map((p, i) => {
    const s = sizes(config, i);
    if (s.heads % s.kvHeads !== 0) throw new PermutationError(`layer ${i}: ${s.heads} query heads are not a multiple of ${s.kvHeads} KV heads`);
    return checkOne(`kvHeads[${i}]`, p, s.kvHeads);
  });
  const out: ImportancePermutation = { mlp, kvHeads };
  if (v.layerScores !== undefined) {
    const s = v.layerScores;
    if (!Array.isArray(s) || s.length !== n || !s.every((x) => typeof x === "number" && Number.isFinite(x))) {
      throw new PermutationError(`permutation layerScores must be ${n} finite numbers, got ${JSON.stringify(s)}`);
    }
    out.layerScores = s.slice();
  }
  return out;
}

/**
 * The permutation that changes nothing.
 * @example
 * identityPermutation(cfg).kvHeads[0] // [0, 1, 2, 3]
 */
export function identityPermutation(config: LlamaConfig): ImportancePermutation {
  const iota = (k: number) => Array.from({ length: k }, (_, j) => j);
  return {
    mlp: Array.from({ length: config.numLayers }, (_, i) => iota(sizes(config, i).mlp)),
    kvHeads: Array.from({ length: config.numLayers }, (_, i) => iota(sizes(config, i).kvHeads)),
  };
}

const isIota = (p: readonly number[]) => p.every((v, j) => v === j);

/** Rows `rows` of a [R, C] (or 1-D) tensor, in that order; bytes move unchanged (any dtype, Q8_0 included). */
function gatherRows(t: Tensor, rows: readonly number[]): Tensor {
  const cols = t.shape.length === 2 ? t.shape[1] : 1;
  const rowBytes = byteSize(t.dtype, cols);
  const out = new Uint8Array(t.data.length);
  rows.forEach((r, j) => out.set(t.data.subarray(r * rowBytes, (r + 1) * rowBytes), j * rowBytes));
  return { ...t, data: out };
}

/** Columns `cols` of a [R, C] tensor, in that order (element-wise dtypes only: a Q8_0 block spans 32 columns). */
function gatherCols(t: Tensor, cols: readonly number[]): Tensor {
  if (t.dtype === "Q8_0") throw new PermutationError(`tensor "${t.name}" is Q8_0; permute before quantizing (a block spans 32 columns)`);
  const [R, C] = t.shape;
  const eb = byteSize(t.dtype, 1);
  const out = new Uint8Array(t.data.length);
  for (let r = 0; r < R; r++) {
    const base = r * C * eb;
    cols.forEach((c, j) => out.set(t.data.subarray(base + c * eb, base + (c + 1) * eb), base + j * eb));
  }
  return { ...t, data: out };
}

/** Row indices of whole heads: head h covers rows [h * headDim, (h + 1) * headDim). */
function headRows(heads: readonly number[], headDim: number): number[] {
  return heads.flatMap((h) => Array.from({ length: headDim }, (_, e) => h * headDim + e));
}

/**
 * Reorder the weights by `perm` (validated first). Returns a new Map; the input tensors and their bytes are
 * not modified, and tensors a permutation does not touch (norms, embeddings, identity layers) are shared.
 * The full model computes the same function; prefix slices now keep `perm.mlp[i][0..k)` etc.
 *
 * @example
 * const reordered = applyPermutation(model.config, model.tensors, perm);
 * new ReferenceModel(model.config, reordered).logits(ids) // == the original's logits (up to summation order)
 */
export function applyPermutation(config: LlamaConfig, tensors: ReadonlyMap<string, Tensor>, perm: ImportancePermutation): Map<string, Tensor> {
  const p = validatePermutation(config, perm);
  const out = new Map(tensors);
  const get = (name: string): Tensor => {
    const t = tensors.get(name);
    if (!t) throw new PermutationError(`cannot permute: missing tensor "${name}"`);
    return t;
  };
  for (let i = 0; i < config.numLayers; i++) {
    const pre = `model.layers.${i}.`;
    const put = (suffix: string, f: (t: Tensor) => Tensor) => out.set(pre + suffix, f(get(pre + suffix)));
    const channels = p.mlp[i];
    if (!isIota(channels)) {
      // gate/up: [ff, hidden], one row per channel; down: [hidden, ff], one column per channel.
      put("mlp.gate_proj.weight", (t) => gatherRows(t, channels));
      put("mlp.up_proj.weight", (t) => gatherRows(t, channels));
      put("mlp.down_proj.weight", (t) => gatherCols(t, channels));
    }
    const groups = p.kvHeads[i];
    if (!isIota(groups)) {
      const { heads, kvHeads } = sizes(config, i);
      const ratio = heads / kvHeads;
      // GQA (HF repeat_kv): query head h reads KV head floor(h / ratio), so group g = query heads [g*ratio, (g+1)*ratio).
      const qHeads = groups.flatMap((g) => Array.from({ length: ratio }, (_, j) => g * ratio + j));
      const qRows = headRows(qHeads, config.headDim);
      const kvRows = headRows(groups, config.headDim);
      put("self_attn.q_proj.weight", (t) => gatherRows(t, qRows)); // [heads * headDim, hidden]
      put("self_attn.k_proj.weight", (t) => gatherRows(t, kvRows)); // [kvHeads * headDim, hidden]
      put("self_attn.v_proj.weight", (t) => gatherRows(t, kvRows));
      put("self_attn.o_proj.weight", (t) => gatherCols(t, qRows)); // [hidden, heads * headDim]
    }
  }
  return out;
}
