import type { LlamaConfig } from "@nas/model";

/**
 * Inverse RoPE frequencies as Hugging Face computes them (f32 arithmetic), including the "llama3"
 * rope_scaling that stretches low frequencies. Length headDim / 2.
 *
 * @example
 * ropeInvFreq({ theta: 10000 }, 8) // Float32Array [1, 0.1, 0.01, 0.001]
 */
export function ropeInvFreq(rope: LlamaConfig["rope"], headDim: number): Float32Array {
  const f = Math.fround;
  const half = headDim / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) inv[i] = f(1 / f(Math.pow(rope.theta, f(f(2 * i) / headDim))));
  const s = rope.scaling;
  if (s) {
    const lowWavelen = s.originalMaxPositions / s.lowFreqFactor;
    const highWavelen = s.originalMaxPositions / s.highFreqFactor;
    for (let i = 0; i < half; i++) {
      const wavelen = (2 * Math.PI) / inv[i];
      let v = wavelen > lowWavelen ? inv[i] / s.factor : inv[i];
      const medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen);
      if (medium) {
        const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        v = (1 - smooth) * (v / s.factor) + smooth * v;
      }
      inv[i] = f(v);
    }
  }
  return inv;
}

/** cos/sin tables [positions, headDim/2] with angle = f32(pos * invFreq[d]), as HF's f32 rotary embedding. */
export function ropeTables(invFreq: Float32Array, positions: number): { cos: Float32Array; sin: Float32Array } {
  const half = invFreq.length;
  const cos = new Float32Array(positions * half);
  const sin = new Float32Array(positions * half);
  for (let p = 0; p < positions; p++) {
    for (let d = 0; d < half; d++) {
      const angle = Math.fround(p * invFreq[d]);
      cos[p * half + d] = Math.cos(angle);
      sin[p * half + d] = Math.sin(angle);
    }
  }
  return { cos, sin };
}
