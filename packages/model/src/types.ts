/**
 * Core value types shared by loaders, the compute engine, evaluation, search and export.
 * Everything here is plain data: it crosses process boundaries (Bun <-> Node engine worker) as JSON
 * plus raw bytes, and is stored in SQLite unchanged.
 *
 * This package must run under both Bun and Node (the GPU engine lives in a Node worker, see
 * README.md, "Why the engine runs in a Node process"), so it uses `node:` APIs only, never `Bun.*`.
 */

/** Element types a weight tensor may be stored in. Q8_0 is GGUF's block format (32 int8 + one f16 scale). */
export type DType = "F32" | "F16" | "BF16" | "Q8_0";

/** RoPE settings. `scaling` covers HF's `rope_scaling` / `rope_parameters` of type "llama3". */
export interface RopeConfig {
  theta: number;
  scaling?: {
    type: "llama3";
    factor: number;
    lowFreqFactor: number;
    highFreqFactor: number;
    originalMaxPositions: number;
  };
}

/**
 * A LLaMA-family architecture, normalised from HF config.json (v4 or v5 style) or a llama2.c header.
 * `perLayer` is present only for non-uniform (exported) models, whose layers have their own widths.
 */
export interface LlamaConfig {
  architecture: "llama";
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  vocabSize: number;
  maxPositions: number;
  rmsNormEps: number;
  rope: RopeConfig;
  tieWordEmbeddings: boolean;
  bosTokenId: number;
  eosTokenId: number;
  perLayer?: { intermediateSize: number[]; numHeads: number[]; numKvHeads: number[] };
}

/**
 * One weight tensor in HF naming and HF layout (row-major, `[out, in]` for linear weights; q/k rows in
 * HF's rotate-half order). `data` holds the raw little-endian bytes of `dtype`.
 */
export interface Tensor {
  name: string;
  dtype: DType;
  shape: number[];
  data: Uint8Array;
}

/** Where a model came from and how to identify it (the hash keys caches and guards resumed searches). */
export interface ModelSource {
  path: string;
  format: "hf" | "llama2c" | "gguf";
  /** sha256 over the weight files' bytes and the config, hex. */
  hash: string;
}

/** A sub-network, fully specified: one entry per layer of the super-network. See ./subnet.ts. */
export interface SubNetwork {
  layers: boolean[];
  mlp: number[];
  kvHeads: number[];
}

/** A partial sub-network as users and fixtures write it: a missing key means "full" for that dimension. */
export type SubNetworkSpec = Partial<SubNetwork> | null | undefined;

/** Text <-> token ids. Implementations: llama2.c tokenizer.bin, SentencePiece tokenizer.model, HF tokenizer.json. */
export interface Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  /** Encode text; SentencePiece semantics (a leading space is added as the HF slow/fast Llama tokenizer does). */
  encode(text: string, options?: { bos?: boolean; eos?: boolean }): number[];
  decode(ids: number[]): string;
}
