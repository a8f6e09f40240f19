// Per row of logits [M, V]: log-softmax value of the target token and the argmax token.
//   logprob[m] = logits[m, target[m]] - max - log(sum_j exp(logits[m, j] - max))
// Row m reads targets[outOff + m] and writes logprob/argmax[outOff + m]; rows with target >= V only get their
// argmax. Ties in argmax resolve to the lowest index (as torch.argmax).
// Specialisation (packages/compute/src/gpu/kernels.ts, logsoftmaxSpec):
//   ROWS: one row per invocation, two passes over the row (max and argmax, then the sum), vec4 loads when VEC4
//     (V a multiple of 4); no barriers (see rmsnorm.wgsl): the choice for many rows.
//   !ROWS: one workgroup per row with tree reductions in workgroup memory: the choice for a few rows (decode).
struct Params { M: u32, V: u32, outOff: u32, _pad: u32 }
@group(0) @binding(0) var<uniform> p: Params;
//#if VEC4
@group(0) @binding(1) var<storage, read> logits4: array<vec4f>;
//#else
@group(0) @binding(1) var<storage, read> logits: array<f32>;
//#endif
@group(0) @binding(2) var<storage, read> targets: array<u32>;
@group(0) @binding(3) var<storage, read_write> logprob: array<f32>;
@group(0) @binding(4) var<storage, read_write> argmax: array<u32>;

//#if VEC4
fn at(i: u32) -> f32 { return logits4[i >> 2u][i & 3u]; }
//#else
fn at(i: u32) -> f32 { return logits[i]; }
//#endif

//#if ROWS
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let m = gid.x + (gid.y + gid.z * 65535u) * 64u * 65535u;
  if (m >= p.M) { return; }
  let base = m * p.V;
  var best = -3.4e38;
  var bestI = 0u;
  var s = 0.0;
//#if VEC4
  let n = p.V / 4u;
  let b4 = base / 4u;
  for (var j = 0u; j < n; j++) {
    let v = logits4[b4 + j];
    // Components in order with a strict comparison: the lowest index wins ties.
    if (v.x > best) { best = v.x; bestI = 4u * j; }
    if (v.y > best) { best = v.y; bestI = 4u * j + 1u; }
    if (v.z > best) { best = v.z; bestI = 4u * j + 2u; }
    if (v.w > best) { best = v.w; bestI = 4u * j + 3u; }
  }
  for (var j = 0u; j < n; j++) {
    let e = exp(logits4[b4 + j] - vec4f(best));
    s += e.x + e.y + e.z + e.w;
  }
//#else
  for (var j = 0u; j < p.V; j++) {
    let v = logits[base + j];
    if (v > best) { best = v; bestI = j; }
  }
  for (var j = 0u; j < p.V; j++) { s += exp(logits[base + j] - best); }
//#endif
  let t = targets[p.outOff + m];
  if (t < p.V) { logprob[p.outOff + m] = at(base + t) - best - log(s); }
  argmax[p.outOff + m] = bestI;
}
//#else
const WG = 64u;
var<workgroup> redV: array<f32, WG>;
var<workgroup> redI: array<u32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let m = wid.y + wid.z * 65535u; // rows on y (and z past 65535), see grid() in recorder.ts
  if (m >= p.M) { return; }
  let base = m * p.V;
  var best = -3.4e38;
  var bestI = 0xffffffffu;
  for (var j = lid.x; j < p.V; j += WG) {
    let v = at(base + j);
    if (v > best) { best = v; bestI = j; }
  }
  redV[lid.x] = best;
  redI[lid.x] = bestI;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid.x < stride) {
      let ov = redV[lid.x + stride];
      let oi = redI[lid.x + stride];
      if (ov > redV[lid.x] || (ov == redV[lid.x] && oi < redI[lid.x])) { redV[lid.x] = ov; redI[lid.x] = oi; }
    }
    workgroupBarrier();
  }
  let mx = redV[0];
  let amax = redI[0];
  workgroupBarrier();
  var s = 0.0;
  for (var j = lid.x; j < p.V; j += WG) { s += exp(at(base + j) - mx); }
  redV[lid.x] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid.x < stride) { redV[lid.x] += redV[lid.x + stride]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) {
    let t = targets[p.outOff + m];
    if (t < p.V) { logprob[p.outOff + m] = at(base + t) - mx - log(redV[0]); }
    argmax[p.outOff + m] = amax;
  }
}
//#endif
