/**
 * float64 building blocks of the CPU reference forward pass (./reference.ts). Activations are row-major
 * [tokens, width] Float64Arrays; weights are row-major [out, stride] with stride >= the used input width, so
 * a prefix of a weight's columns (a sliced sub-network) is read in place.
 */
import type { RopeConfig } from "./types.ts";

/**
 * y[t, r] = sum_{c < inDim} W[r * stride + c] * x[t, c] for r < outDim: x [n, inDim] -> y [n, outDim].
 * Uses the first `outDim` rows and first `inDim` columns of W (prefix slicing, no copy).
 */
export function linear(x: Float64Array, n: number, inDim: number, w: Float64Array, stride: number, outDim: number): Float64Array {
  const y = new Float64Array(n * outDim);
  // Rows outer, tokens inner: one weight row stays in cache while every token uses it, so the weights are
  // streamed from memory once per call rather than once per token.
  for (let r = 0; r < outDim; r++) {
    const wo = r * stride;
    for (let t = 0; t < n; t++) {
      const xo = t * inDim;
      // Four partial sums (fewer dependent adds per step); in float64 the reordering is far below 1e-12.
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      let c = 0;
      for (; c + 3 < inDim; c += 4) {
        s0 += w[wo + c] * x[xo + c];
        s1 += w[wo + c + 1] * x[xo + c + 1];
        s2 += w[wo + c + 2] * x[xo + c + 2];
        s3 += w[wo + c + 3] * x[xo + c + 3];
      }
      for (; c < inDim; c++) s0 += w[wo + c] * x[xo + c];
      y[t * outDim + r] = s0 + s1 + (s2 + s3);
    }
  }
  return y;
}

/** RMSNorm of each row: x [n, d] -> x / sqrt(mean(x^2) + eps) * weight. */
export function rmsNorm(x: Float64Array, n: number, d: number, weight: Float64Array, eps: number): Float64Array {
  const y = new Float64Array(n * d);
  for (let t = 0; t < n; t++) {
    let ss = 0;
    for (let c = 0; c < d; c++) ss += x[t * d + c] * x[t * d + c];
    const inv = 1 / Math.sqrt(ss / d + eps);
    for (let c = 0; c < d; c++) y[t * d + c] = x[t * d + c] * inv * weight[c];
  }
  return y;
}

const f = Math.fround;

/**
 * Inverse RoPE frequencies [headDim / 2] exactly as Hugging Face computes them: in float32 (the buffer is made
 * in float32 and the rotary forward casts to float32 even for a float64 model), with the "llama3" scaling's
 * float32 elementwise steps. Our reference mirrors this so it reproduces HF's float64 fixtures.
 *
 * @example
 * ropeInvFreqF32({ theta: 10000 }, 8) // [1, 0.1, 0.01, 0.001] (as float32 values)
 */
export function ropeInvFreqF32(rope: RopeConfig, headDim: number): Float64Array {
  const half = headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = f(1 / f(Math.pow(rope.theta, f(f(2 * i) / headDim))));
  const s = rope.scaling;
  if (!s) return inv;
  const factor = f(s.factor);
  const low = f(s.lowFreqFactor);
  const lowWavelen = f(s.originalMaxPositions / s.lowFreqFactor); // python float, cast to f32 when compared
  const highWavelen = f(s.originalMaxPositions / s.highFreqFactor);
  const span = f(s.highFreqFactor - s.lowFreqFactor);
  const old = f(s.originalMaxPositions);
  for (let i = 0; i < half; i++) {
    // torch evaluates `scalar / tensor` as reciprocal(tensor) * scalar, in float32.
    const wavelen = f(f(1 / inv[i]) * f(2 * Math.PI));
    const scaled = wavelen > lowWavelen ? f(inv[i] / factor) : inv[i];
    const smooth = f(f(f(f(1 / wavelen) * old) - low) / span);
    const smoothed = f(f(f(f(1 - smooth) * scaled) / factor) + f(smooth * scaled));
    const medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen);
    inv[i] = medium ? smoothed : scaled;
  }
  return inv;
}

/**
 * Rotate-half RoPE in place on x [n, heads * headDim] for positions start..start+n-1:
 * (a, b) = (x[i], x[i + half]) -> (a cos - b sin, b cos + a sin), with cos/sin tables as HF makes them
 * (angle = f32(pos * invFreq), cos/sin rounded to float32).
 */
export function applyRope(x: Float64Array, n: number, heads: number, headDim: number, start: number, invFreq: Float64Array): void {
  const half = headDim / 2;
  const cos = new Float64Array(half);
  const sin = new Float64Array(half);
  const width = heads * headDim;
  for (let t = 0; t < n; t++) {
    for (let i = 0; i < half; i++) {
      const angle = f((start + t) * invFreq[i]);
      cos[i] = f(Math.cos(angle));
      sin[i] = f(Math.sin(angle));
    }
    for (let h = 0; h < heads; h++) {
      const o = t * width + h * headDim;
      for (let i = 0; i < half; i++) {
        const a = x[o + i];
        const b = x[o + i + half];
        x[o + i] = a * cos[i] - b * sin[i];
        x[o + i + half] = b * cos[i] + a * sin[i];
      }
    }
  }
}

/** SiLU(gate) * up, elementwise. */
export function swiglu(gate: Float64Array, up: Float64Array): Float64Array {
  const y = new Float64Array(gate.length);
  for (let i = 0; i < gate.length; i++) y[i] = (gate[i] / (1 + Math.exp(-gate[i]))) * up[i];
  return y;
}

/** x += y, elementwise. */
export function addInPlace(x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < x.length; i++) x[i] += y[i];
}

/** Natural-log softmax of a row. */
export function logSoftmax(row: Float64Array): Float64Array {
  let max = -Infinity;
  for (const v of row) if (v > max) max = v;
  let sum = 0;
  for (const v of row) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  return row.map((v) => v - lse);
}

/** Index of the first maximum (torch.argmax's tie rule). */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}
