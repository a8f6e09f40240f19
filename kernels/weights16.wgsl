// Included by kernels that read weights (//#include weights16): W16 weights hold 16-bit values (bf16 when WBF, else
// f16), two per u32 word, converted in-kernel exactly (both are subsets of f32), so a bf16/f16 checkpoint takes
// half the device memory of an f32 copy. halves(u): the two values of word u in memory order; wv(w): one k block
// (4 values) of a weight row as vec4f; WBlock: how such a block is stored.
//#if W16
//#if WBF
fn halves(u: u32) -> vec2f { return vec2f(bitcast<f32>(u << 16u), bitcast<f32>(u & 0xffff0000u)); }
//#else
fn halves(u: u32) -> vec2f { return unpack2x16float(u); }
//#endif
fn wv(w: vec2u) -> vec4f { return vec4f(halves(w.x), halves(w.y)); }
alias WBlock = vec2u;
//#else
fn wv(w: vec4f) -> vec4f { return w; }
alias WBlock = vec4f;
//#endif
