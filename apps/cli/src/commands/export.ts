import { exportModel, type ExportFormat, type ExportQuant } from "@nas/export";
import { defaultModelPath, loadModel, type ImportancePermutation, type SubNetworkSpec } from "@nas/model";
import { getCandidate } from "@nas/store";
import { parse, parseJsonFlag, UsageError } from "../args.ts";
import { closeDb, openExistingDb } from "../db-file.ts";

export const help =
  "export [--model DIR] (--candidate ID --db FILE | --subnet JSON) --format hf|gguf|llama2c [--quant q8_0|f16|bf16|f32] --out PATH\n" +
  "         write a sub-network as a standalone model";

const FORMATS = ["hf", "gguf", "llama2c"];
const QUANTS = ["q8_0", "f16", "bf16", "f32"];

/**
 * `nas export`: slice a sub-network (a stored candidate, or --subnet) out of the model and write it. A
 * candidate is only exported from the model its search measured (same content hash).
 */
export async function run(argv: string[]): Promise<void> {
  const { values } = parse(argv, {
    model: { type: "string" },
    candidate: { type: "string" },
    db: { type: "string" },
    subnet: { type: "string" },
    format: { type: "string" },
    quant: { type: "string" },
    out: { type: "string" },
  });
  if (!values.format || !FORMATS.includes(values.format)) throw new UsageError(`--format must be one of ${FORMATS.join(", ")}`);
  if (values.quant !== undefined && !QUANTS.includes(values.quant)) throw new UsageError(`--quant must be one of ${QUANTS.join(", ")}`);
  if (!values.out) throw new UsageError("--out PATH is required");
  if ((values.candidate === undefined) === (values.subnet === undefined)) throw new UsageError("give either --candidate ID (with --db) or --subnet JSON");
  let subnet: SubNetworkSpec;
  let modelPath = values.model;
  let expectHash: string | undefined;
  let permutation: ImportancePermutation | undefined;
  if (values.candidate !== undefined) {
    const id = Number(values.candidate);
    if (!Number.isSafeInteger(id) || id <= 0) throw new UsageError(`--candidate must be a candidate id, got "${values.candidate}"`);
    const db = openExistingDb(values.db);
    try {
      const { row, search } = getCandidate(db, id);
      subnet = row.subnet as SubNetworkSpec;
      modelPath ??= search.modelPath;
      expectHash = search.modelHash;
      // Candidates of a reordered search are prefixes of the reordered model: export with the same order.
      permutation = (search.evaluator.options as { permutation?: ImportancePermutation } | undefined)?.permutation;
    } finally {
      closeDb(db);
    }
  } else {
    subnet = parseJsonFlag("subnet", values.subnet) as SubNetworkSpec;
  }
  modelPath ??= defaultModelPath();
  let model;
  try {
    model = await loadModel(modelPath);
  } catch (e) {
    throw new UsageError(`cannot load model ${modelPath}: ${(e as Error).message}`);
  }
  if (expectHash !== undefined && model.source.hash !== expectHash) {
    throw new UsageError(`model ${modelPath} (sha256 ${model.source.hash.slice(0, 16)}...) is not the model candidate ${values.candidate}'s search measured (sha256 ${expectHash.slice(0, 16)}...)`);
  }
  const r = exportModel({ model, subnet, format: values.format as ExportFormat, outPath: values.out, quant: values.quant as ExportQuant | undefined, permutation });
  process.stdout.write(`${JSON.stringify({ format: r.format, path: r.path, bytes: r.bytes, architecture: r.architecture, notes: r.notes, layers: r.config.numLayers, reordered: permutation !== undefined })}\n`);
}
