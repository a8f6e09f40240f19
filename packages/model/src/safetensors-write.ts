/**
 * safetensors encoding: the inverse of ./safetensors.ts, for export and for tests that build small files.
 * Tensors are laid out in the order given; the header is space-padded so the data section starts 8-aligned
 * (as the Python writer does), which keeps every F32 tensor 4-aligned when read back zero-copy.
 */
import { byteSize, numel } from "./dtypes.ts";
import { SafetensorsError } from "./safetensors.ts";
import type { Tensor } from "./types.ts";

/**
 * Encode tensors (F32/F16/BF16) and optional string metadata as one safetensors file.
 *
 * @example
 * writeFileSync(join(dir, "model.safetensors"), encodeSafetensors(tensors.values(), { format: "pt" }));
 */
export function encodeSafetensors(tensors: Iterable<Tensor>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  const list = [...tensors];
  let offset = 0;
  for (const t of list) {
    if (t.dtype === "Q8_0") throw new SafetensorsError(`tensor "${t.name}": Q8_0 cannot be stored in safetensors`);
    if (t.name === "__metadata__" || t.name in header) throw new SafetensorsError(`tensor "${t.name}": duplicate or reserved name`);
    const bytes = byteSize(t.dtype, numel(t.shape));
    if (t.data.byteLength !== bytes) throw new SafetensorsError(`tensor "${t.name}": ${t.data.byteLength} bytes, ${t.dtype} [${t.shape}] needs ${bytes}`);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  const jsonBytes = () => new TextEncoder().encode(json).byteLength;
  json += " ".repeat((8 - (jsonBytes() % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.byteLength;
  for (const t of list) {
    out.set(t.data, at);
    at += t.data.byteLength;
  }
  return out;
}
