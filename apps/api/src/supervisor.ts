/**
 * The search processes a server owns: one `bun packages/store/src/worker.ts` child per running search.
 * Pausing sends SIGTERM, which the worker turns into an abort: the current evaluation stops, state stays at
 * the last checkpoint, and the search is marked "paused" before the child exits.
 */
import type { Subprocess } from "bun";
import { and, eq, isNull } from "drizzle-orm";
import { searches, type Db } from "@nas/db";
import { evaluatorModuleFor, processOwner, SearchBusyError, workerScript } from "@nas/store";

export interface SupervisorOptions {
  /** SQLite file the workers open (the server's own database). */
  dbPath: string;
  /** Evaluator kind → module path, e.g. `{ model: ".../model-evaluator.ts" }` (the CLI registers "model"). */
  evaluatorModules?: Record<string, string>;
  /** Executable that runs the worker script. Default: this process's runtime (bun). */
  runtime?: string;
  /** How long `pause` waits for a child to exit. Default 30000 ms. */
  pauseTimeoutMs?: number;
}

const supervisorDefaults = { evaluatorModules: {}, runtime: process.execPath, pauseTimeoutMs: 30_000 } satisfies Partial<SupervisorOptions>;

interface Child {
  proc: Subprocess<"ignore", "ignore", "pipe">;
  stderr: string;
}

/**
 * @example
 * const sup = new SearchSupervisor(db, { dbPath: "runs/nas.db" });
 * sup.start(searchId);            // spawns the worker, status becomes "running"
 * await sup.pause(searchId);      // SIGTERM, waits for a clean exit ("paused")
 */
export class SearchSupervisor {
  readonly options: Required<SupervisorOptions>;
  private readonly children = new Map<number, Child>();

  constructor(
    private readonly db: Db,
    options: SupervisorOptions,
  ) {
    this.options = { ...supervisorDefaults, ...options };
  }

  /** Whether this server's child for `id` is alive. */
  owns(id: number): boolean {
    const c = this.children.get(id);
    return c !== undefined && c.proc.exitCode === null && c.proc.signalCode === null;
  }

  /** Last stderr output of the child for `id` (for diagnostics), if any. */
  stderrOf(id: number): string | undefined {
    return this.children.get(id)?.stderr;
  }

  /** The module path a search's evaluator kind resolves to (throws InvalidInputError for unknown kinds). */
  evaluatorModule(kind: string): string {
    return evaluatorModuleFor(kind, this.options.evaluatorModules);
  }

  /**
   * Spawn a worker for search `id` and record it as the owner, so the status reads "running" at once.
   * Callers check the search may start (not running elsewhere, not done).
   */
  start(id: number, evaluatorKind: string): number {
    if (this.owns(id)) throw new SearchBusyError(`search ${id} is already running in process ${this.children.get(id)!.proc.pid}`);
    const module = this.evaluatorModule(evaluatorKind);
    // Mark it running before the child exists and name the owner right after spawning, all in this
    // synchronous block: no request of this server can interleave, and the child's own first write
    // (claimSearch) accepts an owner-less "running" row.
    const previous = this.db.select({ status: searches.status }).from(searches).where(eq(searches.id, id)).get();
    this.db.update(searches).set({ status: "running", owner: null, error: null, updatedAt: Date.now() }).where(eq(searches.id, id)).run();
    let proc: Child["proc"];
    try {
      proc = Bun.spawn(
        [this.options.runtime, workerScript, "--db", this.options.dbPath, "--search", String(id), "--evaluator-module", module],
        { stdin: "ignore", stdout: "ignore", stderr: "pipe" },
      );
    } catch (e) {
      this.db.update(searches).set({ status: previous?.status ?? "pending", updatedAt: Date.now() }).where(eq(searches.id, id)).run();
      throw new Error(`cannot start a worker for search ${id}: ${(e as Error).message}`);
    }
    this.db
      .update(searches)
      .set({ owner: processOwner(proc.pid) })
      .where(and(eq(searches.id, id), eq(searches.status, "running"), isNull(searches.owner)))
      .run();
    const child: Child = { proc, stderr: "" };
    this.children.set(id, child);
    void collectTail(proc.stderr, (text) => (child.stderr = text));
    return proc.pid;
  }

  /** SIGTERM the child for `id` and wait (up to pauseTimeoutMs) for it to exit. Resolves whether it exited. */
  async pause(id: number): Promise<boolean> {
    const c = this.children.get(id);
    if (!c || !this.owns(id)) return true;
    c.proc.kill("SIGTERM");
    const timeout = new Promise<false>((r) => setTimeout(() => r(false), this.options.pauseTimeoutMs).unref?.());
    return Promise.race([c.proc.exited.then(() => true), timeout]);
  }

  /** Pause every child (server shutdown): searches end "paused", resumable later. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.children.keys()].map((id) => this.pause(id)));
  }
}

async function collectTail(stream: ReadableStream<Uint8Array>, set: (text: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of stream) {
    text = (text + decoder.decode(chunk, { stream: true })).slice(-4096);
    set(text);
  }
}
