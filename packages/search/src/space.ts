/**
 * The elastic search space of a LLaMA super-network: per-layer keep/skip, per-layer MLP width and per-layer
 * KV-head count, each a small ordered choice set. The space is a plain JSON value (it is stored inside the
 * search state so a resumed search needs nothing else).
 *
 * Genome layout (see ./genome.ts): for each layer i in order, one gene per searched dimension:
 * `[keep_i][mlp_i][kv_i]`. A gene's value is an index into its `values`, and index 0 is always the largest
 * choice (keep the layer / full width / all KV heads), so the all-zero genome is the full network.
 */
import type { LlamaConfig } from "@nas/model";

/** Thrown for options or configs that cannot define a search space; the message names the field. */
export class SearchSpaceError extends Error {
  override name = "SearchSpaceError";
}

/** "paper": depth + MLP width (LLaMA-NAS); "full": also the per-layer KV-head count. */
export type SpacePreset = "paper" | "full";

export interface SearchSpaceOptions {
  /** Which dimensions are searched by default. Default "paper". */
  preset?: SpacePreset;
  /** Search per-layer keep/skip. Default true (both presets). */
  depth?: boolean;
  /** Fewest layers a sub-network keeps. Default ceil(0.75 * numLayers) (LLaMA-NAS searches 24..32 of 32). */
  minKeptLayers?: number;
  /** Never skip layer 0. Default true. */
  pinFirst?: boolean;
  /** Never skip the last layer. Default true. */
  pinLast?: boolean;
  /** Search per-layer MLP width. Default true (both presets). */
  mlp?: boolean;
  /** Fractions of the full width that form the default width set. Default [1, 7/8, 3/4, 5/8, 1/2]. */
  mlpFractions?: number[];
  /** Rounding step for fractional widths. Default: automatic, see {@link mlpWidthChoices}. */
  mlpMultiple?: number;
  /** Explicit widths (one list for every layer, or one list per layer); overrides mlpFractions. */
  mlpWidths?: number[] | number[][];
  /** Search per-layer KV-head count. Default false for "paper", true for "full". */
  kvHeads?: boolean;
  /** Fractions of the KV-head count forming the default set (rounded, at least 1). Default [1, 3/4, 1/2]. */
  kvHeadFractions?: number[];
  /** Explicit KV-head counts (one list for every layer, or one list per layer); overrides kvHeadFractions. */
  kvHeadChoices?: number[] | number[][];
}

/** Defaults for {@link SearchSpaceOptions}; `minKeptLayers` (config-dependent) is filled in by createSearchSpace. */
export const defaultSpaceOptions = {
  preset: "paper",
  depth: true,
  pinFirst: true,
  pinLast: true,
  mlp: true,
  mlpFractions: [1, 7 / 8, 3 / 4, 5 / 8, 1 / 2],
  kvHeadFractions: [1, 3 / 4, 1 / 2],
} satisfies SearchSpaceOptions;

/** What one gene controls. */
export type GeneKind = "keep" | "mlp" | "kv";

/** One gene: `values[index]` is its meaning (keep: 1 = keep, 0 = skip; mlp: width; kv: KV heads). Descending. */
export interface Gene {
  kind: GeneKind;
  layer: number;
  values: number[];
}

/** A fully resolved search space; plain JSON. */
export interface SearchSpace {
  kind: "llama-elastic";
  version: 1;
  numLayers: number;
  /** Full MLP width of each layer in the super-network. */
  fullMlp: number[];
  /** Full KV-head count of each layer in the super-network. */
  fullKv: number[];
  /** Which dimensions have genes. */
  depth: boolean;
  mlp: boolean;
  kvHeads: boolean;
  minKeptLayers: number;
  pinFirst: boolean;
  pinLast: boolean;
  genes: Gene[];
}

const OPTION_KEYS = new Set<string>([
  "preset", "depth", "minKeptLayers", "pinFirst", "pinLast", "mlp", "mlpFractions", "mlpMultiple", "mlpWidths",
  "kvHeads", "kvHeadFractions", "kvHeadChoices",
]);

/**
 * Build the search space of a model.
 *
 * @example
 * const space = createSearchSpace(stories260KConfig, { preset: "full" });
 * space.genes.length; // 5 layers x (keep, mlp, kv) = 15
 * space.genes[1].values; // [172, 144, 128, 112, 80]
 */
export function createSearchSpace(config: LlamaConfig, options: SearchSpaceOptions = {}): SearchSpace {
  checkOptionsShape(options);
  const n = positiveInt(config?.numLayers, "config.numLayers");
  const preset = options.preset ?? defaultSpaceOptions.preset;
  if (preset !== "paper" && preset !== "full") {
    throw new SearchSpaceError(`space option preset must be "paper" or "full", got ${JSON.stringify(preset)}`);
  }
  const opts = {
    ...defaultSpaceOptions,
    kvHeads: preset === "full",
    minKeptLayers: Math.ceil(0.75 * n),
    ...stripUndefined(options),
  } satisfies SearchSpaceOptions;
  for (const flag of ["depth", "pinFirst", "pinLast", "mlp", "kvHeads"] as const) {
    if (typeof opts[flag] !== "boolean") throw new SearchSpaceError(`space option ${flag} must be a boolean, got ${JSON.stringify(opts[flag])}`);
  }
  const minKeptLayers = opts.depth ? checkMinKept(opts.minKeptLayers, n) : n;
  const fullMlp = Array.from({ length: n }, (_, i) =>
    positiveInt(config.perLayer?.intermediateSize[i] ?? config.intermediateSize, `config intermediateSize of layer ${i}`));
  const fullKv = Array.from({ length: n }, (_, i) => {
    const kv = positiveInt(config.perLayer?.numKvHeads[i] ?? config.numKvHeads, `config numKvHeads of layer ${i}`);
    const heads = positiveInt(config.perLayer?.numHeads[i] ?? config.numHeads, `config numHeads of layer ${i}`);
    if (heads % kv !== 0) throw new SearchSpaceError(`config layer ${i}: numHeads ${heads} is not a multiple of numKvHeads ${kv}`);
    return kv;
  });
  const mlpChoices = opts.mlp ? resolveMlpChoices(opts, fullMlp) : null;
  const kvChoices = opts.kvHeads ? resolveKvChoices(opts, fullKv) : null;

  const genes: Gene[] = [];
  for (let i = 0; i < n; i++) {
    if (opts.depth) {
      const pinned = (opts.pinFirst && i === 0) || (opts.pinLast && i === n - 1);
      genes.push({ kind: "keep", layer: i, values: pinned ? [1] : [1, 0] });
    }
    if (mlpChoices) genes.push({ kind: "mlp", layer: i, values: mlpChoices[i] });
    if (kvChoices) genes.push({ kind: "kv", layer: i, values: kvChoices[i] });
  }
  return {
    kind: "llama-elastic",
    version: 1,
    numLayers: n,
    fullMlp,
    fullKv,
    depth: opts.depth,
    mlp: opts.mlp,
    kvHeads: opts.kvHeads,
    minKeptLayers,
    pinFirst: opts.depth && opts.pinFirst,
    pinLast: opts.depth && opts.pinLast,
    genes,
  };
}

/**
 * The default MLP width set of one layer: for each fraction f, `round(f * full / step) * step`, clamped to
 * [step, full]; fraction 1 is the full width itself even when it is not a multiple of `step`. Duplicates
 * are dropped and the result is sorted descending, so tiny layers still get valid distinct widths.
 * `step` defaults to 32 (GPU-friendly, and exact for LLaMA-2-7B: 11008, 9632, 8256, 6880, 5504); for
 * widths under 256 it is the largest power of two <= full / 8 (at least 1), so that the 1/8 steps between
 * fractions stay distinguishable: stories260K's 172 gives 172, 144, 128, 112, 80 (step 16).
 *
 * @example
 * mlpWidthChoices(11008, [1, 7 / 8, 3 / 4, 5 / 8, 1 / 2]); // [11008, 9632, 8256, 6880, 5504]
 */
export function mlpWidthChoices(full: number, fractions: readonly number[], step = defaultMlpStep(full)): number[] {
  positiveInt(full, "full MLP width");
  positiveInt(step, "space option mlpMultiple");
  checkFractions(fractions, "mlpFractions");
  const widths = fractions.map((f) => (f === 1 ? full : Math.min(full, Math.max(step, Math.round((f * full) / step) * step))));
  return descendingUnique(widths);
}

/** Rounding step used by {@link mlpWidthChoices} when none is given. */
export function defaultMlpStep(full: number): number {
  if (full >= 256) return 32;
  let step = 1;
  while (step * 2 <= full / 8) step *= 2;
  return step;
}

/**
 * The default KV-head set of one layer: `round(f * full)` for each fraction, clamped to [1, full], deduplicated,
 * descending. 4 KV heads with [1, 3/4, 1/2] give 4, 3, 2.
 *
 * @example
 * kvHeadChoices(8, [1, 3 / 4, 1 / 2]); // [8, 6, 4]
 */
export function kvHeadChoices(full: number, fractions: readonly number[]): number[] {
  positiveInt(full, "full KV-head count");
  checkFractions(fractions, "kvHeadFractions");
  return descendingUnique(fractions.map((f) => Math.min(full, Math.max(1, Math.round(f * full)))));
}

/** Number of distinct genomes the gene ranges allow (an upper bound on valid genomes; may be Infinity). */
export function genomeSpaceBound(space: SearchSpace): number {
  return space.genes.reduce((acc, g) => acc * g.values.length, 1);
}

function resolveMlpChoices(opts: SearchSpaceOptions, full: number[]): number[][] {
  if (opts.mlpWidths !== undefined) return explicitChoices(opts.mlpWidths, full, "mlpWidths", "MLP width");
  const step = opts.mlpMultiple;
  if (step !== undefined) positiveInt(step, "space option mlpMultiple");
  return full.map((f) => mlpWidthChoices(f, opts.mlpFractions ?? defaultSpaceOptions.mlpFractions, step ?? defaultMlpStep(f)));
}

function resolveKvChoices(opts: SearchSpaceOptions, full: number[]): number[][] {
  if (opts.kvHeadChoices !== undefined) return explicitChoices(opts.kvHeadChoices, full, "kvHeadChoices", "KV-head count");
  return full.map((f) => kvHeadChoices(f, opts.kvHeadFractions ?? defaultSpaceOptions.kvHeadFractions));
}

function explicitChoices(value: unknown, full: number[], name: string, what: string): number[][] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new SearchSpaceError(`space option ${name} must be a non-empty array of integers or of per-layer arrays, got ${JSON.stringify(value)}`);
  }
  const perLayer = Array.isArray(value[0]);
  if (perLayer && value.length !== full.length) {
    throw new SearchSpaceError(`space option ${name} has ${value.length} per-layer lists, the model has ${full.length} layers`);
  }
  return full.map((f, i) => {
    const list: unknown = perLayer ? value[i] : value;
    const where = perLayer ? `${name}[${i}]` : name;
    if (!Array.isArray(list) || list.length === 0) throw new SearchSpaceError(`space option ${where} must be a non-empty array of integers`);
    for (const v of list) {
      if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > f) {
        throw new SearchSpaceError(`space option ${where} contains ${JSON.stringify(v)}: each ${what} must be an integer in [1, ${f}] for layer ${i}`);
      }
    }
    return descendingUnique(list as number[]);
  });
}

function checkOptionsShape(options: unknown): void {
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new SearchSpaceError(`space options must be an object, got ${JSON.stringify(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) {
      throw new SearchSpaceError(`unknown space option "${key}" (expected one of ${[...OPTION_KEYS].join(", ")})`);
    }
  }
}

function checkMinKept(v: unknown, n: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > n) {
    throw new SearchSpaceError(`space option minKeptLayers must be an integer in [1, ${n}], got ${JSON.stringify(v)}`);
  }
  return v;
}

function checkFractions(fractions: unknown, name: string): void {
  if (!Array.isArray(fractions) || fractions.length === 0) {
    throw new SearchSpaceError(`space option ${name} must be a non-empty array of numbers in (0, 1]`);
  }
  for (const f of fractions) {
    if (typeof f !== "number" || !(f > 0 && f <= 1)) {
      throw new SearchSpaceError(`space option ${name} contains ${JSON.stringify(f)}; fractions must be in (0, 1]`);
    }
  }
}

function positiveInt(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
    throw new SearchSpaceError(`${what} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

function descendingUnique(values: number[]): number[] {
  return [...new Set(values)].sort((a, b) => b - a);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Throws {@link SearchSpaceError} unless `value` is a structurally sound search space (as produced by
 * {@link createSearchSpace}); used when a space arrives as JSON (a stored search state).
 *
 * @example
 * checkSearchSpace(JSON.parse(stored).space);
 */
export function checkSearchSpace(value: unknown): SearchSpace {
  const fail = (why: string): never => {
    throw new SearchSpaceError(`invalid search space: ${why}`);
  };
  if (value === null || typeof value !== "object") return fail("not an object");
  const s = value as SearchSpace;
  if (s.kind !== "llama-elastic" || s.version !== 1) fail(`unknown kind/version ${JSON.stringify([s.kind, s.version])}`);
  const n = s.numLayers;
  if (!Number.isInteger(n) || n < 1) fail(`numLayers ${JSON.stringify(n)}`);
  for (const f of ["fullMlp", "fullKv"] as const) {
    if (!Array.isArray(s[f]) || s[f].length !== n || !s[f].every((v) => Number.isInteger(v) && v >= 1)) fail(`${f} must hold ${n} positive integers`);
  }
  for (const f of ["depth", "mlp", "kvHeads", "pinFirst", "pinLast"] as const) if (typeof s[f] !== "boolean") fail(`${f} must be a boolean`);
  if (!Number.isInteger(s.minKeptLayers) || s.minKeptLayers < 1 || s.minKeptLayers > n) fail(`minKeptLayers ${JSON.stringify(s.minKeptLayers)}`);
  const per = (s.depth ? 1 : 0) + (s.mlp ? 1 : 0) + (s.kvHeads ? 1 : 0);
  if (!Array.isArray(s.genes) || s.genes.length !== n * per) fail(`expected ${n * per} genes`);
  s.genes.forEach((g, i) => {
    const layer = Math.floor(i / per);
    const kinds: GeneKind[] = [...(s.depth ? ["keep" as const] : []), ...(s.mlp ? ["mlp" as const] : []), ...(s.kvHeads ? ["kv" as const] : [])];
    if (g?.kind !== kinds[i % per] || g.layer !== layer) fail(`gene ${i} should be ${kinds[i % per]} of layer ${layer}`);
    const ok = Array.isArray(g.values) && g.values.length > 0 && g.values.every((v, j) => Number.isInteger(v) && (j === 0 || v < g.values[j - 1]));
    if (!ok) fail(`gene ${i} values must be distinct descending integers`);
    const max = g.kind === "keep" ? 1 : g.kind === "mlp" ? s.fullMlp[layer] : s.fullKv[layer];
    const min = g.kind === "keep" ? 0 : 1;
    if (g.values[0] > max || g.values[g.values.length - 1] < min) fail(`gene ${i} values out of range [${min}, ${max}]`);
    if (g.kind === "keep" && g.values[0] !== 1) fail(`gene ${i} (keep) must start with 1`);
  });
  return s;
}
