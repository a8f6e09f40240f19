/**
 * SQLite schema of the candidate store (drizzle). Migrations in ../migrations are generated from this file
 * with `./node_modules/.bin/drizzle-kit generate --config db/drizzle.config.ts` (run from the repo root) and applied by `openDb` at open.
 *
 * Design notes (why the columns look the way they do):
 * - JSON columns (`space`, `genome`, `subnet`, ...) hold plain values exactly as the search package produced
 *   them; the store never interprets them except for hashing `space` (see `spaceHash`).
 * - Objective values are kept twice: `objectives` (JSON array, the source of truth, in the search's objective
 *   order) and `o0..o3` (REAL columns) so range filters and sorts use indexes. A search has at most
 *   `MAX_OBJECTIVES` objectives.
 * - `onFront` is the precomputed first non-dominated front (constrained domination, see
 *   packages/store/src/pareto.ts). It is maintained incrementally in the same transaction that stores a
 *   result, so `pareto=true` is an index lookup instead of an O(n log n) pass over 100k rows per request.
 * - Times are integer milliseconds since the epoch.
 */
import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** Most objectives a search may have (one indexed REAL column each: o0..o3). */
export const MAX_OBJECTIVES = 4;

export const SEARCH_STATUSES = ["pending", "running", "paused", "interrupted", "done", "failed"] as const;
/** pending: created, never started; running: a process owns it; paused: stopped cleanly (state saved);
 * interrupted: its process died without a clean stop (found running with a dead owner); done; failed. */
export type SearchStatus = (typeof SEARCH_STATUSES)[number];

export const CANDIDATE_STATUSES = ["pending", "running", "done", "failed"] as const;
export type CandidateStatus = (typeof CANDIDATE_STATUSES)[number];

export const searches = sqliteTable(
  "searches",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    name: text("name").notNull(),
    modelPath: text("model_path").notNull(),
    /** Content hash of the model (ModelSource.hash); a resume with another hash is refused. */
    modelHash: text("model_hash").notNull(),
    space: text("space", { mode: "json" }).$type<unknown>().notNull(),
    /** sha256 of the canonical JSON of `space`; a resume with another space is refused. */
    spaceHash: text("space_hash").notNull(),
    objectives: text("objectives", { mode: "json" }).$type<{ name: string; direction: "min" | "max" }[]>().notNull(),
    algorithm: text("algorithm").notNull(),
    options: text("options", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    seed: integer("seed").notNull(),
    /** How a worker process builds the evaluator: `{ kind, options }` (see packages/store/src/evaluators.ts). */
    evaluator: text("evaluator", { mode: "json" }).$type<{ kind: string; options?: unknown }>().notNull(),
    status: text("status", { enum: SEARCH_STATUSES }).notNull().default("pending"),
    error: text("error"),
    /** `host:pid` of the process running it while status = running. */
    owner: text("owner"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    index("searches_status_idx").on(t.status, t.id),
    check("searches_status_check", sql`${t.status} IN ('pending','running','paused','interrupted','done','failed')`),
  ],
);

export const candidates = sqliteTable(
  "candidates",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    searchId: integer("search_id")
      .notNull()
      .references(() => searches.id, { onDelete: "cascade" }),
    /** Canonical sub-network key (Proposal.key), unique per search. */
    key: text("key").notNull(),
    genome: text("genome", { mode: "json" }).$type<number[]>().notNull(),
    subnet: text("subnet", { mode: "json" }).$type<unknown>().notNull(),
    generation: integer("generation").notNull(),
    status: text("status", { enum: CANDIDATE_STATUSES }).notNull().default("pending"),
    objectives: text("objectives", { mode: "json" }).$type<number[]>(),
    o0: real("o0"),
    o1: real("o1"),
    o2: real("o2"),
    o3: real("o3"),
    constraintViolation: real("constraint_violation"),
    /** 1 when the candidate is on the search's first non-dominated front (maintained on every store). */
    onFront: integer("on_front").notNull().default(0),
    /** Per-task metrics as the evaluator reported them, e.g. `{ "wikitext": { "ppl": 12.3 } }`. */
    metrics: text("metrics", { mode: "json" }).$type<Record<string, unknown>>(),
    evalMs: real("eval_ms"),
    /** Device / adapter description from the evaluator (JSON). */
    device: text("device", { mode: "json" }).$type<unknown>(),
    error: text("error"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("candidates_search_key_idx").on(t.searchId, t.key),
    // Each index ends (implicitly) in the rowid, so "filter then ORDER BY id / (oN, id) LIMIT n" never sorts.
    index("candidates_search_status_idx").on(t.searchId, t.status),
    index("candidates_search_front_idx").on(t.searchId, t.onFront),
    index("candidates_search_o0_idx").on(t.searchId, t.o0),
    index("candidates_search_o1_idx").on(t.searchId, t.o1),
    index("candidates_search_o2_idx").on(t.searchId, t.o2),
    index("candidates_search_o3_idx").on(t.searchId, t.o3),
    index("candidates_search_generation_idx").on(t.searchId, t.generation),
    // Partial indexes over front members only: `pareto=true&sort=<objective>` reads just one page of them,
    // whatever the front size, instead of sorting the whole front or walking the full objective index.
    index("candidates_front_o0_idx").on(t.searchId, t.o0).where(sql`${t.onFront} = 1`),
    index("candidates_front_o1_idx").on(t.searchId, t.o1).where(sql`${t.onFront} = 1`),
    index("candidates_front_o2_idx").on(t.searchId, t.o2).where(sql`${t.onFront} = 1`),
    index("candidates_front_o3_idx").on(t.searchId, t.o3).where(sql`${t.onFront} = 1`),
    check("candidates_status_check", sql`${t.status} IN ('pending','running','done','failed')`),
    check("candidates_front_check", sql`${t.onFront} IN (0, 1)`),
  ],
);

/**
 * The latest algorithm-state checkpoint of a search (one row per search, replaced every generation).
 * `state` is the search package's plain JSON state after `tell` of generation `generation`.
 */
export const checkpoints = sqliteTable(
  "checkpoints",
  {
    searchId: integer("search_id")
      .notNull()
      .references(() => searches.id, { onDelete: "cascade" }),
    generation: integer("generation").notNull(),
    /** Results told to the algorithm so far (done + failed). */
    evaluations: integer("evaluations").notNull(),
    state: text("state", { mode: "json" }).$type<unknown>().notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.searchId] })],
);

export type SearchRow = typeof searches.$inferSelect;
export type NewSearchRow = typeof searches.$inferInsert;
export type CandidateRow = typeof candidates.$inferSelect;
export type NewCandidateRow = typeof candidates.$inferInsert;
export type CheckpointRow = typeof checkpoints.$inferSelect;
