import type { LlamaConfig, SubNetwork, SubNetworkSpec } from "./types.ts";

/** Thrown for a sub-network that does not fit the model; the message names the offending field. */
export class SubNetworkError extends Error {
  override name = "SubNetworkError";
}

/**
 * Validate a (partial) sub-network against a config and return the full value.
 * Semantics (../shared/README.md): `layers[i] === false` skips layer i; `mlp[i] = k` keeps intermediate
 * channels [0, k); `kvHeads[i] = g` keeps KV heads [0, g) and query heads [0, g * numHeads / numKvHeads).
 * A missing key means "full" for that dimension.
 *
 * @example
 * normalizeSubnet(cfg, { mlp: [172, 128, 96, 64, 172] }) // -> { layers: [true x5], mlp: [...], kvHeads: [4 x5] }
 */
export function normalizeSubnet(config: LlamaConfig, spec: SubNetworkSpec): SubNetwork {
  const n = config.numLayers;
  if (spec !== null && spec !== undefined && (typeof spec !== "object" || Array.isArray(spec))) {
    throw new SubNetworkError(`sub-network must be an object {layers, mlp, kvHeads} or null, got ${JSON.stringify(spec)}`);
  }
  const s = spec ?? {};
  for (const key of Object.keys(s)) {
    if (key !== "layers" && key !== "mlp" && key !== "kvHeads") {
      throw new SubNetworkError(`sub-network has unknown key "${key}" (expected layers, mlp, kvHeads)`);
    }
  }
  const fullMlp = (i: number) => config.perLayer?.intermediateSize[i] ?? config.intermediateSize;
  const fullKv = (i: number) => config.perLayer?.numKvHeads[i] ?? config.numKvHeads;
  const layers = checkArray("layers", s.layers, n, (v, i) => {
    if (typeof v !== "boolean") throw new SubNetworkError(`sub-network layers[${i}] must be a boolean, got ${JSON.stringify(v)}`);
    return v;
  }) ?? new Array<boolean>(n).fill(true);
  const mlp = checkArray("mlp", s.mlp, n, (v, i) => checkInt("mlp", v, i, fullMlp(i))) ?? Array.from({ length: n }, (_, i) => fullMlp(i));
  const kvHeads = checkArray("kvHeads", s.kvHeads, n, (v, i) => checkInt("kvHeads", v, i, fullKv(i))) ?? Array.from({ length: n }, (_, i) => fullKv(i));
  if (!layers.some(Boolean)) throw new SubNetworkError("sub-network skips every layer; at least one layer must be kept");
  return { layers, mlp, kvHeads };
}

function checkArray<T>(name: string, value: unknown, n: number, check: (v: unknown, i: number) => T): T[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw new SubNetworkError(`sub-network ${name} must be an array of length ${n}, got ${JSON.stringify(value)}`);
  if (value.length !== n) throw new SubNetworkError(`sub-network ${name} has length ${value.length}, the model has ${n} layers`);
  return value.map(check);
}

function checkInt(name: string, v: unknown, i: number, full: number): number {
  if (typeof v !== "number" || !Number.isInteger(v)) {
    throw new SubNetworkError(`sub-network ${name}[${i}] must be an integer, got ${JSON.stringify(v)}`);
  }
  if (v < 1 || v > full) throw new SubNetworkError(`sub-network ${name}[${i}] = ${v} is out of range [1, ${full}]`);
  return v;
}

/** Canonical string key of a full sub-network (stable across processes; used for dedup and caches). */
export function subnetKey(s: SubNetwork): string {
  return `L${s.layers.map((b) => (b ? 1 : 0)).join("")}|M${s.mlp.join(",")}|K${s.kvHeads.join(",")}`;
}

/** Number of query heads kept for `g` KV heads (GQA groups are kept whole). */
export function queryHeadsFor(config: LlamaConfig, layer: number, g: number): number {
  const heads = config.perLayer?.numHeads[layer] ?? config.numHeads;
  const kv = config.perLayer?.numKvHeads[layer] ?? config.numKvHeads;
  return (g * heads) / kv;
}
