// RMSNorm over rows: out[m, :] = x[m, :] / sqrt(mean(x[m, :]^2) + eps) * w[:]  (x, out: [M, D]).
// Specialisation (packages/compute/src/gpu/kernels.ts, rmsnormSpec):
//   ROWS: one row per invocation, 64 rows per workgroup, vec4 loads when VEC4 (D a multiple of 4). No workgroup
//     memory and no barriers, which on llvmpipe cost ~0.4 us each per 64-wide workgroup (measured): the
//     choice for many rows.
//   !ROWS: one workgroup per row, the sum of squares reduced in workgroup memory (no subgroup-size
//     assumption): the choice for a few long rows (decode), where one invocation per row leaves a GPU idle.
struct Params { M: u32, D: u32, eps: f32, _pad: u32 }
@group(0) @binding(0) var<uniform> p: Params;
//#if VEC4
@group(0) @binding(1) var<storage, read> x: array<vec4f>;
@group(0) @binding(2) var<storage, read> w: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4f>;
const PACK = 4u; // floats per array element
//#else
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
const PACK = 1u;
//#endif

// Sum of the squares of one array element (a vec4 or a float).
fn sq(e: vec4f) -> f32 { return dot(e, e); }
fn sq1(e: f32) -> f32 { return e * e; }

//#if ROWS
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let m = gid.x + (gid.y + gid.z * 65535u) * 64u * 65535u;
  if (m >= p.M) { return; }
  let n = p.D / PACK;
  let base = m * n;
  var s = 0.0;
//#if VEC4
  for (var d = 0u; d < n; d++) { s += sq(x[base + d]); }
//#else
  for (var d = 0u; d < n; d++) { s += sq1(x[base + d]); }
//#endif
  let inv = inverseSqrt(s / f32(p.D) + p.eps);
  for (var d = 0u; d < n; d++) { out[base + d] = x[base + d] * inv * w[d]; }
}
//#else
const WG = 64u;
var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let m = wid.y + wid.z * 65535u; // rows on y (and z past 65535), see grid() in recorder.ts
  if (m >= p.M) { return; }
  let n = p.D / PACK;
  let base = m * n;
  var s = 0.0;
  for (var d = lid.x; d < n; d += WG) {
//#if VEC4
    s += sq(x[base + d]);
//#else
    s += sq1(x[base + d]);
//#endif
  }
  partial[lid.x] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid.x < stride) { partial[lid.x] += partial[lid.x + stride]; }
    workgroupBarrier();
  }
  let inv = inverseSqrt(partial[0] / f32(p.D) + p.eps);
  for (var d = lid.x; d < n; d += WG) {
    out[base + d] = x[base + d] * inv * w[d];
  }
}
//#endif
