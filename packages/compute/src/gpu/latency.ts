/**
 * Measured cost objectives of a sub-network on the current device: prefill latency at T tokens and greedy
 * decode ms/token (warm-up, repeats, median), plus the device bytes the sub-network needs (its f32 weights,
 * its KV cache at T + decode tokens, and its activations at T rows).
 *
 * Wall-clock around submit + readback: on lavapipe the device is the CPU, so this is what a user waits for;
 * the small constant submit overhead is included in every candidate alike.
 */
import { queryHeadsFor, type SubNetwork } from "@nas/model";
import type { GpuModel } from "./model.ts";

export interface LatencyOptions {
  /** Prompt length for prefill and the decode context. Default 128. */
  T?: number;
  /** Decode tokens timed after the prompt. Default 16. */
  decodeTokens?: number;
  /** Timed repeats after one warm-up; the median is reported. Default 3. */
  repeats?: number;
}
const defaults = { T: 128, decodeTokens: 16, repeats: 3 } satisfies Required<LatencyOptions>;

export interface Latency {
  prefillMs: number;
  prefillTokPerS: number;
  decodeMsPerToken: number;
  deviceBytes: number;
  T: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function measureLatency(model: GpuModel, subnet: SubNetwork, options: LatencyOptions = {}): Promise<Latency> {
  const o = { ...defaults, ...options };
  const c = model.config;
  const T = Math.min(o.T, c.maxPositions - o.decodeTokens - 1);
  const ids = Array.from({ length: T }, (_, t) => (t === 0 ? c.bosTokenId : 3 + ((t * 31) % (c.vocabSize - 3))));
  const prefill: number[] = [];
  const decode: number[] = [];
  for (let i = 0; i <= o.repeats; i++) {
    let t0 = performance.now();
    // The prompt pass as generation runs it: every row's keys and values, the last kept layer's queries, attention
    // and MLP on the last row only (what a runtime needs for the first new token).
    await model.forward([ids], subnet, { lastLogits: true });
    const p = performance.now() - t0;
    t0 = performance.now();
    // Generation = the same prefill + decodeTokens steps in one submission; the difference is the decode time.
    await model.generate(ids, subnet, o.decodeTokens + 1, false);
    const g = performance.now() - t0;
    if (i === 0) continue; // warm-up: pipeline compilation, buffer growth
    prefill.push(p);
    decode.push(Math.max(0, g - p) / o.decodeTokens);
  }
  const prefillMs = median(prefill);
  return { prefillMs, prefillTokPerS: (T * 1000) / prefillMs, decodeMsPerToken: median(decode), deviceBytes: subnetDeviceBytes(model, subnet, T + o.decodeTokens), T };
}

/** Device bytes of the weights a sub-network reads, its KV cache at `tokens`, and its widest activations. */
export function subnetDeviceBytes(model: GpuModel, subnet: SubNetwork, tokens: number): number {
  const c = model.config;
  const D = c.hiddenSize, hd = c.headDim;
  let f32Values = 2 * c.vocabSize * D + D; // embedding + lm head (counted once if tied) + final norm
  if (c.tieWordEmbeddings) f32Values -= c.vocabSize * D;
  let linear = 0; // layer matrices, stored at model.weights.layerBytesPerValue (f32, bf16/f16 or Q8_0)
  let kv = 0;
  let widest = D;
  for (let l = 0; l < c.numLayers; l++) {
    if (!subnet.layers[l]) continue;
    const q = queryHeadsFor(c, l, subnet.kvHeads[l]) * hd, k = subnet.kvHeads[l] * hd, ff = subnet.mlp[l];
    f32Values += 2 * D; // the two norms
    linear += D * q + 2 * D * k + q * D + 3 * D * ff;
    kv += 2 * tokens * k;
    widest = Math.max(widest, q, ff);
  }
  // x, h; q, k, v, attention out and the hidden activation, plus gate and up where they are not one GLU matmul.
  const activations = tokens * (2 * D + (model.fusedMlp ? 5 : 7) * widest) + tokens * c.vocabSize;
  return 4 * (f32Values + kv + activations) + model.weights.layerBytesPerValue * linear;
}
