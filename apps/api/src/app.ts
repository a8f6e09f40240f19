/**
 * The Hono app: routes over the candidate store, search control through a SearchSupervisor, OpenAPI at
 * /openapi.json. Error mapping: validation → 400, unknown ids → 404, conflicts (running, done, model/space
 * mismatch) → 409, missing/wrong bearer token → 401; a 500 only for a genuine server fault.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { Db } from "@nas/db";
import { InvalidInputError, NotFoundError, SearchBusyError, SearchMismatchError, StoreError, type AlgorithmFactory } from "@nas/store";
import { bearerAuth } from "./auth.ts";
import { PageCache } from "./page-cache.ts";
import { registerCandidateRoutes } from "./routes/candidates.ts";
import { registerExportRoutes } from "./routes/export.ts";
import { registerSearchRoutes } from "./routes/searches.ts";
import { SearchSupervisor, type SupervisorOptions } from "./supervisor.ts";

export interface AppOptions {
  db: Db;
  /** Require `Authorization: Bearer <token>` on every request when set. */
  token?: string;
  /** Starts/pauses search processes. Default: a SearchSupervisor on `db`'s file with `evaluatorModules`. */
  supervisor?: SearchSupervisor;
  /** Evaluator kind → module path for the default supervisor (the CLI registers "model"). */
  evaluatorModules?: SupervisorOptions["evaluatorModules"];
  /** Builds algorithms to validate POST /searches before storing it. Default: the search package's factory. */
  algorithms?: AlgorithmFactory;
  /** Fills in `model.hash` when a POST /searches omits it (the CLI provides one that hashes the model files). */
  resolveModel?: (path: string) => Promise<{ path: string; hash: string }>;
  /** Cache rendered candidate pages and progress until the next commit. Default true. */
  cachePages?: boolean;
}

export type AppEnv = { Variables: Record<string, never> };

/** Context every route module gets. */
export interface RouteDeps {
  db: Db;
  supervisor: SearchSupervisor;
  /** Rendered search progress, valid until the next commit. */
  progressCache: PageCache;
  /** Rendered candidate pages, valid until the next commit. */
  pageCache: PageCache;
  algorithms?: AlgorithmFactory;
  resolveModel?: AppOptions["resolveModel"];
}

/**
 * Build the API app (no socket: `app.request()` works in tests; `serve()` binds it).
 *
 * @example
 * const app = createApp({ db: openDb("runs/nas.db") });
 * const res = await app.request("/searches/1/candidates?pareto=true&sort=loss");
 */
export function createApp(options: AppOptions): OpenAPIHono<AppEnv> {
  const supervisor =
    options.supervisor ?? new SearchSupervisor(options.db, { dbPath: options.db.$client.filename, evaluatorModules: options.evaluatorModules });
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        const issues = result.error.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message }));
        const summary = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; ");
        return c.json({ error: `invalid request: ${summary}`, issues }, 400);
      }
    },
  });
  if (options.token !== undefined) app.use("*", bearerAuth(options.token));
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });
  const deps: RouteDeps = {
    db: options.db,
    supervisor,
    progressCache: new PageCache(options.db, options.cachePages === false ? 0 : 64),
    pageCache: new PageCache(options.db, options.cachePages === false ? 0 : 256),
    algorithms: options.algorithms,
    resolveModel: options.resolveModel,
  };
  registerSearchRoutes(app, deps);
  registerCandidateRoutes(app, deps);
  registerExportRoutes(app, deps);
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: { title: "llama-nas candidate store", version: "0.1.0", description: "Searches, candidates and Pareto fronts of one-shot NAS runs" },
    security: options.token !== undefined ? [{ bearer: [] }] : [],
  });
  app.notFound((c) => c.json({ error: `no route ${c.req.method} ${new URL(c.req.url).pathname}` }, 404));
  app.onError((err, c) => errorResponse(err, c));
  return app;
}

/**
 * Map thrown errors to responses (see the module comment).
 *
 * @example
 * app.onError((err, c) => errorResponse(err, c));
 */
export function errorResponse(err: unknown, c: Context): Response {
  if (err instanceof HTTPException) {
    return c.json({ error: err.message || "bad request" }, err.status);
  }
  if (err instanceof InvalidInputError) return c.json({ error: err.message }, 400);
  if (err instanceof NotFoundError) return c.json({ error: err.message }, 404);
  if (err instanceof SearchMismatchError || err instanceof SearchBusyError) return c.json({ error: err.message }, 409);
  if (err instanceof StoreError) return c.json({ error: err.message }, 400);
  console.error(err);
  return c.json({ error: `internal error: ${err instanceof Error ? err.message : String(err)}` }, 500);
}
