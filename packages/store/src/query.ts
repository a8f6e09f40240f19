/** Reading candidates: filtered, sorted, keyset-paginated queries, the front, and search progress. */
import { and, asc, desc, eq, isNotNull, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { CANDIDATE_STATUSES, candidates, checkpoints, type CandidateRow, type CandidateStatus, type Db, type SearchRow } from "@nas/db";
import { InvalidInputError, NotFoundError } from "./errors.ts";

/** A candidate as the API and CLI show it: objective values keyed by objective name. */
export interface CandidateView {
  id: number;
  searchId: number;
  key: string;
  generation: number;
  status: CandidateStatus;
  genome: number[];
  subnet: unknown;
  objectives: Record<string, number> | null;
  constraintViolation: number | null;
  onFront: boolean;
  metrics: Record<string, unknown> | null;
  evalMs: number | null;
  device: unknown;
  error: string | null;
  createdAt: number;
  updatedAt: number;
}

export const objectiveColumns = [candidates.o0, candidates.o1, candidates.o2, candidates.o3];

/**
 * Shape a row for output.
 *
 * @example
 * candidateView(row, search).objectives // { loss: 2.31, params: 120000 }
 */
export function candidateView(row: CandidateRow, search: Pick<SearchRow, "objectives">): CandidateView {
  const objectives = row.objectives ? Object.fromEntries(search.objectives.map((o, i) => [o.name, row.objectives![i]])) : null;
  return {
    id: row.id,
    searchId: row.searchId,
    key: row.key,
    generation: row.generation,
    status: row.status,
    genome: row.genome,
    subnet: row.subnet,
    objectives,
    constraintViolation: row.constraintViolation,
    onFront: row.onFront === 1,
    metrics: row.metrics ?? null,
    evalMs: row.evalMs,
    device: row.device ?? null,
    error: row.error,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/**
 * The indexed REAL column holding objective `name`, or InvalidInputError naming the search's objectives.
 *
 * @example
 * objectiveColumn(search, "loss") // candidates.o0
 */
export function objectiveColumn(search: Pick<SearchRow, "id" | "objectives">, name: string): SQLiteColumn {
  const i = search.objectives.findIndex((o) => o.name === name);
  if (i < 0) {
    const names = search.objectives.map((o) => o.name).join(", ");
    throw new InvalidInputError(`unknown objective "${name}"; search ${search.id} has objectives ${names}`);
  }
  return objectiveColumns[i];
}

/**
 * One candidate by id, or NotFoundError.
 *
 * @example
 * const { row, search } = getCandidate(db, 42);
 */
export function getCandidate(db: Db, id: number): { row: CandidateRow; search: SearchRow } {
  const row = db.select().from(candidates).where(eq(candidates.id, id)).get();
  if (!row) throw new NotFoundError(`candidate ${id} not found`);
  const search = db.query.searches.findFirst({ where: (s, { eq: e }) => e(s.id, row.searchId) }).sync();
  if (!search) throw new NotFoundError(`search ${row.searchId} of candidate ${id} not found`);
  return { row, search };
}

/**
 * The search's current first front (feasible-first constrained domination), ordered by the first objective.
 *
 * @example
 * paretoFront(db, search).map((c) => c.objectives);
 */
export function paretoFront(db: Db, search: SearchRow): CandidateView[] {
  return db
    .select()
    .from(candidates)
    .where(and(eq(candidates.searchId, search.id), eq(candidates.onFront, 1)))
    .orderBy(asc(candidates.o0), asc(candidates.id))
    .all()
    .map((r) => candidateView(r, search));
}

/** Counts, generation, budget, front size and the best candidate per objective. */
export interface SearchProgress {
  candidates: Record<CandidateStatus, number> & { total: number };
  /** Generation of the latest checkpoint (null before the first one). */
  generation: number | null;
  /** Results told to the algorithm at the latest checkpoint. */
  evaluationsCheckpointed: number;
  /** `options.evaluations` when the search has such a budget. */
  budget: number | null;
  frontSize: number;
  /** Best feasible done candidate per objective (by its direction). */
  best: Record<string, CandidateView | null>;
}

/**
 * Progress of a search, as GET /searches/:id shows it.
 *
 * @example
 * searchProgress(db, search).candidates // { pending: 0, running: 1, done: 37, failed: 2, total: 40 }
 */
export function searchProgress(db: Db, search: SearchRow): SearchProgress {
  const counts = { pending: 0, running: 0, done: 0, failed: 0, total: 0 };
  const grouped = db
    .select({ status: candidates.status, n: sql<number>`count(*)` })
    .from(candidates)
    .where(eq(candidates.searchId, search.id))
    .groupBy(candidates.status)
    .all();
  for (const g of grouped) {
    counts[g.status] = g.n;
    counts.total += g.n;
  }
  const cp = db
    .select({ generation: checkpoints.generation, evaluations: checkpoints.evaluations })
    .from(checkpoints)
    .where(eq(checkpoints.searchId, search.id))
    .get();
  const frontSize =
    db
      .select({ n: sql<number>`count(*)` })
      .from(candidates)
      .where(and(eq(candidates.searchId, search.id), eq(candidates.onFront, 1)))
      .get()?.n ?? 0;
  const best: Record<string, CandidateView | null> = {};
  search.objectives.forEach((o, i) => {
    const col = objectiveColumns[i];
    const row = db
      .select()
      .from(candidates)
      .where(
        and(
          eq(candidates.searchId, search.id),
          isNotNull(col),
          sql`(${candidates.constraintViolation} IS NULL OR ${candidates.constraintViolation} <= 0)`,
        ),
      )
      .orderBy(o.direction === "min" ? asc(col) : desc(col), asc(candidates.id))
      .limit(1)
      .get();
    best[o.name] = row ? candidateView(row, search) : null;
  });
  const budget = typeof search.options.evaluations === "number" ? search.options.evaluations : null;
  return {
    candidates: counts,
    generation: cp?.generation ?? null,
    evaluationsCheckpointed: cp?.evaluations ?? 0,
    budget,
    frontSize,
    best,
  };
}
