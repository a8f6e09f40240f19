// One-row decoder work for CPU adapters (lavapipe), where a dispatch costs ~40 us of hand-off to llvmpipe's threads
// and back whatever its size (an attention dispatch over one key measured 45-65 us of GPU time, 8.6-10 us with
// LP_NUM_THREADS=0) and a decode step's real work is a few tens of microseconds per layer.
//   STEP: one decoder layer for one row: x = embedding (EMBED) or x; h = RMSNorm(x) * attnNorm; q, k, v = h W^T;
//         RoPE; k and v stored at the row's cache row; attention over the cache; x += att Wo^T;
//         h = RMSNorm(x) * mlpNorm; a = silu(h Wg^T) * (h Wu^T); x += a Wd^T. One dispatch per layer.
//   GEN:  every decode step of a greedy generation in one dispatch: per step, the embedding of the current
//         token, each kept layer as STEP does it (weights, norms and KV caches of all layers packed into one
//         buffer each, addressed through a per-layer table), the final norm, the lm head and the argmax, which
//         is the next step's token (and is stored to tokens[pos + 1]).
// Weights are PyTorch Linear weights [out, in] with the elastic slices of kernels/block.wgsl (first rows, first
// columns, row stride ldw); query head h reads KV head h / (qDim / kvDim).
//
// One row, so every invocation computes the same values and keeps them in private memory (x, h, q, k, v, the
// attention output, the SwiGLU activation): nothing but the KV cache and the outputs goes through storage, and
// one invocation stores each (invocation 0 x and tokens; a cache row, see below). The lanes split the work
// instead of the rows: each matrix product gives lane s columns n0 + 4s .. n0 + 4s + 3 of every 32-column tile,
// and subgroupBroadcast hands all 32 to every lane; attention spreads the cached keys over the lanes, each keeping
// a running softmax per head that subgroupMax / subgroupAdd merge (split-K, as flash-decoding does). The row's own key and value come from private memory.
// A cache row is stored by the lane that reads it in later steps (attention gives key row kvLo + j to lane
// j mod subgroup size), so GEN needs no barrier between its steps: with one, llvmpipe compiles the shader as
// coroutines, and GEN ran 1.5-1.7x slower (200 tokens: stories260K 100 vs 59-66 ms, the GQA test model ~500 vs 300 ms).
// The workgroup is one subgroup of >= 8 (WG); lanes past 8 repeat lanes 0..7's columns.
//
// Specialisation: STEP (with EMBED) or GEN; WG; W16/WBF (16-bit weights; GEN: the lm head too); CA, CH, CQ, CK:
// vec4 blocks of the hidden size, full MLP width, full q and kv widths (powers of two); HD: head dim.
enable subgroups;
// Loop bounds come from the layer table through the private `la`, which WGSL's uniformity analysis cannot see
// is the same in every invocation (it is: one table, read alike by all); the subgroup operations below rely on it.
diagnostic(off, subgroup_uniformity);

struct Params {
  D: u32, headDim: u32, eps: f32, scale: f32,
  pos: u32,   // STEP: the row's position; GEN: the first decode position (its token is tokens[pos])
  kvLo: u32,  // STEP: cache row of the row's first key (its own row is kvOff / kvDim)
  idOff: u32, // STEP with EMBED: the row's token id is ids[idOff]
  steps: u32, // GEN: decode steps; step t reads tokens[pos + t] and writes tokens[pos + t + 1]
  qDim: u32, kvDim: u32, ldh: u32, nValid: u32, // STEP: the layer's kept widths (GEN: per layer, in the table)
  oLdw: u32, dLdw: u32, kvOff: u32, nLayers: u32, // STEP: Wo and Wd row strides, element of the row's key; GEN: kept layers
  V: u32, ldv: u32, normOff: u32, _p: u32,        // GEN: vocabulary, lm head row stride, final norm (vec4s into norms)
}
@group(0) @binding(0) var<uniform> p: Params;

//#include weights16

//#if STEP
@group(0) @binding(1) var<storage, read_write> x: array<vec4f>;
@group(0) @binding(2) var<storage, read> normW: array<vec4f>; // attention norm
@group(0) @binding(3) var<storage, read> normW2: array<vec4f>; // MLP norm
@group(0) @binding(4) var<storage, read> W0: array<WBlock>; // q
@group(0) @binding(5) var<storage, read> W1: array<WBlock>; // k
@group(0) @binding(6) var<storage, read> W2: array<WBlock>; // v
@group(0) @binding(7) var<storage, read> W3: array<WBlock>; // o
@group(0) @binding(8) var<storage, read> W4: array<WBlock>; // gate
@group(0) @binding(9) var<storage, read> W5: array<WBlock>; // up
@group(0) @binding(10) var<storage, read> W6: array<WBlock>; // down
@group(0) @binding(11) var<storage, read_write> kCache: array<vec4f>;
@group(0) @binding(12) var<storage, read_write> vCache: array<vec4f>;
@group(0) @binding(13) var<storage, read> cosT: array<vec4f>; // [maxPos, headDim / 2], see rope.wgsl
@group(0) @binding(14) var<storage, read> sinT: array<vec4f>;
//#if EMBED
@group(0) @binding(15) var<storage, read> ids: array<u32>;
@group(0) @binding(16) var<storage, read> table: array<vec4f>; // [vocab, D]
//#endif
//#endif
//#if GEN
@group(0) @binding(1) var<storage, read> weights: array<WBlock>; // every kept layer's seven matrices
@group(0) @binding(2) var<storage, read> norms: array<vec4f>; // every layer's two norms, the final norm
@group(0) @binding(3) var<storage, read_write> kCache: array<vec4f>; // every kept layer's cache region
@group(0) @binding(4) var<storage, read_write> vCache: array<vec4f>;
@group(0) @binding(5) var<storage, read> table: array<vec4f>; // embedding [vocab, D]
@group(0) @binding(6) var<storage, read> lmHead: array<WBlock>; // [V, ldv]
@group(0) @binding(7) var<storage, read> cosT: array<vec4f>;
@group(0) @binding(8) var<storage, read> sinT: array<vec4f>;
@group(0) @binding(9) var<storage, read_write> tokens: array<u32>;
// Per kept layer, LAYER_WORDS words: the seven matrices' first blocks in `weights` (q, k, v, o, gate, up, down),
// the two norms' first vec4 in `norms`, qDim, kvDim, ldh, nValid, oLdw, dLdw, and the vec4 where its cache starts.
@group(0) @binding(10) var<storage, read> layerTable: array<u32>;
const LAYER_WORDS = 16u;
//#endif

const WG = {{WG}}u;
const NEG = -3.4e38; // finite "minus infinity", so exp(NEG - NEG) never makes a NaN
const CA = {{CA}}u;
const CH = {{CH}}u;
const CQ = {{CQ}}u;
const CK = {{CK}}u;
const HD = {{HD}}u;
const HV = HD / 4u;

// The row: x, h (normalised x), q (scaled for attention after RoPE), k, v, the attention output, a (SwiGLU).
var<private> xc: array<vec4f, CA>;
var<private> hc: array<vec4f, CA>;
var<private> qc: array<vec4f, CQ>;
var<private> kc: array<vec4f, CK>;
var<private> vc: array<vec4f, CK>;
var<private> atc: array<vec4f, CQ>;
var<private> ac: array<vec4f, CH>;

// The layer being run: kept widths, strides, norms, cache start (vec4s) and (GEN) matrix starts.
struct Layer { qDim: u32, kvDim: u32, ldh: u32, nValid: u32, oLdw: u32, dLdw: u32, attnNorm: u32, mlpNorm: u32, kvBase: u32 }
var<private> la: Layer;
//#if GEN
var<private> wOff: array<u32, 7>;
//#endif

// Block i (4 values) of weight matrix `sel` (0 q, 1 k, 2 v, 3 o, 4 gate, 5 up, 6 down; GEN: 7 lm head).
fn loadW(sel: u32, i: u32) -> vec4f {
//#if STEP
  switch sel {
    case 0u: { return wv(W0[i]); }
    case 1u: { return wv(W1[i]); }
    case 2u: { return wv(W2[i]); }
    case 3u: { return wv(W3[i]); }
    case 4u: { return wv(W4[i]); }
    case 5u: { return wv(W5[i]); }
    default: { return wv(W6[i]); }
  }
//#else
  if (sel == 7u) { return wv(lmHead[i]); }
  return wv(weights[wOff[sel] + i]);
//#endif
}

// Norm weight block d: the layer's attention norm (0), its MLP norm (1), the final norm (2, GEN).
fn normAt(which: u32, d: u32) -> vec4f {
//#if STEP
  if (which == 1u) { return normW2[d]; }
  return normW[d];
//#else
  switch which {
    case 0u: { return norms[la.attnNorm + d]; }
    case 1u: { return norms[la.mlpNorm + d]; }
    default: { return norms[p.normOff + d]; }
  }
//#endif
}

// Block i of the row's input to a product: att (0), h (1) or a (2).
fn loadA(sel: u32, i: u32) -> vec4f {
  switch sel {
    case 0u: { return atc[i]; }
    case 1u: { return hc[i]; }
    default: { return ac[i]; }
  }
}

// Block i of a product's output: q (0), k (1), v (2), or added to x (3, a residual).
fn put(sel: u32, i: u32, v: vec4f) {
  switch sel {
    case 0u: { qc[i] = v; }
    case 1u: { kc[i] = v; }
    case 2u: { vc[i] = v; }
    default: { xc[i] += v; }
  }
}

// Lane s's 4 columns n0 + 4s .. n0 + 4s + 3 (of N, clamped) of the row A (as_) times W (ws)^T over K: 4 W loads
// per k block against the row's private A block. (A tile shared across rows through broadcasts, as in block.wgsl,
// would have every lane compute the same row: 32 broadcasts per k block.)
fn gemvTile(as_: u32, K: u32, ws: u32, N: u32, ldw: u32, n0: u32, s: u32) -> vec4f {
  let r = (min(vec4u(n0 + 4u * s) + vec4u(0u, 1u, 2u, 3u), vec4u(N - 1u)) * ldw) >> vec4u(2u);
  var a0 = vec4f(0.0);
  var a1 = vec4f(0.0);
  var a2 = vec4f(0.0);
  var a3 = vec4f(0.0);
  for (var q = 0u; q < (K >> 2u); q++) {
    let a = loadA(as_, q);
    a0 += a * loadW(ws, r.x + q);
    a1 += a * loadW(ws, r.y + q);
    a2 += a * loadW(ws, r.z + q);
    a3 += a * loadW(ws, r.w + q);
  }
  let one = vec4f(1.0);
  return vec4f(dot(a0, one), dot(a1, one), dot(a2, one), dot(a3, one));
}

// out (sel) columns 0 .. N - 1 (a multiple of 4) = the row A (as_) times W (ws)^T over K: every lane gets all 32
// columns of each tile through 8 broadcasts.
fn gemv(as_: u32, K: u32, ws: u32, N: u32, ldw: u32, sel: u32, s: u32) {
  for (var n0 = 0u; n0 < N; n0 += 32u) {
    let o = gemvTile(as_, K, ws, N, ldw, n0, s);
    let b = n0 >> 2u;
    put(sel, b, subgroupBroadcast(o, 0u)); // n0 < N
    if (n0 + 4u < N) { put(sel, b + 1u, subgroupBroadcast(o, 1u)); }
    if (n0 + 8u < N) { put(sel, b + 2u, subgroupBroadcast(o, 2u)); }
    if (n0 + 12u < N) { put(sel, b + 3u, subgroupBroadcast(o, 3u)); }
    if (n0 + 16u < N) { put(sel, b + 4u, subgroupBroadcast(o, 4u)); }
    if (n0 + 20u < N) { put(sel, b + 5u, subgroupBroadcast(o, 5u)); }
    if (n0 + 24u < N) { put(sel, b + 6u, subgroupBroadcast(o, 6u)); }
    if (n0 + 28u < N) { put(sel, b + 7u, subgroupBroadcast(o, 7u)); }
  }
}

// silu(g) * u for columns n .. n + 3, 0 at or past nValid.
fn glu4(g: vec4f, u: vec4f, n: u32) -> vec4f {
  return select(vec4f(0.0), g / (1.0 + exp(-g)) * u, vec4u(n) + vec4u(0u, 1u, 2u, 3u) < vec4u(la.nValid));
}

// a (ldh columns) = silu(h Wg^T) * (h Wu^T), 0 past nValid.
fn gemvGlu(s: u32) {
  for (var n0 = 0u; n0 < la.ldh; n0 += 32u) {
    let g = gemvTile(1u, p.D, 4u, la.ldh, p.D, n0, s);
    let u = gemvTile(1u, p.D, 5u, la.ldh, p.D, n0, s);
    let o = glu4(g, u, n0 + 4u * s);
    let b = n0 >> 2u;
    ac[b] = subgroupBroadcast(o, 0u);
    if (n0 + 4u < la.ldh) { ac[b + 1u] = subgroupBroadcast(o, 1u); }
    if (n0 + 8u < la.ldh) { ac[b + 2u] = subgroupBroadcast(o, 2u); }
    if (n0 + 12u < la.ldh) { ac[b + 3u] = subgroupBroadcast(o, 3u); }
    if (n0 + 16u < la.ldh) { ac[b + 4u] = subgroupBroadcast(o, 4u); }
    if (n0 + 20u < la.ldh) { ac[b + 5u] = subgroupBroadcast(o, 5u); }
    if (n0 + 24u < la.ldh) { ac[b + 6u] = subgroupBroadcast(o, 6u); }
    if (n0 + 28u < la.ldh) { ac[b + 7u] = subgroupBroadcast(o, 7u); }
  }
}

// h = RMSNorm(x) * norm weights `which` (see normAt), as rmsnorm.wgsl computes it.
fn normRow(which: u32) {
  let n = p.D >> 2u;
  var ss = 0.0;
  for (var d = 0u; d < n; d++) { ss += dot(xc[d], xc[d]); }
  let inv = inverseSqrt(ss / f32(p.D) + p.eps);
  for (var d = 0u; d < n; d++) { hc[d] = xc[d] * inv * normAt(which, d); }
}

// RoPE at position pos on every head of q and k (HF rotate-half, as rope.wgsl), then q times the attention scale.
fn ropeRow(pos: u32) {
  let half = p.headDim >> 3u; // vec4s per half head
  for (var d = 0u; d < half; d++) {
    let c = cosT[pos * half + d];
    let s = sinT[pos * half + d];
    for (var e = d; e < (la.qDim >> 2u); e += 2u * half) {
      let x1 = qc[e];
      let x2 = qc[e + half];
      qc[e] = x1 * c - x2 * s;
      qc[e + half] = x2 * c + x1 * s;
    }
    for (var e = d; e < (la.kvDim >> 2u); e += 2u * half) {
      let x1 = kc[e];
      let x2 = kc[e + half];
      kc[e] = x1 * c - x2 * s;
      kc[e + half] = x2 * c + x1 * s;
    }
  }
  for (var e = 0u; e < (la.qDim >> 2u); e++) { qc[e] *= p.scale; }
}

// The attention output of every query head into atc: keys at cache rows kvLo .. own - 1 from storage, own from
// kc/vc. Lane sl of a subgroup of sg takes keys sl, sl + sg, ... and keeps per head a running max, sum and
// weighted value sum (one exp per key and head: whichever of the old max and the new score is smaller is
// exponentiated); the lanes' partial results are rescaled to the subgroup's max and summed, so the result is the
// same in every invocation.
fn attend(kvLo: u32, own: u32, sl: u32, sg: u32) {
  let heads = la.qDim / HD;
  let group = la.qDim / la.kvDim; // query heads per KV head
  let n = own - kvLo + 1u; // keys, the row's own included
  let kw = la.kvDim >> 2u;
  var mx: array<f32, CQ>;
  var sum: array<f32, CQ>;
  var acc: array<vec4f, CQ>;
  for (var h = 0u; h < heads; h++) { mx[h] = NEG; sum[h] = 0.0; }
  for (var e = 0u; e < (la.qDim >> 2u); e++) { acc[e] = vec4f(0.0); }
  for (var j0 = 0u; j0 < n; j0 += sg) {
    let j = j0 + sl;
    let valid = j < n;
    let cached = j + 1u < n; // else the own row (or no key)
    let row = la.kvBase + (kvLo + min(j, n - 1u)) * kw; // the own row's slot may not be written yet: read, not used
    var kr: array<vec4f, CK>;
    var vr: array<vec4f, CK>;
    for (var c = 0u; c < kw; c++) {
      kr[c] = select(kc[c], kCache[row + c], cached);
      vr[c] = select(vc[c], vCache[row + c], cached);
    }
    for (var h = 0u; h < heads; h++) {
      let kb = (h / group) * HV;
      var sc = 0.0;
      for (var c = 0u; c < HV; c++) { sc += dot(qc[h * HV + c], kr[kb + c]); }
      let up = sc > mx[h];
      let e = exp(min(mx[h], sc) - max(mx[h], sc));
      let corr = select(1.0, e, up && valid);
      let pj = select(0.0, select(e, 1.0, up), valid);
      mx[h] = select(mx[h], max(mx[h], sc), valid);
      sum[h] = sum[h] * corr + pj;
      for (var c = 0u; c < HV; c++) { acc[h * HV + c] = acc[h * HV + c] * corr + pj * vr[kb + c]; }
    }
  }
  for (var h = 0u; h < heads; h++) {
    let top = subgroupMax(mx[h]); // finite: lane 0 always has key 0
    let f = exp(mx[h] - top); // 0 for a lane without keys (mx = NEG)
    let inv = 1.0 / subgroupAdd(sum[h] * f);
    for (var c = 0u; c < HV; c++) { atc[h * HV + c] = subgroupAdd(acc[h * HV + c] * f) * inv; }
  }
}

// The layer `la` on the row in xc at position pos, whose key and value go to cache row own (keys: rows kvLo .. own).
fn layer(pos: u32, kvLo: u32, own: u32, s: u32, sl: u32, sg: u32) {
  normRow(0u);
  gemv(1u, p.D, 0u, la.qDim, p.D, 0u, s);
  gemv(1u, p.D, 1u, la.kvDim, p.D, 1u, s);
  gemv(1u, p.D, 2u, la.kvDim, p.D, 2u, s);
  ropeRow(pos);
  if (sl == (own - kvLo) % sg) { // the lane that reads this row later (one per subgroup; all store the same values)
    let b = la.kvBase + own * (la.kvDim >> 2u);
    for (var c = 0u; c < (la.kvDim >> 2u); c++) { kCache[b + c] = kc[c]; vCache[b + c] = vc[c]; }
  }
  attend(kvLo, own, sl, sg);
  gemv(0u, la.qDim, 3u, p.D, la.oLdw, 3u, s); // x += att Wo^T
  normRow(1u);
  gemvGlu(s);
  gemv(2u, la.ldh, 6u, p.D, la.dLdw, 3u, s); // x += a Wd^T
}

//#if GEN
// The greedy next token: argmax over the vocabulary of the final-normed row times the lm head (the lowest index
// on ties, as torch.argmax). Lane s sees its columns in increasing order and keeps the first maximum; the lanes'
// maxima merge to the lowest index holding the overall maximum.
fn nextToken(s: u32) -> u32 {
  normRow(2u);
  var best = NEG;
  var bestI = 0u;
  for (var n0 = 0u; n0 < p.V; n0 += 32u) {
    let n = n0 + 4u * s;
    let v = select(vec4f(NEG), gemvTile(1u, p.D, 7u, p.V, p.ldv, n0, s), vec4u(n) + vec4u(0u, 1u, 2u, 3u) < vec4u(p.V));
    if (v.x > best) { best = v.x; bestI = n; }
    if (v.y > best) { best = v.y; bestI = n + 1u; }
    if (v.z > best) { best = v.z; bestI = n + 2u; }
    if (v.w > best) { best = v.w; bestI = n + 3u; }
  }
  let top = subgroupMax(best);
  return subgroupMin(select(0xffffffffu, bestI, best == top));
}

// Kept layer l's table entry into la and wOff.
fn loadLayer(l: u32) {
  let t = l * LAYER_WORDS;
  for (var i = 0u; i < 7u; i++) { wOff[i] = layerTable[t + i]; }
  la = Layer(layerTable[t + 9u], layerTable[t + 10u], layerTable[t + 11u], layerTable[t + 12u], layerTable[t + 13u], layerTable[t + 14u], layerTable[t + 7u], layerTable[t + 8u], layerTable[t + 15u]);
}
//#endif

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(subgroup_invocation_id) sl: u32, @builtin(subgroup_size) sg: u32) {
  let s = sl & 7u;
  let n4 = p.D >> 2u;
  let first = lid.x == 0u; // the invocation that stores
//#if STEP
  la = Layer(p.qDim, p.kvDim, p.ldh, p.nValid, p.oLdw, p.dLdw, 0u, 0u, 0u);
//#if EMBED
  let src = ids[p.idOff] * n4;
  for (var d = 0u; d < n4; d++) { xc[d] = table[src + d]; }
//#else
  for (var d = 0u; d < n4; d++) { xc[d] = x[d]; }
//#endif
  layer(p.pos, p.kvLo, p.kvOff / p.kvDim, s, sl, sg);
  if (first) {
    for (var d = 0u; d < n4; d++) { x[d] = xc[d]; }
  }
//#endif
//#if GEN
  var id = tokens[p.pos];
  for (var t = 0u; t < p.steps; t++) {
    let pos = p.pos + t;
    let src = id * n4;
    for (var d = 0u; d < n4; d++) { xc[d] = table[src + d]; }
    for (var l = 0u; l < p.nLayers; l++) {
      loadLayer(l);
      layer(pos, 0u, pos, s, sl, sg);
    }
    id = nextToken(s);
    if (first) { tokens[pos + 1u] = id; }
  }
//#endif
}
