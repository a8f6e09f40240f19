/** Plain-text tables for the terminal (right-aligned numbers, left-aligned text). */

/**
 * Format rows as an aligned table with a header line.
 *
 * @example
 * formatTable(["id", "ppl"], [[1, "4.12"], [12, "3.98"]])
 * // "id   ppl\n 1  4.12\n12  3.98\n"
 */
export function formatTable(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, j) => Math.max(...cells.map((r) => (r[j] ?? "").length)));
  const numeric = header.map((_, j) => rows.length > 0 && rows.every((r) => typeof r[j] === "number" || /^-?[\d.,e+-]+%?$/.test(String(r[j]))));
  const line = (r: string[]) =>
    r.map((c, j) => (numeric[j] ? c.padStart(widths[j]) : c.padEnd(widths[j]))).join("  ").trimEnd();
  return `${cells.map(line).join("\n")}\n`;
}

/**
 * A compact number for tables: integers with thousands separators, others with 4 significant digits.
 *
 * @example
 * formatNumber(260160) // "260,160"; formatNumber(3.97868) // "3.979"
 */
export function formatNumber(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "-";
  if (Number.isInteger(v)) return v.toLocaleString("en-US");
  return Number(v.toPrecision(4)).toString();
}
