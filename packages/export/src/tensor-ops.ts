/**
 * Dtype-agnostic row/column gathers on raw tensor bytes: elements (or, for rows, whole Q8_0 blocks) are moved,
 * never converted, so an export is bit-exact to its source. Shapes are row-major `[rows, cols]`.
 */
import { byteSize, type DType, type Tensor } from "@nas/model";

/** Bytes per element for the unquantized dtypes. */
export function elementBytes(dtype: DType, name: string): number {
  switch (dtype) {
    case "F32":
      return 4;
    case "F16":
    case "BF16":
      return 2;
    case "Q8_0":
      throw new Error(`tensor "${name}" is Q8_0; dequantize it before slicing`);
  }
}

function dims2(t: Tensor): [number, number] {
  if (t.shape.length === 1) return [t.shape[0], 1];
  if (t.shape.length !== 2) throw new Error(`tensor "${t.name}" must be 1-D or 2-D, has shape [${t.shape}]`);
  return [t.shape[0], t.shape[1]];
}

function checkIndices(t: Tensor, axis: string, indices: readonly number[], size: number): void {
  for (const i of indices) {
    if (!Number.isInteger(i) || i < 0 || i >= size) throw new Error(`tensor "${t.name}": ${axis} index ${i} is out of range [0, ${size})`);
  }
}

/** Is `indices` exactly [0, 1, ..., size-1]? Then a gather is the identity and the tensor is reused. */
export function isIdentity(indices: readonly number[], size: number): boolean {
  return indices.length === size && indices.every((v, i) => v === i);
}

/**
 * Keep rows `rows` (in that order) of a `[R, C]` tensor (or entries of a 1-D one).
 *
 * @example
 * gatherRows(qProj, [0, 1, 2, 3]) // first 4 rows, bytes copied unchanged
 */
export function gatherRows(t: Tensor, rows: readonly number[], name = t.name): Tensor {
  const [R, C] = dims2(t);
  checkIndices(t, "row", rows, R);
  if (isIdentity(rows, R)) return renamed(t, name);
  // Whole rows move as bytes, so this works for Q8_0 too (a row is whole 32-value blocks).
  const rowBytes = byteSize(t.dtype, C);
  const out = new Uint8Array(rows.length * rowBytes);
  rows.forEach((r, i) => out.set(t.data.subarray(r * rowBytes, (r + 1) * rowBytes), i * rowBytes));
  const shape = t.shape.length === 1 ? [rows.length] : [rows.length, C];
  return { name, dtype: t.dtype, shape, data: out };
}

/**
 * Keep columns `cols` (in that order) of a `[R, C]` tensor. Runs of consecutive columns are copied as
 * one block per row, so prefix slicing costs one `set` per row.
 *
 * @example
 * gatherCols(downProj, [0, 1, 2]) // [hidden, 3]
 */
export function gatherCols(t: Tensor, cols: readonly number[], name = t.name): Tensor {
  if (t.shape.length !== 2) throw new Error(`tensor "${t.name}" must be 2-D to select columns, has shape [${t.shape}]`);
  const [R, C] = dims2(t);
  checkIndices(t, "column", cols, C);
  if (isIdentity(cols, C)) return renamed(t, name);
  const eb = elementBytes(t.dtype, t.name);
  // Runs of consecutive source columns: [srcStart, dstStart, length] in elements.
  const runs: [number, number, number][] = [];
  cols.forEach((c, j) => {
    const last = runs[runs.length - 1];
    if (last && last[0] + last[2] === c) last[2]++;
    else runs.push([c, j, 1]);
  });
  const outRow = cols.length * eb;
  const inRow = C * eb;
  const out = new Uint8Array(R * outRow);
  for (let r = 0; r < R; r++) {
    for (const [src, dst, len] of runs) {
      out.set(t.data.subarray(r * inRow + src * eb, r * inRow + (src + len) * eb), r * outRow + dst * eb);
    }
  }
  return { name, dtype: t.dtype, shape: [R, cols.length], data: out };
}

/** Row indices of whole heads: for each head h in `heads`, rows [h*headDim, (h+1)*headDim). */
export function headRows(heads: readonly number[], headDim: number): number[] {
  return heads.flatMap((h) => Array.from({ length: headDim }, (_, d) => h * headDim + d));
}

/** Rename a tensor without copying its bytes. */
export function renamed(t: Tensor, name: string): Tensor {
  return t.name === name ? t : { ...t, name };
}
