/** Typed errors of the candidate store; callers (CLI, API) map them to exit codes / HTTP statuses. */

/**
 * Base class: every error the store throws on purpose.
 *
 * @example
 * try { await resumeSearch(db, id, evaluator, { modelHash }); } catch (e) { if (e instanceof SearchMismatchError) console.error(e.field); }
 */
export class StoreError extends Error {
  override name = "StoreError";
}

/** A search spec or query that is malformed; the message names the field. (API: 400) */
export class InvalidInputError extends StoreError {
  override name = "InvalidInputError";
}

/** No search / candidate with that id. (API: 404) */
export class NotFoundError extends StoreError {
  override name = "NotFoundError";
}

/**
 * Resuming with a model or search space other than the one the search was created with. Continuing would
 * mix candidates measured on different networks into one front, so the store refuses. (API: 409)
 */
export class SearchMismatchError extends StoreError {
  override name = "SearchMismatchError";
  constructor(
    readonly searchId: number,
    readonly field: "model.hash" | "space",
    readonly stored: string,
    readonly given: string,
  ) {
    super(
      `search ${searchId} was created with ${field} ${stored} but is being resumed with ${field} ${given}; ` +
        `refusing to mix candidates from a different ${field === "space" ? "search space" : "model"} (create a new search instead)`,
    );
  }
}

/** The search is already running in another live process. (API: 409) */
export class SearchBusyError extends StoreError {
  override name = "SearchBusyError";
}
