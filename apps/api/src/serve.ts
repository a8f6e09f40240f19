/** Binding the app to a socket (what `bun run nas serve` calls). */
import { closeDb, openDb } from "@nas/db";
import { reconcileInterrupted } from "@nas/store";
import { createApp, type AppOptions } from "./app.ts";
import { checkToken, isLoopback } from "./auth.ts";
import { SearchSupervisor } from "./supervisor.ts";

export interface ServeOptions {
  /** SQLite file (created and migrated if needed). */
  dbPath: string;
  /** Default "127.0.0.1". Anything other than loopback requires `token`. */
  host?: string;
  /** Default 8787; 0 picks a free port. */
  port?: number;
  /** Bearer token (>= 16 characters); required off loopback, enforced whenever given. */
  token?: string;
  evaluatorModules?: AppOptions["evaluatorModules"];
  algorithms?: AppOptions["algorithms"];
  resolveModel?: AppOptions["resolveModel"];
  cachePages?: AppOptions["cachePages"];
}

const serveDefaults = { host: "127.0.0.1", port: 8787 } satisfies Partial<ServeOptions>;

export interface RunningServer {
  url: string;
  host: string;
  port: number;
  /** Pause the searches this server started (they stay resumable), stop listening, close the DB. */
  stop(): Promise<void>;
}

/**
 * Open the store and serve the API.
 *
 * @example
 * const server = await serve({ dbPath: "runs/nas.db" });       // http://127.0.0.1:8787
 * await serve({ dbPath, host: "0.0.0.0", token: process.env.NAS_API_TOKEN }); // throws without a token
 */
export async function serve(options: ServeOptions): Promise<RunningServer> {
  const o = { ...serveDefaults, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as ServeOptions &
    typeof serveDefaults;
  if (!isLoopback(o.host) && (o.token === undefined || o.token === "")) {
    throw new Error(
      `refusing to bind ${o.host} without a bearer token: the API reveals file paths and starts compute (pass a token, or bind 127.0.0.1)`,
    );
  }
  if (o.token !== undefined) checkToken(o.token);
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new Error(`port must be an integer in [0, 65535], got ${o.port}`);
  const db = openDb(o.dbPath);
  reconcileInterrupted(db);
  const supervisor = new SearchSupervisor(db, { dbPath: o.dbPath, evaluatorModules: o.evaluatorModules });
  const app = createApp({ db, token: o.token, supervisor, algorithms: o.algorithms, resolveModel: o.resolveModel, cachePages: o.cachePages });
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({ hostname: o.host, port: o.port, fetch: app.fetch });
  } catch (e) {
    closeDb(db);
    throw new Error(`cannot listen on ${o.host}:${o.port}: ${(e as Error).message}`);
  }
  const port = server.port ?? o.port;
  const urlHost = o.host.includes(":") ? `[${o.host}]` : o.host;
  return {
    url: `http://${urlHost}:${port}`,
    host: o.host,
    port,
    async stop() {
      await supervisor.stopAll();
      await server.stop(true);
      closeDb(db);
    },
  };
}
