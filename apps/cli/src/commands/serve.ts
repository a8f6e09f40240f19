import { serve } from "@nas/api";
import { loadModel } from "@nas/model";
import { intFlag, parse, UsageError } from "../args.ts";
import { modelEvaluatorModule } from "../model-evaluator.ts";

export const help = "serve --db FILE [--host 127.0.0.1] [--port 8787] [--token T]   the HTTP API (POST /searches runs real model searches)";

/**
 * `nas serve`: the API over a store. Registers this CLI's model evaluator for kind "model", so searches
 * created over HTTP run on the GPU engine in worker processes, and hashes models whose hash is omitted.
 * Runs until SIGINT/SIGTERM, then pauses the searches it started (they stay resumable).
 */
export async function run(argv: string[]): Promise<void> {
  const { values } = parse(argv, { db: { type: "string" }, host: { type: "string" }, port: { type: "string" }, token: { type: "string" } });
  if (!values.db) throw new UsageError("--db FILE is required");
  let server;
  try {
    server = await serve({
      dbPath: values.db,
      host: values.host,
      port: intFlag("port", values.port, 8787, 0),
      token: values.token ?? process.env.NAS_API_TOKEN,
      evaluatorModules: { model: modelEvaluatorModule },
      resolveModel: async (path) => ({ path, hash: (await loadModel(path)).source.hash }),
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  process.stderr.write(`serving ${values.db} at ${server.url} (Ctrl-C stops; running searches are paused)\n`);
  const running = server;
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await running.stop();
}
