/**
 * Q8_0 accuracy: each stories260K fixture sub-network exported as Q8_0 GGUF, read back and dequantized,
 * against the F32 elastic reference on real TinyStories text. Stated tolerances (measured values are
 * printed; on these 254 tokens: max |dlogit| 0.44-0.82, |dNLL| <= 0.005 nats/token, argmax 94.9-99.6%):
 *   max |logit difference| <= 1.0, |mean NLL change| <= 0.01 nats/token, argmax agreement >= 90%.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadTokenizer } from "@nas/model";
import { ReferenceModel } from "@nas/model";
import { exportModel } from "./export.ts";
import { ggufToModel } from "./gguf-model.ts";
import { readGguf } from "./gguf-read.ts";
import { dequantizeTensors } from "./q8_0.ts";
import { fixtureCases, loadShared, shared } from "./testing.ts";

const out = mkdtempSync(join(tmpdir(), "nas-q8-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let j = 1; j < row.length; j++) if (row[j] > row[best]) best = j;
  return best;
}

describe("Q8_0 export accuracy (stories260K, TinyStories text)", () => {
  test("logits, NLL and argmax stay within the stated tolerance for every fixture sub-network", async () => {
    const model = await loadShared("stories260K");
    const tok = loadTokenizer(shared("models/stories260K-hf"));
    const text = readFileSync(shared("data/tinystories/tinystories_validation_sample.txt"), "utf8");
    const ids = tok.encode(text.slice(0, 4000), { bos: false });
    // Two BOS-led windows of 128 tokens.
    const sequences = [0, 1].map((k) => [model.config.bosTokenId, ...ids.slice(k * 127, (k + 1) * 127)]);
    const f32 = new ReferenceModel(model.config, model.tensors);
    const rows: Record<string, unknown>[] = [];
    for (const c of fixtureCases("stories260K")) {
      const path = join(out, `${c.name}.q8_0.gguf`);
      const r = exportModel({ model, subnet: c.spec, format: "gguf", quant: "q8_0", outPath: path });
      const back = ggufToModel(readGguf(path));
      expect([...back.tensors.values()].some((t) => t.dtype === "Q8_0")).toBe(true);
      const q8 = new ReferenceModel(back.config, dequantizeTensors(back.tensors));
      let maxDiff = 0;
      let nllF32 = 0;
      let nllQ8 = 0;
      let tokens = 0;
      let agree = 0;
      let positions = 0;
      for (const s of sequences) {
        const a = f32.logits(s, c.spec);
        const b = q8.logits(s);
        a.forEach((row, i) => {
          for (let j = 0; j < row.length; j++) maxDiff = Math.max(maxDiff, Math.abs(row[j] - b[i][j]));
          if (argmax(row) === argmax(b[i])) agree++;
          positions++;
        });
        nllF32 += f32.sumNll(s, c.spec);
        nllQ8 += q8.sumNll(s);
        tokens += s.length - 1;
      }
      const dNll = (nllQ8 - nllF32) / tokens;
      rows.push({ subnet: c.name, bytes: r.bytes, maxLogitDiff: +maxDiff.toFixed(4), nllF32: +(nllF32 / tokens).toFixed(5), dNllPerToken: +dNll.toFixed(5), argmaxAgree: +(agree / positions).toFixed(4) });
    }
    console.log(JSON.stringify({ q8_0: rows }));
    for (const r of rows) {
      expect(r.maxLogitDiff as number).toBeLessThanOrEqual(1.0);
      expect(Math.abs(r.dNllPerToken as number)).toBeLessThanOrEqual(0.01);
      expect(r.argmaxAgree as number).toBeGreaterThanOrEqual(0.9);
    }
  }, 120_000);
});
