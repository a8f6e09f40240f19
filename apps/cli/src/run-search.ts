/**
 * Running a stored search from the CLI: one engine per process, a progress line on stderr (evaluated /
 * cached / failed, ETA), Ctrl-C pauses cleanly (the store keeps everything up to the last result; `resume`
 * continues), and the front printed at the end.
 */
import { existsSync } from "node:fs";
import type { ImportancePermutation } from "@nas/model";
import { Engine, EngineError, type EngineModel } from "@nas/compute";
import type { Db, SearchRow } from "@nas/db";
import { getSearch, runSearch, searchProgress, type RunOutcome } from "@nas/store";
import { modelEvaluator, type ModelEvaluatorOptions } from "./model-evaluator.ts";
import { allCandidates, frontTable } from "./report/report.ts";
import { UsageError } from "./args.ts";

/**
 * Start the engine and load `path` (reordered by `permutation` when the search has one), with a one-line
 * error for a missing or unreadable model.
 */
export async function startModel(path: string, permutation?: ImportancePermutation): Promise<{ engine: Engine; model: EngineModel }> {
  if (!existsSync(path)) throw new UsageError(`cannot read model ${path}: no such file or directory`);
  const engine = await Engine.start();
  try {
    return { engine, model: await engine.load(path, permutation ? { permutation } : {}) };
  } catch (e) {
    await engine.close();
    throw new UsageError(`cannot load model ${path}: ${(e as Error).message.split("\n")[0]}`);
  }
}

function duration(ms: number): string {
  if (!Number.isFinite(ms)) return "?";
  const s = Math.round(ms / 1000);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}

/**
 * Run (or continue) search `id` with the model evaluator over an already loaded model, printing progress
 * to stderr. Returns the outcome; `interrupted` is true when Ctrl-C (SIGINT/SIGTERM) paused it.
 */
export async function runWithProgress(
  db: Db,
  id: number,
  engine: Engine,
  model: EngineModel,
  modelPath: string,
): Promise<RunOutcome & { interrupted: boolean; engineError?: string }> {
  const search = getSearch(db, id);
  const controller = new AbortController();
  let interrupted = false;
  let engineError: string | undefined;
  const onSignal = (sig: string) => {
    if (interrupted) {
      process.stderr.write(`\nsecond ${sig}: exiting now (the search stays resumable)\n`);
      process.exit(130);
    }
    interrupted = true;
    process.stderr.write(`\n${sig}: pausing after the current step (state is saved; Ctrl-C again to exit at once)\n`);
    controller.abort(new Error(`received ${sig}`));
  };
  const onInt = () => onSignal("SIGINT");
  const onTerm = () => onSignal("SIGTERM");
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);

  const evaluator = modelEvaluator(engine, model, modelPath, (search.evaluator.options ?? {}) as ModelEvaluatorOptions, search.objectives, false);
  const inner = evaluator.evaluate.bind(evaluator);
  // A dead engine (e.g. its worker got the terminal's Ctrl-C first) must not turn the remaining candidates
  // into stored failures: stop the run instead; the interrupted candidate goes back to pending.
  evaluator.evaluate = async (p, ctx) => {
    try {
      return await inner(p, ctx);
    } catch (e) {
      if (e instanceof EngineError && /exited/.test(e.message)) {
        await new Promise((r) => setTimeout(r, 200)); // let a pending SIGINT handler run first
        if (!controller.signal.aborted) {
          engineError = e.message.split("\n")[0];
          controller.abort(e);
        }
      }
      throw e;
    }
  };

  const before = searchProgress(db, search);
  const cached = before.candidates.done + before.candidates.failed;
  const budget = before.budget ?? NaN;
  let doneNow = 0;
  let failedNow = before.candidates.failed;
  const t0 = performance.now();
  const tty = process.stderr.isTTY === true;
  const line = (generation: number) => {
    const total = cached + doneNow;
    const elapsed = performance.now() - t0;
    const eta = doneNow > 0 ? (elapsed / doneNow) * Math.max(0, budget - total) : NaN;
    const text = `search ${id} gen ${generation}: ${total}/${Number.isFinite(budget) ? budget : "?"} evaluated (cached ${cached}, failed ${failedNow}) elapsed ${duration(elapsed)} ETA ${duration(eta)}`;
    process.stderr.write(tty ? `\r${text}\x1b[K` : `${text}\n`);
  };
  if (cached > 0) process.stderr.write(`search ${id}: ${cached} results already stored (not evaluated again)\n`);
  try {
    const out = await runSearch(db, id, evaluator, {
      signal: controller.signal,
      expect: { modelHash: model.source.hash },
      onProgress: (p) => {
        if (!p.stored) return;
        doneNow++;
        if (p.stored.status === "failed") failedNow++;
        line(p.generation);
      },
    });
    if (tty) process.stderr.write("\n");
    return { ...out, interrupted, ...(engineError ? { engineError } : {}) };
  } finally {
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onTerm);
  }
}

/** Print the front table (stdout) of a search. */
export function printFront(db: Db, search: SearchRow): void {
  const candidates = allCandidates(db, search);
  const done = candidates.filter((c) => c.status === "done").length;
  const failed = candidates.filter((c) => c.status === "failed").length;
  process.stdout.write(`search ${search.id} (${search.name}, ${search.status}): ${done} done, ${failed} failed; Pareto front:\n`);
  process.stdout.write(frontTable(search, candidates));
}
