/** Creating, reading and claiming searches. */
import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { and, desc, eq, lt, sql } from "drizzle-orm";
import { MAX_OBJECTIVES, checkpoints, searches, type Db, type SearchRow, type SearchStatus } from "@nas/db";
import type { ObjectiveSpec } from "@nas/search";
import { InvalidInputError, NotFoundError, SearchBusyError } from "./errors.ts";

/** How a worker process builds the evaluator for a search (see ./evaluators.ts). */
export interface EvaluatorSpec {
  /** "fake" (deterministic, built in) or a kind the host registers a module for, e.g. "model". */
  kind: string;
  options?: unknown;
}

/** Everything that defines a search; stored once, checked on resume. */
export interface SearchSpec {
  name: string;
  model: { path: string; hash: string };
  /** The search package's search-space value (opaque here; hashed to guard resumes). */
  space: unknown;
  objectives: ObjectiveSpec[];
  algorithm: string;
  /** Algorithm options (population, evaluations, ...), passed to the algorithm factory unchanged. */
  options?: Record<string, unknown>;
  seed: number;
  /** Default `{ kind: "model" }`. */
  evaluator?: EvaluatorSpec;
}

/** Objective names double as query parameters and JSON keys, so they are kept simple. */
export const OBJECTIVE_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;

/**
 * JSON with object keys sorted, so equal values hash equally whatever their key order.
 *
 * @example
 * canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] }) // '{"a":[2,{"c":4,"d":3}],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      return Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]));
    }
    return v;
  });
}

/**
 * sha256 (hex) of the canonical JSON of a search space.
 *
 * @example
 * spaceHash({ layers: 5 }) === spaceHash(JSON.parse('{"layers":5}')) // true
 */
export function spaceHash(space: unknown): string {
  return createHash("sha256").update(canonicalJson(space)).digest("hex");
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Validate a spec, naming the first bad field.
 *
 * @example
 * validateSearchSpec({ ...spec, seed: 1.5 }); // throws InvalidInputError "invalid search: seed must be an integer, got 1.5"
 */
export function validateSearchSpec(spec: SearchSpec): void {
  const fail = (msg: string): never => {
    throw new InvalidInputError(`invalid search: ${msg}`);
  };
  if (!isPlainObject(spec)) fail("spec must be an object");
  if (typeof spec.name !== "string" || spec.name.trim() === "") fail("name must be a non-empty string");
  if (!isPlainObject(spec.model)) fail("model must be an object {path, hash}");
  if (typeof spec.model.path !== "string" || spec.model.path === "") fail("model.path must be a non-empty string");
  if (typeof spec.model.hash !== "string" || spec.model.hash === "") fail("model.hash must be a non-empty string");
  if (spec.space === undefined) fail("space is required");
  try {
    if (JSON.stringify(spec.space) === undefined) fail("space must be a JSON value");
  } catch (e) {
    if (e instanceof InvalidInputError) throw e;
    fail(`space is not serialisable as JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(spec.objectives) || spec.objectives.length === 0) fail("objectives must be a non-empty array");
  if (spec.objectives.length > MAX_OBJECTIVES) fail(`at most ${MAX_OBJECTIVES} objectives are supported, got ${spec.objectives.length}`);
  const seen = new Set<string>();
  spec.objectives.forEach((o, i) => {
    if (!isPlainObject(o)) fail(`objectives[${i}] must be an object {name, direction}`);
    if (typeof o.name !== "string" || !OBJECTIVE_NAME.test(o.name)) {
      fail(`objectives[${i}].name must match ${OBJECTIVE_NAME}, got ${JSON.stringify(o.name)}`);
    }
    if (o.direction !== "min" && o.direction !== "max") fail(`objectives[${i}].direction must be "min" or "max", got ${JSON.stringify(o.direction)}`);
    if (seen.has(o.name)) fail(`objectives[${i}].name "${o.name}" is repeated`);
    seen.add(o.name);
  });
  if (typeof spec.algorithm !== "string" || spec.algorithm === "") fail("algorithm must be a non-empty string");
  if (spec.options !== undefined && !isPlainObject(spec.options)) fail("options must be an object");
  if (!Number.isSafeInteger(spec.seed)) fail(`seed must be an integer, got ${JSON.stringify(spec.seed)}`);
  if (spec.evaluator !== undefined) {
    if (!isPlainObject(spec.evaluator) || typeof spec.evaluator.kind !== "string" || spec.evaluator.kind === "") {
      fail("evaluator must be an object {kind, options?} with a non-empty kind");
    }
  }
}

/**
 * Store a new search (status "pending") and return its row.
 *
 * @example
 * const s = createSearch(db, { name: "demo", model: { path: "shared/models/stories260K-hf", hash },
 *   space, objectives: [{ name: "loss", direction: "min" }, { name: "params", direction: "min" }],
 *   algorithm: "nsga2", options: { population: 20, evaluations: 200 }, seed: 1 });
 */
export function createSearch(db: Db, spec: SearchSpec): SearchRow {
  validateSearchSpec(spec);
  const now = Date.now();
  return db
    .insert(searches)
    .values({
      name: spec.name,
      modelPath: spec.model.path,
      modelHash: spec.model.hash,
      space: spec.space,
      spaceHash: spaceHash(spec.space),
      objectives: spec.objectives.map((o) => ({ name: o.name, direction: o.direction })),
      algorithm: spec.algorithm,
      options: spec.options ?? {},
      seed: spec.seed,
      evaluator: spec.evaluator ?? { kind: "model" },
      status: "pending",
      createdAt: now,
      updatedAt: now,
    })
    .returning()
    .get();
}

/**
 * The search row, or NotFoundError.
 *
 * @example
 * const search = getSearch(db, 1);
 */
export function getSearch(db: Db, id: number): SearchRow {
  const row = db.select().from(searches).where(eq(searches.id, id)).get();
  if (!row) throw new NotFoundError(`search ${id} not found`);
  return row;
}

/**
 * Just a search's id and objectives (what candidate queries need), through a cached statement and without
 * parsing its other JSON columns (the space can be kilobytes): the API's hot path. NotFoundError if absent.
 *
 * @example
 * const s = searchHeader(db, 1); // { id: 1, objectives: [{ name: "loss", direction: "min" }, ...] }
 */
export function searchHeader(db: Db, id: number): Pick<SearchRow, "id" | "objectives"> {
  const row = db.$client.query<{ objectives: string }, [number]>("SELECT objectives FROM searches WHERE id = ?").get(id);
  if (!row) throw new NotFoundError(`search ${id} not found`);
  return { id, objectives: JSON.parse(row.objectives) as SearchRow["objectives"] };
}

/**
 * Searches newest first, optionally by status; `before` is an id cursor (exclusive).
 *
 * @example
 * listSearches(db, { status: "running", limit: 20 });
 */
export function listSearches(db: Db, options: { status?: SearchStatus; limit?: number; before?: number } = {}): SearchRow[] {
  const conds = [];
  if (options.status) conds.push(eq(searches.status, options.status));
  if (options.before !== undefined) conds.push(lt(searches.id, options.before));
  return db
    .select()
    .from(searches)
    .where(conds.length ? and(...conds) : undefined)
    .orderBy(desc(searches.id))
    .limit(options.limit ?? 100)
    .all();
}

/**
 * `host:pid` of this process: how a running search names its owner.
 *
 * @example
 * processOwner() // "gpu-host-1:4242"
 */
export function processOwner(pid = process.pid): string {
  return `${hostname()}:${pid}`;
}

/**
 * Whether the process named by `owner` is alive. Owners on another host are assumed alive (we cannot tell).
 *
 * @example
 * ownerAlive(search.owner) // false once that process is gone
 */
export function ownerAlive(owner: string | null): boolean {
  if (!owner) return false;
  const i = owner.lastIndexOf(":");
  const host = owner.slice(0, i);
  const pid = Number(owner.slice(i + 1));
  if (host !== hostname()) return true;
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Atomically mark a search as running in this process. Refuses (SearchBusyError) when another live
 * process owns it.
 *
 * @example
 * claimSearch(db, search.id); // status "running", owner this process
 */
export function claimSearch(db: Db, id: number, owner = processOwner()): SearchRow {
  return db.transaction(
    (tx) => {
      const row = tx.select().from(searches).where(eq(searches.id, id)).get();
      if (!row) throw new NotFoundError(`search ${id} not found`);
      if (row.status === "running" && row.owner !== owner && ownerAlive(row.owner)) {
        throw new SearchBusyError(`search ${id} is already running in process ${row.owner}`);
      }
      return tx
        .update(searches)
        .set({ status: "running", owner, error: null, updatedAt: Date.now() })
        .where(eq(searches.id, id))
        .returning()
        .get();
    },
    { behavior: "immediate" },
  );
}

/**
 * Set a search's final or paused status and release ownership.
 *
 * @example
 * releaseSearch(db, search.id, "paused");
 */
export function releaseSearch(db: Db, id: number, status: SearchStatus, error: string | null = null): void {
  db.update(searches).set({ status, owner: null, error, updatedAt: Date.now() }).where(eq(searches.id, id)).run();
}

/**
 * Searches recorded as running whose owner process on this host is gone (killed, crashed) become
 * "interrupted", so status reads true. Returns how many were changed.
 *
 * @example
 * reconcileInterrupted(db); // e.g. at server start
 */
export function reconcileInterrupted(db: Db): number {
  const stale = db
    .select({ id: searches.id, owner: searches.owner })
    .from(searches)
    .where(eq(searches.status, "running"))
    .all()
    .filter((r) => !ownerAlive(r.owner));
  for (const r of stale) {
    db.update(searches)
      .set({ status: "interrupted", owner: null, updatedAt: Date.now() })
      .where(and(eq(searches.id, r.id), eq(searches.status, "running"), sql`${searches.owner} IS ${r.owner}`))
      .run();
  }
  return stale.length;
}

/**
 * The latest checkpoint of a search, if any.
 *
 * @example
 * const cp = loadCheckpoint(db, search.id); // { generation, evaluations, state, ... } | undefined
 */
export function loadCheckpoint(db: Db, searchId: number) {
  return db.select().from(checkpoints).where(eq(checkpoints.searchId, searchId)).get();
}
