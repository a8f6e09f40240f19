import { afterAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeTensor } from "./dtypes.ts";
import { parseSafetensors, readSafetensorsFile } from "./safetensors.ts";
import { readSafetensorsDir, readShardedSafetensors, SAFETENSORS_INDEX } from "./safetensors-sharded.ts";
import { encodeSafetensors } from "./safetensors-write.ts";
import { sharedDir } from "./paths.ts";

const tmp = mkdtempSync(join(tmpdir(), "nas-safetensors-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const sharded = join(sharedDir(), "models", "tiny-llama3-gqa-bf16");

/** A file from a raw header object and data section (for corrupting headers on purpose). */
function rawFile(header: unknown, data: Uint8Array, lengthField?: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(lengthField ?? json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const two = [encodeTensor("a", "F32", [2, 2], Float32Array.of(1, 2, 3, 4)), encodeTensor("b", "BF16", [3], Float32Array.of(1, -2, 0.5))];

describe("single file", () => {
  test("encode -> parse round trip keeps dtype, shape, bytes and metadata; data are views", () => {
    const bytes = encodeSafetensors(two, { format: "pt" });
    expect(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8).toBe(0);
    const f = parseSafetensors(bytes, "x.safetensors");
    expect(f.metadata).toEqual({ format: "pt" });
    for (const t of two) {
      const back = f.tensors.get(t.name)!;
      expect([back.dtype, back.shape, [...back.data]]).toEqual([t.dtype, t.shape, [...t.data]]);
      expect(back.data.buffer).toBe(bytes.buffer);
    }
  });

  test("reading from disk equals parsing in memory and feeds every byte to the sink", async () => {
    const bytes = encodeSafetensors(two);
    const path = join(tmp, "two.safetensors");
    writeFileSync(path, bytes);
    const seen: Uint8Array[] = [];
    const f = await readSafetensorsFile(path, { sink: { update: (b) => seen.push(b.slice()) } });
    expect([...f.tensors.keys()].sort()).toEqual(["a", "b"]);
    expect(Buffer.concat(seen)).toEqual(Buffer.from(bytes));
    // the tensor-by-tensor path (used above 1 GiB) reads the same tensors and feeds the same bytes
    const seenPerTensor: Uint8Array[] = [];
    const g = await readSafetensorsFile(path, { sink: { update: (b) => seenPerTensor.push(b.slice()) }, wholeReadLimit: 0 });
    expect(seenPerTensor.length).toBe(4); // prefix, header, one read per tensor
    expect(Buffer.concat(seenPerTensor)).toEqual(Buffer.from(bytes));
    for (const [name, t] of f.tensors) expect([...g.tensors.get(name)!.data]).toEqual([...t.data]);
  });

  const data = new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer); // 24 bytes
  const ok = { x: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, y: { dtype: "F32", shape: [4], data_offsets: [8, 24] } };
  const cases: [string, () => Uint8Array, RegExp][] = [
    ["empty file", () => new Uint8Array(0), /bad\.safetensors: file has 0 bytes.*truncated/],
    ["truncated data", () => rawFile(ok, data).subarray(0, 8 + JSON.stringify(ok).length + 20), /tensor "y" data_offsets \[8, 24\] extend past the data section \(20 bytes\)/],
    ["header length beyond the file", () => rawFile(ok, data, 5000), /header length field says 5000 bytes but only \d+ follow it/],
    ["absurd header length", () => rawFile(ok, data, 2 ** 40), /header length field says 1099511627776 bytes \(limit/],
    ["header length too short", () => rawFile(ok, data, 10), /header is not valid JSON/],
    ["header not JSON", () => rawFile("x", data, undefined).fill(0x7a, 8, 11), /header is not valid JSON/],
    ["header not an object", () => rawFile([1, 2], data), /header must be a JSON object/],
    ["unknown dtype", () => rawFile({ ...ok, x: { dtype: "F33", shape: [2], data_offsets: [0, 8] } }, data), /tensor "x": unknown dtype "F33"/],
    ["unsupported dtype", () => rawFile({ ...ok, x: { dtype: "I64", shape: [1], data_offsets: [0, 8] } }, data), /tensor "x": unsupported dtype "I64"/],
    ["size does not match shape", () => rawFile({ ...ok, x: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, data), /tensor "x": data_offsets \[0, 8\] hold 8 bytes but F32 \[3\] needs 12/],
    ["overlapping tensors", () => rawFile({ x: { dtype: "F32", shape: [4], data_offsets: [0, 16] }, y: { dtype: "F32", shape: [4], data_offsets: [8, 24] } }, data), /tensor "y" .* overlap tensor "x"/],
    ["gap between tensors", () => rawFile({ x: { dtype: "F32", shape: [1], data_offsets: [0, 4] }, y: { dtype: "F32", shape: [4], data_offsets: [8, 24] } }, data), /tensor "y" starts at 8 but the previous tensor ends at 4/],
    ["trailing bytes", () => rawFile({ x: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }, data), /data section has 24 bytes but the tensors cover 8/],
    ["reversed offsets", () => rawFile({ x: { dtype: "F32", shape: [0], data_offsets: [8, 0] } }, data), /tensor "x": data_offsets must be \[begin, end\]/],
    ["negative shape", () => rawFile({ x: { dtype: "F32", shape: [-2], data_offsets: [0, 8] } }, data), /tensor "x": shape must be an array of non-negative integers/],
    ["bad metadata", () => rawFile({ __metadata__: { a: 1 }, ...ok }, data), /__metadata__\.a must be a string/],
  ];
  for (const [name, make, message] of cases) {
    test(`malformed: ${name} -> error naming the file${/tensor/.test(message.source) ? " and tensor" : ""}`, async () => {
      const bytes = make();
      expect(() => parseSafetensors(bytes, "bad.safetensors")).toThrow(message);
      const path = join(tmp, "bad.safetensors");
      writeFileSync(path, bytes);
      await expect(readSafetensorsFile(path)).rejects.toThrow(message);
    });
  }

  test("the well-formed version of those cases parses", () => {
    const f = parseSafetensors(rawFile(ok, data), "ok.safetensors");
    expect([...f.tensors.keys()]).toEqual(["x", "y"]);
  });
});

describe("sharded", () => {
  /** A writable copy of the shared sharded model (its files are read-only). */
  function copyModel(name: string): string {
    const dir = join(tmp, name);
    mkdirSync(dir);
    for (const f of readdirSync(sharded)) copyFileSync(join(sharded, f), join(dir, f));
    return dir;
  }
  const indexOf = (dir: string) => JSON.parse(readFileSync(join(dir, SAFETENSORS_INDEX), "utf8"));

  test("reads all 18 shards of the shared model; every tensor knows its file", async () => {
    const ckpt = await readShardedSafetensors(sharded);
    expect(ckpt.files.length).toBe(18);
    expect(ckpt.tensors.size).toBe(39);
    expect(ckpt.fileOf.get("lm_head.weight")).toEndWith("model-00017-of-00018.safetensors");
    expect(ckpt.tensors.get("model.layers.0.self_attn.k_proj.weight")?.shape).toEqual([64, 256]);
  });

  test("missing shard -> error naming the shard and a tensor in it", async () => {
    const dir = copyModel("missing-shard");
    rmSync(join(dir, "model-00003-of-00018.safetensors"));
    await expect(readSafetensorsDir(dir)).rejects.toThrow(/model-00003-of-00018\.safetensors: missing shard .*"model\.layers\.0\.mlp\.gate_proj\.weight"/);
  });

  test("tensor listed in the index but absent from its shard", async () => {
    const dir = copyModel("absent-tensor");
    const index = indexOf(dir);
    index.weight_map["model.layers.0.mlp.extra.weight"] = "model-00005-of-00018.safetensors";
    writeFileSync(join(dir, SAFETENSORS_INDEX), JSON.stringify(index));
    await expect(readSafetensorsDir(dir)).rejects.toThrow(/model-00005-of-00018\.safetensors: tensor "model\.layers\.0\.mlp\.extra\.weight" is listed in model\.safetensors\.index\.json/);
  });

  test("a tensor stored in two shards is rejected", async () => {
    const dir = copyModel("duplicate");
    const index = indexOf(dir);
    const norm = encodeTensor("model.norm.weight", "F32", [256], new Float32Array(256));
    const shard = encodeSafetensors([norm, encodeTensor("extra.only", "F32", [1], new Float32Array(1))]);
    writeFileSync(join(dir, "extra.safetensors"), shard);
    index.weight_map["extra.only"] = "extra.safetensors";
    writeFileSync(join(dir, SAFETENSORS_INDEX), JSON.stringify(index));
    await expect(readSafetensorsDir(dir)).rejects.toThrow(/tensor "model\.norm\.weight" also appears in/);
  });

  test("bad index: not JSON, no weight_map, path outside the directory", async () => {
    const dir = copyModel("bad-index");
    const path = join(dir, SAFETENSORS_INDEX);
    writeFileSync(path, "{nope");
    await expect(readSafetensorsDir(dir)).rejects.toThrow(/model\.safetensors\.index\.json: not valid JSON/);
    writeFileSync(path, JSON.stringify({ metadata: {} }));
    await expect(readSafetensorsDir(dir)).rejects.toThrow(/missing "weight_map"/);
    writeFileSync(path, JSON.stringify({ weight_map: { "lm_head.weight": "../x.safetensors" } }));
    await expect(readSafetensorsDir(dir)).rejects.toThrow(/tensor "lm_head\.weight" maps to "\.\.\/x\.safetensors", which is not a file name/);
  });

  test("a truncated shard is reported by its file and tensor", async () => {
    const dir = copyModel("truncated-shard");
    const shard = join(dir, "model-00017-of-00018.safetensors");
    writeFileSync(shard, readFileSync(shard).subarray(0, 4000));
    await expect(readSafetensorsDir(dir)).rejects.toThrow(/model-00017-of-00018\.safetensors: tensor "lm_head\.weight" data_offsets .* extend past the data section/);
  });

  test("a directory with no weights says so", async () => {
    const dir = join(tmp, "empty");
    mkdirSync(dir);
    await expect(readSafetensorsDir(dir)).rejects.toThrow(/no model\.safetensors or model\.safetensors\.index\.json/);
  });
});
