/** Candidate routes: a search's candidates (filter, Pareto, sort, keyset pages) and one candidate by id. */
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { candidateView, getCandidate, queryCandidatesJson, searchHeader } from "@nas/store";
import type { AppEnv, RouteDeps } from "../app.ts";
import { CandidatePage, CandidateSchema, CandidatesQuery, ErrorSchema, IdParams } from "../schemas.ts";

const errors = {
  400: { description: "Invalid request", content: { "application/json": { schema: ErrorSchema } } },
  404: { description: "Unknown id", content: { "application/json": { schema: ErrorSchema } } },
} as const;

const listRoute = createRoute({
  method: "get",
  path: "/searches/{id}/candidates",
  summary: "Candidates of a search: filter by status and objective ranges, pareto=true, sort, limit + cursor",
  request: { params: IdParams, query: CandidatesQuery },
  responses: { 200: { description: "A page of candidates", content: { "application/json": { schema: CandidatePage } } }, ...errors },
});

const getRoute = createRoute({
  method: "get",
  path: "/candidates/{id}",
  summary: "One candidate",
  request: { params: IdParams },
  responses: { 200: { description: "The candidate", content: { "application/json": { schema: CandidateSchema } } }, ...errors },
});

export function registerCandidateRoutes(app: OpenAPIHono<AppEnv>, deps: RouteDeps): void {
  app.openapi(listRoute, (c) => {
    const id = c.req.valid("param").id;
    const q = c.req.valid("query");
    const query = { status: q.status, pareto: q.pareto, ranges: q.range, sort: q.sort, order: q.order, limit: q.limit, cursor: q.cursor };
    // Pre-rendered JSON (same bytes as c.json(queryCandidates(...))), cached until the next commit: this is
    // the benchmarked hot path. Errors (unknown id, bad sort...) are thrown by render and never cached.
    const json = deps.pageCache.get(`${id}:${JSON.stringify(query)}`, () => queryCandidatesJson(deps.db, searchHeader(deps.db, id), query));
    return c.body(json, 200, { "content-type": "application/json" }) as never;
  });

  app.openapi(getRoute, (c) => {
    const { row, search } = getCandidate(deps.db, c.req.valid("param").id);
    return c.json(candidateView(row, search) as never, 200);
  });
}
