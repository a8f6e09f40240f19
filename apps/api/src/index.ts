/**
 * @nas/api: the HTTP API over the candidate store.
 *
 * @example
 * import { serve } from "@nas/api";
 * const server = await serve({ dbPath: "runs/nas.db", port: 8787 });
 * // ... later
 * await server.stop();
 */
export { createApp, errorResponse, type AppOptions } from "./app.ts";
export { serve, type RunningServer, type ServeOptions } from "./serve.ts";
export { SearchSupervisor, type SupervisorOptions } from "./supervisor.ts";
export { bearerAuth, checkToken, isLoopback } from "./auth.ts";
