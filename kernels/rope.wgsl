// Rotary position embedding, HF rotate-half convention, in place on x: [M, stride] from element xOff, holding nHeads heads of
// headDim. For d < headDim/2 the pair (d, d + headDim/2) rotates by angle pos * invFreq[d]:
//   x1' = x1 cos - x2 sin,  x2' = x2 cos + x1 sin.
// cos/sin come from tables [maxPos, headDim/2] computed on the host (f32, as HF computes them; also carries
// the llama3 rope_scaling frequencies), because WGSL's cos/sin are only accurate in [-pi, pi].
// Each invocation rotates PACK consecutive pairs of one head: 4 with VEC4 (headDim/2, stride and xOff multiples of
// 4: vec4 loads, see swiglu.wgsl), else 1.
struct Params { M: u32, nHeads: u32, headDim: u32, stride: u32, xOff: u32, infoOff: u32, _a: u32, _b: u32 }
@group(0) @binding(0) var<uniform> p: Params;
//#if VEC4
@group(0) @binding(1) var<storage, read_write> x: array<vec4f>;
//#else
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
//#endif
@group(0) @binding(2) var<storage, read> tokInfo: array<vec4u>; // (kvStart, kvEnd, pos, prefixEnd): see attention.wgsl
//#if VEC4
@group(0) @binding(3) var<storage, read> cosT: array<vec4f>;
@group(0) @binding(4) var<storage, read> sinT: array<vec4f>;
const PACK = 4u;
//#else
@group(0) @binding(3) var<storage, read> cosT: array<f32>;
@group(0) @binding(4) var<storage, read> sinT: array<f32>;
const PACK = 1u;
//#endif

// Invocations run over all M * ROW (row, head, pair-pack) triples in one flat index, so rows of few pairs (stories260K:
// 8 heads of 4 pairs, one vec4 each) fill whole workgroups; ROW and HALF are compile-time constants, so the
// divisions below are multiplications.
const HALF = {{HALF}}u; // headDim / 2 / PACK: array elements per half head
const ROW = {{ROW}}u; // nHeads * HALF: invocations per row

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = gid.x + gid.y * nwg.x * 64u;
  let m = t / ROW;
  if (m >= p.M) { return; }
  let i = t % ROW;
  let h = i / HALF;
  let d = i % HALF;
  let pos = tokInfo[p.infoOff + m].z;
  let c = cosT[pos * HALF + d];
  let s = sinT[pos * HALF + d];
  let a = (p.xOff + m * p.stride + h * p.headDim) / PACK + d;
  let x1 = x[a];
  let x2 = x[a + HALF];
  x[a] = x1 * c - x2 * s;
  x[a + HALF] = x2 * c + x1 * s;
}
