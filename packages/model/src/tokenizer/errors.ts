/** Thrown for unreadable or unsupported tokenizer files and out-of-range ids; the message names the file or field. */
export class TokenizerError extends Error {
  override name = "TokenizerError";
}
