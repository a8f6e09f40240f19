// Row-local halves of a decoder layer, for CPU adapters (lavapipe), where every dispatch costs ~25-60 us of
// thread wake-ups whatever its size: a stories260K forward spent a third of its time between dispatches.
//   PRE:  h = RMSNorm(x) * attnNorm;  q = h Wq^T;  k = h Wk^T;  v = h Wv^T;  RoPE on q and k.
//         With EMBED (the first kept layer), x is first gathered from the embedding table by token id.
//   POST: x += att Wo^T;  h = RMSNorm(x) * mlpNorm;  a = silu(h Wg^T) * (h Wu^T);  x += a Wd^T.
//   HEAD: h = RMSNorm(x) * norm;  logits = h lmHead^T, never stored: per row the log-softmax value of the target
//         token and the argmax (lowest index on ties), as kernels/logsoftmax.wgsl computes them from stored logits.
// Attention (kernels/attention.wgsl) runs between them: it is the only step that mixes rows.
//   x, h: [M, D];  q, att: [M, qDim];  k, v: [rows, kvDim] written from element kvOff;  a: [M, ldh].
// Weights are PyTorch Linear weights [out, in] with the elastic slices of kernels/matmul.wgsl (first rows, first
// columns, row stride ldw); a holds ldh >= nValid columns (nValid = kept MLP width, zero-padded to a multiple of 4).
//
// Every invocation owns whole rows (L of them: m0, m0 + WG, ...), so each step reads only what the same
// invocation wrote in the step before: no barrier and no second dispatch is needed between steps. The
// workgroup is one subgroup wide and walks every output column in tiles of 32, sharing each W load through
// subgroupBroadcast exactly as matmul.wgsl's COOP/G4 tile does (see there for why it looks like this). Only the
// rows are spread over workgroups, so this suits a CPU with a few cores, not a GPU: gpu/model.ts uses it on CPU
// adapters only. Needs D, qDim, kvDim, headDim / 2, the weights' row strides and kvOff to be multiples of 4.
//
// CACHE: the normalised rows (h) and POST's SwiGLU activation rows (a) stay in private memory instead of storage
// (CA and CH vec4 blocks per row, at least D / 4 and the full MLP width / 4). On llvmpipe a storage load or store whose
// offset is not a compile-time constant is a per-invocation scalar loop with bounds checks (~120 cycles per vec4
// per 8 invocations, see matmul.wgsl), half of a tile's loads are A loads, and every tile of a part re-reads the
// same A rows (the 11 GLU tiles of a stories260K layer read h 11 times); a private array read at a subgroup-uniform
// index is a plain vector load. h and a are then not bound at all. Without CACHE (rows too wide for the private
// budget) they go through storage as before.
//
// Specialisation: one of PRE (optionally EMBED), POST, HEAD; L4 (4 rows per invocation, else 1), WG (subgroup size),
// W16/WBF (16-bit weights), CACHE with CA, CH.
enable subgroups;

//#if HEAD
// V output columns (the vocabulary), lmHead row stride ldw; rows read targets/write results from element outOff.
struct Params { M: u32, D: u32, V: u32, ldw: u32, eps: f32, outOff: u32, _a: u32, _b: u32 }
//#else
struct Params {
  M: u32, D: u32, qDim: u32, kvDim: u32,
  ldh: u32, nValid: u32, eps: f32, infoOff: u32,
  kvOff: u32, headDim: u32, oLdw: u32, dLdw: u32,
  idOff: u32, // EMBED: row m's token id is ids[idOff + m]
}
//#endif
@group(0) @binding(0) var<uniform> p: Params;

//#include weights16

//#if PRE
//#if EMBED
@group(0) @binding(1) var<storage, read_write> x: array<vec4f>;
@group(0) @binding(13) var<storage, read> ids: array<u32>;
@group(0) @binding(14) var<storage, read> table: array<vec4f>; // [vocab, D]
//#else
@group(0) @binding(1) var<storage, read> x: array<vec4f>;
//#endif
@group(0) @binding(2) var<storage, read> normW: array<vec4f>;
//#if !CACHE
@group(0) @binding(3) var<storage, read_write> h: array<vec4f>;
//#endif
@group(0) @binding(4) var<storage, read> W0: array<WBlock>; // q
@group(0) @binding(5) var<storage, read> W1: array<WBlock>; // k
@group(0) @binding(6) var<storage, read> W2: array<WBlock>; // v
@group(0) @binding(7) var<storage, read_write> qOut: array<vec4f>;
@group(0) @binding(8) var<storage, read_write> kOut: array<vec4f>;
@group(0) @binding(9) var<storage, read_write> vOut: array<vec4f>;
@group(0) @binding(10) var<storage, read> tokInfo: array<vec4u>; // (kvStart, kvEnd, pos, prefixEnd): see attention.wgsl
@group(0) @binding(11) var<storage, read> cosT: array<vec4f>; // [maxPos, headDim / 2], see rope.wgsl
@group(0) @binding(12) var<storage, read> sinT: array<vec4f>;
//#endif
//#if POST
@group(0) @binding(1) var<storage, read> att: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> x: array<vec4f>;
@group(0) @binding(3) var<storage, read> normW: array<vec4f>;
//#if !CACHE
@group(0) @binding(4) var<storage, read_write> h: array<vec4f>;
//#endif
@group(0) @binding(5) var<storage, read> W0: array<WBlock>; // o
@group(0) @binding(6) var<storage, read> W1: array<WBlock>; // gate
@group(0) @binding(7) var<storage, read> W2: array<WBlock>; // up
@group(0) @binding(8) var<storage, read> W3: array<WBlock>; // down
//#if !CACHE
@group(0) @binding(9) var<storage, read_write> a: array<vec4f>;
//#endif
//#endif
//#if HEAD
@group(0) @binding(1) var<storage, read> x: array<vec4f>;
@group(0) @binding(2) var<storage, read> normW: array<vec4f>;
//#if !CACHE
@group(0) @binding(3) var<storage, read_write> h: array<vec4f>;
//#endif
@group(0) @binding(4) var<storage, read> W0: array<WBlock>; // lm head
@group(0) @binding(5) var<storage, read> targets: array<u32>;
@group(0) @binding(6) var<storage, read_write> logprob: array<f32>;
@group(0) @binding(7) var<storage, read_write> argmax: array<u32>;
//#endif

const WG = {{WG}}u;
//#if L4
const RS = 4u; // rows per invocation
//#else
const RS = 1u;
//#endif
//#if CACHE
// Row slot r (this invocation's r-th row) of h at hc[r * CA ..], of a at ac[r * CH ..].
const CA = {{CA}}u;
var<private> hc: array<vec4f, RS * CA>;
//#if POST
const CH = {{CH}}u;
var<private> ac: array<vec4f, RS * CH>;
//#endif
//#endif

// The selectors below are constants at every call site: once the functions are inlined the switches fold
// away, leaving one straight-line tile per call (written once here).

// Block i (4 values) of weight matrix `sel`.
fn loadW(sel: u32, i: u32) -> vec4f {
  switch sel {
//#if !HEAD
    case 1u: { return wv(W1[i]); }
    case 2u: { return wv(W2[i]); }
//#endif
//#if POST
    case 3u: { return wv(W3[i]); }
//#endif
    default: { return wv(W0[i]); }
  }
}

// Block i of activation `sel`: PRE and HEAD read h; POST reads att (0), h (1) or a (2).
//#if CACHE
fn loadH(i: u32) -> vec4f { return hc[i]; }
//#else
fn loadH(i: u32) -> vec4f { return h[i]; }
//#endif
fn loadA(sel: u32, i: u32) -> vec4f {
//#if POST
  switch sel {
    case 0u: { return att[i]; }
    case 1u: { return loadH(i); }
//#if CACHE
    default: { return ac[i]; }
//#else
    default: { return a[i]; }
//#endif
  }
//#else
  return loadH(i);
//#endif
}

// The W vec4s loaded by subgroup lanes 0..3 (4..7) as the columns of one matrix (see matmul.wgsl).
fn lanes0to3(w: vec4f) -> mat4x4f { return mat4x4f(subgroupBroadcast(w, 0u), subgroupBroadcast(w, 1u), subgroupBroadcast(w, 2u), subgroupBroadcast(w, 3u)); }
fn lanes4to7(w: vec4f) -> mat4x4f { return mat4x4f(subgroupBroadcast(w, 4u), subgroupBroadcast(w, 5u), subgroupBroadcast(w, 6u), subgroupBroadcast(w, 7u)); }

// One row's 32 columns: c[j] holds columns n0 + 4j .. n0 + 4j + 3 of the tile.
struct Row { c0: vec4f, c1: vec4f, c2: vec4f, c3: vec4f, c4: vec4f, c5: vec4f, c6: vec4f, c7: vec4f }
//#if L4
struct Tile { r0: Row, r1: Row, r2: Row, r3: Row }
//#else
struct Tile { r0: Row }
//#endif

// Row r += a * (the 8 column groups of W loads w0..w3).
fn fma8(r: Row, a: vec4f, w0: vec4f, w1: vec4f, w2: vec4f, w3: vec4f) -> Row {
  return Row(r.c0 + a * lanes0to3(w0), r.c1 + a * lanes4to7(w0), r.c2 + a * lanes0to3(w1), r.c3 + a * lanes4to7(w1),
             r.c4 + a * lanes0to3(w2), r.c5 + a * lanes4to7(w2), r.c6 + a * lanes0to3(w3), r.c7 + a * lanes4to7(w3));
}

// The tile sum_k A[row, k] W[n, k] over `blocks` k blocks, for this invocation's rows (A row starts ra, in
// blocks) and the 32 W rows the subgroup loads: lane s loads W rows rw.x .. rw.w (row starts, in blocks) from
// matrices ws.x .. ws.w; load g fills columns 8g .. 8g + 7 of the tile.
fn tile(as_: u32, ra: vec4u, ws: vec4u, rw: vec4u, blocks: u32) -> Tile {
  let z = Row(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0));
//#if L4
  var t = Tile(z, z, z, z);
//#else
  var t = Tile(z);
//#endif
  for (var q = 0u; q < blocks; q++) {
    let w0 = loadW(ws.x, rw.x + q);
    let w1 = loadW(ws.y, rw.y + q);
    let w2 = loadW(ws.z, rw.z + q);
    let w3 = loadW(ws.w, rw.w + q);
    t.r0 = fma8(t.r0, loadA(as_, ra.x + q), w0, w1, w2, w3);
//#if L4
    t.r1 = fma8(t.r1, loadA(as_, ra.y + q), w0, w1, w2, w3);
    t.r2 = fma8(t.r2, loadA(as_, ra.z + q), w0, w1, w2, w3);
    t.r3 = fma8(t.r3, loadA(as_, ra.w + q), w0, w1, w2, w3);
//#endif
  }
  return t;
}

// Row starts (in blocks) of this invocation's rows m.x .. m.w in a [M, ld] matrix, clamped into range: every
// invocation takes part in the broadcasts; rows past M compute row M - 1 and are never stored.
fn rowStarts(m: vec4u, ld: u32) -> vec4u { return (min(m, vec4u(p.M - 1u)) * ld) >> vec4u(2u); }
// Row starts of activation `sel` (see loadA) with row stride ld: in storage, or the row slots of a private cache.
fn aStarts(sel: u32, m: vec4u, ld: u32) -> vec4u {
//#if CACHE
//#if POST
  if (sel == 2u) { return vec4u(0u, 1u, 2u, 3u) * CH; }
  if (sel == 1u) { return vec4u(0u, 1u, 2u, 3u) * CA; }
  return rowStarts(m, ld);
//#else
  return vec4u(0u, 1u, 2u, 3u) * CA;
//#endif
//#else
  return rowStarts(m, ld);
//#endif
}
// Row starts of W rows n0 + s + 8g (g = 0..3), clamped to the N rows in use.
fn wRows(n0: u32, s: u32, N: u32, ldw: u32) -> vec4u { return (min(vec4u(n0 + s) + vec4u(0u, 8u, 16u, 24u), vec4u(N - 1u)) * ldw) >> vec4u(2u); }

//#if !HEAD
// out[(off + m * ld + n) / 4] for the first `groups` column groups of a tile row (8, or 4 for GLU rows): `sel`
// picks the destination (see put). Written out, not looped over an array, so nothing is spilled.
fn putRow(sel: u32, m: u32, n0: u32, N: u32, ld: u32, off: u32, r: Row, groups: u32) {
  if (m >= p.M) { return; }
  let b = (off + m * ld + n0) >> 2u;
  if (n0 < N) { put(sel, b, r.c0); }
  if (n0 + 4u < N) { put(sel, b + 1u, r.c1); }
  if (n0 + 8u < N) { put(sel, b + 2u, r.c2); }
  if (n0 + 12u < N) { put(sel, b + 3u, r.c3); }
  if (groups == 4u) { return; }
  if (n0 + 16u < N) { put(sel, b + 4u, r.c4); }
  if (n0 + 20u < N) { put(sel, b + 5u, r.c5); }
  if (n0 + 24u < N) { put(sel, b + 6u, r.c6); }
  if (n0 + 28u < N) { put(sel, b + 7u, r.c7); }
}
//#endif

// x row m (if it is one of the M) normalised into h (RMSNorm, as rmsnorm.wgsl): into row slot `slot` of the
// cache, or row m of h. A cached row past M stays zero (private memory starts zeroed) and is never stored.
fn norm(m: u32, slot: u32) {
  if (m >= p.M) { return; }
  let n = p.D >> 2u;
  let base = m * n;
  var s = 0.0;
  for (var d = 0u; d < n; d++) { let e = x[base + d]; s += dot(e, e); }
  let inv = inverseSqrt(s / f32(p.D) + p.eps);
//#if CACHE
  for (var d = 0u; d < n; d++) { hc[slot * CA + d] = x[base + d] * inv * normW[d]; }
//#else
  for (var d = 0u; d < n; d++) { h[base + d] = x[base + d] * inv * normW[d]; }
//#endif
}

//#if PRE
fn put(sel: u32, i: u32, v: vec4f) {
  switch sel {
    case 0u: { qOut[i] = v; }
    case 1u: { kOut[i] = v; }
    default: { vOut[i] = v; }
  }
}


//#if EMBED
// x row m = the embedding of its token.
fn embed(m: u32) {
  if (m >= p.M) { return; }
  let n = p.D >> 2u;
  let src = ids[p.idOff + m] * n;
  for (var d = 0u; d < n; d++) { x[m * n + d] = table[src + d]; }
}
//#endif

// RoPE (HF rotate-half, see rope.wgsl) in place on the heads of q row m and k row m.
fn rope(m: u32) {
  if (m >= p.M) { return; }
  let half = p.headDim >> 3u; // vec4s per half head
  let pos = tokInfo[p.infoOff + m].z;
  for (var d = 0u; d < half; d++) {
    let c = cosT[pos * half + d];
    let s = sinT[pos * half + d];
    for (var e = ((m * p.qDim) >> 2u) + d; e < (((m + 1u) * p.qDim) >> 2u); e += 2u * half) {
      let x1 = qOut[e];
      let x2 = qOut[e + half];
      qOut[e] = x1 * c - x2 * s;
      qOut[e + half] = x2 * c + x1 * s;
    }
    for (var e = ((p.kvOff + m * p.kvDim) >> 2u) + d; e < ((p.kvOff + (m + 1u) * p.kvDim) >> 2u); e += 2u * half) {
      let x1 = kOut[e];
      let x2 = kOut[e + half];
      kOut[e] = x1 * c - x2 * s;
      kOut[e + half] = x2 * c + x1 * s;
    }
  }
}
//#endif
//#if POST
fn put(sel: u32, i: u32, v: vec4f) {
  switch sel {
//#if !CACHE
    case 0u: { a[i] = v; }
//#endif
    default: { x[i] = x[i] + v; } // residual add
  }
}

// A GLU tile row (16 columns from n0, in c0..c3) into row m of a, or row slot `slot` of its cache.
fn putGlu(slot: u32, m: u32, n0: u32, r: Row) {
//#if CACHE
  let b = slot * CH + (n0 >> 2u);
  ac[b] = r.c0; // n0 < ldh
  if (n0 + 4u < p.ldh) { ac[b + 1u] = r.c1; }
  if (n0 + 8u < p.ldh) { ac[b + 2u] = r.c2; }
  if (n0 + 12u < p.ldh) { ac[b + 3u] = r.c3; }
//#else
  putRow(0u, m, n0, p.ldh, p.ldh, 0u, r, 4u);
//#endif
}

// silu(g) * u for columns n .. n + 3, 0 at or past nValid.
fn glu4(g: vec4f, u: vec4f, n: u32) -> vec4f {
  return select(vec4f(0.0), g / (1.0 + exp(-g)) * u, vec4u(n) + vec4u(0u, 1u, 2u, 3u) < vec4u(p.nValid));
}
// A GLU tile row: columns 0..15 of gate (c0..c3) and of up (c4..c7) become 16 output columns in c0..c3.
fn gluRow(r: Row, n0: u32) -> Row {
  let z = vec4f(0.0);
  return Row(glu4(r.c0, r.c4, n0), glu4(r.c1, r.c5, n0 + 4u), glu4(r.c2, r.c6, n0 + 8u), glu4(r.c3, r.c7, n0 + 12u), z, z, z, z);
}
//#endif

//#if !HEAD
// Store a tile's rows (rows m.x .. m.w of this invocation).
fn putTile(sel: u32, m: vec4u, n0: u32, N: u32, ld: u32, off: u32, t: Tile) {
  putRow(sel, m.x, n0, N, ld, off, t.r0, 8u);
//#if L4
  putRow(sel, m.y, n0, N, ld, off, t.r1, 8u);
  putRow(sel, m.z, n0, N, ld, off, t.r2, 8u);
  putRow(sel, m.w, n0, N, ld, off, t.r3, 8u);
//#endif
}

// out (sel) [M, ld] from element off, columns 0 .. N - 1, = A (as_, row stride lda) W (ws)^T over K, W row stride ldw.
fn linear(as_: u32, lda: u32, K: u32, ws: u32, N: u32, ldw: u32, sel: u32, ld: u32, off: u32, m: vec4u, s: u32) {
  let ra = aStarts(as_, m, lda);
  for (var n0 = 0u; n0 < N; n0 += 32u) {
    putTile(sel, m, n0, N, ld, off, tile(as_, ra, vec4u(ws), wRows(n0, s, N, ldw), K >> 2u));
  }
}
//#endif

// Normalise this invocation's rows of x into h.
fn normRows(m: vec4u) {
  norm(m.x, 0u);
//#if L4
  norm(m.y, 1u);
  norm(m.z, 2u);
  norm(m.w, 3u);
//#endif
}

//#if POST
// a [M, ldh] = the SwiGLU activation of h: tiles of 16 output columns, each from 16 gate rows (loads 0, 1) and
// the same 16 up rows (loads 2, 3).
fn glu(m: vec4u, s: u32) {
  let ra = aStarts(1u, m, p.D);
  for (var n0 = 0u; n0 < p.ldh; n0 += 16u) {
    let rw = (min(vec4u(n0 + s, n0 + 8u + s, n0 + s, n0 + 8u + s), vec4u(p.ldh - 1u)) * p.D) >> vec4u(2u);
    let t = tile(1u, ra, vec4u(1u, 1u, 2u, 2u), rw, p.D >> 2u);
    putGlu(0u, m.x, n0, gluRow(t.r0, n0));
//#if L4
    putGlu(1u, m.y, n0, gluRow(t.r1, n0));
    putGlu(2u, m.z, n0, gluRow(t.r2, n0));
    putGlu(3u, m.w, n0, gluRow(t.r3, n0));
//#endif
  }
}
//#endif

//#if HEAD
// One row's running log-softmax over the columns seen so far: max mx, sum of exp(logit - mx), argmax (value,
// index) and the tgt's logit.
struct Stat { mx: f32, sum: f32, best: f32, bestI: u32, tl: f32 }
const NEG = -3.4e38;

// Columns n .. n + 3 (logits v; those at or past V are not columns) into s, in index order (strict >: the lowest
// index wins ties, as torch.argmax). The running sum is rescaled once per 4 columns.
fn see4(st: Stat, v: vec4f, n: u32, tgt: u32) -> Stat {
  var s = st;
  let ok = vec4u(n) + vec4u(0u, 1u, 2u, 3u) < vec4u(p.V);
  let w = select(vec4f(NEG), v, ok);
  if (w.x > s.best) { s.best = w.x; s.bestI = n; }
  if (w.y > s.best) { s.best = w.y; s.bestI = n + 1u; }
  if (w.z > s.best) { s.best = w.z; s.bestI = n + 2u; }
  if (w.w > s.best) { s.best = w.w; s.bestI = n + 3u; }
  let mNew = max(s.mx, max(max(w.x, w.y), max(w.z, w.w)));
  let e = select(vec4f(0.0), exp(w - vec4f(mNew)), ok);
  s.sum = s.sum * exp(s.mx - mNew) + e.x + e.y + e.z + e.w;
  s.mx = mNew;
  if (tgt >= n && tgt < n + 4u) { s.tl = v[tgt - n]; }
  return s;
}

fn seeRow(st: Stat, r: Row, n0: u32, tgt: u32) -> Stat {
  var s = see4(st, r.c0, n0, tgt);
  s = see4(s, r.c1, n0 + 4u, tgt);
  s = see4(s, r.c2, n0 + 8u, tgt);
  s = see4(s, r.c3, n0 + 12u, tgt);
  s = see4(s, r.c4, n0 + 16u, tgt);
  s = see4(s, r.c5, n0 + 20u, tgt);
  s = see4(s, r.c6, n0 + 24u, tgt);
  return see4(s, r.c7, n0 + 28u, tgt);
}

// Row m's results: log p(tgt) (rows whose tgt is >= V have none) and the argmax.
fn finish(m: u32, tgt: u32, s: Stat) {
  if (m >= p.M) { return; }
  if (tgt < p.V) { logprob[p.outOff + m] = s.tl - s.mx - log(s.sum); }
  argmax[p.outOff + m] = s.bestI;
}
//#endif

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(subgroup_invocation_id) sl: u32) {
  // Rows depend on the invocation only; the W rows a lane loads depend on its subgroup lane, so whichever
  // invocations form a subgroup share the same 32 columns (as in matmul.wgsl).
//#if L4
  let m0 = wid.x * (WG * 4u) + lid.x;
  let m = vec4u(m0, m0 + WG, m0 + 2u * WG, m0 + 3u * WG);
//#else
  let m = vec4u(wid.x * WG + lid.x);
//#endif
  let s = sl & 7u;
//#if PRE
//#if EMBED
  embed(m.x);
//#if L4
  embed(m.y);
  embed(m.z);
  embed(m.w);
//#endif
//#endif
  normRows(m);
  linear(0u, p.D, p.D, 0u, p.qDim, p.D, 0u, p.qDim, 0u, m, s);
  linear(0u, p.D, p.D, 1u, p.kvDim, p.D, 1u, p.kvDim, p.kvOff, m, s);
  linear(0u, p.D, p.D, 2u, p.kvDim, p.D, 2u, p.kvDim, p.kvOff, m, s);
  rope(m.x);
//#if L4
  rope(m.y);
  rope(m.z);
  rope(m.w);
//#endif
//#endif
//#if POST
  linear(0u, p.qDim, p.qDim, 0u, p.D, p.oLdw, 1u, p.D, 0u, m, s); // x += att Wo^T
  normRows(m);
  glu(m, s);
  linear(2u, p.ldh, p.ldh, 3u, p.D, p.dLdw, 1u, p.D, 0u, m, s); // x += a Wd^T
//#endif
//#if HEAD
  normRows(m);
  let ra = aStarts(0u, m, p.D);
  let mt = min(m, vec4u(p.M - 1u)) + vec4u(p.outOff);
  let t0 = targets[mt.x];
  let none = Stat(NEG, 0.0, NEG, 0u, 0.0);
  var s0 = none;
//#if L4
  let t1 = targets[mt.y];
  let t2 = targets[mt.z];
  let t3 = targets[mt.w];
  var s1 = none;
  var s2 = none;
  var s3 = none;
//#endif
  for (var n0 = 0u; n0 < p.V; n0 += 32u) {
    let t = tile(0u, ra, vec4u(0u), wRows(n0, s, p.V, p.ldw), p.D >> 2u);
    s0 = seeRow(s0, t.r0, n0, t0);
//#if L4
    s1 = seeRow(s1, t.r1, n0, t1);
    s2 = seeRow(s2, t.r2, n0, t2);
    s3 = seeRow(s3, t.r3, n0, t3);
//#endif
  }
  finish(m.x, t0, s0);
//#if L4
  finish(m.y, t1, s1);
  finish(m.z, t2, s2);
  finish(m.w, t3, s3);
//#endif
//#endif
}
