/**
 * Tokenizers for LLaMA-family models: llama2.c tokenizer.bin, SentencePiece tokenizer.model, HF tokenizer.json,
 * and `loadTokenizer` to find the right one next to a model.
 */
export { TokenizerError } from "./errors.ts";
export { Llama2cTokenizer, parseLlama2cTokenizer, type Llama2cVocab } from "./llama2c.ts";
export { SentencePieceTokenizer, parseSentencePieceModel, type SentencePieceModel, type SentencePieceOptions, type PieceType } from "./sentencepiece.ts";
export { HfJsonTokenizer } from "./hf-json.ts";
export { loadTokenizer, type LoadTokenizerOptions } from "./load.ts";
