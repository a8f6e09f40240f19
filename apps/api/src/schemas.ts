/**
 * Zod schemas of the API's inputs and outputs. They validate requests and generate /openapi.json, so
 * what the document says is what the server enforces.
 */
import { z } from "@hono/zod-openapi";
import { CANDIDATE_STATUSES, MAX_OBJECTIVES, SEARCH_STATUSES } from "@nas/db";
import { MAX_PAGE, OBJECTIVE_NAME } from "@nas/store";

export const ErrorSchema = z
  .object({
    error: z.string().openapi({ example: "limit must be an integer in [1, 1000], got 0" }),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi("Error");

export const IdParams = z.object({
  id: z
    .string()
    .regex(/^[1-9][0-9]{0,14}$/, "id must be a positive integer")
    .transform(Number)
    .openapi({ param: { name: "id", in: "path" }, example: "1" }),
});

/** Zod's message for a single-valued query parameter that was repeated (`a=1&a=2` arrives as an array). */
const once = (name: string) => ({
  error: (issue: { input?: unknown }) => (Array.isArray(issue.input) ? `${name} may be given only once` : undefined),
});

/** A query value given once or repeated (`a=1&a=2`); commas also separate values. */
const listParam = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(",")).filter((s) => s !== ""));

const booleanParam = z.enum(["true", "false", "1", "0"], { error: (i) => (Array.isArray(i.input) ? "pareto may be given only once" : 'pareto must be "true" or "false"') }).transform((v) => v === "true" || v === "1");

const limitParam = z
  .string(once("limit"))
  .regex(/^[0-9]{1,4}$/, `limit must be an integer in [1, ${MAX_PAGE}]`)
  .transform(Number)
  .pipe(z.number().int().min(1, `limit must be an integer in [1, ${MAX_PAGE}]`).max(MAX_PAGE, `limit must be an integer in [1, ${MAX_PAGE}]`));

const NUMBER = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;

/** `range=NAME:MIN:MAX` (either bound may be empty), repeatable. */
const rangeParam = z
  .union([z.string(), z.array(z.string())])
  .transform((v, ctx) => {
    const out: { objective: string; min?: number; max?: number }[] = [];
    for (const text of Array.isArray(v) ? v : [v]) {
      const parts = text.split(":");
      const bad = (why: string) => ctx.addIssue({ code: "custom", message: `range "${text}" ${why} (expected NAME:MIN:MAX, e.g. loss:0:2.5 or accuracy:0.3:)` });
      if (parts.length !== 3) {
        bad("is malformed");
        continue;
      }
      const [objective, lo, hi] = parts;
      if (!OBJECTIVE_NAME.test(objective)) {
        bad("has an invalid objective name");
        continue;
      }
      if ((lo !== "" && !NUMBER.test(lo)) || (hi !== "" && !NUMBER.test(hi))) {
        bad("has a bound that is not a number");
        continue;
      }
      const min = lo === "" ? undefined : Number(lo);
      const max = hi === "" ? undefined : Number(hi);
      if ((min !== undefined && !Number.isFinite(min)) || (max !== undefined && !Number.isFinite(max))) {
        bad("has a bound that is not finite");
        continue;
      }
      out.push({ objective, ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) });
    }
    return out;
  });

export const CandidatesQuery = z
  .strictObject({
    status: listParam
      .pipe(z.array(z.enum(CANDIDATE_STATUSES, `status must be one of ${CANDIDATE_STATUSES.join(", ")}`)))
      .optional()
      .openapi({ description: "Candidate statuses, comma-separated or repeated", example: "done" }),
    pareto: booleanParam.optional().openapi({ description: "Only candidates on the current first non-dominated front", example: "true" }),
    range: rangeParam.optional().openapi({
      description: "Objective range NAME:MIN:MAX (inclusive; either bound may be empty), repeatable",
      example: "loss:0:2.5",
    }),
    sort: z
      .string(once("sort"))
      .max(64)
      .optional()
      .openapi({ description: 'Sort key: "id" (default), "generation" or an objective name', example: "loss" }),
    order: z.enum(["asc", "desc"], { error: (i) => (Array.isArray(i.input) ? "order may be given only once" : 'order must be "asc" or "desc"') }).optional(),
    limit: limitParam.optional().openapi({ description: `Page size, 1..${MAX_PAGE} (default 50)`, example: "50" }),
    cursor: z.string(once("cursor")).max(512).optional().openapi({ description: "nextCursor of the previous page" }),
  })
  .openapi("CandidatesQuery");

export const SearchesQuery = z.strictObject({
  status: z
    .enum(SEARCH_STATUSES, { error: (i) => (Array.isArray(i.input) ? "status may be given only once" : `status must be one of ${SEARCH_STATUSES.join(", ")}`) })
    .optional(),
  limit: limitParam.optional(),
  cursor: z
    .string(once("cursor"))
    .regex(/^[1-9][0-9]{0,14}$/, "cursor must be the nextCursor of a previous page")
    .transform(Number)
    .optional(),
});

const json = z.unknown().openapi({ type: "object" });

export const ObjectiveSchema = z.strictObject({
  name: z.string().regex(OBJECTIVE_NAME, `objective names must match ${OBJECTIVE_NAME}`),
  direction: z.enum(["min", "max"]),
});

export const CreateSearchBody = z
  .strictObject({
    name: z.string().min(1).max(200),
    model: z.strictObject({
      path: z.string().min(1).max(4096),
      hash: z.string().min(1).max(256).optional().openapi({ description: "Model content hash; required unless the server can compute it" }),
    }),
    space: json.refine((v) => v !== undefined && v !== null, "space is required").openapi({ description: "Search space (the search package's JSON value)" }),
    objectives: z.array(ObjectiveSchema).min(1).max(MAX_OBJECTIVES),
    algorithm: z.string().min(1).max(64).openapi({ example: "nsga2" }),
    options: z.record(z.string(), z.unknown()).optional().openapi({ example: { population: 20, evaluations: 200 } }),
    seed: z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER),
    evaluator: z
      .strictObject({ kind: z.string().min(1).max(64), options: z.unknown().optional() })
      .optional()
      .openapi({ description: 'How candidates are measured; default { kind: "model" }', example: { kind: "fake" } }),
  })
  .openapi("CreateSearch");

export const CandidateSchema = z
  .object({
    id: z.number().int(),
    searchId: z.number().int(),
    key: z.string(),
    generation: z.number().int(),
    status: z.enum(CANDIDATE_STATUSES),
    genome: z.array(z.number()),
    subnet: json,
    objectives: z.record(z.string(), z.number()).nullable(),
    constraintViolation: z.number().nullable(),
    onFront: z.boolean(),
    metrics: z.record(z.string(), z.unknown()).nullable(),
    evalMs: z.number().nullable(),
    device: json,
    error: z.string().nullable(),
    createdAt: z.number().int(),
    updatedAt: z.number().int(),
  })
  .openapi("Candidate");

export const CandidatePage = z
  .object({ items: z.array(CandidateSchema), nextCursor: z.string().nullable() })
  .openapi("CandidatePage");

export const SearchSchema = z
  .object({
    id: z.number().int(),
    name: z.string(),
    status: z.enum(SEARCH_STATUSES),
    error: z.string().nullable(),
    model: z.object({ path: z.string(), hash: z.string() }),
    objectives: z.array(ObjectiveSchema),
    algorithm: z.string(),
    options: z.record(z.string(), z.unknown()),
    seed: z.number().int(),
    evaluator: z.object({ kind: z.string(), options: z.unknown().optional() }),
    owner: z.string().nullable().openapi({ description: "host:pid of the process running it" }),
    ownedByServer: z.boolean().openapi({ description: "Whether this server started that process" }),
    createdAt: z.number().int(),
    updatedAt: z.number().int(),
  })
  .openapi("Search");

export const SearchPage = z.object({ items: z.array(SearchSchema), nextCursor: z.string().nullable() }).openapi("SearchPage");

export const SearchDetail = SearchSchema.extend({
  space: json,
  progress: z.object({
    candidates: z.object({
      pending: z.number().int(),
      running: z.number().int(),
      done: z.number().int(),
      failed: z.number().int(),
      total: z.number().int(),
    }),
    generation: z.number().int().nullable(),
    evaluationsCheckpointed: z.number().int(),
    budget: z.number().nullable(),
    frontSize: z.number().int(),
    best: z.record(z.string(), CandidateSchema.nullable()),
  }),
}).openapi("SearchDetail");

export const ParetoSchema = z
  .object({ objectives: z.array(ObjectiveSchema), items: z.array(CandidateSchema) })
  .openapi("ParetoFront");
