// RMSNorm over rows: out[m, :] = x[m, :] / sqrt(mean(x[m, :]^2) + eps) * w[:]  (x, out: [M, D]).
// One workgroup per row; the sum of squares is reduced in workgroup memory (no subgroup-size assumption).
struct Params { M: u32, D: u32, eps: f32, _pad: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const WG = 64u;
var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let m = wid.y + wid.z * 65535u; // rows on y (and z past 65535), see grid() in recorder.ts
  if (m >= p.M) { return; }
  let base = m * p.D;
  var s = 0.0;
  for (var d = lid.x; d < p.D; d += WG) {
    let v = x[base + d];
    s += v * v;
  }
  partial[lid.x] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid.x < stride) { partial[lid.x] += partial[lid.x + stride]; }
    workgroupBarrier();
  }
  let inv = inverseSqrt(partial[0] / f32(p.D) + p.eps);
  for (var d = lid.x; d < p.D; d += WG) {
    out[base + d] = x[base + d] * inv * w[d];
  }
}
