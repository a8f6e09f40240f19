import { matmulCaps, matmulGroups, matmulSpec } from "./kernels.ts";
import { grid, params, type Recorder } from "./recorder.ts";
import type { Matrix } from "./weights.ts";

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
    const w16 = W.format === "bf16" || W.format === "f16" ? W.format : undefined;
    const spec = matmulSpec({ M, N: n, ldc, cOff: cOff + chunk.rowStart, K, lda, ldw: W.cols, aOff, accumulate, w16, ...matmulCaps(rec.gpu.device) });
    rec.dispatch("matmul", spec, params(M, n, K, lda, W.cols, ldc, aOff, cOff + chunk.rowStart), [A, chunk.buffer, C], matmulGroups(spec, M, n));
  }
}
