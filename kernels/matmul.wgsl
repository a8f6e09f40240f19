// Linear layer: C[m, n] (+)= sum_{k < K} A[m, k] * W[n, k]   i.e. y = x W^T with W a PyTorch Linear weight.
// Strides make elastic slices free: a sub-network that keeps the first K columns of W (o_proj, down_proj)
// passes K < ldw; one that keeps the first N rows (q/k/v/gate/up) passes a smaller N. No weight is copied.
//   A: [M, lda] from element aOff;  W: [N, ldw];  C: [M, ldc] from element cOff.
// Specialisation (packages/compute/src/gpu/kernels.ts, matmulSpec/matmulGroups): COOP, WIDE, L, TM, TN, WG, VEC4, W16, WBF
// (K, lda, ldw, aOff all multiples of 4: loads are vec4), ACCUM (add into C: the residual add fused in).
//
// Why it looks like this (measured on lavapipe 25.0 / llvmpipe, AVX2, 8 invocations per SIMD batch): every
// storage load whose offset is not a compile-time constant is emitted as a per-invocation scalar loop with a
// bounds check per component (~10 instructions per float), even when the offset is uniform. Loads, not FMAs,
// are the cost, so each loaded float must feed as many FMAs as the vector registers allow, and no float may be
// loaded twice by one subgroup. Workgroup memory does not help: inside a loop its loads take the same path, and
// barriers turn the shader into coroutines.
// Seen in the x86 llvmpipe emits (MESA_SHADER_CACHE_DISABLE=true GALLIVM_DEBUG=asm): fma() compiles to vmulps +
// vaddps like a * b + c (no fused form to gain); accumulators written in a loop are blended with the execution
// mask and, past ~30 vec4, spilled once per iteration; a vec4 storage load costs ~120 cycles per 8 invocations.
// Tried and slower: two k blocks per unrolled iteration (more spills). A read-only storage texture load measured
// ~1.5x cheaper than a storage buffer load in a micro-benchmark (a sampled texture_2d ~2.5x dearer); A and W both
// from storage textures made the WIDE tile ~15% faster at 4096^2 in a stand-alone copy (not adopted: textures cap
// at 8192 rows and need 256-byte row pitches). The same copy with M, N, K as compile-time constants ran 3.5x slower
// (LLVM unrolls the K loop), so sizes stay uniforms.
//
// COOP (needs the subgroups feature, subgroup size >= 8; prefill and small batches): each invocation owns L rows
// of A (rows m0 and m0 + WG) and the workgroup shares 16 columns of W. The 16 W rows are loaded once per
// subgroup, cooperatively (invocation s of the subgroup loads columns n0 + s and n0 + 8 + s, a vec4 of k each),
// and handed to every invocation with subgroupBroadcast. Per 4 k: L + 2 vec4 loads per invocation feed 64 L
// FMAs. Accumulators are vec4 over 4 columns: c += a * mat4x4f(4 broadcast W vec4s) is 4 dot products.
//
// !COOP (decode M = 1, and the fallback without subgroups): lanes take TN columns each, the workgroup's TM
// rows are shared.
//#if COOP
enable subgroups;
//#endif
//#if GLU
// GLU: W is the gate and U the up projection (same shape and format); the output is silu(gate) * up, the SwiGLU
// hidden activation, and columns at or past nValid (row padding up to N, a multiple of 4 for the next matmul's
// vec4 loads) are stored as 0.
struct Params { M: u32, N: u32, K: u32, lda: u32, ldw: u32, ldc: u32, aOff: u32, cOff: u32, nValid: u32 }
//#else
struct Params { M: u32, N: u32, K: u32, lda: u32, ldw: u32, ldc: u32, aOff: u32, cOff: u32 }
//#endif
@group(0) @binding(0) var<uniform> p: Params;
//
// W16: W holds 16-bit values (bf16 when WBF, else f16), two per u32 word, converted in-kernel (exactly: both are
// subsets of f32), so a bf16/f16 checkpoint takes half the device memory of an f32 copy.
//#if W16
// The two 16-bit values of word u, in memory order.
fn halves(u: u32) -> vec2f {
//#if WBF
  return vec2f(bitcast<f32>(u << 16u), bitcast<f32>(u & 0xffff0000u));
//#else
  return unpack2x16float(u);
//#endif
}
//#endif
//#if VEC4
@group(0) @binding(1) var<storage, read> A: array<vec4f>;
//#if W16
@group(0) @binding(2) var<storage, read> W: array<vec2u>; // 4 values per element, like A's vec4f
//#if GLU
@group(0) @binding(4) var<storage, read> U: array<vec2u>;
//#endif
//#else
@group(0) @binding(2) var<storage, read> W: array<vec4f>;
//#if GLU
@group(0) @binding(4) var<storage, read> U: array<vec4f>;
//#endif
//#endif
// A row is addressed by its first load index; block q holds elements 4q .. 4q+3 (K is a multiple of 4).
fn rowStart(e: u32) -> u32 { return e >> 2u; }
fn loadA(r: u32, q: u32) -> vec4f { return A[r + q]; }
//#if W16
fn unpackW(w: vec2u) -> vec4f { return vec4f(halves(w.x), halves(w.y)); }
fn loadW(r: u32, q: u32) -> vec4f { return unpackW(W[r + q]); }
//#if GLU
fn loadU(r: u32, q: u32) -> vec4f { return unpackW(U[r + q]); }
//#endif
//#else
fn loadW(r: u32, q: u32) -> vec4f { return W[r + q]; }
//#if GLU
fn loadU(r: u32, q: u32) -> vec4f { return U[r + q]; }
//#endif
//#endif
//#else
@group(0) @binding(1) var<storage, read> A: array<f32>;
//#if W16
@group(0) @binding(2) var<storage, read> W: array<u32>;
fn w1(e: u32) -> f32 { return halves(W[e >> 1u])[e & 1u]; } // element e of the 16-bit array
//#if GLU
@group(0) @binding(4) var<storage, read> U: array<u32>;
fn u1(e: u32) -> f32 { return halves(U[e >> 1u])[e & 1u]; }
//#endif
//#else
@group(0) @binding(2) var<storage, read> W: array<f32>;
fn w1(e: u32) -> f32 { return W[e]; }
//#if GLU
@group(0) @binding(4) var<storage, read> U: array<f32>;
fn u1(e: u32) -> f32 { return U[e]; }
//#endif
//#endif
// A row is addressed by its first element; in block q, elements at or past K read as 0 (the last block of a K
// that is not a multiple of 4), their addresses clamped into the row.
fn rowStart(e: u32) -> u32 { return e; }
fn blockIdx(r: u32, q: u32) -> vec4u { return min(vec4u(r + q * 4u) + vec4u(0u, 1u, 2u, 3u), vec4u(r + p.K - 1u)); }
fn blockIn(q: u32) -> vec4<bool> { return vec4u(q * 4u) + vec4u(0u, 1u, 2u, 3u) < vec4u(p.K); }
fn loadA(r: u32, q: u32) -> vec4f {
  let e = blockIdx(r, q);
  return select(vec4f(0.0), vec4f(A[e.x], A[e.y], A[e.z], A[e.w]), blockIn(q));
}
fn loadW(r: u32, q: u32) -> vec4f {
  let e = blockIdx(r, q);
  return select(vec4f(0.0), vec4f(w1(e.x), w1(e.y), w1(e.z), w1(e.w)), blockIn(q));
}
//#if GLU
fn loadU(r: u32, q: u32) -> vec4f {
  let e = blockIdx(r, q);
  return select(vec4f(0.0), vec4f(u1(e.x), u1(e.y), u1(e.z), u1(e.w)), blockIn(q));
}
//#endif
//#endif
//#if VEC4C
@group(0) @binding(3) var<storage, read_write> C: array<vec4f>;
//#else
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
//#endif

//#if VEC4C
// Columns n .. n+3 of row m as one vec4 (ldc, cOff and N multiples of 4: the 4 are all in range or all out).
fn put4(m: u32, n: u32, v: vec4f) {
  if (m < p.M && n < p.N) {
    let c = (p.cOff + m * p.ldc + n) >> 2u;
//#if ACCUM
    C[c] = C[c] + v;
//#else
    C[c] = v;
//#endif
  }
}
//#else
fn put(m: u32, n: u32, v: f32) {
  if (m < p.M && n < p.N) {
    let c = p.cOff + m * p.ldc + n;
//#if ACCUM
    C[c] = C[c] + v;
//#else
    C[c] = v;
//#endif
  }
}

//#endif

//#if GLU
// silu(g) * u for columns n .. n+3, 0 at or past nValid.
fn glu4(g: vec4f, u: vec4f, n: u32) -> vec4f {
  return select(vec4f(0.0), g / (1.0 + exp(-g)) * u, vec4u(n) + vec4u(0u, 1u, 2u, 3u) < vec4u(p.nValid));
}
//#endif

const WG = {{WG}}u;

//#if COOP
// Columns n .. n+3 of row m.
fn putRow4(m: u32, n: u32, v: vec4f) {
//#if VEC4C
  put4(m, n, v);
//#else
  for (var j = 0u; j < 4u; j++) { put(m, n + j, v[j]); }
//#endif
}

// The 16 accumulated columns n0 .. n0+15 of row m; with GLU, c0 and c1 are the gate and c2 and c3 the up sums of
// the 8 output columns n0 .. n0+7.
fn put16(m: u32, n0: u32, c0: vec4f, c1: vec4f, c2: vec4f, c3: vec4f) {
//#if GLU
  putRow4(m, n0, glu4(c0, c2, n0));
  putRow4(m, n0 + 4u, glu4(c1, c3, n0 + 4u));
//#else
  putRow4(m, n0, c0);
  putRow4(m, n0 + 4u, c1);
  putRow4(m, n0 + 8u, c2);
  putRow4(m, n0 + 12u, c3);
//#endif
}

//#if WIDE
// WIDE (long K): 8 rows per invocation and 32 columns per workgroup (4 W loads shared per k block), written
// with constant-trip loops that the compiler unrolls into registers. Twice the FMAs per load and per broadcast
// of the 4-row, 16-column tile; at K = 4096 it measured ~10-20% faster on lavapipe, at K = 64 slower (the
// prologue and epilogue dominate there), so matmulSpec picks it for K >= 128 only.
const WL = 8u; // rows per invocation
const WC = 4u; // W loads per invocation per k block: 8 columns each

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(subgroup_invocation_id) sl: u32) {
  let m0 = wid.x * (WG * WL) + lid.x;
  let s = sl & 7u;
  var ra: array<u32, WL>;
  for (var r = 0u; r < WL; r++) { ra[r] = rowStart(p.aOff + min(m0 + r * WG, p.M - 1u) * p.lda); }
  var rw: array<u32, WC>;
//#if GLU
  // 16 output columns: loads 0 and 1 are gate rows, 2 and 3 the same rows of up.
  let n0 = wid.y * (4u * WC);
  for (var w = 0u; w < WC; w++) { rw[w] = rowStart(min(n0 + 8u * (w % (WC / 2u)) + s, p.N - 1u) * p.ldw); }
//#else
  let n0 = wid.y * (8u * WC);
  for (var w = 0u; w < WC; w++) { rw[w] = rowStart(min(n0 + 8u * w + s, p.N - 1u) * p.ldw); }
//#endif
  // c[(r * WC + w) * 2 + h]: row m0 + r * WG, columns n0 + 8w + 4h .. +3. Zeroed explicitly (see attention.wgsl).
  var c: array<vec4f, WL * WC * 2u>;
  for (var i = 0u; i < WL * WC * 2u; i++) { c[i] = vec4f(0.0); }
  let blocks = (p.K + 3u) >> 2u;
  for (var q = 0u; q < blocks; q++) {
    var a: array<vec4f, WL>;
    for (var r = 0u; r < WL; r++) { a[r] = loadA(ra[r], q); }
    for (var w = 0u; w < WC; w++) {
//#if GLU
      var wv: vec4f;
      if (w < WC / 2u) { wv = loadW(rw[w], q); } else { wv = loadU(rw[w], q); } // folded: the loop is unrolled
//#else
      let wv = loadW(rw[w], q);
//#endif
      let B0 = mat4x4f(subgroupBroadcast(wv, 0u), subgroupBroadcast(wv, 1u), subgroupBroadcast(wv, 2u), subgroupBroadcast(wv, 3u));
      let B1 = mat4x4f(subgroupBroadcast(wv, 4u), subgroupBroadcast(wv, 5u), subgroupBroadcast(wv, 6u), subgroupBroadcast(wv, 7u));
      for (var r = 0u; r < WL; r++) {
        c[(r * WC + w) * 2u] += a[r] * B0;
        c[(r * WC + w) * 2u + 1u] += a[r] * B1;
      }
    }
  }
  for (var r = 0u; r < WL; r++) {
//#if GLU
    for (var w = 0u; w < WC / 2u; w++) {
      put16(m0 + r * WG, n0 + 8u * w, c[(r * WC + w) * 2u], c[(r * WC + w) * 2u + 1u], c[(r * WC + w + WC / 2u) * 2u], c[(r * WC + w + WC / 2u) * 2u + 1u]);
    }
//#else
    for (var w = 0u; w < WC; w += 2u) {
      put16(m0 + r * WG, n0 + 8u * w, c[(r * WC + w) * 2u], c[(r * WC + w) * 2u + 1u], c[(r * WC + w + 1u) * 2u], c[(r * WC + w + 1u) * 2u + 1u]);
    }
//#endif
  }
}
//#else
@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(subgroup_invocation_id) sl: u32) {
  // Rows depend on the invocation only, so no assumption is made about how invocations form subgroups; the 16
  // columns are the workgroup's, so whichever invocations share a subgroup agree on them. Out-of-range rows and
  // columns are clamped for loading (every invocation must take part in the broadcasts) and skipped when storing.
  let m0 = wid.x * (WG * {{L}}u) + lid.x;
//#if GLU
  let n0 = wid.y * 8u; // 8 output columns: gate rows n0 .. n0+7 (w0) and the same rows of up (w1)
//#else
  let n0 = wid.y * 16u;
//#endif
  let ra0 = rowStart(p.aOff + min(m0, p.M - 1u) * p.lda);
//#if L2
  let ra1 = rowStart(p.aOff + min(m0 + WG, p.M - 1u) * p.lda);
//#endif
//#if L4
  let ra2 = rowStart(p.aOff + min(m0 + 2u * WG, p.M - 1u) * p.lda);
  let ra3 = rowStart(p.aOff + min(m0 + 3u * WG, p.M - 1u) * p.lda);
//#endif
  let s = sl & 7u;
  let rw0 = rowStart(min(n0 + s, p.N - 1u) * p.ldw);
//#if GLU
  let rw1 = rw0;
//#else
  let rw1 = rowStart(min(n0 + 8u + s, p.N - 1u) * p.ldw);
//#endif
  var c00 = vec4f(0.0); var c01 = vec4f(0.0); var c02 = vec4f(0.0); var c03 = vec4f(0.0);
//#if L2
  var c10 = vec4f(0.0); var c11 = vec4f(0.0); var c12 = vec4f(0.0); var c13 = vec4f(0.0);
//#endif
//#if L4
  var c20 = vec4f(0.0); var c21 = vec4f(0.0); var c22 = vec4f(0.0); var c23 = vec4f(0.0);
  var c30 = vec4f(0.0); var c31 = vec4f(0.0); var c32 = vec4f(0.0); var c33 = vec4f(0.0);
//#endif
  let blocks = (p.K + 3u) >> 2u;
  for (var q = 0u; q < blocks; q++) {
    let w0 = loadW(rw0, q);
//#if GLU
    let w1 = loadU(rw1, q);
//#else
    let w1 = loadW(rw1, q);
//#endif
    let a0 = loadA(ra0, q);
//#if L2
    let a1 = loadA(ra1, q);
//#endif
//#if L4
    let a2 = loadA(ra2, q);
    let a3 = loadA(ra3, q);
//#endif
    // Group g: B's column j is W[n0 + 4g + j, 4q .. 4q+3], so a * B adds the 4 dot products of columns 4g .. 4g+3.
    {
      let B = mat4x4f(subgroupBroadcast(w0, 0u), subgroupBroadcast(w0, 1u), subgroupBroadcast(w0, 2u), subgroupBroadcast(w0, 3u));
      c00 += a0 * B;
//#if L2
      c10 += a1 * B;
//#endif
//#if L4
      c20 += a2 * B;
      c30 += a3 * B;
//#endif
    }
    {
      let B = mat4x4f(subgroupBroadcast(w0, 4u), subgroupBroadcast(w0, 5u), subgroupBroadcast(w0, 6u), subgroupBroadcast(w0, 7u));
      c01 += a0 * B;
//#if L2
      c11 += a1 * B;
//#endif
//#if L4
      c21 += a2 * B;
      c31 += a3 * B;
//#endif
    }
    {
      let B = mat4x4f(subgroupBroadcast(w1, 0u), subgroupBroadcast(w1, 1u), subgroupBroadcast(w1, 2u), subgroupBroadcast(w1, 3u));
      c02 += a0 * B;
//#if L2
      c12 += a1 * B;
//#endif
//#if L4
      c22 += a2 * B;
      c32 += a3 * B;
//#endif
    }
    {
      let B = mat4x4f(subgroupBroadcast(w1, 4u), subgroupBroadcast(w1, 5u), subgroupBroadcast(w1, 6u), subgroupBroadcast(w1, 7u));
      c03 += a0 * B;
//#if L2
      c13 += a1 * B;
//#endif
//#if L4
      c23 += a2 * B;
      c33 += a3 * B;
//#endif
    }
  }
  put16(m0, n0, c00, c01, c02, c03);
//#if L2
  put16(m0 + WG, n0, c10, c11, c12, c13);
//#endif
//#if L4
  put16(m0 + 2u * WG, n0, c20, c21, c22, c23);
  put16(m0 + 3u * WG, n0, c30, c31, c32, c33);
//#endif
}
//#endif
//#else
const TM = {{TM}}u;
const TN = {{TN}}u;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let nBase = (wid.x * WG + lid.x) * TN;
  let mBase = wid.y * TM;
  // Out-of-range rows/columns are clamped for loading (always in bounds) and skipped when storing.
  var rowA: array<u32, TM>;
  for (var i = 0u; i < TM; i++) { rowA[i] = rowStart(p.aOff + min(mBase + i, p.M - 1u) * p.lda); }
  var rowW: array<u32, TN>;
  for (var j = 0u; j < TN; j++) { rowW[j] = rowStart(min(nBase + j, p.N - 1u) * p.ldw); }
  var acc: array<array<f32, TN>, TM>;
//#if GLU
  var accU: array<array<f32, TN>, TM>; // up sums of the same columns
//#endif
  let blocks = (p.K + 3u) >> 2u;
  for (var q = 0u; q < blocks; q++) {
    var a: array<vec4f, TM>;
    for (var i = 0u; i < TM; i++) { a[i] = loadA(rowA[i], q); }
    for (var j = 0u; j < TN; j++) {
      let w = loadW(rowW[j], q);
      for (var i = 0u; i < TM; i++) { acc[i][j] += dot(a[i], w); }
//#if GLU
      let u = loadU(rowW[j], q);
      for (var i = 0u; i < TM; i++) { accU[i][j] += dot(a[i], u); }
//#endif
    }
  }
  for (var i = 0u; i < TM; i++) {
//#if GLU
    for (var j = 0u; j < TN; j++) {
      let g = acc[i][j];
      put(mBase + i, nBase + j, select(0.0, g / (1.0 + exp(-g)) * accU[i][j], nBase + j < p.nValid));
    }
//#else
    for (var j = 0u; j < TN; j++) { put(mBase + i, nBase + j, acc[i][j]); }
//#endif
  }
}
//#endif
