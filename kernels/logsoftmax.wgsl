// Per row of logits [M, V]: log-softmax value of the target token and the argmax token.
//   logprob[m] = logits[m, target[m]] - max - log(sum_j exp(logits[m, j] - max))
// Row m reads targets[outOff + m] and writes logprob/argmax[outOff + m]; rows with target >= V only get their argmax. One workgroup per row; ties in argmax resolve to the
// lowest index (as torch.argmax).
struct Params { M: u32, V: u32, outOff: u32, _pad: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<u32>;
@group(0) @binding(3) var<storage, read_write> logprob: array<f32>;
@group(0) @binding(4) var<storage, read_write> argmax: array<u32>;

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
    let v = logits[base + j];
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
  for (var j = lid.x; j < p.V; j += WG) { s += exp(logits[base + j] - mx); }
  redV[lid.x] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid.x < stride) { redV[lid.x] += redV[lid.x + stride]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) {
    let t = targets[p.outOff + m];
    if (t < p.V) { logprob[p.outOff + m] = logits[base + t] - mx - log(redV[0]); }
    argmax[p.outOff + m] = amax;
  }
}
