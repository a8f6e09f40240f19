/** /searches routes: list, detail with progress, create + start, pause, resume, Pareto front. */
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { HTTPException } from "hono/http-exception";
import type { SearchRow } from "@nas/db";
import {
  createAlgorithmFromSearchPackage,
  createSearch,
  getSearch,
  InvalidInputError,
  listSearches,
  ownerAlive,
  paretoFront,
  reconcileInterrupted,
  SearchBusyError,
  searchProgress,
  validateSearchSpec,
  type SearchProgress,
  type SearchSpec,
} from "@nas/store";
import type { AppEnv, RouteDeps } from "../app.ts";
import { CreateSearchBody, ErrorSchema, IdParams, ParetoSchema, SearchDetail, SearchesQuery, SearchPage } from "../schemas.ts";

const errors = {
  400: { description: "Invalid request", content: { "application/json": { schema: ErrorSchema } } },
  404: { description: "Unknown id", content: { "application/json": { schema: ErrorSchema } } },
} as const;
const conflict = { 409: { description: "Not possible in the search's current state", content: { "application/json": { schema: ErrorSchema } } } } as const;

function searchView(row: SearchRow, deps: RouteDeps) {
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    error: row.error,
    model: { path: row.modelPath, hash: row.modelHash },
    objectives: row.objectives,
    algorithm: row.algorithm,
    options: row.options,
    seed: row.seed,
    evaluator: row.evaluator,
    owner: row.owner,
    ownedByServer: deps.supervisor.owns(row.id),
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

function detailView(deps: RouteDeps, id: number) {
  const row = getSearch(deps.db, id);
  // Progress counts scan the search's candidates (~10 ms at 100k); pollers ask far more often than results
  // arrive, so it is cached until the next commit.
  const progress = JSON.parse(deps.progressCache.get(`progress:${id}`, () => JSON.stringify(searchProgress(deps.db, row)))) as SearchProgress;
  return { ...searchView(row, deps), space: row.space, progress };
}

const listRoute = createRoute({
  method: "get",
  path: "/searches",
  summary: "List searches, newest first",
  request: { query: SearchesQuery },
  responses: { 200: { description: "A page of searches", content: { "application/json": { schema: SearchPage } } }, ...errors },
});

const getRoute = createRoute({
  method: "get",
  path: "/searches/{id}",
  summary: "A search with its progress and best candidates so far",
  request: { params: IdParams },
  responses: { 200: { description: "The search", content: { "application/json": { schema: SearchDetail } } }, ...errors },
});

const createSearchRoute = createRoute({
  method: "post",
  path: "/searches",
  summary: "Create a search and start it in a process this server owns",
  request: { body: { required: true, content: { "application/json": { schema: CreateSearchBody } } } },
  responses: { 201: { description: "Created and started", content: { "application/json": { schema: SearchDetail } } }, ...errors },
});

const pauseRoute = createRoute({
  method: "post",
  path: "/searches/{id}/pause",
  summary: "Stop a running search cleanly (state saved; resumable)",
  request: { params: IdParams },
  responses: {
    200: { description: "Paused", content: { "application/json": { schema: SearchDetail } } },
    202: { description: "Stop requested; the process has not exited yet", content: { "application/json": { schema: SearchDetail } } },
    ...errors,
    ...conflict,
  },
});

const resumeRoute = createRoute({
  method: "post",
  path: "/searches/{id}/resume",
  summary: "Continue a paused, interrupted or failed search in a process this server owns",
  request: { params: IdParams },
  responses: { 202: { description: "Started", content: { "application/json": { schema: SearchDetail } } }, ...errors, ...conflict },
});

const paretoRoute = createRoute({
  method: "get",
  path: "/searches/{id}/pareto",
  summary: "The current first non-dominated front (feasible first), ordered by the first objective",
  request: { params: IdParams },
  responses: { 200: { description: "The front", content: { "application/json": { schema: ParetoSchema } } }, ...errors },
});

export function registerSearchRoutes(app: OpenAPIHono<AppEnv>, deps: RouteDeps): void {
  const { db, supervisor } = deps;

  app.openapi(listRoute, (c) => {
    reconcileInterrupted(db);
    const q = c.req.valid("query");
    const limit = q.limit ?? 50;
    const rows = listSearches(db, { status: q.status, limit: limit + 1, before: q.cursor });
    const page = rows.slice(0, limit);
    const nextCursor = rows.length > limit ? String(page.at(-1)!.id) : null;
    return c.json({ items: page.map((r) => searchView(r, deps)), nextCursor }, 200);
  });

  app.openapi(getRoute, (c) => {
    reconcileInterrupted(db);
    return c.json(detailView(deps, c.req.valid("param").id) as never, 200);
  });

  app.openapi(createSearchRoute, async (c) => {
    const body = c.req.valid("json");
    let hash = body.model.hash;
    if (hash === undefined) {
      if (!deps.resolveModel) throw new InvalidInputError("model.hash is required (this server cannot hash models itself)");
      hash = (await deps.resolveModel(body.model.path)).hash;
    }
    const spec: SearchSpec = { ...body, model: { path: body.model.path, hash }, evaluator: body.evaluator ?? { kind: "model" } };
    validateSearchSpec(spec);
    supervisor.evaluatorModule(spec.evaluator!.kind); // unknown kind → 400 before anything is stored
    await checkAlgorithm(deps, spec);
    const row = createSearch(db, spec);
    supervisor.start(row.id, spec.evaluator!.kind);
    return c.json(detailView(deps, row.id) as never, 201);
  });

  app.openapi(pauseRoute, async (c) => {
    const { id } = c.req.valid("param");
    reconcileInterrupted(db);
    const row = getSearch(db, id);
    if (row.status !== "running") throw new HTTPException(409, { message: `search ${id} is not running (status ${row.status})` });
    if (!supervisor.owns(id)) {
      throw new HTTPException(409, { message: `search ${id} runs in process ${row.owner ?? "?"}, which this server did not start; stop it there` });
    }
    const exited = await supervisor.pause(id);
    reconcileInterrupted(db);
    return c.json(detailView(deps, id) as never, exited ? 200 : 202);
  });

  app.openapi(resumeRoute, async (c) => {
    const { id } = c.req.valid("param");
    reconcileInterrupted(db);
    const row = getSearch(db, id);
    if (row.status === "done") throw new HTTPException(409, { message: `search ${id} is already done` });
    if (row.status === "running" && (supervisor.owns(id) || ownerAlive(row.owner))) {
      throw new SearchBusyError(`search ${id} is already running in process ${row.owner ?? "?"}`);
    }
    supervisor.start(id, row.evaluator.kind);
    return c.json(detailView(deps, id) as never, 202);
  });

  app.openapi(paretoRoute, (c) => {
    const row = getSearch(db, c.req.valid("param").id);
    return c.json({ objectives: row.objectives, items: paretoFront(db, row) } as never, 200);
  });
}

/** Instantiate the algorithm once so a bad algorithm name, option or space is a 400 now, not a failed worker later. */
async function checkAlgorithm(deps: RouteDeps, spec: SearchSpec): Promise<void> {
  const factory = deps.algorithms ?? createAlgorithmFromSearchPackage;
  try {
    await factory({ name: spec.algorithm, space: spec.space, objectives: spec.objectives, options: spec.options ?? {}, seed: spec.seed });
  } catch (e) {
    throw new InvalidInputError(`invalid search: ${(e as Error).message}`);
  }
}
