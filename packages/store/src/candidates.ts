/** Writing candidates: pending rows for proposals, and results stored atomically with the front update. */
import { and, eq, inArray, sql } from "drizzle-orm";
import { candidates, type CandidateRow, type Db, type SearchRow } from "@nas/db";
import type { Proposal } from "@nas/search";
import { frontUpdate } from "./pareto.ts";

/** What an evaluator produced for one candidate (the runner validates it before storing). */
export type CandidateOutcome =
  | {
      objectives: number[];
      constraintViolation?: number;
      metrics?: Record<string, unknown>;
      evalMs?: number;
      device?: unknown;
    }
  | { error: string; metrics?: Record<string, unknown>; evalMs?: number; device?: unknown };

/**
 * Insert proposals as pending rows; keys already stored for the search are left untouched.
 *
 * @example
 * insertPending(db, search.id, asked.proposals);
 */
export function insertPending(db: Db, searchId: number, proposals: readonly Proposal[]): void {
  if (proposals.length === 0) return;
  const now = Date.now();
  db.transaction((tx) => {
    for (const p of proposals) {
      tx.insert(candidates)
        .values({
          searchId,
          key: p.key,
          genome: p.genome,
          subnet: p.subnet,
          generation: p.generation,
          status: "pending",
          createdAt: now,
          updatedAt: now,
        })
        .onConflictDoNothing({ target: [candidates.searchId, candidates.key] })
        .run();
    }
  });
}

/**
 * Rows of a search for the given keys.
 *
 * @example
 * const rows = candidatesByKey(db, search.id, proposals.map((p) => p.key));
 */
export function candidatesByKey(db: Db, searchId: number, keys: readonly string[]): Map<string, CandidateRow> {
  const out = new Map<string, CandidateRow>();
  // Chunked: SQLite limits bound parameters per statement.
  for (let i = 0; i < keys.length; i += 500) {
    const rows = db
      .select()
      .from(candidates)
      .where(and(eq(candidates.searchId, searchId), inArray(candidates.key, keys.slice(i, i + 500))))
      .all();
    for (const r of rows) out.set(r.key, r);
  }
  return out;
}

/**
 * Mark rows as being evaluated (only rows still pending).
 *
 * @example
 * markRunning(db, [row.id]);
 */
export function markRunning(db: Db, ids: readonly number[]): void {
  if (ids.length === 0) return;
  db.update(candidates)
    .set({ status: "running", updatedAt: Date.now() })
    .where(and(inArray(candidates.id, [...ids]), eq(candidates.status, "pending")))
    .run();
}

/**
 * Rows left "running" (their evaluation was interrupted) go back to pending. Returns how many.
 *
 * @example
 * resetRunning(db, search.id); // after a crash
 */
export function resetRunning(db: Db, searchId: number, ids?: readonly number[]): number {
  const where = [eq(candidates.searchId, searchId), eq(candidates.status, "running")];
  if (ids) where.push(inArray(candidates.id, [...ids]));
  return db
    .update(candidates)
    .set({ status: "pending", updatedAt: Date.now() })
    .where(and(...where))
    .returning({ id: candidates.id })
    .all().length;
}

/**
 * Check an outcome against the search's objectives. Returns an error text for outcomes that must be
 * stored as failures instead (wrong count, non-finite values), or null when it is a valid result.
 *
 * @example
 * outcomeProblem({ objectives: [1, Number.NaN] }, 2) // "evaluator returned objective 1 = NaN, ..."
 */
export function outcomeProblem(outcome: CandidateOutcome, objectiveCount: number): string | null {
  if (typeof outcome !== "object" || outcome === null) return `evaluator returned ${JSON.stringify(outcome)} instead of a result object`;
  if ("error" in outcome) return typeof outcome.error === "string" ? null : "evaluator returned a non-string error";
  const o = outcome.objectives;
  if (!Array.isArray(o) || o.length !== objectiveCount) {
    return `evaluator returned ${Array.isArray(o) ? o.length : "no"} objective values, the search has ${objectiveCount}`;
  }
  const bad = o.findIndex((v) => typeof v !== "number" || !Number.isFinite(v));
  if (bad >= 0) return `evaluator returned objective ${bad} = ${String(o[bad])}, which is not a finite number`;
  const cv = outcome.constraintViolation;
  if (cv !== undefined && (typeof cv !== "number" || !Number.isFinite(cv))) return `evaluator returned constraintViolation ${String(cv)}`;
  return null;
}

function jsonOrNull(v: unknown): unknown {
  if (v === undefined) return null;
  try {
    return JSON.parse(JSON.stringify(v)) as unknown;
  } catch (e) {
    return { unserialisable: (e as Error).message };
  }
}

/**
 * Store one candidate's result and update the search's front flags, in one transaction: after a crash
 * either both happened or neither did. Invalid outcomes are stored as failures with the reason.
 *
 * @example
 * storeOutcome(db, search, row.id, { objectives: [2.31, 1.2e5], metrics: { wikitext: { ppl: 10.1 } } }, 8400, "H100");
 */
export function storeOutcome(db: Db, search: SearchRow, candidateId: number, outcome: CandidateOutcome, evalMs: number, device: unknown): CandidateRow {
  const directions = search.objectives.map((o) => o.direction);
  const problem = outcomeProblem(outcome, directions.length);
  const now = Date.now();
  const common = {
    metrics: (jsonOrNull((outcome as { metrics?: unknown })?.metrics) as Record<string, unknown> | null) ?? null,
    evalMs: Number.isFinite(outcome?.evalMs) ? (outcome.evalMs as number) : evalMs,
    device: jsonOrNull(outcome?.device ?? device),
    updatedAt: now,
  };
  return db.transaction(
    (tx) => {
      const current = tx.select().from(candidates).where(eq(candidates.id, candidateId)).get();
      if (!current || current.searchId !== search.id) throw new Error(`candidate ${candidateId} is not in search ${search.id}`);
      // A stored result is final: never overwrite it (a resumed run tells it from the DB instead).
      if (current.status === "done" || current.status === "failed") return current;
      if (problem !== null || "error" in outcome) {
        const error = problem ?? (outcome as { error: string }).error;
        return tx
          .update(candidates)
          .set({ ...common, status: "failed", error, objectives: null, o0: null, o1: null, o2: null, o3: null, onFront: 0 })
          .where(eq(candidates.id, candidateId))
          .returning()
          .get();
      }
      const values = outcome.objectives;
      const cv = outcome.constraintViolation ?? null;
      // Objective values from the REAL columns (exact copies of the JSON values): no JSON parsing per member.
      const m = directions.length;
      const front = tx
        .select({ id: candidates.id, o0: candidates.o0, o1: candidates.o1, o2: candidates.o2, o3: candidates.o3, cv: candidates.constraintViolation })
        .from(candidates)
        .where(and(eq(candidates.searchId, search.id), eq(candidates.onFront, 1), sql`${candidates.id} <> ${candidateId}`))
        .all()
        .map((f) => ({ id: f.id, objectives: [f.o0, f.o1, f.o2, f.o3].slice(0, m) as number[], constraintViolation: f.cv }));
      const change = frontUpdate(front, { objectives: values, constraintViolation: cv }, directions);
      if (change.leave.length > 0) {
        tx.update(candidates).set({ onFront: 0 }).where(inArray(candidates.id, change.leave)).run();
      }
      return tx
        .update(candidates)
        .set({
          ...common,
          status: "done",
          error: null,
          objectives: values,
          o0: values[0] ?? null,
          o1: values[1] ?? null,
          o2: values[2] ?? null,
          o3: values[3] ?? null,
          constraintViolation: cv,
          onFront: change.joins ? 1 : 0,
        })
        .where(eq(candidates.id, candidateId))
        .returning()
        .get();
    },
    { behavior: "immediate" },
  );
}

/**
 * Recompute a search's front flags from scratch (after a bulk import, or to repair): sorts the done
 * candidates by their first objective (best first, feasible before infeasible) and sweeps, so each point
 * is only compared with the front found so far: O(n log n + n * frontSize) instead of O(n^2).
 * Returns the front size.
 *
 * @example
 * recomputeFront(db, search); // after inserting rows with raw SQL
 */
export function recomputeFront(db: Db, search: SearchRow): number {
  const directions = search.objectives.map((o) => o.direction);
  const sign = directions.map((d) => (d === "min" ? 1 : -1));
  return db.transaction(
    (tx) => {
      const rows = tx
        .select({ id: candidates.id, objectives: candidates.objectives, constraintViolation: candidates.constraintViolation })
        .from(candidates)
        .where(and(eq(candidates.searchId, search.id), eq(candidates.status, "done")))
        .all()
        .map((r) => ({ id: r.id, objectives: r.objectives ?? [], constraintViolation: r.constraintViolation, cv: Math.max(0, r.constraintViolation ?? 0) }));
      // Lexicographic order (violation, then every objective as minimisation): nothing later in this order
      // can dominate anything earlier, so a point joins iff no point already on the front dominates it.
      rows.sort((a, b) => {
        if (a.cv !== b.cv) return a.cv - b.cv;
        for (let i = 0; i < sign.length; i++) {
          const d = sign[i] * (a.objectives[i] - b.objectives[i]);
          if (d !== 0) return d;
        }
        return a.id - b.id;
      });
      const front: typeof rows = [];
      for (const r of rows) if (frontUpdate(front, r, directions).joins) front.push(r);
      tx.update(candidates).set({ onFront: 0 }).where(and(eq(candidates.searchId, search.id), eq(candidates.onFront, 1))).run();
      for (let i = 0; i < front.length; i += 500) {
        tx.update(candidates).set({ onFront: 1 }).where(inArray(candidates.id, front.slice(i, i + 500).map((f) => f.id))).run();
      }
      return front.length;
    },
    { behavior: "immediate" },
  );
}
