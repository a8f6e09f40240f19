import { matmulCaps, matmulGroups, matmulSpec } from "./kernels.ts";
import { grid, params, type Recorder } from "./recorder.ts";
import type { Matrix } from "./weights.ts";

/** The 16-bit storage the matmul kernel converts in-kernel, if W has one. */
function w16Of(W: Matrix): "bf16" | "f16" | undefined {
  return W.format === "bf16" || W.format === "f16" ? W.format : undefined;
}

/**
 * Record C[cOff + m*ldc + n] (+)= sum_{k<K} A[aOff + m*lda + k] * W[n, k] for m < M, n < N, over W's row
 * chunks (a chunk covering rows [r, r + rows) writes columns [r, r + rows) of C). Elastic slices are just
 * N < W.rows (keep the first rows) or K < W.cols (keep the first columns, the stride stays W.cols).
 */
export function encodeLinear(rec: Recorder, A: GPUBuffer, aOff: number, lda: number, M: number, K: number, W: Matrix, N: number, C: GPUBuffer, cOff: number, ldc: number, accumulate: boolean): void {
  for (const chunk of W.chunks) {
    const n = Math.min(chunk.rows, N - chunk.rowStart);
    if (n <= 0) break;
    if (W.format === "q8_0") {
      const TM = M >= 4 ? 4 : 1;
      rec.dispatch("matmul_q8", { TM, ACCUM: accumulate }, params(M, n, K, lda, W.cols, ldc, aOff, cOff + chunk.rowStart), [A, chunk.buffer, chunk.scales!, C], grid(Math.ceil(n / 256), Math.ceil(M / TM)));
      continue;
    }
    const spec = matmulSpec({ M, N: n, ldc, cOff: cOff + chunk.rowStart, K, lda, ldw: W.cols, aOff, accumulate, w16: w16Of(W), ...matmulCaps(rec.gpu.device) });
    rec.dispatch("matmul", spec, params(M, n, K, lda, W.cols, ldc, aOff, cOff + chunk.rowStart), [A, chunk.buffer, C], matmulGroups(spec, M, n));
  }
}

/** Whether gate and up can run as one GLU matmul: same shape and row chunks, a format the matmul kernel reads. */
export function canFuseGlu(gate: Matrix, up: Matrix): boolean {
  return (
    gate.format !== "q8_0" &&
    gate.format === up.format &&
    gate.rows === up.rows &&
    gate.cols === up.cols &&
    gate.chunks.length === up.chunks.length &&
    gate.chunks.every((c, i) => c.rowStart === up.chunks[i].rowStart && c.rows === up.chunks[i].rows)
  );
}

/**
 * Record the SwiGLU hidden activation H[m, n] = silu(A W_gate^T)[m, n] * (A W_up^T)[m, n] for n < nValid in one
 * matmul per row chunk (kernels/matmul.wgsl, GLU), H [M, ldc] from element 0. Columns nValid .. N-1 (N <= the
 * gate's rows: row padding, so the down projection can read whole vec4 blocks) are written as 0.
 * @example
 * // stories260K MLP kept at width 97, rows padded to 100 for the down projection's K:
 * encodeGlu(rec, h, 64, M, 64, w.gate, w.up, 97, 100, hidden, 100);
 */
export function encodeGlu(rec: Recorder, A: GPUBuffer, lda: number, M: number, K: number, gate: Matrix, up: Matrix, nValid: number, N: number, C: GPUBuffer, ldc: number): void {
  if (!canFuseGlu(gate, up)) throw new Error(`GLU matmul: gate ${gate.name} and up ${up.name} differ in shape, chunking or format`);
  if (N > gate.rows || nValid > N) throw new Error(`GLU matmul: ${nValid} valid of ${N} columns, gate has ${gate.rows} rows`);
  const w16 = w16Of(gate);
  gate.chunks.forEach((chunk, i) => {
    const n = Math.min(chunk.rows, N - chunk.rowStart);
    if (n <= 0) return;
    const valid = Math.max(0, Math.min(n, nValid - chunk.rowStart));
    const spec = matmulSpec({ M, N: n, ldc, cOff: chunk.rowStart, K, lda, ldw: gate.cols, aOff: 0, accumulate: false, w16, glu: true, ...matmulCaps(rec.gpu.device) });
    rec.dispatch("matmul", spec, params(M, n, K, lda, gate.cols, ldc, 0, chunk.rowStart, valid), [A, chunk.buffer, C, up.chunks[i].buffer], matmulGroups(spec, M, n));
  });
}
