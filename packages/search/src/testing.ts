/**
 * Model configs and fast-check arbitraries shared by this package's tests and benchmark. The configs are the
 * architectures of real checkpoints (stories260K and tiny-llama3-gqa from ../shared/models, and LLaMA-2-7B's
 * published config), written out so tests do not depend on a config loader.
 */
import type { LlamaConfig } from "@nas/model";
import fc from "fast-check";
import { createSearchSpace, type SearchSpace, type SearchSpaceOptions } from "./space.ts";

const base = { architecture: "llama", rmsNormEps: 1e-5, tieWordEmbeddings: true, bosTokenId: 1, eosTokenId: 2 } as const;

/** shared/models/stories260K: dim 64, hidden 172, 5 layers, 8 heads / 4 KV heads. */
export const stories260KConfig: LlamaConfig = {
  ...base, hiddenSize: 64, intermediateSize: 172, numLayers: 5, numHeads: 8, numKvHeads: 4, headDim: 8,
  vocabSize: 512, maxPositions: 512, rope: { theta: 10000 },
};

/** shared/models/tiny-llama3-gqa-bf16: hidden 256, intermediate 704, 4 layers, 8 heads / 2 KV heads. */
export const tinyLlama3Config: LlamaConfig = {
  ...base, hiddenSize: 256, intermediateSize: 704, numLayers: 4, numHeads: 8, numKvHeads: 2, headDim: 32,
  vocabSize: 1024, maxPositions: 2048, rope: { theta: 500000 }, tieWordEmbeddings: false,
};

/** LLaMA-2-7B (the paper's model): 32 layers, intermediate 11008, 32 heads, no GQA. */
export const llama2_7bConfig: LlamaConfig = {
  ...base, hiddenSize: 4096, intermediateSize: 11008, numLayers: 32, numHeads: 32, numKvHeads: 32, headDim: 128,
  vocabSize: 32000, maxPositions: 4096, rope: { theta: 10000 }, tieWordEmbeddings: false,
};

/** An exported non-uniform model: per-layer widths and head counts differ. */
export const perLayerConfig: LlamaConfig = {
  ...stories260KConfig,
  numLayers: 3,
  perLayer: { intermediateSize: [172, 96, 40], numHeads: [8, 4, 8], numKvHeads: [4, 2, 4] },
};

/** Arbitrary search spaces over the configs above with random options (always valid ones). */
export function arbitrarySpace(): fc.Arbitrary<SearchSpace> {
  return fc
    .record({
      config: fc.constantFrom(stories260KConfig, tinyLlama3Config, perLayerConfig, llama2_7bConfig),
      preset: fc.constantFrom("paper" as const, "full" as const),
      depth: fc.boolean(),
      pinFirst: fc.boolean(),
      pinLast: fc.boolean(),
      minKeptFraction: fc.double({ min: 0, max: 1, noNaN: true }),
      mlp: fc.boolean(),
    })
    .map(({ config, minKeptFraction, ...o }) => {
      const options: SearchSpaceOptions = { ...o, minKeptLayers: Math.max(1, Math.ceil(minKeptFraction * config.numLayers)) };
      return createSearchSpace(config, options);
    });
}

/** A space plus raw (possibly invalid) gene values for it. */
export function arbitrarySpaceAndRaw(): fc.Arbitrary<{ space: SearchSpace; raw: number[] }> {
  return arbitrarySpace().chain((space) =>
    fc.array(fc.integer({ min: -2, max: 8 }), { minLength: space.genes.length, maxLength: space.genes.length }).map((raw) => ({ space, raw })),
  );
}
