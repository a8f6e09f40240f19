// SwiGLU activation: out[i] = silu(gate[i]) * up[i], silu(g) = g / (1 + exp(-g)). All [M, width] compact.
// VEC4 (n a multiple of 4): each invocation does 4 elements with vec4 loads (on llvmpipe a load costs about the
// same for 1 or 4 floats).
struct Params { n: u32, _a: u32, _b: u32, _c: u32 }
@group(0) @binding(0) var<uniform> p: Params;
//#if VEC4
@group(0) @binding(1) var<storage, read> gate: array<vec4f>;
@group(0) @binding(2) var<storage, read> up: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4f>;
const PACK = 4u;
//#else
@group(0) @binding(1) var<storage, read> gate: array<f32>;
@group(0) @binding(2) var<storage, read> up: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
const PACK = 1u;
//#endif

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * 65535u * 256u;
  if (i >= p.n / PACK) { return; }
  let g = gate[i];
  out[i] = g / (1.0 + exp(-g)) * up[i];
}
