/**
 * Cost objectives of a sub-network: active parameter count, analytic MACs per token at a context length, and
 * (through a LatencyProbe that the engine supplies) measured prefill / decode latency and device memory.
 *
 * MAC formula, per kept layer i with q_i query heads, g_i KV heads, head_dim h, hidden D, MLP width k_i, for one
 * token that attends over T positions (itself included):
 *   q/k/v/o projections  D*(q_i*h) + 2*D*(g_i*h) + (q_i*h)*D
 *   attention            2 * q_i * h * T          (scores q.k and the weighted sum of v)
 *   SwiGLU MLP           3 * D * k_i              (gate, up, down)
 * plus the LM head V*D once per token. Skipped layers cost nothing. Norms, RoPE, softmax, SiLU and residual adds
 * are not multiply-accumulates of weights and are left out (they are O(D) per token).
 */
import { normalizeSubnet, queryHeadsFor, type LlamaConfig, type SubNetwork, type SubNetworkSpec } from "@nas/model";

/** Parameter counts of a sub-network (weights it reads). */
export interface ParamCount {
  /** everything: embedding, kept layers, final norm, LM head (once when tied) */
  total: number;
  /** embedding table (and the untied LM head) */
  embedding: number;
  /** total minus embedding */
  nonEmbedding: number;
}

/**
 * Active parameters of a sub-network.
 *
 * @example
 * countParams(stories260kConfig, null).total // 260032
 */
export function countParams(config: LlamaConfig, subnet: SubNetwork | SubNetworkSpec): ParamCount {
  const s = normalizeSubnet(config, subnet);
  const D = config.hiddenSize;
  const h = config.headDim;
  let layers = 0;
  s.layers.forEach((kept, i) => {
    if (!kept) return;
    const q = queryHeadsFor(config, i, s.kvHeads[i]) * h;
    const kv = s.kvHeads[i] * h;
    layers += 2 * D; // input and post-attention RMSNorm weights
    layers += D * q + 2 * D * kv + q * D;
    layers += 3 * D * s.mlp[i];
  });
  const embedding = config.vocabSize * D * (config.tieWordEmbeddings ? 1 : 2);
  const total = embedding + layers + D;
  return { total, embedding, nonEmbedding: total - embedding };
}

/** MACs of one token, by part. */
export interface MacCount {
  projections: number;
  attention: number;
  mlp: number;
  lmHead: number;
  total: number;
}

/**
 * Analytic MACs to process one token that attends over `T` positions (see the file comment).
 *
 * @example
 * macsPerToken(stories260kConfig, null, 256).total // 423168
 */
export function macsPerToken(config: LlamaConfig, subnet: SubNetwork | SubNetworkSpec, T: number): MacCount {
  if (!Number.isInteger(T) || T < 1) throw new RangeError(`context length T must be a positive integer, got ${T}`);
  const s = normalizeSubnet(config, subnet);
  const D = config.hiddenSize;
  const h = config.headDim;
  const out = { projections: 0, attention: 0, mlp: 0, lmHead: config.vocabSize * D, total: 0 };
  s.layers.forEach((kept, i) => {
    if (!kept) return;
    const qHeads = queryHeadsFor(config, i, s.kvHeads[i]);
    out.projections += 2 * D * qHeads * h + 2 * D * s.kvHeads[i] * h;
    out.attention += 2 * qHeads * h * T;
    out.mlp += 3 * D * s.mlp[i];
  });
  out.total = out.projections + out.attention + out.mlp + out.lmHead;
  return out;
}

/** MACs of a whole T-token prefill: the sum of macsPerToken over t = 1..T (with the LM head at every position). */
export function prefillMacs(config: LlamaConfig, subnet: SubNetwork | SubNetworkSpec, T: number): number {
  const one = macsPerToken(config, subnet, 1);
  const perPositionAttention = one.attention; // attention MACs grow linearly in the attended positions
  return T * (one.projections + one.mlp + one.lmHead) + (perPositionAttention * T * (T + 1)) / 2;
}

/** Latency measured by an engine (EngineModel.latency fits). */
export interface MeasuredLatency {
  prefillMs: number;
  decodeMsPerToken: number;
  /** device bytes the sub-network needs (weights it reads, KV cache, activations) */
  deviceBytes: number;
}

/** Supplied by the engine owner: measures a sub-network on the current device (warm-up, repeats, median). */
export interface LatencyProbe {
  latency(subnet: SubNetwork, options: { T?: number; decodeTokens?: number; repeats?: number }): Promise<MeasuredLatency>;
}

/** All cost objectives of one sub-network. Latency fields are present only when a probe was given. */
export interface CostObjectives {
  params: number;
  nonEmbeddingParams: number;
  macsPerToken: number;
  T: number;
  prefillMs?: number;
  decodeMsPerToken?: number;
  peakBytes?: number;
}

/**
 * Cost objectives at context length T (default 128).
 *
 * @example
 * const cost = await costObjectives(model.config, subnet, { T: 128, probe: engineModel });
 */
export async function costObjectives(
  config: LlamaConfig,
  subnet: SubNetwork | SubNetworkSpec,
  options: { T?: number; probe?: LatencyProbe; decodeTokens?: number; repeats?: number } = {},
): Promise<CostObjectives> {
  const T = options.T ?? 128;
  const s = normalizeSubnet(config, subnet);
  const p = countParams(config, s);
  const out: CostObjectives = { params: p.total, nonEmbeddingParams: p.nonEmbedding, macsPerToken: macsPerToken(config, s, T).total, T };
  if (options.probe) {
    // only defined keys: an explicit `undefined` would override the engine's defaults
    const probeOptions: { T: number; decodeTokens?: number; repeats?: number } = { T };
    if (options.decodeTokens !== undefined) probeOptions.decodeTokens = options.decodeTokens;
    if (options.repeats !== undefined) probeOptions.repeats = options.repeats;
    const m = await options.probe.latency(s, probeOptions);
    out.prefillMs = m.prefillMs;
    out.decodeMsPerToken = m.decodeMsPerToken;
    out.peakBytes = m.deviceBytes;
  }
  return out;
}
