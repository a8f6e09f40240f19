// Linear layer on Q8_0 weights with in-kernel dequantisation:
//   C[m, n] (+)= sum_{k < K} A[aOff + m*lda + k] * (scale[n, k / 32] * q[n, k])
// W keeps GGUF's Q8_0 numbers (blocks of 32 int8 along a row, one scale per block) repacked for the device:
//   Wq: [N, ldw / 4] u32, four int8 per word (little-endian);  Ws: [N, ldw / 32] f32 (the f16 block scales).
// ldw (the stored row length) is a multiple of 32; K <= ldw may end inside a block (elastic column slices).
// Each invocation owns a TM x 4 tile: lanes take 4 consecutive columns, workgroups take TM rows.
struct Params { M: u32, N: u32, K: u32, lda: u32, ldw: u32, ldc: u32, aOff: u32, cOff: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> Wq: array<u32>;
@group(0) @binding(3) var<storage, read> Ws: array<f32>;
@group(0) @binding(4) var<storage, read_write> C: array<f32>;

const TM = {{TM}}u;
const WG = 64u;

fn unpack(word: u32) -> vec4f {
  // Sign-extend each byte: shift it to the top, then arithmetic-shift back down.
  let w = bitcast<i32>(word);
  return vec4f(f32((w << 24u) >> 24u), f32((w << 16u) >> 24u), f32((w << 8u) >> 24u), f32(w >> 24u));
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let nBase = (wid.x * WG + lid.x) * 4u;
  let mBase = (wid.y + wid.z * 65535u) * TM;
  let wordsPerRow = p.ldw / 4u;
  let blocksPerRow = p.ldw / 32u;
  var acc: array<vec4f, TM>;
  let K4 = (p.K + 3u) / 4u;
  for (var kk = 0u; kk < K4; kk++) {
    let k = kk * 4u;
    // Columns of A past K (inside the last word) are masked to zero so partial words add nothing.
    var a: array<vec4f, TM>;
    for (var i = 0u; i < TM; i++) {
      let row = p.aOff + min(mBase + i, p.M - 1u) * p.lda;
      a[i] = vec4f(A[row + k], select(0.0, A[row + min(k + 1u, p.K - 1u)], k + 1u < p.K),
                   select(0.0, A[row + min(k + 2u, p.K - 1u)], k + 2u < p.K), select(0.0, A[row + min(k + 3u, p.K - 1u)], k + 3u < p.K));
    }
    for (var j = 0u; j < 4u; j++) {
      let n = min(nBase + j, p.N - 1u);
      let w = unpack(Wq[n * wordsPerRow + kk]) * Ws[n * blocksPerRow + k / 32u];
      for (var i = 0u; i < TM; i++) { acc[i][j] += dot(a[i], w); }
    }
  }
  for (var i = 0u; i < TM; i++) {
    let m = mBase + i;
    if (m >= p.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let n = nBase + j;
      if (n >= p.N) { break; }
      let c = p.cOff + m * p.ldc + n;
//#if ACCUM
      C[c] = C[c] + acc[i][j];
//#else
      C[c] = acc[i][j];
//#endif
    }
  }
}
