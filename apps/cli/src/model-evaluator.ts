/**
 * The "model" evaluator kind: measures sub-networks of a real checkpoint on the GPU engine. Objectives are
 * named `<task>` (the task's metric: perplexity, min; accuracy, max), `params` (active parameters, @nas/eval
 * countParams, min), `macs` (multiply-accumulates per token at context length `throughputT`, @nas/eval
 * macsPerToken, min) and `throughput` (measured prefill
 * tokens/s at `throughputT` tokens on this device, median of `throughputRepeats` runs after a warm-up, max).
 *
 * Used in-process by `nas search` / `nas resume`, and as a module (`createEvaluator`) by the store's worker
 * script when the API starts a search.
 */
import { fileURLToPath } from "node:url";
import { Engine, type EngineModel } from "@nas/compute";
import { countParams, macsPerToken } from "@nas/eval";
import { loadTokenizer, type ImportancePermutation, type SubNetwork } from "@nas/model";
import type { ObjectiveSpec } from "@nas/search";
import type { EvaluatorFactory, SingleEvaluator } from "@nas/store";
import { checkTaskNames, prepareTask, taskMetric, type PreparedTask, type TaskOptions } from "./tasks.ts";

/** Absolute path of this module (what `serve` registers for kind "model"). */
export const modelEvaluatorModule = fileURLToPath(import.meta.url);

/** Cost objectives besides the tasks. */
export const COST_OBJECTIVES = ["params", "macs", "throughput"] as const;

/** Options stored with a search (`evaluator.options`); defaults documented per field. */
export interface ModelEvaluatorOptions extends TaskOptions {
  /** Task names (see ./tasks.ts). Default ["tinystories"]. */
  tasks?: string[];
  /** Prefill length of the throughput measurement. Default 64. */
  throughputT?: number;
  /** Timed prefill runs (after one warm-up); the median counts. Default 3. */
  throughputRepeats?: number;
  /** Importance permutation applied when the model is loaded (see ./reorder.ts). Default none. */
  permutation?: ImportancePermutation;
  /** How the permutation was measured (informational). */
  reorder?: unknown;
}
export const modelEvaluatorDefaults = { tasks: ["tinystories"], throughputT: 64, throughputRepeats: 3 } satisfies ModelEvaluatorOptions;

/**
 * Objective specs from names: a task name or one of {@link COST_OBJECTIVES}. Throws naming a bad one.
 *
 * @example
 * objectiveSpecs(["tinystories", "params", "throughput"], ["tinystories"])
 * // [{name:"tinystories",direction:"min"},{name:"params",direction:"min"},{name:"throughput",direction:"max"}]
 */
export function objectiveSpecs(names: readonly string[], tasks: readonly string[]): ObjectiveSpec[] {
  return names.map((name) => {
    if (name === "params" || name === "macs") return { name, direction: "min" as const };
    if (name === "throughput") return { name, direction: "max" as const };
    if (!tasks.includes(name)) {
      throw new Error(`unknown objective "${name}" (objectives are the tasks ${tasks.join(", ")} or ${COST_OBJECTIVES.join(", ")})`);
    }
    return { name, direction: taskMetric(name).direction };
  });
}

/** Median prefill tokens/s of `subnet` at T tokens. */
export async function measureThroughput(model: EngineModel, subnet: SubNetwork, T: number, repeats: number, signal?: AbortSignal): Promise<number> {
  const c = model.config;
  const len = Math.min(T, c.maxPositions);
  const ids = Array.from({ length: len }, (_, t) => (t === 0 ? c.bosTokenId : 3 + ((t * 31) % (c.vocabSize - 3))));
  const times: number[] = [];
  for (let i = 0; i <= repeats; i++) {
    if (signal?.aborted) throw signal.reason ?? new Error("aborted");
    const t0 = performance.now();
    await model.forward([ids], subnet, { lastLogits: true });
    if (i > 0) times.push(performance.now() - t0); // run 0 warms pipelines and buffers up
  }
  times.sort((a, b) => a - b);
  return (len * 1000) / times[Math.floor(times.length / 2)];
}

/** Everything one candidate's measurement produced. */
export interface SubnetMeasurement {
  objectives: Record<string, number>;
  metrics: Record<string, unknown>;
}

const OPTION_KEYS = ["tasks", "limit", "tokens", "seed", "throughputT", "throughputRepeats", "permutation", "reorder"] as const;

/**
 * Refuse evaluator options a search could not mean (they arrive as JSON, e.g. from POST /searches): unknown keys
 * (such as the retired `window`, `batch` or `lmEval`) and budgets that are not positive integers, by name.
 *
 * @example
 * checkEvaluatorOptions({ tasks: ["tinystories"], window: 64 }) // throws: unknown evaluator option "window" (...)
 */
export function checkEvaluatorOptions(options: unknown): asserts options is ModelEvaluatorOptions {
  if (options === null || typeof options !== "object" || Array.isArray(options)) throw new Error(`evaluator options must be an object, got ${JSON.stringify(options)}`);
  for (const [key, value] of Object.entries(options)) {
    if (!(OPTION_KEYS as readonly string[]).includes(key)) throw new Error(`unknown evaluator option "${key}" (known: ${OPTION_KEYS.join(", ")})`);
    if (value === undefined) continue;
    if (["limit", "tokens", "throughputT", "throughputRepeats"].includes(key) && !(Number.isInteger(value) && (value as number) > 0)) {
      throw new Error(`evaluator option ${key} must be a positive integer, got ${JSON.stringify(value)}`);
    }
    if (key === "seed" && !Number.isInteger(value)) throw new Error(`evaluator option seed must be an integer, got ${JSON.stringify(value)}`);
    if (key === "tasks" && !(Array.isArray(value) && value.every((t) => typeof t === "string"))) throw new Error(`evaluator option tasks must be a list of task names, got ${JSON.stringify(value)}`);
  }
}

/**
 * A reusable measurer over one loaded model: tasks prepared once, then `measure(subnet)` per candidate.
 *
 * @example
 * const m = createMeasurer(model, "../shared/models/stories260K-hf", { tasks: ["tinystories"], tokens: 256 });
 * const { objectives } = await m.measure(normalizeSubnet(model.config, null), ["tinystories", "params"]);
 */
export function createMeasurer(model: EngineModel, modelPath: string, options: ModelEvaluatorOptions = {}) {
  checkEvaluatorOptions(options);
  const o = { ...modelEvaluatorDefaults, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as ModelEvaluatorOptions &
    typeof modelEvaluatorDefaults;
  checkTaskNames(o.tasks);
  const tokenizer = loadTokenizer(modelPath, { vocabSize: model.config.vocabSize });
  const prepared: PreparedTask[] = o.tasks.map((t) => prepareTask(t, tokenizer, model, o));
  return {
    options: o,
    async measure(subnet: SubNetwork, wanted: readonly string[], signal?: AbortSignal): Promise<SubnetMeasurement> {
      const objectives: Record<string, number> = {};
      const metrics: Record<string, unknown> = {};
      for (const task of prepared) {
        const r = await task.score(model, subnet, signal);
        objectives[task.name] = r.value;
        metrics[task.name] = r;
      }
      objectives.params = countParams(model.config, subnet).total;
      objectives.macs = macsPerToken(model.config, subnet, o.throughputT).total;
      if (wanted.includes("throughput")) {
        objectives.throughput = await measureThroughput(model, subnet, o.throughputT, o.throughputRepeats, signal);
        metrics.throughput = { tokensPerS: objectives.throughput, T: o.throughputT, repeats: o.throughputRepeats };
      }
      metrics.params = objectives.params;
      metrics.macsPerToken = objectives.macs;
      return { objectives, metrics };
    },
  };
}

/**
 * A store evaluator over an already loaded model (the CLI shares one engine per process). `closeEngine`
 * says whether the evaluator owns the engine.
 */
export function modelEvaluator(
  engine: Engine,
  model: EngineModel,
  modelPath: string,
  options: ModelEvaluatorOptions,
  objectives: readonly ObjectiveSpec[],
  closeEngine: boolean,
): SingleEvaluator {
  const measurer = createMeasurer(model, modelPath, options);
  const names = objectives.map((o) => o.name);
  const unknown = names.filter((n) => !(COST_OBJECTIVES as readonly string[]).includes(n) && !measurer.options.tasks.includes(n));
  if (unknown.length) throw new Error(`objectives ${unknown.join(", ")} are neither tasks of this search nor ${COST_OBJECTIVES.join(", ")}`);
  const a = engine.info;
  return {
    device: { description: a.description || a.device, vendor: a.vendor, architecture: a.architecture, backend: a.backend },
    modelHash: model.source.hash,
    async evaluate(p, ctx) {
      const subnet = model.subnet(p.subnet as SubNetwork);
      const m = await measurer.measure(subnet, names, ctx.signal);
      return { objectives: names.map((n) => m.objectives[n]), metrics: m.metrics };
    },
    async close() {
      if (closeEngine) await engine.close();
    },
  };
}

/** Module seam for the store's worker process: starts its own engine and loads the search's model. */
export const createEvaluator: EvaluatorFactory = async (options, { search }) => {
  const o = options ?? {};
  checkEvaluatorOptions(o); // before starting an engine: a bad option fails the search at once, by name
  const engine = await Engine.start();
  try {
    const model = await engine.load(search.modelPath, o.permutation ? { permutation: o.permutation } : {});
    return modelEvaluator(engine, model, search.modelPath, o, search.objectives, true);
  } catch (e) {
    await engine.close();
    throw e;
  }
};
