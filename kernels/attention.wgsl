// Causal self-attention with grouped-query heads and an online (streaming, max-rescaled) softmax.
// q, out: [M, qStride] packed tokens of all sequences (ragged, no padding); k, v: [rows, kvStride].
// tokInfo[m] = (kvStart, kvEnd, pos, prefixEnd): the token at position pos attends to its pos + 1 keys, the
// key rows [kvStart, prefixEnd) followed by the last pos + 1 - (prefixEnd - kvStart) rows before kvEnd.
// prefixEnd = kvStart is the plain case (one range: its own sequence up to itself, or a KV cache); a larger
// prefixEnd skips a gap, which lets continuations packed after a shared prefix attend to that prefix and to
// themselves but not to each other. Query head h reads KV head h / groupSize. Requires kvStart and kvEnd to be
// non-decreasing over m, and so must the start of the own range (true for all packings in gpu/model.ts).
//
// Specialisation (packages/compute/src/gpu/kernels.ts, attentionSpec): HD (head dim), QH, WG, COOP, VEC4.
// A workgroup is QH query heads of one KV group and a tile of WG consecutive rows, one row per invocation: the
// QH heads share every key/value load and shuffle (GQA; QH = 1 where QH * HD would not fit in registers).
// It walks the tile's keys (its rows' prefix ranges, then their own ranges: two segments) in blocks of 8 keys;
// each invocation masks keys outside its own ranges. No workgroup memory, no barriers: on llvmpipe a barrier turns the shader
// into coroutines (~0.4 us per barrier per 64-wide workgroup, measured), which made the old
// one-workgroup-per-(token, head) kernel with tree reductions 80% of a stories260K forward.
//
// COOP (subgroups, subgroup size >= 8): invocation s of a subgroup loads key/value row j0 + (s & 7) once and
// subgroupShuffle hands each of the 8 rows to every invocation, so a subgroup loads each key once per block
// rather than once per row (storage loads are the cost on llvmpipe; see matmul.wgsl). The whole tile shares
// j0, so whichever invocations form a subgroup, lanes 0..7 of it hold rows j0..j0+7.
// !COOP: every invocation loads the 8 rows itself (devices without subgroups).
//#if COOP
enable subgroups;
//#endif
struct Params { M: u32, nHeads: u32, headDim: u32, qStride: u32, kvStride: u32, groupSize: u32, scale: f32, infoOff: u32 }
@group(0) @binding(0) var<uniform> p: Params;
//#if VEC4
@group(0) @binding(1) var<storage, read> q: array<vec4f>;
@group(0) @binding(2) var<storage, read> k: array<vec4f>;
@group(0) @binding(3) var<storage, read> v: array<vec4f>;
//#else
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
//#endif
@group(0) @binding(4) var<storage, read> tokInfo: array<vec4u>; // (kvStart, kvEnd, pos, prefixEnd)
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

const HD = {{HD}}u;
const HV = (HD + 3u) / 4u; // head dim in vec4 blocks (the last one zero-padded when HD is not a multiple of 4)
const WG = {{WG}}u;
const QH = {{QH}}u; // query heads per invocation, all reading one KV head
const NEG = -3.4e38; // finite "minus infinity", so exp(NEG - NEG) never makes a NaN

// Block c (4 values from element 4c) of the head that starts at element `e` (a multiple of 4 under VEC4).
//#if VEC4
fn loadQ(e: u32, c: u32) -> vec4f { return q[(e >> 2u) + c]; }
fn loadK(e: u32, c: u32) -> vec4f { return k[(e >> 2u) + c]; }
fn loadV(e: u32, c: u32) -> vec4f { return v[(e >> 2u) + c]; }
//#else
fn pick(c: u32) -> vec4<bool> { return vec4u(4u * c, 4u * c + 1u, 4u * c + 2u, 4u * c + 3u) < vec4u(HD); }
fn at(c: u32, i: u32) -> u32 { return min(4u * c + i, HD - 1u); }
fn loadQ(e: u32, c: u32) -> vec4f { return select(vec4f(0.0), vec4f(q[e + at(c, 0u)], q[e + at(c, 1u)], q[e + at(c, 2u)], q[e + at(c, 3u)]), pick(c)); }
fn loadK(e: u32, c: u32) -> vec4f { return select(vec4f(0.0), vec4f(k[e + at(c, 0u)], k[e + at(c, 1u)], k[e + at(c, 2u)], k[e + at(c, 3u)]), pick(c)); }
fn loadV(e: u32, c: u32) -> vec4f { return select(vec4f(0.0), vec4f(v[e + at(c, 0u)], v[e + at(c, 1u)], v[e + at(c, 2u)], v[e + at(c, 3u)]), pick(c)); }
//#endif

/** Is key row j one of this row's keys? */
fn mine_(j: u32, preLo: u32, preHi: u32, ownLo: u32, ownHi: u32) -> bool {
  return (j >= preLo && j < preHi) || (j >= ownLo && j < ownHi);
}

@compute @workgroup_size(WG)
//#if COOP
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(subgroup_invocation_id) sl: u32) {
//#else
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
//#endif
  let h0 = wid.x * QH; // first query head
  // Tiles in zigzag order (0, last, 1, last - 1, ...): causal tiles cost ~their index, and llvmpipe hands each of
  // its threads one contiguous range of workgroups, so in plain order the thread with the late tiles did ~3/4 of
  // the work while the other waited.
  let tiles = (p.M + WG - 1u) / WG;
  let k = wid.y + wid.z * 65535u;
  if (k >= tiles) { return; } // uniform per workgroup
  let r0 = select(tiles - 1u - k / 2u, k / 2u, k % 2u == 0u) * WG; // first row of the tile
  let m = min(r0 + lid.x, p.M - 1u); // rows past M compute row M-1 (every invocation takes part in shuffles)
  // The tile's keys: its rows' prefix ranges [first.x, last.w), then their own ranges from the first row's own
  // start (past what the prefix segment covered) to last.y. Two segments, so continuations packed after one
  // shared prefix never scan each other's rows (186 TinyStories windows share the prefix [BOS]).
  let first = tokInfo[p.infoOff + r0];
  let last = tokInfo[p.infoOff + min(r0 + WG, p.M) - 1u];
  let firstOwnLo = first.y - (first.z + 1u - (first.w - first.x));
  let mine = tokInfo[p.infoOff + m];
  let preLo = mine.x; // this row's keys: [preLo, preHi) and [ownLo, ownHi)
  let preHi = mine.w;
  let ownHi = mine.y;
  let ownLo = ownHi - (mine.z + 1u - (preHi - preLo));
  let kvOff = (h0 / p.groupSize) * HD;

  // Per head g < QH: query qv[g * HV + c], accumulator acc[g * HV + c], running max mx[g] and sum[g].
  let qBase = m * p.qStride + h0 * HD;
  var qv: array<vec4f, QH * HV>;
  for (var g = 0u; g < QH; g++) {
    for (var c = 0u; c < HV; c++) { qv[g * HV + c] = loadQ(qBase + g * HD, c) * p.scale; }
  }
  var acc: array<vec4f, QH * HV>;
  var mx: array<f32, QH>;
  var sum: array<f32, QH>;
  for (var g = 0u; g < QH; g++) { mx[g] = NEG; }

  for (var seg = 0u; seg < 2u; seg++) {
    let lo = select(max(firstOwnLo, last.w), first.x, seg == 0u);
    let hi = select(last.y, last.w, seg == 0u);
    for (var j0 = lo; j0 < hi; j0 += 8u) {
      var sc: array<f32, 8 * QH>; // sc[i * QH + g]: key j0 + i, head g
//#if COOP
      // This invocation's share of the block: key/value row j0 + (sl & 7), clamped into the range.
      let own = min(j0 + (sl & 7u), hi - 1u) * p.kvStride + kvOff;
      var kr: array<vec4f, HV>;
      var vr: array<vec4f, HV>;
      for (var c = 0u; c < HV; c++) { kr[c] = loadK(own, c); vr[c] = loadV(own, c); }
//#endif
      var bm: array<f32, QH>;
      for (var g = 0u; g < QH; g++) { bm[g] = NEG; }
      for (var i = 0u; i < 8u; i++) {
        let j = j0 + i;
        let valid = j < hi && mine_(j, preLo, preHi, ownLo, ownHi); // j < hi: each key in one segment only
        var s: array<f32, QH>;
        for (var g = 0u; g < QH; g++) { s[g] = 0.0; } // explicit: a loop-body var is not re-zeroed on llvmpipe (seen)
//#if !COOP
        let row = min(j, hi - 1u) * p.kvStride + kvOff;
//#endif
        for (var c = 0u; c < HV; c++) {
//#if COOP
          let kk = subgroupShuffle(kr[c], i);
//#else
          let kk = loadK(row, c);
//#endif
          for (var g = 0u; g < QH; g++) { s[g] += dot(qv[g * HV + c], kk); }
        }
        for (var g = 0u; g < QH; g++) {
          sc[i * QH + g] = select(NEG, s[g], valid);
          bm[g] = max(bm[g], sc[i * QH + g]);
        }
      }
      // Rescale what was accumulated to the new running max, then add this block.
      var mNew: array<f32, QH>;
      for (var g = 0u; g < QH; g++) {
        mNew[g] = max(mx[g], bm[g]);
        let corr = exp(mx[g] - mNew[g]);
        sum[g] *= corr;
        for (var c = 0u; c < HV; c++) { acc[g * HV + c] *= corr; }
        mx[g] = mNew[g];
      }
      for (var i = 0u; i < 8u; i++) {
        let j = j0 + i;
        let valid = j < hi && mine_(j, preLo, preHi, ownLo, ownHi);
        var pj: array<f32, QH>;
        for (var g = 0u; g < QH; g++) {
          pj[g] = select(0.0, exp(sc[i * QH + g] - mNew[g]), valid);
          sum[g] += pj[g];
        }
//#if !COOP
        let row = min(j, hi - 1u) * p.kvStride + kvOff;
//#endif
        for (var c = 0u; c < HV; c++) {
//#if COOP
          let vv = subgroupShuffle(vr[c], i);
//#else
          let vv = loadV(row, c);
//#endif
          for (var g = 0u; g < QH; g++) { acc[g * HV + c] += pj[g] * vv; }
        }
      }
    }
  }

  if (r0 + lid.x < p.M) {
    for (var g = 0u; g < QH; g++) {
      let inv = 1.0 / sum[g]; // sum >= 1: the row's own maximum contributes exp(0)
      let oBase = m * p.qStride + (h0 + g) * HD;
      for (var c = 0u; c < HV; c++) {
        for (var i = 0u; i < 4u; i++) {
          if (4u * c + i < HD) { out[oBase + 4u * c + i] = acc[g * HV + c][i] * inv; }
        }
      }
    }
  }
}
