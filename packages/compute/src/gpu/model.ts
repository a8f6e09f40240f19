/**
 * The elastic LLaMA forward on the device. One set of uploaded weights serves every sub-network: a
 * sub-network only changes dispatch sizes and strides (prefix slices), never the weights.
 *
 * Batches are packed: B ragged sequences become M = sum(len) rows with no padding; per-row `tokInfo`
 * (kvStart, kvEnd, pos, prefixEnd) tells attention which key rows a token sees (kernels/attention.wgsl). A whole forward is recorded as
 * one list of dispatches, submitted once and read back once (see recorder.ts). Generation encodes the prompt
 * and every greedy step in one submission: each step's argmax is written straight into the token buffer the
 * next step's embedding reads, so nothing returns to the host until the end.
 */
import { queryHeadsFor, type LlamaConfig, type SubNetwork, type Tensor } from "@nas/model";
import type { Gpu } from "./device.ts";
import { attentionGroups, attentionSpec, embeddingGroups, logsoftmaxGroups, logsoftmaxSpec, matmulCaps, rmsnormGroups, rmsnormSpec, ropeGroups, ropeSpec, swigluGroups, swigluSpec } from "./kernels.ts";
import { canFuseGlu, encodeGlu, encodeLinear } from "./linear.ts";
import { canEmbedInBlock, canRunBlocks, canRunHead, encodeBlockPost, encodeBlockPre, encodeHead, type BlockShape } from "./block.ts";
import { canGenerate, canStep, encodeGen, encodeStep, genLayerTable, genSpec, packForGenerate, type DecodePack, type GenLayer } from "./decode.ts";
import { isCpuAdapter } from "./priority.ts";
import { params, Recorder, type ProfiledDispatch } from "./recorder.ts";
import { ropeInvFreq, ropeTables } from "./rope.ts";
import type { Specialization } from "./template.ts";
import { destroyWeights, uploadWeights, type DeviceWeights, type LayerWeights, type Matrix, type UploadOptions } from "./weights.ts";

const F = 4; // bytes per f32 / u32
const NO_TARGET = 0xffffffff;
/** Options of a GpuModel: how weights are uploaded, and whether layers run as row-local blocks. */
export interface ModelOptions extends UploadOptions {
  /**
   * Run each layer as two row-local block dispatches around attention (gpu/block.ts) where the layer's weights
   * allow. Default: on CPU adapters, for layers of at most BLOCK_DEFAULT_MAX_VALUES weights, where a dispatch
   * costs tens of microseconds whatever its size; never by default on a GPU, which the block kernel (parallel over
   * rows only) would leave mostly idle. `true` runs every layer that can as blocks, `false` none.
   */
  blocks?: boolean;
  /**
   * How greedy generation runs its decode steps on block layers: "gen" all steps in one GEN dispatch where the model
   * qualifies (gpu/decode.ts canGenerate), else "step"; "step" one STEP dispatch per layer and step; "blocks" PRE,
   * attention and POST per layer and step. Default "gen". Layers that are not blocks always run as kernels.
   */
  decode?: "gen" | "step" | "blocks";
}

/**
 * How generation runs its decode steps: "gen" all in one dispatch, "step" one dispatch per layer and step (where a
 * layer fits it, else as "blocks"), "blocks" PRE, attention and POST per layer and step, "kernels" one dispatch
 * per operation (no block layers, e.g. on a GPU).
 */
export type DecodePath = "gen" | "step" | "blocks" | "kernels";

/** A decode row's position and the cache row of its first key. */
type DecodeRow = { pos: number; kvLo: number };

/**
 * Largest layer (weight values over its seven matrices) that runs as blocks by default. Measured on lavapipe
 * (2 cores): stories260K's 45K-value layers forward 2x faster at T = 1 and 3-10% at T = 256; the bf16 GQA test
 * model's 0.7M-value layers 1.2-1.4x at T <= 16 and the same from T = 64; a LLaMA-2-7B layer (202M) the same at
 * T = 128 but up to 1.8x slower at T = 1 with bf16 weights (one core does the whole layer).
 */
const BLOCK_DEFAULT_MAX_VALUES = 1 << 22;

/** A whole [rows, cols] activation buffer as a one-chunk Matrix, so gather() can pick rows out of it. */
function rowsOf(buffer: GPUBuffer, rows: number, cols: number): Matrix {
  return { name: "rows", rows, cols, chunks: [{ buffer, rowStart: 0, rows }] };
}

const STORAGE = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;

export interface ForwardWant {
  /** Per-position log p(next token) and argmax (rows of each sequence). */
  scores?: boolean;
  /** Logits at the last position of each sequence. */
  lastLogits?: boolean;
  /** Logits at every position (debug/tests; limited by the storage-binding size). */
  allLogits?: boolean;
}

export interface ForwardResult {
  /** Per sequence: logprob[t] = log p(ids[t+1] | ids[<=t]) for t < len-1 (NaN at the last position). */
  logprobs?: Float32Array[];
  /** Per sequence: argmax token at every position t < len. */
  argmax?: Int32Array[];
  lastLogits?: Float32Array[];
  allLogits?: Float32Array[];
}

/** Where a layer writes and reads its keys/values: a shared scratch (scoring) or a KV cache (generation). */
interface KvTarget {
  k: GPUBuffer;
  v: GPUBuffer;
  rowOff: number;
}

/** Rows that go on past the last kept layer's keys and values (see GpuModel.layers). */
interface Tail {
  rows: number;
  /** u32 [rows]: row m of the M for compact row r, increasing. */
  idx: GPUBuffer;
  /** vec4u [rows]: the tokInfo of those rows. */
  info: GPUBuffer;
  /** f32 [rows, D]: their residual stream, written by the last kept layer. */
  x: GPUBuffer;
}

interface Scratch {
  rows: number;
  x: GPUBuffer;
  h: GPUBuffer;
  q: GPUBuffer;
  k: GPUBuffer;
  v: GPUBuffer;
  att: GPUBuffer;
  /** gate and up outputs, only when some layer cannot run them as one GLU matmul (Q8_0 weights) */
  g: GPUBuffer | null;
  u: GPUBuffer | null;
  a: GPUBuffer;
  ids: GPUBuffer;
  info: GPUBuffer;
  targets: GPUBuffer;
  logprob: GPUBuffer;
  argmax: GPUBuffer;
}

/**
 * Row m of a tokInfo array [rows, 4] (kernels/attention.wgsl): element by element, since a per-token
 * `info.set([...])` made a throwaway array per token (20 KB of a B = 1, T = 256 forward's ~140 KB of garbage).
 */
function setTokInfo(info: Uint32Array, m: number, kvStart: number, kvEnd: number, pos: number, prefixEnd: number): void {
  info[4 * m] = kvStart;
  info[4 * m + 1] = kvEnd;
  info[4 * m + 2] = pos;
  info[4 * m + 3] = prefixEnd;
}

export class GpuModel {
  readonly weights: DeviceWeights;
  private rec: Recorder;
  private scratch: Scratch | null = null;
  private misc = new Map<string, GPUBuffer>();
  private ropePositions = 0;
  private cos!: GPUBuffer;
  private sin!: GPUBuffer;
  private readonly invFreq: Float32Array;
  readonly maxWidth: number;
  /** Every layer's gate, up and SwiGLU run as one GLU matmul (no gate/up scratch). */
  readonly fusedMlp: boolean;
  /** Per layer: runs as row-local block halves (see ModelOptions.blocks). */
  readonly blockLayers: boolean[];
  /** Scores (final norm, lm head, log-softmax, argmax) run as one HEAD block (see ModelOptions.blocks). */
  readonly blockHead: boolean;
  /** How decode steps run (ModelOptions.decode). */
  readonly decode: "gen" | "step" | "blocks";
  /** GEN's packed weights and specialisation, made on first use; null where GEN does not apply. */
  private genPack: { pack: DecodePack; spec: Specialization } | null | undefined;

  constructor(
    private gpu: Gpu,
    readonly config: LlamaConfig,
    tensors: Map<string, Tensor>,
    options: ModelOptions = {},
  ) {
    this.weights = uploadWeights(gpu, config, tensors, options);
    // By default only small layers: a block spreads rows over workgroups and nothing else, so a large layer at a
    // few rows (decode) would run on one core, and the ~0.3 ms of dispatches saved per layer stop mattering.
    const small = (w: LayerWeights) => [w.q, w.k, w.v, w.o, w.gate, w.up, w.down].reduce((n, m) => n + m.rows * m.cols, 0) <= BLOCK_DEFAULT_MAX_VALUES;
    const blocks = options.blocks ?? isCpuAdapter(gpu.info);
    this.blockLayers = this.weights.layers.map((w) => blocks && canRunBlocks(gpu, w, config.hiddenSize, config.headDim) && (options.blocks === true || small(w)));
    const head = this.weights.lmHead;
    this.blockHead = blocks && canRunHead(gpu, head, config.hiddenSize) && (options.blocks === true || head.rows * head.cols <= BLOCK_DEFAULT_MAX_VALUES);
    this.fusedMlp = this.weights.layers.every((w, l) => this.blockLayers[l] || canFuseGlu(w.gate, w.up));
    this.decode = options.decode ?? "gen";
    this.rec = new Recorder(gpu);
    this.invFreq = ropeInvFreq(config.rope, config.headDim);
    const per = (i: number) => ({
      q: (config.perLayer?.numHeads[i] ?? config.numHeads) * config.headDim,
      kv: (config.perLayer?.numKvHeads[i] ?? config.numKvHeads) * config.headDim,
      ff: config.perLayer?.intermediateSize[i] ?? config.intermediateSize,
    });
    let w = config.hiddenSize;
    for (let i = 0; i < config.numLayers; i++) w = Math.max(w, per(i).q, per(i).kv, per(i).ff);
    this.maxWidth = w;
    this.ensureRope(Math.min(config.maxPositions, 512));
  }

  /** Most rows (tokens) one pass can hold: every activation buffer must fit one storage binding. */
  get maxRowsPerPass(): number {
    return Math.floor(this.gpu.info.limits.maxStorageBufferBindingSize / (this.maxWidth * F));
  }

  destroy(): void {
    destroyWeights(this.gpu, this.weights);
    this.freeScratch();
    for (const b of this.misc.values()) this.gpu.releaseBuffer(b);
    this.misc.clear();
    this.gpu.releaseBuffer(this.cos);
    this.gpu.releaseBuffer(this.sin);
    if (this.genPack) {
      this.gpu.releaseBuffer(this.genPack.pack.weights);
      this.gpu.releaseBuffer(this.genPack.pack.norms);
    }
    this.rec.destroy();
  }

  // ---------------------------------------------------------------------------------------------------------
  // Buffers

  private freeScratch(): void {
    if (!this.scratch) return;
    for (const [k, b] of Object.entries(this.scratch)) if (k !== "rows" && b) this.gpu.releaseBuffer(b as GPUBuffer);
    this.scratch = null;
  }

  private ensureScratch(rows: number): Scratch {
    if (this.scratch && this.scratch.rows >= rows) return this.scratch;
    this.freeScratch();
    const cap = Math.max(rows, 64);
    const c = this.config;
    const mk = (elems: number, label: string) => this.gpu.createBuffer(elems * F, STORAGE(), label);
    const qMax = this.maxWidth; // upper bound for every per-layer width
    this.scratch = {
      rows: cap,
      x: mk(cap * c.hiddenSize, "x"),
      h: mk(cap * c.hiddenSize, "h"),
      q: mk(cap * qMax, "q"),
      k: mk(cap * qMax, "k"),
      v: mk(cap * qMax, "v"),
      att: mk(cap * qMax, "att"),
      g: this.fusedMlp ? null : mk(cap * qMax, "gate"),
      u: this.fusedMlp ? null : mk(cap * qMax, "up"),
      a: mk(cap * qMax, "act"),
      ids: mk(cap, "ids"),
      info: mk(cap * 4, "tokInfo"),
      targets: mk(cap, "targets"),
      logprob: mk(cap, "logprob"),
      argmax: mk(cap, "argmax"),
    };
    return this.scratch;
  }

  /** A named auxiliary buffer of at least `bytes`, reused across calls. */
  private buffer(name: string, bytes: number): GPUBuffer {
    const b = this.misc.get(name);
    if (b && b.size >= bytes) return b;
    if (b) this.gpu.releaseBuffer(b);
    const nb = this.gpu.createBuffer(Math.max(bytes, 256) * (b ? 2 : 1), STORAGE(), name);
    this.misc.set(name, nb);
    return nb;
  }

  private ensureRope(positions: number): void {
    if (positions <= this.ropePositions) return;
    const n = Math.min(this.config.maxPositions, Math.max(positions, this.ropePositions * 2));
    const { cos, sin } = ropeTables(this.invFreq, n);
    if (this.cos) {
      this.gpu.releaseBuffer(this.cos);
      this.gpu.releaseBuffer(this.sin);
    }
    this.cos = this.gpu.uploadStorage(cos, "rope.cos");
    this.sin = this.gpu.uploadStorage(sin, "rope.sin");
    this.ropePositions = n;
  }

  private write(buffer: GPUBuffer, data: ArrayBufferView, byteOffset = 0): void {
    this.gpu.device.queue.writeBuffer(buffer, byteOffset, data.buffer, data.byteOffset, data.byteLength);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Encoders

  private linear(A: GPUBuffer, aOff: number, lda: number, M: number, K: number, W: Matrix, N: number, C: GPUBuffer, cOff: number, ldc: number, accumulate: boolean): void {
    encodeLinear(this.rec, A, aOff, lda, M, K, W, N, C, cOff, ldc, accumulate);
  }

  /** A Tail for rows `rows` (increasing) of a pass whose tokInfo is `info` (vec4u per row); buffers reused. */
  private tail(rows: ArrayLike<number>, info: Uint32Array): Tail {
    const R = rows.length;
    const tailInfo = new Uint32Array(R * 4);
    for (let r = 0; r < R; r++) tailInfo.set(info.subarray(rows[r] * 4, rows[r] * 4 + 4), r * 4);
    const t: Tail = { rows: R, idx: this.buffer("tail.rows", R * F), info: this.buffer("tail.info", R * 4 * F), x: this.buffer("tail.x", R * this.config.hiddenSize * F) };
    this.write(t.idx, Uint32Array.from(rows));
    this.write(t.info, tailInfo);
    return t;
  }

  private rmsnorm(x: GPUBuffer, w: GPUBuffer, out: GPUBuffer, M: number): void {
    const D = this.config.hiddenSize;
    const spec = rmsnormSpec(M, D);
    this.rec.dispatch("rmsnorm", spec, params(M, D, { f32: this.config.rmsNormEps }, 0), [x, w, out], rmsnormGroups(spec, M));
  }

  /** Gather rows `ids[idOff + m]` of a row-chunked table into out [M, cols]. */
  private gather(ids: GPUBuffer, idOff: number, M: number, table: Matrix, out: GPUBuffer): void {
    for (const c of table.chunks) {
      const p = params(M, table.cols, c.rowStart, c.rowStart + c.rows, idOff, 0, 0, 0);
      this.rec.dispatch("embedding", {}, p, [ids, c.buffer, out], embeddingGroups(M, table.cols));
    }
  }

  /**
   * Causal GQA attention of `rows` query rows q [rows, qHeads * headDim] (tokInfo rows from infoOff of `info`) over
   * the keys and values of `t`, into out.
   */
  private attention(q: GPUBuffer, t: KvTarget, info: GPUBuffer, infoOff: number, rows: number, qHeads: number, kvHeads: number, out: GPUBuffer): void {
    const hd = this.config.headDim;
    const group = qHeads / kvHeads;
    const spec = attentionSpec(matmulCaps(this.gpu.device), hd, group);
    const p = params(rows, qHeads, hd, qHeads * hd, kvHeads * hd, group, { f32: 1 / Math.sqrt(hd) }, infoOff);
    this.rec.dispatch("attention", spec, p, [q, t.k, t.v, info, out], attentionGroups(spec, rows, qHeads));
  }

  /**
   * The embeddings of tokens embed.ids[embed.idOff + m] (m < M) into s.x, then all kept decoder layers; leaves the
   * residual stream in s.x. `kv(layer)` says where keys/values go (row offset rowOff) and are read from.
   *
   * With a `tail`, only the tail's rows (rows idx[r] of the M, in increasing order) go on past the last kept
   * layer's keys and values: that layer runs its queries, attention, output projection and MLP on those R rows
   * alone and leaves their residual stream in tail.x [R, D] (s.x keeps the input of that layer). Every other row
   * is needed there only as keys and values. Scoring ARC-Easy's shared contexts this saves the last layer's work
   * on about three quarters of the rows.
   */
  private layers(s: Scratch, M: number, infoOff: number, subnet: SubNetwork, kv: (layer: number) => KvTarget, tail: Tail | undefined, embed: { ids: GPUBuffer; idOff: number }, row?: DecodeRow): void {
    const c = this.config;
    const hd = c.headDim;
    const D = c.hiddenSize;
    const last = subnet.layers.lastIndexOf(true);
    const first = subnet.layers.indexOf(true);
    // The embedding gather runs inside the first kept layer's PRE block when it can, else as its own dispatch.
    const embedInBlock = this.blockLayers[first] && canEmbedInBlock(this.gpu, this.weights.embed);
    if (!embedInBlock) this.gather(embed.ids, embed.idOff, M, this.weights.embed, s.x);
    for (let l = 0; l < c.numLayers; l++) {
      if (!subnet.layers[l]) continue; // skipped layer: the residual stream passes through unchanged
      const w = this.weights.layers[l];
      const g = subnet.kvHeads[l];
      const qHeads = queryHeadsFor(c, l, g);
      const qDim = qHeads * hd;
      const kvDim = g * hd;
      const ff = subnet.mlp[l];
      const t = kv(l);
      if (this.blockLayers[l]) {
        this.blockLayer(s, M, infoOff, l, qHeads, g, ff, t, tail && l === last ? tail : undefined, embedInBlock && l === first ? embed : undefined, row);
        continue;
      }
      this.rmsnorm(s.x, w.attnNorm, s.h, M);
      this.linear(s.h, 0, D, M, D, w.k, kvDim, t.k, t.rowOff * kvDim, kvDim, false);
      this.linear(s.h, 0, D, M, D, w.v, kvDim, t.v, t.rowOff * kvDim, kvDim, false);
      const kRope = ropeSpec(hd, g, kvDim, t.rowOff * kvDim);
      this.rec.dispatch("rope", kRope, params(M, g, hd, kvDim, t.rowOff * kvDim, infoOff, 0, 0), [t.k, s.info, this.cos, this.sin], ropeGroups(kRope, M));
      // The rows that go on: all M, or in the last kept layer the tail's R rows (x and normed x gathered compactly;
      // s.h may be overwritten now that the key and value projections have read it).
      let rows = M;
      let x = s.x;
      let info = s.info;
      let qInfoOff = infoOff;
      if (tail && l === last) {
        this.gather(tail.idx, 0, tail.rows, rowsOf(s.x, M, D), tail.x);
        this.rmsnorm(tail.x, w.attnNorm, s.h, tail.rows);
        rows = tail.rows;
        x = tail.x;
        info = tail.info;
        qInfoOff = 0;
      }
      this.linear(s.h, 0, D, rows, D, w.q, qDim, s.q, 0, qDim, false);
      const qRope = ropeSpec(hd, qHeads, qDim, 0);
      this.rec.dispatch("rope", qRope, params(rows, qHeads, hd, qDim, 0, qInfoOff, 0, 0), [s.q, info, this.cos, this.sin], ropeGroups(qRope, rows));
      this.attention(s.q, t, info, qInfoOff, rows, qHeads, g, s.att);
      // Residual adds are fused into the output projections' epilogue (ACCUM).
      this.linear(s.att, 0, qDim, rows, qDim, w.o, D, x, 0, D, true);
      this.rmsnorm(x, w.mlpNorm, s.h, rows);
      if (canFuseGlu(w.gate, w.up)) {
        // One dispatch for gate, up and SwiGLU. Hidden rows are padded with zeros to a multiple of 4 when the
        // full width allows it, so the down projection keeps vec4 loads at any kept width (K = 97 -> 100).
        const ldh = w.gate.rows % 4 === 0 ? Math.ceil(ff / 4) * 4 : ff;
        encodeGlu(this.rec, s.h, D, rows, D, w.gate, w.up, ff, ldh, s.a, ldh);
        this.linear(s.a, 0, ldh, rows, ldh, w.down, D, x, 0, D, true);
      } else {
        const [g, u] = [s.g!, s.u!]; // allocated: this layer is why fusedMlp is false
        this.linear(s.h, 0, D, rows, D, w.gate, ff, g, 0, ff, false);
        this.linear(s.h, 0, D, rows, D, w.up, ff, u, 0, ff, false);
        const n = rows * ff;
        const glu = swigluSpec(n);
        this.rec.dispatch("swiglu", glu, params(n, 0, 0, 0), [g, u, s.a], swigluGroups(glu, n));
        this.linear(s.a, 0, ff, rows, ff, w.down, D, x, 0, D, true);
      }
    }
  }

  /**
   * Layer l as block halves (gpu/block.ts): PRE over the M rows (keys and values of all, queries of all), attention,
   * POST. With a tail, attention and POST run on the tail's rows only, their x and queries gathered compactly.
   * A decode step (one row, its `row` known) is one STEP dispatch where the layer fits it.
   */
  private blockLayer(s: Scratch, M: number, infoOff: number, l: number, qHeads: number, g: number, ff: number, t: KvTarget, tail?: Tail, embed?: { ids: GPUBuffer; idOff: number }, row?: DecodeRow): void {
    const c = this.config;
    const hd = c.headDim;
    const D = c.hiddenSize;
    const w = this.weights.layers[l];
    const qDim = qHeads * hd;
    const kvDim = g * hd;
    const shape: BlockShape = { M, D, qDim, kvDim, headDim: hd, eps: c.rmsNormEps, infoOff, kvOff: t.rowOff * kvDim, ff, ldh: Math.ceil(ff / 4) * 4 };
    const table = this.weights.embed;
    const step = row && { ...row, kvOff: shape.kvOff };
    if (M === 1 && step && !tail && this.decode !== "blocks" && encodeStep(this.rec, shape, w, { x: s.x, k: t.k, v: t.v, cos: this.cos, sin: this.sin }, step, embed && { ...embed, table })) return;
    encodeBlockPre(this.rec, shape, w, { x: s.x, h: s.h, q: s.q, k: t.k, v: t.v, info: s.info, cos: this.cos, sin: this.sin }, embed && { ...embed, table });
    let rows = M;
    let x = s.x;
    let q = s.q;
    let info = s.info;
    let qInfoOff = infoOff;
    if (tail) {
      this.gather(tail.idx, 0, tail.rows, rowsOf(s.x, M, D), tail.x);
      q = this.buffer("tail.q", tail.rows * qDim * F);
      this.gather(tail.idx, 0, tail.rows, rowsOf(s.q, M, qDim), q);
      rows = tail.rows;
      x = tail.x;
      info = tail.info;
      qInfoOff = 0;
    }
    this.attention(q, t, info, qInfoOff, rows, qHeads, g, s.att);
    encodeBlockPost(this.rec, { ...shape, M: rows, infoOff: qInfoOff }, w, { att: s.att, x, h: s.h, a: s.a });
  }

  // ---------------------------------------------------------------------------------------------------------
  // Public operations

  /**
   * Forward B ragged sequences under a sub-network (already validated by normalizeSubnet).
   * Splits the batch into passes of whole sequences that fit the device's binding limits.
   */
  async forward(sequences: number[][], subnet: SubNetwork, want: ForwardWant): Promise<ForwardResult> {
    const V = this.config.vocabSize;
    for (const [i, seq] of sequences.entries()) {
      if (seq.length === 0) throw new Error(`sequence ${i} is empty`);
      if (seq.length > this.config.maxPositions) throw new Error(`sequence ${i} has ${seq.length} tokens, above the model's ${this.config.maxPositions} positions`);
      if (seq.length > this.maxRowsPerPass) throw new Error(`sequence ${i} has ${seq.length} tokens, above ${this.maxRowsPerPass} rows per pass on this device`);
      for (const id of seq) if (!Number.isInteger(id) || id < 0 || id >= V) throw new Error(`sequence ${i} has token id ${id} outside the vocabulary [0, ${V})`);
    }
    const out: ForwardResult = {};
    if (want.scores) {
      out.logprobs = [];
      out.argmax = [];
    }
    if (want.lastLogits) out.lastLogits = [];
    if (want.allLogits) out.allLogits = [];
    // Greedy packing of consecutive sequences into passes, so results keep the input order.
    let start = 0;
    while (start < sequences.length) {
      let rows = 0;
      let end = start;
      while (end < sequences.length && rows + sequences[end].length <= this.maxRowsPerPass) rows += sequences[end++].length;
      const part = await this.forwardPass(sequences.slice(start, end), subnet, want);
      out.logprobs?.push(...part.logprobs!);
      out.argmax?.push(...part.argmax!);
      out.lastLogits?.push(...part.lastLogits!);
      out.allLogits?.push(...part.allLogits!);
      start = end;
    }
    return out;
  }

  /**
   * Run one forward with per-dispatch GPU timestamps (see Recorder.profiling) and return them in dispatch
   * order. For finding hot kernels; needs the timestamp-query feature (empty list without it).
   */
  async profileForward(sequences: number[][], subnet: SubNetwork, want: ForwardWant): Promise<ProfiledDispatch[]> {
    this.rec.profiling = true;
    try {
      await this.forward(sequences, subnet, want);
      return this.rec.profile;
    } finally {
      this.rec.profiling = false;
      this.rec.profile = [];
    }
  }

  /**
   * Per row of x's M rows the log-prob of its target (s.targets) and the argmax into s.logprob / s.argmax, as one
   * HEAD block where it runs (see blockHead), else final norm into s.h, lm head and log-softmax; returns what to
   * read back. With `normInH`, s.h is left holding the final norm of the M rows for more logits after it (the
   * HEAD block otherwise keeps its normalised rows in private memory).
   */
  private encodeScores(s: Scratch, x: GPUBuffer, M: number, normInH = false): { buffer: GPUBuffer; offset: number; size: number }[] {
    const V = this.config.vocabSize;
    const D = this.config.hiddenSize;
    const reads = [
      { buffer: s.logprob, offset: 0, size: M * F },
      { buffer: s.argmax, offset: 0, size: M * F },
    ];
    if (this.blockHead) {
      encodeHead(this.rec, { M, D, V, eps: this.config.rmsNormEps, outOff: 0 }, this.weights.norm, this.weights.lmHead, { x, h: s.h, targets: s.targets, logprob: s.logprob, argmax: s.argmax }, normInH);
      return reads;
    }
    this.rmsnorm(x, this.weights.norm, s.h, M);
    // Logits are produced in row chunks into one reused buffer and reduced right away, so [M, V] never
    // has to exist at once (4096 rows x 32000 vocab would be 500 MiB).
    const chunkRows = Math.max(1, Math.min(M, Math.floor(Math.min(this.gpu.info.limits.maxStorageBufferBindingSize, 64 << 20) / (V * F))));
    const logits = this.buffer("logits", chunkRows * V * F);
    for (let r = 0; r < M; r += chunkRows) {
      const rows = Math.min(chunkRows, M - r);
      this.linear(s.h, r * D, D, rows, D, this.weights.lmHead, V, logits, 0, V, false);
      const spec = logsoftmaxSpec(rows, V);
      this.rec.dispatch("logsoftmax", spec, params(rows, V, r, 0), [logits, s.targets, s.logprob, s.argmax], logsoftmaxGroups(spec, rows));
    }
    return reads;
  }

  /**
   * Score continuations of shared prefixes: for group g and continuation i, entry j holds
   * log p(c[j] | prefix ++ c[<j]) and the argmax of that distribution. The prefix runs once per group (per pass):
   * rows are packed as [prefix without its last token][last prefix token ++ c[:-1]] per continuation, and
   * attention lets each continuation see the prefix and itself only (tokInfo prefixEnd, kernels/attention.wgsl).
   * A plain sequence s is the group {prefix: [s[0]], continuations: [s.slice(1)]}, so a sequence may hold
   * maxPositions + 1 tokens: its last token is only a target.
   */
  async scoreGroups(groups: { prefix: number[]; continuations: number[][] }[], subnet: SubNetwork): Promise<{ logprobs: Float32Array; argmax: Int32Array }[][]> {
    const V = this.config.vocabSize;
    const maxRows = this.maxRowsPerPass;
    // Split every group into pieces (its prefix with a run of its continuations) that fit one pass.
    type Piece = { group: number; prefix: number[]; conts: number[][]; first: number; rows: number };
    const pieces: Piece[] = [];
    groups.forEach((g, gi) => {
      const where = `group ${gi}`;
      if (g.prefix.length === 0) throw new Error(`${where}: empty prefix (score from at least a BOS token)`);
      if (g.continuations.length === 0) throw new Error(`${where}: no continuations`);
      for (const id of g.prefix) if (!Number.isInteger(id) || id < 0 || id >= V) throw new Error(`${where}: prefix token id ${id} is outside the vocabulary [0, ${V})`);
      const shared = g.prefix.length - 1;
      let piece: Piece | null = null;
      g.continuations.forEach((c, ci) => {
        if (c.length === 0) throw new Error(`${where}, continuation ${ci}: empty`);
        for (const id of c) if (!Number.isInteger(id) || id < 0 || id >= V) throw new Error(`${where}, continuation ${ci}: token id ${id} is outside the vocabulary [0, ${V})`);
        if (shared + c.length > this.config.maxPositions) throw new Error(`${where}, continuation ${ci}: prefix (${g.prefix.length}) + continuation (${c.length}) exceed the model's ${this.config.maxPositions} positions + 1`);
        if (shared + c.length > maxRows) throw new Error(`${where}, continuation ${ci}: ${shared + c.length} rows exceed ${maxRows} rows per pass on this device`);
        if (!piece || piece.rows + c.length > maxRows) {
          piece = { group: gi, prefix: g.prefix, conts: [], first: ci, rows: shared };
          pieces.push(piece);
        }
        piece.conts.push(c);
        piece.rows += c.length;
      });
    });
    const out = groups.map((g) => new Array<{ logprobs: Float32Array; argmax: Int32Array }>(g.continuations.length));
    let start = 0;
    while (start < pieces.length) {
      let rows = 0;
      let end = start;
      while (end < pieces.length && rows + pieces[end].rows <= maxRows) rows += pieces[end++].rows;
      const part = await this.scorePass(pieces.slice(start, end), rows, subnet);
      pieces.slice(start, end).forEach((p, k) => p.conts.forEach((_, i) => (out[p.group][p.first + i] = part[k][i])));
      start = end;
    }
    return out;
  }

  private async scorePass(pieces: { prefix: number[]; conts: number[][] }[], M: number, subnet: SubNetwork): Promise<{ logprobs: Float32Array; argmax: Int32Array }[][]> {
    const s = this.ensureScratch(M);
    const ids = new Uint32Array(M);
    const info = new Uint32Array(M * 4);
    // Only continuation rows have targets; shared-prefix rows need no logits (ARC-Easy: two thirds of the rows),
    // so the head runs on the R scored rows, gathered compactly: scored[r] is the row of compact row r.
    const scored: number[] = [];
    const targets: number[] = [];
    let m = 0;
    let maxPos = 0;
    const spans: { start: number; len: number }[][] = [];
    for (const { prefix, conts } of pieces) {
      const ps = m;
      const shared = prefix.length - 1;
      for (let t = 0; t < shared; t++, m++) {
        ids[m] = prefix[t];
        setTokInfo(info, m, ps, m + 1, t, ps);
      }
      spans.push(
        conts.map((c) => {
          const start = scored.length;
          // Row j feeds (last prefix token ++ c)[j] at position shared + j and predicts c[j].
          for (let j = 0; j < c.length; j++, m++) {
            ids[m] = j === 0 ? prefix[shared] : c[j - 1];
            setTokInfo(info, m, ps, m + 1, shared + j, ps + shared);
            scored.push(m);
            targets.push(c[j]);
          }
          maxPos = Math.max(maxPos, shared + c.length);
          return { start, len: c.length };
        }),
      );
    }
    this.ensureRope(maxPos);
    this.write(s.ids, ids);
    this.write(s.info, info);
    this.write(s.targets, new Uint32Array(targets));
    const R = scored.length;
    const tail = R < M ? this.tail(scored, info) : undefined; // only the R scored rows need the last layer's outputs
    this.layers(s, M, 0, subnet, () => ({ k: s.k, v: s.v, rowOff: 0 }), tail, { ids: s.ids, idOff: 0 });
    const [lp, am] = await this.rec.run(this.encodeScores(s, tail ? tail.x : s.x, R));
    const logprob = new Float32Array(lp);
    const argmax = new Int32Array(am);
    return spans.map((g) => g.map(({ start, len }) => ({ logprobs: logprob.slice(start, start + len), argmax: argmax.slice(start, start + len) })));
  }

  private async forwardPass(seqs: number[][], subnet: SubNetwork, want: ForwardWant): Promise<ForwardResult> {
    const c = this.config;
    const V = c.vocabSize;
    const D = c.hiddenSize;
    const M = seqs.reduce((n, s) => n + s.length, 0);
    const s = this.ensureScratch(M);
    const ids = new Uint32Array(M);
    const info = new Uint32Array(M * 4);
    const targets = new Uint32Array(M).fill(NO_TARGET);
    const lastIdx = new Uint32Array(seqs.length);
    let m = 0;
    let maxLen = 0;
    seqs.forEach((seq, b) => {
      const start = m;
      maxLen = Math.max(maxLen, seq.length);
      seq.forEach((id, t) => {
        ids[m] = id;
        setTokInfo(info, m, start, m + 1, t, start);
        if (t + 1 < seq.length) targets[m] = seq[t + 1];
        m++;
      });
      lastIdx[b] = m - 1;
    });
    this.ensureRope(maxLen);
    this.write(s.ids, ids);
    this.write(s.info, info);
    this.write(s.targets, targets);

    const reads: { buffer: GPUBuffer; offset: number; size: number }[] = [];
    const B = seqs.length;
    if (!want.scores && !want.allLogits) {
      // Last-position logits only: the last layer runs past its keys and values on the B last rows alone.
      const tail = this.tail(lastIdx, info);
      this.layers(s, M, 0, subnet, () => ({ k: s.k, v: s.v, rowOff: 0 }), tail, { ids: s.ids, idOff: 0 });
      this.rmsnorm(tail.x, this.weights.norm, s.h, B);
      if (want.lastLogits) {
        const logits = this.buffer("lastLogits", B * V * F);
        this.linear(s.h, 0, D, B, D, this.weights.lmHead, V, logits, 0, V, false);
        reads.push({ buffer: logits, offset: 0, size: B * V * F });
      }
    } else {
      this.layers(s, M, 0, subnet, () => ({ k: s.k, v: s.v, rowOff: 0 }), undefined, { ids: s.ids, idOff: 0 });
      if (want.scores) reads.push(...this.encodeScores(s, s.x, M, want.lastLogits || want.allLogits));
      else this.rmsnorm(s.x, this.weights.norm, s.h, M);
      if (want.lastLogits) {
        const idxBuf = this.buffer("lastIdx", B * F);
        this.write(idxBuf, lastIdx);
        const hidden = this.buffer("lastHidden", B * D * F);
        const logits = this.buffer("lastLogits", B * V * F);
        this.gather(idxBuf, 0, B, rowsOf(s.h, M, D), hidden);
        this.linear(hidden, 0, D, B, D, this.weights.lmHead, V, logits, 0, V, false);
        reads.push({ buffer: logits, offset: 0, size: B * V * F });
      }
    }
    if (want.allLogits) {
      if (M * V * F > this.gpu.info.limits.maxStorageBufferBindingSize) throw new Error(`all-position logits for ${M} rows exceed one storage binding; ask for fewer tokens`);
      const logits = this.buffer("allLogits", M * V * F);
      this.linear(s.h, 0, D, M, D, this.weights.lmHead, V, logits, 0, V, false);
      reads.push({ buffer: logits, offset: 0, size: M * V * F });
    }
    const data = await this.rec.run(reads);
    const out: ForwardResult = {};
    let r = 0;
    if (want.scores) {
      const lp = new Float32Array(data[r++]);
      const am = new Int32Array(data[r++]);
      out.logprobs = [];
      out.argmax = [];
      let o = 0;
      for (const seq of seqs) {
        const l = lp.slice(o, o + seq.length);
        l[seq.length - 1] = NaN; // no target after the last token
        out.logprobs.push(l);
        out.argmax.push(am.slice(o, o + seq.length));
        o += seq.length;
      }
    }
    if (want.lastLogits) {
      const all = new Float32Array(data[r++]);
      out.lastLogits = seqs.map((_, b) => all.slice(b * V, (b + 1) * V));
    }
    if (want.allLogits) {
      const all = new Float32Array(data[r++]);
      let o = 0;
      out.allLogits = seqs.map((seq) => {
        const v = all.slice(o * V, (o + seq.length) * V);
        o += seq.length;
        return v;
      });
    }
    return out;
  }

  /** How generation runs its decode steps on this model (see DecodePath). */
  get decodePath(): DecodePath {
    if (!this.blockLayers.some(Boolean)) return "kernels";
    if (this.decode === "gen" && canGenerate(this.gpu, this.weights, this.blockLayers, this.config.headDim)) return "gen";
    return this.decode !== "blocks" && canStep(this.gpu, this.weights, this.config.headDim) ? "step" : "blocks";
  }

  /** GEN's packed weights and specialisation (packing them on first use), or null where the model does not qualify. */
  private generatePack(): { pack: DecodePack; spec: Specialization } | null {
    if (this.genPack === undefined) {
      const spec = canGenerate(this.gpu, this.weights, this.blockLayers, this.config.headDim) ? genSpec(this.gpu, this.weights, this.config.headDim) : null;
      this.genPack = spec ? { pack: packForGenerate(this.gpu, this.weights), spec } : null;
    }
    return this.genPack;
  }

  /**
   * Greedy generation with a KV cache: `maxNew` tokens after `prompt` (stops early at EOS when `stopAtEos`).
   * The prompt pass and every decode step are encoded into one submission (see the file comment).
   */
  async generate(prompt: number[], subnet: SubNetwork, maxNew: number, stopAtEos = true): Promise<number[]> {
    const c = this.config;
    const V = c.vocabSize;
    const D = c.hiddenSize;
    const P = prompt.length;
    if (P === 0) throw new Error("generation needs a non-empty prompt (e.g. [BOS])");
    if (!Number.isInteger(maxNew) || maxNew < 1) throw new Error(`tokens to generate must be a positive integer, got ${maxNew}`);
    const total = P + maxNew;
    if (total > c.maxPositions) throw new Error(`prompt (${P}) + new tokens (${maxNew}) exceed the model's ${c.maxPositions} positions`);
    if (P > this.maxRowsPerPass) throw new Error(`prompt of ${P} tokens exceeds ${this.maxRowsPerPass} rows per pass`);
    for (const id of prompt) if (!Number.isInteger(id) || id < 0 || id >= V) throw new Error(`prompt token id ${id} is outside the vocabulary [0, ${V})`);
    this.ensureRope(total);
    const s = this.ensureScratch(P);
    const tokens = this.buffer("gen.tokens", total * F);
    const info = new Uint32Array(total * 4);
    for (let p = 0; p < total; p++) setTokInfo(info, p, 0, p + 1, p, 0); // cache rows [0, p] (prefixEnd = kvStart: no gap)
    const infoBuf = this.buffer("gen.info", total * 4 * F);
    const noTargets = this.buffer("gen.noTargets", total * F);
    const noLogprob = this.buffer("gen.logprob", total * F);
    this.write(tokens, new Uint32Array(prompt));
    this.write(infoBuf, info);
    this.write(noTargets, new Uint32Array(total).fill(NO_TARGET));
    // With GEN the decode steps use packed caches, so the per-layer caches only hold the prompt's rows.
    const gen = total - 1 > P && this.decode === "gen" ? this.generatePack() : null;
    const cacheRows = gen ? P : total;
    const caches = new Map<number, KvTarget>();
    for (let l = 0; l < c.numLayers; l++) {
      if (!subnet.layers[l]) continue;
      const kvDim = subnet.kvHeads[l] * c.headDim;
      caches.set(l, { k: this.buffer(`gen.k${l}`, cacheRows * kvDim * F), v: this.buffer(`gen.v${l}`, cacheRows * kvDim * F), rowOff: 0 });
    }
    const step = { ...s, info: infoBuf };
    // Greedy next token of one row of x into tokens[at]: the HEAD block, or norm, lm head and log-softmax's argmax.
    // (No targets: noTargets holds NO_TARGET, so no log-prob is written.)
    const next = (x: GPUBuffer, at: number) => {
      if (this.blockHead) {
        encodeHead(this.rec, { M: 1, D, V, eps: c.rmsNormEps, outOff: at }, this.weights.norm, this.weights.lmHead, { x, h: s.h, targets: noTargets, logprob: noLogprob, argmax: tokens });
        return;
      }
      const logits = this.buffer("gen.logits", V * F);
      this.rmsnorm(x, this.weights.norm, s.h, 1);
      this.linear(s.h, 0, D, 1, D, this.weights.lmHead, V, logits, 0, V, false);
      this.rec.dispatch("logsoftmax", logsoftmaxSpec(1, V), params(1, V, at, 0), [logits, noTargets, noLogprob, tokens], [1, 1, 1]);
    };

    // Prompt: rows [0, P), keys/values into cache rows [0, P); next token -> tokens[P].
    // Only the last prompt row needs the last layer's outputs (the others' keys and values fill the cache).
    const tail = this.tail([P - 1], info);
    this.layers(step, P, 0, subnet, (l) => caches.get(l)!, tail, { ids: tokens, idOff: 0 });
    next(tail.x, P);
    if (gen) {
      // Every decode step in one GEN dispatch: the prompt's keys and values are copied into packed caches.
      const kept: (GenLayer & { layer: number })[] = [];
      let base = 0; // vec4s
      for (let l = 0; l < c.numLayers; l++) {
        if (!subnet.layers[l]) continue;
        const kvDim = subnet.kvHeads[l] * c.headDim;
        const w = this.weights.layers[l];
        const qDim = queryHeadsFor(c, l, subnet.kvHeads[l]) * c.headDim;
        kept.push({ layer: l, matrices: gen.pack.matrixOffsets[l], norms: gen.pack.normOffsets[l], qDim, kvDim, ff: subnet.mlp[l], oLdw: w.o.cols, dLdw: w.down.cols, kvBase: base });
        base += (total * kvDim) / 4;
      }
      const K = this.buffer("gen.packK", base * 16);
      const Vc = this.buffer("gen.packV", base * 16);
      for (const g of kept) {
        const cache = caches.get(g.layer)!;
        this.rec.copy(cache.k, 0, K, g.kvBase * 16, P * g.kvDim * F);
        this.rec.copy(cache.v, 0, Vc, g.kvBase * 16, P * g.kvDim * F);
      }
      const table = genLayerTable(kept);
      const tableBuf = this.buffer("gen.layers", table.byteLength);
      this.write(tableBuf, table);
      const head = this.weights.lmHead;
      encodeGen(this.rec, gen.spec, gen.pack, { D, headDim: c.headDim, eps: c.rmsNormEps, V, ldv: head.cols, pos: P, steps: total - 1 - P, layers: kept.length }, { k: K, v: Vc, table: this.weights.embed.chunks[0].buffer, lmHead: head.chunks[0].buffer, cos: this.cos, sin: this.sin, tokens, layerTable: tableBuf });
    }
    // Decode: one row at position p reads tokens[p] (written by the previous step), writes tokens[p + 1].
    for (let p = P; !gen && p < total - 1; p++) {
      this.layers(step, 1, p, subnet, (l) => ({ ...caches.get(l)!, rowOff: p }), undefined, { ids: tokens, idOff: p }, { pos: p, kvLo: 0 });
      next(s.x, p + 1);
    }
    const [data] = await this.rec.run([{ buffer: tokens, offset: P * F, size: maxNew * F }]);
    const out = Array.from(new Uint32Array(data));
    if (stopAtEos) {
      const eos = out.indexOf(c.eosTokenId);
      if (eos >= 0) return out.slice(0, eos);
    }
    return out;
  }
}
