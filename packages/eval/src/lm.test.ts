import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { join } from "node:path";
import { Llama2cTokenizer, normalizeSubnet, sharedDir, type LlamaConfig } from "@nas/model";
import { PlainToyScorer, ToyScorer } from "./fixtures/toy-scorer.ts";
import { LoglikelihoodRunner, RequestError, rollingWindows } from "./lm.ts";

const tok = Llama2cTokenizer.fromFile(join(sharedDir(), "models/stories260K/tok512.bin"));
const config = { numLayers: 2, intermediateSize: 8, numKvHeads: 1, numHeads: 1 } as LlamaConfig;
const subnet = normalizeSubnet(config, null);

describe("encodePair (lm-eval _encode_pair)", () => {
  const runner = new LoglikelihoodRunner(new ToyScorer(512, 1000), tok, subnet, { maxLength: 512 });

  test("continuation = tail of encode(context + continuation) after encode(context); BOS added by default", () => {
    const r = runner.encodePair("Question: Who?\nAnswer:", " Lily");
    expect(r.context).toEqual(tok.encode("Question: Who?\nAnswer:", { bos: true }));
    expect(r.context.concat(r.continuation)).toEqual(tok.encode("Question: Who?\nAnswer: Lily", { bos: true }));
    expect(r.context[0]).toBe(1);
  });

  test("trailing context whitespace (Python isspace) moves into the continuation", () => {
    const a = runner.encodePair("Answer: \n", "yes");
    const b = runner.encodePair("Answer:", " \nyes");
    expect(a).toEqual(b);
    expect(runner.encodePair("x\u00a0", "y")).toEqual(runner.encodePair("x", "\u00a0y"));
  });

  test("empty context: BOS is the context and the continuation is encoded without BOS", () => {
    expect(runner.encodePair("", " Once")).toEqual({ context: [1], continuation: tok.encode(" Once") });
  });

  test("addBos=false reproduces older lm-eval (add_special_tokens=False)", () => {
    const old = new LoglikelihoodRunner(new ToyScorer(512, 1000), tok, subnet, { maxLength: 512, addBos: false });
    expect(old.encodePair("Question:", " a").context).toEqual(tok.encode("Question:"));
  });
});

describe("rollingWindows (lm-eval get_rolling_token_windows + make_disjoint_window, context_len=1)", () => {
  test("the harness docstring example: tokens 0..9, max_seq_len 4", () => {
    // lm-eval: windows predict [0..3], [4..7], [8, 9]; the last one keeps a full-size input
    expect(rollingWindows([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 99, 4)).toEqual([
      { context: [99], continuation: [0, 1, 2, 3] },
      { context: [3], continuation: [4, 5, 6, 7] },
      { context: [5, 6, 7], continuation: [8, 9] },
    ]);
  });

  test("property: every token predicted exactly once, each window's input fits maxLength", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 1, max: 40 }), (n, L) => {
        const tokens = Array.from({ length: n }, (_, i) => i + 10);
        const windows = rollingWindows(tokens, 1, L);
        expect(windows.flatMap((w) => w.continuation)).toEqual(tokens);
        for (const w of windows) {
          expect(w.context.length + w.continuation.length - 1).toBeLessThanOrEqual(L);
          expect(w.context.length).toBeGreaterThan(0);
          // the context is exactly what precedes the predictions (or the prefix token for the first window)
          const start = tokens.indexOf(w.continuation[0]);
          if (start > 0) expect(w.context).toEqual(tokens.slice(start - w.context.length, start));
        }
        // windows after the first use the longest context that fits
        for (const w of windows.slice(1)) expect(w.context.length + w.continuation.length).toBe(L + 1);
      }),
    );
  });
});

describe("loglikelihoodTokens", () => {
  const reqs = [
    { context: [1, 5, 6, 7], continuation: [8, 9] },
    { context: [1, 5, 6, 7], continuation: [10] },
    { context: [1, 2], continuation: [3, 4, 5, 6] },
    { context: [1, 5, 6, 7], continuation: [11, 12, 13] },
  ];

  test("ll is the sum of the continuation's log-probs given everything before it; is_greedy from argmax", async () => {
    const scorer = new PlainToyScorer(64, 1000);
    const runner = new LoglikelihoodRunner(scorer, tok, subnet, { maxLength: 512 });
    const res = await runner.loglikelihoodTokens(reqs);
    const [direct] = await scorer.scoreTokens([[1, 5, 6, 7, 8, 9]], subnet);
    expect(res[0].ll).toBeCloseTo(direct.logprobs[3] + direct.logprobs[4], 5);
    expect(res[0].isGreedy).toBe(direct.argmax[3] === 8 && direct.argmax[4] === 9);
    // a continuation equal to the greedy tokens is greedy
    const greedyNext = direct.argmax[3]; // the argmax after [1, 5, 6, 7]
    const [g] = await runner.loglikelihoodTokens([{ context: [1, 5, 6, 7], continuation: [greedyNext] }]);
    expect(g.isGreedy).toBe(true);
  });

  test("results do not depend on batching, order or prefix sharing", async () => {
    const plain = await new LoglikelihoodRunner(new PlainToyScorer(64, 1000), tok, subnet, { maxLength: 512, batchSize: 1 }).loglikelihoodTokens(reqs);
    const batched = await new LoglikelihoodRunner(new PlainToyScorer(64, 1000), tok, subnet, { maxLength: 512, batchSize: 64 }).loglikelihoodTokens(reqs);
    const sharedScorer = new ToyScorer(64, 1000);
    const sharing = new LoglikelihoodRunner(sharedScorer, tok, subnet, { maxLength: 512 });
    const shared = await sharing.loglikelihoodTokens(reqs);
    expect(batched).toEqual(plain);
    for (let i = 0; i < reqs.length; i++) {
      expect(shared[i].ll).toBeCloseTo(plain[i].ll, 6);
      expect(shared[i].isGreedy).toBe(plain[i].isGreedy);
    }
    // the three requests sharing [1,5,6,7] ran their context once
    expect(sharedScorer.calls.filter((c) => c.kind === "prefix")).toEqual([{ kind: "prefix", sequences: 3, tokens: 4 + 2 + 1 + 3 }]);
    expect(sharing.stats.tokens).toBeLessThan(sharing.stats.tokensUnshared);
    expect(sharing.stats.tokensUnshared).toBe(6 + 5 + 6 + 7);
  });

  test("batches respect the token and sequence budgets, longest first", async () => {
    const scorer = new PlainToyScorer(64, 1000);
    const runner = new LoglikelihoodRunner(scorer, tok, subnet, { maxLength: 512, batchTokens: 12, batchSize: 2 });
    await runner.loglikelihoodTokens(reqs);
    expect(scorer.calls.map((c) => c.tokens)).toEqual([7, 6 + 6, 5]);
    expect(runner.stats.calls).toBe(3);
  });

  test("truncates from the left to maxLength + 1 tokens (the last token is only a target)", async () => {
    const scorer = new PlainToyScorer(64, 6);
    const runner = new LoglikelihoodRunner(scorer, tok, subnet, { maxLength: 5 });
    const [r] = await runner.loglikelihoodTokens([{ context: [1, 2, 3, 4, 5, 6, 7], continuation: [8, 9] }]);
    const [direct] = await scorer.scoreTokens([[4, 5, 6, 7, 8, 9]], subnet);
    expect(r.ll).toBeCloseTo(direct.logprobs[3] + direct.logprobs[4], 6);
  });

  test("rejects what cannot be scored; over-long continuations are truncated (default) or rejected like lm-eval", async () => {
    const runner = new LoglikelihoodRunner(new PlainToyScorer(64, 100), tok, subnet, { maxLength: 4 });
    await expect(runner.loglikelihoodTokens([{ context: [1], continuation: [] }])).rejects.toThrow(/request 0: the continuation encodes to no tokens/);
    const strict = new LoglikelihoodRunner(new PlainToyScorer(64, 100), tok, subnet, { maxLength: 4, overlong: "error" });
    await expect(strict.loglikelihoodTokens([{ context: [1], continuation: [1, 2, 3, 4, 5] }])).rejects.toThrow(RequestError);
    const scorer = new PlainToyScorer(64, 100);
    const lenient = new LoglikelihoodRunner(scorer, tok, subnet, { maxLength: 4 });
    const [r] = await lenient.loglikelihoodTokens([{ context: [1], continuation: [11, 12, 13, 14, 15, 16] }]);
    const [direct] = await scorer.scoreTokens([[12, 13, 14, 15, 16]], subnet);
    expect(r.ll).toBeCloseTo(direct.logprobs.reduce((a, b) => a + b, 0), 6);
    expect(lenient.stats.overlong).toBe(1);
    expect(() => new LoglikelihoodRunner(new PlainToyScorer(64, 100), tok, subnet, { maxLength: 1 })).toThrow(/maxLength/);
  });

  test("rolling = sum over windows of every token's log-prob, BOS as the first window's prefix", async () => {
    const scorer = new PlainToyScorer(512, 9);
    const runner = new LoglikelihoodRunner(scorer, tok, subnet, { maxLength: 8 });
    const text = "Once upon a time there was a big dog.";
    const [r] = await runner.rolling([text], false);
    const tokens = tok.encode(text);
    expect(r.tokens).toBe(tokens.length);
    let expected = 0;
    for (const w of rollingWindows(tokens, 1, 8)) {
      const seq = w.context.concat(w.continuation);
      const [s] = await scorer.scoreTokens([seq], subnet);
      for (let t = w.context.length; t < seq.length; t++) expected += s.logprobs[t - 1];
    }
    expect(r.ll).toBeCloseTo(expected, 4);
    const [withBos] = await runner.rolling([text]);
    expect(withBos.tokens).toBe(tokens.length + 1); // lm-eval 0.4.13 also predicts the BOS its tokenizer adds
  });
});
