/** Bearer-token access control: the API reveals file paths and starts compute, so off-loopback it is gated. */
import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";

const digest = (s: string) => createHash("sha256").update(s).digest();

/**
 * Middleware rejecting requests without `Authorization: Bearer <token>` (401). Compares digests in constant
 * time so the response time does not leak how much of a guess was right.
 *
 * @example
 * app.use("*", bearerAuth(process.env.NAS_TOKEN!));
 */
export function bearerAuth(token: string): MiddlewareHandler {
  checkToken(token);
  const expected = digest(token);
  return async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    if (!match || !timingSafeEqual(digest(match[1]), expected)) {
      c.header("WWW-Authenticate", 'Bearer realm="llama-nas"');
      return c.json({ error: match ? "invalid bearer token" : "missing bearer token (Authorization: Bearer <token>)" }, 401);
    }
    await next();
  };
}

/**
 * Throws unless `token` is usable as a bearer token (a string of at least 16 characters, no whitespace).
 *
 * @example
 * checkToken(process.env.NAS_API_TOKEN); // throws for a missing or short token
 */
export function checkToken(token: unknown): asserts token is string {
  if (typeof token !== "string" || token.length < 16 || /\s/.test(token)) {
    throw new Error("the bearer token must be a string of at least 16 characters without whitespace");
  }
}

/**
 * Whether `host` is a loopback address or name (binding there needs no token).
 *
 * @example
 * isLoopback("127.0.0.1") // true; isLoopback("0.0.0.0") // false
 */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === "::ffff:127.0.0.1";
}
