import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { SearchSpaceError, createSearchSpace, defaultMlpStep, genomeSpaceBound, kvHeadChoices, mlpWidthChoices } from "./space.ts";
import { arbitrarySpace, llama2_7bConfig, perLayerConfig, stories260KConfig, tinyLlama3Config } from "./testing.ts";

const fractions = [1, 7 / 8, 3 / 4, 5 / 8, 1 / 2];

describe("MLP width choices", () => {
  test("LLaMA-2-7B gets the LoNAS set with step 32", () => {
    expect(mlpWidthChoices(11008, fractions)).toEqual([11008, 9632, 8256, 6880, 5504]);
  });

  test("stories260K (172) gets five distinct widths with step 16", () => {
    expect(defaultMlpStep(172)).toBe(16);
    expect(mlpWidthChoices(172, fractions)).toEqual([172, 144, 128, 112, 80]);
  });

  test("tiny-llama3 (704) rounds to multiples of 32", () => {
    expect(mlpWidthChoices(704, fractions)).toEqual([704, 608, 544, 448, 352]);
  });

  test("every width is valid: in [1, full], descending, distinct, full first", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20000 }), fc.array(fc.double({ min: 0.01, max: 1, noNaN: true }), { minLength: 1, maxLength: 6 }), (full, fr) => {
        const w = mlpWidthChoices(full, [1, ...fr]);
        expect(w[0]).toBe(full);
        for (let i = 0; i < w.length; i++) {
          expect(Number.isInteger(w[i]) && w[i] >= 1 && w[i] <= full).toBe(true);
          if (i > 0) expect(w[i]).toBeLessThan(w[i - 1]);
          if (i > 0) expect(w[i] % defaultMlpStep(full)).toBe(0);
        }
      }),
    );
  });

  test("tiny widths collapse to distinct values", () => {
    expect(mlpWidthChoices(4, fractions)).toEqual([4, 3, 2]);
    expect(mlpWidthChoices(1, fractions)).toEqual([1]);
  });
});

describe("createSearchSpace", () => {
  test("paper preset on stories260K: keep + MLP genes, pins, min kept 4 of 5", () => {
    const s = createSearchSpace(stories260KConfig);
    expect(s.genes.length).toBe(10);
    expect(s.genes.map((g) => g.kind).slice(0, 4)).toEqual(["keep", "mlp", "keep", "mlp"]);
    expect(s.genes[0].values).toEqual([1]); // pinned first layer
    expect(s.genes[2].values).toEqual([1, 0]);
    expect(s.genes[8].values).toEqual([1]); // pinned last layer
    expect(s.genes[1].values).toEqual([172, 144, 128, 112, 80]);
    expect(s.minKeptLayers).toBe(4);
    expect(s.kvHeads).toBe(false);
  });

  test("full preset adds KV-head genes (4 -> 4,3,2; GQA 2 -> 2,1)", () => {
    const s = createSearchSpace(stories260KConfig, { preset: "full" });
    expect(s.genes.length).toBe(15);
    expect(s.genes[2]).toEqual({ kind: "kv", layer: 0, values: [4, 3, 2] });
    const t = createSearchSpace(tinyLlama3Config, { preset: "full" });
    expect(t.genes.filter((g) => g.kind === "kv").every((g) => JSON.stringify(g.values) === "[2,1]")).toBe(true);
    expect(kvHeadChoices(32, [1, 0.75, 0.5])).toEqual([32, 24, 16]);
  });

  test("explicit lists, shared and per layer", () => {
    const s = createSearchSpace(llama2_7bConfig, { mlpWidths: [11008, 9632, 8256, 6880, 5504], depth: false });
    expect(s.genes.length).toBe(32);
    expect(s.genes[5].values).toEqual([11008, 9632, 8256, 6880, 5504]);
    const p = createSearchSpace(perLayerConfig, { preset: "full", mlpWidths: [[172, 86], [96], [40, 20, 20]], kvHeadChoices: [2, 1], depth: false });
    expect(p.genes.map((g) => g.values)).toEqual([[172, 86], [2, 1], [96], [2, 1], [40, 20], [2, 1]]);
  });

  test("per-layer configs use each layer's own full width", () => {
    const s = createSearchSpace(perLayerConfig, { preset: "full", depth: false });
    expect(s.fullMlp).toEqual([172, 96, 40]);
    expect(s.fullKv).toEqual([4, 2, 4]);
    expect(s.genes[2].values).toEqual([96, 88, 72, 64, 48]);
    expect(s.genes[3].values).toEqual([2, 1]);
  });

  test("bad options fail with a message naming the option", () => {
    const bad: [unknown, RegExp][] = [
      [{ preset: "tiny" }, /preset must be "paper" or "full"/],
      [{ minKeptLayers: 0 }, /minKeptLayers must be an integer in \[1, 5\]/],
      [{ minKeptLayers: 6 }, /minKeptLayers/],
      [{ mlpWidths: [172, 200] }, /mlpWidths contains 200/],
      [{ mlpWidths: [] }, /mlpWidths must be a non-empty array/],
      [{ mlpWidths: [[172], [172]] }, /2 per-layer lists, the model has 5 layers/],
      [{ mlpFractions: [1, 0] }, /mlpFractions contains 0/],
      [{ mlpMultiple: 0 }, /mlpMultiple must be a positive integer/],
      [{ preset: "full", kvHeadChoices: [5] }, /kvHeadChoices contains 5/],
      [{ kvHeadFractions: [1.5], preset: "full" }, /kvHeadFractions contains 1.5/],
      [{ depth: "yes" }, /depth must be a boolean/],
      [{ heads: true }, /unknown space option "heads"/],
      [[], /space options must be an object/],
    ];
    for (const [options, message] of bad) {
      expect(() => createSearchSpace(stories260KConfig, options as never)).toThrow(SearchSpaceError);
      expect(() => createSearchSpace(stories260KConfig, options as never)).toThrow(message);
    }
    expect(() => createSearchSpace({ ...stories260KConfig, numLayers: 0 })).toThrow(/config.numLayers must be a positive integer/);
    expect(() => createSearchSpace({ ...stories260KConfig, numKvHeads: 3 })).toThrow(/not a multiple of numKvHeads 3/);
  });

  test("spaces are plain JSON and every gene has a non-empty descending choice list", () => {
    fc.assert(
      fc.property(arbitrarySpace(), (s) => {
        expect(JSON.parse(JSON.stringify(s))).toEqual(s);
        for (const g of s.genes) {
          expect(g.values.length).toBeGreaterThan(0);
          for (let i = 1; i < g.values.length; i++) expect(g.values[i]).toBeLessThan(g.values[i - 1]);
        }
        expect(genomeSpaceBound(s)).toBeGreaterThanOrEqual(1);
      }),
    );
  });
});
