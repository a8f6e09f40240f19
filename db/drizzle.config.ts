/** drizzle-kit config: `./node_modules/.bin/drizzle-kit generate --config db/drizzle.config.ts` (from the repo root) writes SQL migrations to db/migrations. */
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./db/src/schema.ts",
  out: "./db/migrations",
});
