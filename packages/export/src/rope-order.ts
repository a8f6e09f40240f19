/**
 * Q/K row order for RoPE. HF checkpoints store each head's rows "rotate-half": the first headDim/2 rows
 * are the first elements of the rotated pairs, the last headDim/2 their partners. llama.cpp (and llama2.c,
 * Meta's original layout) interleave them: rows 2i and 2i+1 form pair i. Within head h:
 *   interleaved row h*hd + 2i + half  ==  HF row h*hd + half*hd/2 + i   (half in {0, 1}, i < hd/2)
 */

/**
 * Source-row indices that turn HF (rotate-half) rows into interleaved rows, for `heads` heads.
 *
 * @example
 * hfToInterleavedRows(1, 4) // [0, 2, 1, 3]
 */
export function hfToInterleavedRows(heads: number, headDim: number): number[] {
  if (headDim % 2 !== 0) throw new Error(`RoPE needs an even head dimension, got ${headDim}`);
  const half = headDim / 2;
  const rows: number[] = [];
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      rows.push(h * headDim + i, h * headDim + half + i);
    }
  }
  return rows;
}

/**
 * Source-row indices that turn interleaved rows back into HF (rotate-half) rows (the inverse gather).
 *
 * @example
 * interleavedToHfRows(1, 4) // [0, 2, 1, 3]
 */
export function interleavedToHfRows(heads: number, headDim: number): number[] {
  const forward = hfToInterleavedRows(heads, headDim);
  const inverse = new Array<number>(forward.length);
  forward.forEach((src, dst) => (inverse[src] = dst));
  return inverse;
}
