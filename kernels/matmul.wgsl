// Linear layer: C[m, n] (+)= sum_{k < K} A[m, k] * W[n, k]   i.e. y = x W^T with W a PyTorch Linear weight.
// Strides make elastic slices free: a sub-network that keeps the first K columns of W (o_proj, down_proj)
// passes K < ldw; one that keeps the first N rows (q/k/v/gate/up) passes a smaller N. No weight is copied.
//   A: [M, lda] from element aOff;  W: [N, ldw];  C: [M, ldc] from element cOff.
// Specialisation (packages/compute/src/gpu/kernels.ts, matmulSpec/matmulGroups): COOP, G4, L, TM, TN, WG, VEC4, W16, WBF
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
// from storage textures made an 8-row x 32-column tile ~15% faster at 4096^2 in a stand-alone copy (not adopted: textures cap
// at 8192 rows and need 256-byte row pitches). The same copy with M, N, K as compile-time constants ran 3.5x slower
// (LLVM unrolls the K loop), so sizes stay uniforms. Also measured (stand-alone probes): a storage load whose
// offset is uniform costs the same inside a loop as a divergent one, and a uniform-buffer array is no cheaper;
// with LP_NATIVE_VECTOR_WIDTH=512 (16-lane subgroups) a 16-lane 8 x 32 tile reached ~31 GFLOP/s at 128 x 4096 x
// 4096 against ~25 for the 8-lane tile of the time, but attention ran 7x and the K = 64 matmuls 1.7x slower with
// kernels sized for 8 lanes, so the engine keeps llvmpipe's default 256-bit vectors.
//
// COOP (needs the subgroups feature, subgroup size >= 8; prefill and small batches): each invocation owns L rows
// of A (rows m0, m0 + WG, ...) and the workgroup shares 8G columns of W (G4: 32, else 16). The W rows are loaded
// once per subgroup, cooperatively (invocation s of the subgroup loads columns n0 + 8g + s, a vec4 of k each),
// and handed to every invocation with subgroupBroadcast. Per 4 k: L + G vec4 loads per invocation feed 32 G L
// FMAs. Accumulators are vec4 over 4 columns: c += a * mat4x4f(4 broadcast W vec4s) is 4 dot products. The tile
// is written out explicitly (named accumulators, one block per column group): the same tile written with
// constant-trip loops over arrays ran 2-5x slower whenever the compiler did not unroll every loop. 4 rows x 32
// columns measured best at every shape tried: 8 x 32 and 4 x 64 hold more accumulators than llvmpipe has
// registers (slower, up to 2.5x), 2-3 x 32 and 4 x 16 do fewer FMAs per load.
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
// W16: W holds 16-bit values (see weights16.wgsl: halves() converts them).
//#include weights16
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

//#if G4
const G = 4u; // W loads per k block: 8 columns each
//#else
const G = 2u;
//#endif

// Row m's accumulators: c[j] holds the loaded columns n0 + 4j .. n0 + 4j + 3. With GLU the first G groups are gate
// and the last G the same columns of up, giving the 4G output columns n0 .. n0 + 4G - 1.
fn putRow(m: u32, n0: u32, c: array<vec4f, 2u * G>) {
//#if GLU
  for (var j = 0u; j < G; j++) { putRow4(m, n0 + 4u * j, glu4(c[j], c[j + G], n0 + 4u * j)); }
//#else
  for (var j = 0u; j < 2u * G; j++) { putRow4(m, n0 + 4u * j, c[j]); }
//#endif
}

// The W vec4s loaded by subgroup lanes 0..3 (4..7) as the columns of one matrix: a * B is then the 4 dot
// products of a with those W rows. (Broadcast lanes must be constants, hence two functions.)
fn lanes0to3(w: vec4f) -> mat4x4f { return mat4x4f(subgroupBroadcast(w, 0u), subgroupBroadcast(w, 1u), subgroupBroadcast(w, 2u), subgroupBroadcast(w, 3u)); }
fn lanes4to7(w: vec4f) -> mat4x4f { return mat4x4f(subgroupBroadcast(w, 4u), subgroupBroadcast(w, 5u), subgroupBroadcast(w, 6u), subgroupBroadcast(w, 7u)); }

// Row start of W row n, clamped into range (every invocation must take part in the broadcasts).
fn rowW(n: u32) -> u32 { return rowStart(min(n, p.N - 1u) * p.ldw); }

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(subgroup_invocation_id) sl: u32) {
  // Rows depend on the invocation only, so no assumption is made about how invocations form subgroups; the
  // columns are the workgroup's, so whichever invocations share a subgroup agree on them. Out-of-range rows and
  // columns are clamped for loading and skipped when storing.
  let m0 = wid.x * (WG * {{L}}u) + lid.x;
  let s = sl & 7u;
  let ra0 = rowStart(p.aOff + min(m0, p.M - 1u) * p.lda);
//#if L2
  let ra1 = rowStart(p.aOff + min(m0 + WG, p.M - 1u) * p.lda);
//#endif
//#if L4
  let ra2 = rowStart(p.aOff + min(m0 + 2u * WG, p.M - 1u) * p.lda);
  let ra3 = rowStart(p.aOff + min(m0 + 3u * WG, p.M - 1u) * p.lda);
//#endif
//#if GLU
  // G / 2 loads of gate rows n0 + 8g + s, then the same rows of up: 4G output columns.
  let n0 = wid.y * (4u * G);
  let rw0 = rowW(n0 + s);
//#if G4
  let rw1 = rowW(n0 + 8u + s);
//#endif
//#else
  let n0 = wid.y * (8u * G);
  let rw0 = rowW(n0 + s);
  let rw1 = rowW(n0 + 8u + s);
//#if G4
  let rw2 = rowW(n0 + 16u + s);
  let rw3 = rowW(n0 + 24u + s);
//#endif
//#endif
  var c00 = vec4f(0.0); var c01 = vec4f(0.0); var c02 = vec4f(0.0); var c03 = vec4f(0.0);
//#if G4
  var c04 = vec4f(0.0); var c05 = vec4f(0.0); var c06 = vec4f(0.0); var c07 = vec4f(0.0);
//#endif
//#if L2
  var c10 = vec4f(0.0); var c11 = vec4f(0.0); var c12 = vec4f(0.0); var c13 = vec4f(0.0);
//#if G4
  var c14 = vec4f(0.0); var c15 = vec4f(0.0); var c16 = vec4f(0.0); var c17 = vec4f(0.0);
//#endif
//#endif
//#if L4
  var c20 = vec4f(0.0); var c21 = vec4f(0.0); var c22 = vec4f(0.0); var c23 = vec4f(0.0);
//#if G4
  var c24 = vec4f(0.0); var c25 = vec4f(0.0); var c26 = vec4f(0.0); var c27 = vec4f(0.0);
//#endif
  var c30 = vec4f(0.0); var c31 = vec4f(0.0); var c32 = vec4f(0.0); var c33 = vec4f(0.0);
//#if G4
  var c34 = vec4f(0.0); var c35 = vec4f(0.0); var c36 = vec4f(0.0); var c37 = vec4f(0.0);
//#endif
//#endif
  let blocks = (p.K + 3u) >> 2u;
  for (var q = 0u; q < blocks; q++) {
    let w0 = loadW(rw0, q);
//#if GLU
//#if G4
    let w1 = loadW(rw1, q);
    let w2 = loadU(rw0, q);
    let w3 = loadU(rw1, q);
//#else
    let w1 = loadU(rw0, q);
//#endif
//#else
    let w1 = loadW(rw1, q);
//#if G4
    let w2 = loadW(rw2, q);
    let w3 = loadW(rw3, q);
//#endif
//#endif
    let a0 = loadA(ra0, q);
//#if L2
    let a1 = loadA(ra1, q);
//#endif
//#if L4
    let a2 = loadA(ra2, q);
    let a3 = loadA(ra3, q);
//#endif
    // Group j: B's column i is W[n0 + 4j + i, 4q .. 4q+3] (lane 4 (j % 2) + i of load j / 2), so a * B adds the
    // 4 dot products of columns 4j .. 4j+3.
    {
      let B = lanes0to3(w0);
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
      let B = lanes4to7(w0);
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
      let B = lanes0to3(w1);
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
      let B = lanes4to7(w1);
      c03 += a0 * B;
//#if L2
      c13 += a1 * B;
//#endif
//#if L4
      c23 += a2 * B;
      c33 += a3 * B;
//#endif
    }
//#if G4
    {
      let B = lanes0to3(w2);
      c04 += a0 * B;
//#if L2
      c14 += a1 * B;
//#endif
//#if L4
      c24 += a2 * B;
      c34 += a3 * B;
//#endif
    }
    {
      let B = lanes4to7(w2);
      c05 += a0 * B;
//#if L2
      c15 += a1 * B;
//#endif
//#if L4
      c25 += a2 * B;
      c35 += a3 * B;
//#endif
    }
    {
      let B = lanes0to3(w3);
      c06 += a0 * B;
//#if L2
      c16 += a1 * B;
//#endif
//#if L4
      c26 += a2 * B;
      c36 += a3 * B;
//#endif
    }
    {
      let B = lanes4to7(w3);
      c07 += a0 * B;
//#if L2
      c17 += a1 * B;
//#endif
//#if L4
      c27 += a2 * B;
      c37 += a3 * B;
//#endif
    }
//#endif
  }
//#if G4
  putRow(m0, n0, array<vec4f, 2u * G>(c00, c01, c02, c03, c04, c05, c06, c07));
//#else
  putRow(m0, n0, array<vec4f, 2u * G>(c00, c01, c02, c03));
//#endif
//#if L2
//#if G4
  putRow(m0 + WG, n0, array<vec4f, 2u * G>(c10, c11, c12, c13, c14, c15, c16, c17));
//#else
  putRow(m0 + WG, n0, array<vec4f, 2u * G>(c10, c11, c12, c13));
//#endif
//#endif
//#if L4
//#if G4
  putRow(m0 + 2u * WG, n0, array<vec4f, 2u * G>(c20, c21, c22, c23, c24, c25, c26, c27));
//#else
  putRow(m0 + 2u * WG, n0, array<vec4f, 2u * G>(c20, c21, c22, c23));
//#endif
//#if G4
  putRow(m0 + 3u * WG, n0, array<vec4f, 2u * G>(c30, c31, c32, c33, c34, c35, c36, c37));
//#else
  putRow(m0 + 3u * WG, n0, array<vec4f, 2u * G>(c30, c31, c32, c33));
//#endif
//#endif
}
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
