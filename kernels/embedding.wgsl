// Row gather: out[m, :] = table[ids[idOff + m] - rowStart, :] for ids inside [rowStart, rowEnd).
// Used for the token embedding (the table may be split into row chunks when it exceeds the storage binding
// limit: one dispatch per chunk, each writes only its own rows) and to gather selected hidden rows.
struct Params { M: u32, D: u32, rowStart: u32, rowEnd: u32, idOff: u32, _a: u32, _b: u32, _c: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read> table: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// One invocation per output element over one flat index (256 per workgroup, x then y: see embeddingGroups), so
// short rows still fill whole workgroups: one 64-wide workgroup per row made the 256 x 64 stories260K gather
// 256 workgroups, ~0.25 ms on lavapipe.
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = gid.x + gid.y * nwg.x * 256u;
  if (t >= p.M * p.D) { return; }
  let m = t / p.D;
  let d = t % p.D;
  let row = ids[p.idOff + m];
  if (row < p.rowStart || row >= p.rowEnd) { return; }
  out[m * p.D + d] = table[(row - p.rowStart) * p.D + d];
}
