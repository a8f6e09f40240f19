/**
 * Score-driven BPE merging shared by the llama2.c and SentencePiece encoders.
 *
 * Semantics (llama2.c `encode` and sentencepiece `bpe_model.cc` agree on them): repeatedly merge the adjacent
 * pair whose concatenation is a known piece with the highest score; among equal scores the leftmost pair wins;
 * stop when no adjacent pair forms a known piece. Implemented with a heap and lazy invalidation (as sentencepiece
 * does) instead of llama2.c's O(n^2) rescans: a queued pair is stale when either side has changed length.
 */

/** One symbol of the sequence being merged. `frozen` symbols (user-defined pieces) never merge. */
export interface BpeSymbol {
  piece: string;
  id: number;
  frozen?: boolean;
}

/** What a merge produces: the piece's id and its score (higher merges first). */
export interface BpeEntry {
  id: number;
  score: number;
}

interface Candidate {
  left: number;
  right: number;
  score: number;
  /** length of left + right when queued; a mismatch later means the pair no longer exists */
  size: number;
  id: number;
}

/** Max-heap on (score desc, left asc). */
class CandidateHeap {
  private items: Candidate[] = [];
  get size(): number {
    return this.items.length;
  }
  private before(a: Candidate, b: Candidate): boolean {
    return a.score !== b.score ? a.score > b.score : a.left < b.left;
  }
  push(c: Candidate): void {
    const h = this.items;
    h.push(c);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }
  pop(): Candidate | undefined {
    const h = this.items;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < h.length && this.before(h[l], h[best])) best = l;
        if (r < h.length && this.before(h[r], h[best])) best = r;
        if (best === i) break;
        [h[i], h[best]] = [h[best], h[i]];
        i = best;
      }
    }
    return top;
  }
}

/**
 * Merge `symbols` by score. `lookup(concat, left, right)` says whether a concatenation is a mergeable piece (the
 * two halves are passed so that callers can remember how a piece was formed).
 * Returns the final symbols in order (pieces and ids).
 *
 * @example
 * bpeMerge([{piece:"a",id:3},{piece:"b",id:4}], (s) => (s === "ab" ? { id: 7, score: -1 } : undefined))
 * // -> [{ piece: "ab", id: 7 }]
 */
export function bpeMerge(symbols: BpeSymbol[], lookup: (piece: string, left: string, right: string) => BpeEntry | undefined): BpeSymbol[] {
  const n = symbols.length;
  const piece = symbols.map((s) => s.piece);
  const id = symbols.map((s) => s.id);
  const frozen = symbols.map((s) => s.frozen === true);
  const prev = Array.from({ length: n }, (_, i) => i - 1);
  const next = Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));
  const heap = new CandidateHeap();

  const consider = (left: number, right: number) => {
    if (left < 0 || right < 0 || frozen[left] || frozen[right]) return;
    const concat = piece[left] + piece[right];
    const hit = lookup(concat, piece[left], piece[right]);
    if (hit === undefined) return;
    heap.push({ left, right, score: hit.score, size: concat.length, id: hit.id });
  };
  for (let i = 0; i + 1 < n; i++) consider(i, i + 1);

  while (heap.size > 0) {
    const top = heap.pop()!;
    const l = top.left;
    const r = top.right;
    // Stale: one side was merged away (emptied) or grew since this pair was queued.
    if (piece[l] === "" || piece[r] === "" || piece[l].length + piece[r].length !== top.size) continue;
    piece[l] = piece[l] + piece[r];
    id[l] = top.id;
    piece[r] = "";
    next[l] = next[r];
    if (next[r] >= 0) prev[next[r]] = l;
    consider(prev[l], l);
    consider(l, next[l]);
  }

  const out: BpeSymbol[] = [];
  for (let i = n > 0 ? 0 : -1; i >= 0; i = next[i]) out.push({ piece: piece[i], id: id[i] });
  return out;
}

/**
 * The same merge procedure on integer ids: `pair(a, b)` gives the id and score of the piece that the concatenation
 * of pieces a and b spells (undefined: not mergeable), `len(id)` the piece's length (for the staleness check).
 * `frozen[i]` marks symbols that never merge. Returns the final ids in order.
 */
export function bpeMergeIds(ids: number[], pair: (a: number, b: number) => BpeEntry | undefined, len: (id: number) => number, frozen?: boolean[]): number[] {
  const n = ids.length;
  const id = ids.slice();
  const size = ids.map(len);
  const prev = new Int32Array(n);
  const next = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  const heap = new CandidateHeap();
  const consider = (l: number, r: number) => {
    if (l < 0 || r < 0 || (frozen && (frozen[l] || frozen[r]))) return;
    const hit = pair(id[l], id[r]);
    if (hit !== undefined) heap.push({ left: l, right: r, score: hit.score, size: size[l] + size[r], id: hit.id });
  };
  for (let i = 0; i + 1 < n; i++) consider(i, i + 1);
  while (heap.size > 0) {
    const top = heap.pop()!;
    const l = top.left;
    const r = top.right;
    if (size[l] === 0 || size[r] === 0 || size[l] + size[r] !== top.size) continue;
    id[l] = top.id;
    size[l] += size[r];
    size[r] = 0;
    next[l] = next[r];
    if (next[r] >= 0) prev[next[r]] = l;
    consider(prev[l], l);
    consider(l, next[l]);
  }
  const out: number[] = [];
  for (let i = n > 0 ? 0 : -1; i >= 0; i = next[i]) out.push(id[i]);
  return out;
}

/**
 * Every way a vocabulary piece splits into two vocabulary pieces: key `a * V + b` -> the piece's id. With it,
 * "is concat(a, b) a piece?" needs no string building. `pieces[i]` may be undefined (ids without a piece).
 */
export function buildPairTable(pieces: (string | undefined)[], idOf: (piece: string) => number | undefined): Map<number, number> {
  const V = pieces.length;
  const table = new Map<number, number>();
  pieces.forEach((p, id) => {
    if (p === undefined || idOf(p) !== id) return; // only the id that lookups resolve to
    for (let k = 1; k < p.length; k++) {
      const a = idOf(p.slice(0, k));
      const b = idOf(p.slice(k));
      if (a !== undefined && b !== undefined) table.set(a * V + b, id);
    }
  });
  return table;
}
