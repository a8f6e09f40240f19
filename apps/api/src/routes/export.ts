/**
 * GET /candidates/{id}/export?format=gguf|llama2c[&quant=q8_0|f16|bf16|f32]: the candidate as a standalone
 * model file, exported from the model its search measured (same content hash) with the search's importance
 * permutation, through @nas/export (the same code as `bun run nas export`). `hf` is a directory (config,
 * safetensors, tokenizer files), which one HTTP body cannot carry: it is refused with a pointer to the CLI.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { ExportError, exportModel } from "@nas/export";
import { loadModel, type ImportancePermutation, type SubNetworkSpec } from "@nas/model";
import { getCandidate, InvalidInputError, SearchMismatchError } from "@nas/store";
import type { AppEnv, RouteDeps } from "../app.ts";
import { ErrorSchema, IdParams } from "../schemas.ts";

const ExportQuery = z.object({
  format: z.enum(["gguf", "llama2c", "hf"]),
  quant: z.enum(["q8_0", "f16", "bf16", "f32"]).optional(),
});

const exportRoute = createRoute({
  method: "get",
  path: "/candidates/{id}/export",
  summary: "Export a candidate as a standalone model file (gguf or llama2c)",
  request: { params: IdParams, query: ExportQuery },
  responses: {
    200: { description: "The model file", content: { "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) } } },
    400: { description: "Invalid request or a format that cannot express the sub-network", content: { "application/json": { schema: ErrorSchema } } },
    404: { description: "Unknown id", content: { "application/json": { schema: ErrorSchema } } },
    409: { description: "The model on disk is not the one the search measured", content: { "application/json": { schema: ErrorSchema } } },
  },
});

export function registerExportRoutes(app: OpenAPIHono<AppEnv>, deps: RouteDeps): void {
  app.openapi(exportRoute, async (c) => {
    const id = c.req.valid("param").id;
    const { format, quant } = c.req.valid("query");
    if (format === "hf") throw new InvalidInputError("format hf writes a directory, which one HTTP response cannot carry; use `bun run nas export --format hf`");
    const { row, search } = getCandidate(deps.db, id);
    let model;
    try {
      model = await loadModel(search.modelPath);
    } catch (e) {
      throw new InvalidInputError(`cannot load the search's model ${search.modelPath}: ${(e as Error).message}`);
    }
    if (model.source.hash !== search.modelHash) throw new SearchMismatchError(search.id, "model.hash", search.modelHash, model.source.hash);
    const permutation = (search.evaluator.options as { permutation?: ImportancePermutation } | undefined)?.permutation;
    const dir = mkdtempSync(join(tmpdir(), "nas-export-"));
    try {
      const outPath = join(dir, `candidate-${id}.${format === "gguf" ? "gguf" : "bin"}`);
      try {
        exportModel({ model, subnet: row.subnet as SubNetworkSpec, format, quant, outPath, permutation });
      } catch (e) {
        if (e instanceof ExportError) throw new InvalidInputError(e.message);
        throw e;
      }
      const bytes = readFileSync(outPath);
      return c.body(bytes, 200, {
        "content-type": "application/octet-stream",
        "content-disposition": `attachment; filename="candidate-${id}.${format === "gguf" ? "gguf" : "bin"}"`,
      }) as never;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
