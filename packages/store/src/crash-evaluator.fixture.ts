/**
 * Evaluator module for crash.test.ts: the deterministic fake evaluator, plus a trace line
 * `<pid> <key>` appended (synchronously, before any await) whenever an evaluation starts, so the test can
 * prove no process ever started evaluating a candidate that was already stored.
 */
import { appendFileSync } from "node:fs";
import type { EvaluatorFactory } from "./evaluator.ts";
import { createFakeEvaluator, type FakeEvaluatorOptions } from "./fake-evaluator.ts";

export const createEvaluator: EvaluatorFactory = (options, { search }) => {
  const { trace, ...fake } = options as FakeEvaluatorOptions & { trace: string };
  const inner = createFakeEvaluator(search, fake);
  return {
    device: inner.device,
    evaluate(p, ctx) {
      appendFileSync(trace, `${process.pid} ${p.key}\n`);
      return inner.evaluate(p, ctx);
    },
  };
};
