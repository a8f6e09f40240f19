// Row gather: out[m, :] = table[ids[idOff + m] - rowStart, :] for ids inside [rowStart, rowEnd).
// Used for the token embedding (the table may be split into row chunks when it exceeds the storage binding
// limit: one dispatch per chunk, each writes only its own rows) and to gather selected hidden rows.
struct Params { M: u32, D: u32, rowStart: u32, rowEnd: u32, idOff: u32, _a: u32, _b: u32, _c: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read> table: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let d = gid.x;
  let m = gid.y + gid.z * 65535u;
  if (d >= p.D || m >= p.M) { return; }
  let row = ids[p.idOff + m];
  if (row < p.rowStart || row >= p.rowEnd) { return; }
  out[m * p.D + d] = table[(row - p.rowStart) * p.D + d];
}
