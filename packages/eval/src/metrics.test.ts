import { describe, expect, test } from "bun:test";
import { aggregate, argmax, meanStderr, multipleChoiceScores, truthfulqaMc2 } from "./metrics.ts";

describe("metrics", () => {
  test("argmax takes the first maximum (numpy)", () => {
    expect(argmax([1, 3, 3])).toBe(1);
  });

  test("acc vs acc_norm on a hand-made document", () => {
    // choice 1 is more likely in total, but choice 0 (12 characters) is more likely per character
    expect(multipleChoiceScores([-6, -4], [12, 2], 0)).toEqual({ acc: 0, acc_norm: 1 });
    expect(multipleChoiceScores([-6, -4], [12, 2], 1)).toEqual({ acc: 1, acc_norm: 0 });
    expect(multipleChoiceScores([-3, -4], [12, 2], 0)).toEqual({ acc: 1, acc_norm: 1 });
    expect(multipleChoiceScores([-3, -2.5], [12, 2], 0)).toEqual({ acc: 0, acc_norm: 1 });
    // a gold index outside the choices (lm-eval's -100) is never right
    expect(multipleChoiceScores([-1, -2], [1, 1], -1)).toEqual({ acc: 0, acc_norm: 0 });
  });

  test("TruthfulQA mc2: probability mass of the answers labelled 1", () => {
    const lls = [Math.log(0.2), Math.log(0.3), Math.log(0.5)];
    expect(truthfulqaMc2(lls, [1, 0, 0])).toBeCloseTo(0.2, 12);
    expect(truthfulqaMc2(lls, [1, 0, 1])).toBeCloseTo(0.7, 12); // labels not sorted: 0.4.13 counts every 1
    // factoring out the max keeps it finite where exp(ll) underflows
    expect(truthfulqaMc2([-2000, -2001], [1, 0])).toBeCloseTo(1 / (1 + Math.exp(-1)), 12);
  });

  test("aggregations", () => {
    expect(aggregate([1, 0, 1, 1], "mean")).toBe(0.75);
    expect(aggregate([-1, -3], "perplexity")).toBeCloseTo(Math.exp(2), 12);
    expect(aggregate([[-10, 5], [-20, 5]], "weighted_perplexity")).toBeCloseTo(Math.exp(3), 12);
    expect(aggregate([[-10, 5], [-20, 5]], "bits_per_byte")).toBeCloseTo(3 / Math.LN2, 12);
    expect(meanStderr([1, 0, 1, 0])).toBeCloseTo(Math.sqrt(1 / 3 / 4), 12);
  });
});
