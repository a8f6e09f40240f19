import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseHfConfig, sharedDir } from "@nas/model";
import { costObjectives, countParams, macsPerToken, prefillMacs, type LatencyProbe } from "./cost.ts";

const cfg = (m: string) => parseHfConfig(JSON.parse(readFileSync(join(sharedDir(), "models", m, "config.json"), "utf8")));
const stories = cfg("stories260K-hf");
const tiny = cfg("tiny-llama3-gqa-bf16");

describe("parameter count", () => {
  test("stories260K by hand: 260,032 parameters", () => {
    // embedding 512*64 (tied head) + final norm 64 + 5 layers x (2 norms 2*64 + q 64*64 + k,v 2*64*32 + o 64*64 + mlp 3*64*172)
    const layer = 2 * 64 + 64 * 64 + 2 * 64 * 32 + 64 * 64 + 3 * 64 * 172;
    expect(layer).toBe(45440);
    expect(countParams(stories, null)).toEqual({ total: 512 * 64 + 64 + 5 * layer, embedding: 32768, nonEmbedding: 64 + 5 * layer });
    expect(countParams(stories, null).total).toBe(260032);
  });

  test("sub-networks: a skipped layer, a narrower MLP and fewer KV heads remove exactly their weights", () => {
    const full = countParams(stories, null).total;
    expect(countParams(stories, { layers: [true, false, true, true, true] }).total).toBe(full - 45440);
    expect(countParams(stories, { mlp: [172, 100, 172, 172, 172] }).total).toBe(full - 3 * 64 * 72);
    // 2 of 4 KV heads keep 4 of 8 query heads: q and o lose 64*32 each, k and v lose 64*16 each
    expect(countParams(stories, { kvHeads: [4, 2, 4, 4, 4] }).total).toBe(full - 2 * 64 * 32 - 2 * 64 * 16);
  });

  test("untied LM head counts twice (tiny-llama3)", () => {
    expect(countParams(tiny, null).embedding).toBe(2 * 1024 * 256);
  });
});

describe("MACs per token", () => {
  test("stories260K at T = 256 by hand: 423,168", () => {
    // per layer: q 64*64 + k 64*32 + v 64*32 + o 64*64 = 12288; attention 2*8 heads*8 dims*256 = 32768; mlp 3*64*172 = 33024
    const m = macsPerToken(stories, null, 256);
    expect(m).toEqual({ projections: 5 * 12288, attention: 5 * 32768, mlp: 5 * 33024, lmHead: 512 * 64, total: 5 * (12288 + 32768 + 33024) + 32768 });
    expect(m.total).toBe(423168);
  });

  test("GQA sub-network and skipped layer", () => {
    const m = macsPerToken(stories, { layers: [true, true, true, true, false], kvHeads: [2, 4, 4, 4, 4] }, 10);
    // layer 0 with 2 KV heads: q 64*32 + k,v 64*16 each + o 32*64 = 6144, attention 2*4*8*10 = 640
    expect(m.projections).toBe(6144 + 3 * 12288);
    expect(m.attention).toBe(640 + 3 * 2 * 8 * 8 * 10);
    expect(m.mlp).toBe(4 * 33024);
  });

  test("prefill MACs sum the per-position cost", () => {
    let sum = 0;
    for (let t = 1; t <= 7; t++) sum += macsPerToken(stories, null, t).total;
    expect(prefillMacs(stories, null, 7)).toBe(sum);
    expect(() => macsPerToken(stories, null, 0)).toThrow(RangeError);
  });
});

describe("costObjectives", () => {
  test("analytic objectives, plus the probe's measurements when given (only defined options reach the probe)", async () => {
    const seen: object[] = [];
    const probe: LatencyProbe = {
      async latency(subnet, options) {
        seen.push({ layers: subnet.layers.length, ...options });
        return { prefillMs: 12.5, decodeMsPerToken: 0.7, deviceBytes: 4096 };
      },
    };
    expect(await costObjectives(stories, null, { T: 256 })).toEqual({ params: 260032, nonEmbeddingParams: 227264, macsPerToken: 423168, T: 256 });
    const c = await costObjectives(stories, null, { T: 64, probe });
    expect(c).toMatchObject({ prefillMs: 12.5, decodeMsPerToken: 0.7, peakBytes: 4096, T: 64 });
    expect(seen).toEqual([{ layers: 5, T: 64 }]);
  });
});
