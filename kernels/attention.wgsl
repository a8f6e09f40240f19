// Causal self-attention with grouped-query heads and a stable (max-subtracted) softmax.
// q, out: [M, qStride] packed tokens of all sequences (ragged, no padding); k, v: [rows, kvStride].
// Token m attends to key rows [kvStart, kvStart + nKeys) from tokInfo[m] (its own sequence up to itself,
// or a KV cache). Query head h reads KV head h / groupSize. One workgroup per (head, token).
struct Params { M: u32, nHeads: u32, headDim: u32, qStride: u32, kvStride: u32, groupSize: u32, scale: f32, infoOff: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> tokInfo: array<vec4u>; // (kvStart, nKeys, pos, seq)
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

const WG = 64u;
const MAXK = {{MAXK}}u; // specialised: >= the longest key range of the batch
var<workgroup> scores: array<f32, MAXK>;
var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let h = wid.x;
  let m = wid.y + wid.z * 65535u;
  if (m >= p.M) { return; } // uniform per workgroup, so barriers below stay in uniform control flow
  let info = tokInfo[p.infoOff + m];
  let kvStart = info.x;
  let nKeys = info.y;
  let qBase = m * p.qStride + h * p.headDim;
  let kvOff = (h / p.groupSize) * p.headDim;

  var localMax = -3.4e38;
  for (var j = lid.x; j < nKeys; j += WG) {
    let kBase = (kvStart + j) * p.kvStride + kvOff;
    var s = 0.0;
    for (var d = 0u; d < p.headDim; d++) { s += q[qBase + d] * k[kBase + d]; }
    s *= p.scale;
    scores[j] = s;
    localMax = max(localMax, s);
  }
  red[lid.x] = localMax;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid.x < stride) { red[lid.x] = max(red[lid.x], red[lid.x + stride]); }
    workgroupBarrier();
  }
  let mx = red[0];
  workgroupBarrier();
  var localSum = 0.0;
  for (var j = lid.x; j < nKeys; j += WG) {
    let e = exp(scores[j] - mx);
    scores[j] = e;
    localSum += e;
  }
  red[lid.x] = localSum;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid.x < stride) { red[lid.x] += red[lid.x + stride]; }
    workgroupBarrier();
  }
  let inv = 1.0 / red[0];
  for (var d = lid.x; d < p.headDim; d += WG) {
    var acc = 0.0;
    for (var j = 0u; j < nKeys; j++) { acc += scores[j] * v[(kvStart + j) * p.kvStride + kvOff + d]; }
    out[qBase + d] = acc * inv;
  }
}
