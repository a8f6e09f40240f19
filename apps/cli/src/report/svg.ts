/**
 * A dependency-free SVG scatter plot: one panel per (x, y) objective pair, every candidate as a grey dot,
 * the Pareto front as red dots joined in x order, the full network as a black ring.
 */

export interface PlotPoint {
  id: number;
  values: Record<string, number>;
  onFront: boolean;
  isFull: boolean;
}

export interface PlotPanel {
  x: string;
  y: string;
}

const W = 420;
const H = 320;
const M = { left: 70, right: 16, top: 30, bottom: 46 };

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

function ticks(lo: number, hi: number, n = 5): number[] {
  // A range at the limit of float resolution (two values a few ulps apart) has no useful ticks. Stepping through
  // it with `v += step` never advanced once step fell below half an ulp of v, and filled memory (24 GB, seen in
  // the report property test). Ticks are now i * step for a bounded range of integers i.
  if (!(hi - lo > Math.max(Math.abs(lo), Math.abs(hi)) * 1e-9)) return [lo];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  const last = Math.floor(hi / step + 1e-9);
  for (let i = Math.ceil(lo / step); i <= last && out.length <= 2 * n; i++) out.push(Number((i * step).toPrecision(12)));
  return out;
}

const label = (v: number) => (Math.abs(v) >= 1e4 ? v.toExponential(1) : Number(v.toPrecision(4)).toString());

function panel(points: PlotPoint[], p: PlotPanel, ox: number): string {
  const pts = points.filter((q) => Number.isFinite(q.values[p.x]) && Number.isFinite(q.values[p.y]));
  const xs = pts.map((q) => q.values[p.x]);
  const ys = pts.map((q) => q.values[p.y]);
  const pad = (lo: number, hi: number) => (lo === hi ? [lo - (Math.abs(lo) || 1) * 0.05, hi + (Math.abs(hi) || 1) * 0.05] : [lo - (hi - lo) * 0.05, hi + (hi - lo) * 0.05]);
  const [x0, x1] = pts.length ? pad(Math.min(...xs), Math.max(...xs)) : [0, 1];
  const [y0, y1] = pts.length ? pad(Math.min(...ys), Math.max(...ys)) : [0, 1];
  const sx = (v: number) => ox + M.left + ((v - x0) / (x1 - x0)) * (W - M.left - M.right);
  const sy = (v: number) => H - M.bottom - ((v - y0) / (y1 - y0)) * (H - M.top - M.bottom);
  const parts: string[] = [];
  parts.push(`<rect x="${ox + M.left}" y="${M.top}" width="${W - M.left - M.right}" height="${H - M.top - M.bottom}" fill="none" stroke="#888"/>`);
  for (const t of ticks(x0, x1)) {
    parts.push(`<text x="${sx(t).toFixed(1)}" y="${H - M.bottom + 14}" font-size="10" text-anchor="middle">${label(t)}</text>`);
  }
  for (const t of ticks(y0, y1)) {
    parts.push(`<text x="${ox + M.left - 4}" y="${(sy(t) + 3).toFixed(1)}" font-size="10" text-anchor="end">${label(t)}</text>`);
  }
  parts.push(`<text x="${ox + M.left + (W - M.left - M.right) / 2}" y="${H - 10}" font-size="12" text-anchor="middle">${esc(p.x)}</text>`);
  parts.push(`<text x="${ox + 14}" y="${M.top + (H - M.top - M.bottom) / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 ${ox + 14} ${M.top + (H - M.top - M.bottom) / 2})">${esc(p.y)}</text>`);
  parts.push(`<text x="${ox + M.left}" y="18" font-size="12">${esc(p.y)} vs ${esc(p.x)}</text>`);
  for (const q of pts.filter((q) => !q.onFront)) {
    parts.push(`<circle class="candidate" data-id="${q.id}" cx="${sx(q.values[p.x]).toFixed(1)}" cy="${sy(q.values[p.y]).toFixed(1)}" r="3" fill="#aaa"/>`);
  }
  const front = pts.filter((q) => q.onFront).sort((a, b) => a.values[p.x] - b.values[p.x]);
  if (front.length > 1) {
    parts.push(`<polyline fill="none" stroke="#d33" stroke-width="1" stroke-dasharray="3,2" points="${front.map((q) => `${sx(q.values[p.x]).toFixed(1)},${sy(q.values[p.y]).toFixed(1)}`).join(" ")}"/>`);
  }
  for (const q of front) {
    parts.push(`<circle class="front" data-id="${q.id}" cx="${sx(q.values[p.x]).toFixed(1)}" cy="${sy(q.values[p.y]).toFixed(1)}" r="4" fill="#d33"/>`);
  }
  for (const q of pts.filter((q) => q.isFull)) {
    parts.push(`<circle class="full" data-id="${q.id}" cx="${sx(q.values[p.x]).toFixed(1)}" cy="${sy(q.values[p.y]).toFixed(1)}" r="7" fill="none" stroke="#000" stroke-width="2"/>`);
  }
  return parts.join("\n");
}

/**
 * Render the panels side by side with a legend.
 *
 * @example
 * const svg = scatterSvg(points, [{ x: "params", y: "tinystories" }, { x: "throughput", y: "tinystories" }], "search 3");
 */
export function scatterSvg(points: PlotPoint[], panels: PlotPanel[], title: string): string {
  const width = Math.max(1, panels.length) * W;
  const height = H + 24;
  const body = panels.map((p, i) => panel(points, p, i * W)).join("\n");
  const legend =
    `<g font-size="11" transform="translate(${M.left},${H + 12})">` +
    `<circle cx="0" cy="-4" r="3" fill="#aaa"/><text x="8" y="0">candidate</text>` +
    `<circle cx="90" cy="-4" r="4" fill="#d33"/><text x="98" y="0">Pareto front</text>` +
    `<circle cx="200" cy="-4" r="6" fill="none" stroke="#000" stroke-width="2"/><text x="210" y="0">full network</text>` +
    `<text x="320" y="0">${esc(title)}</text></g>`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="#fff"/>\n${body}\n${legend}\n</svg>\n`;
}
