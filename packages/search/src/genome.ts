/**
 * Genome <-> sub-network mapping. A genome holds one choice index per gene of the space (./space.ts).
 *
 * Canonical form: when a layer is skipped, its MLP and KV genes carry no meaning, so a valid genome has them
 * at index 0 and the sub-network reports that layer at full width. This makes the mapping a bijection between
 * valid genomes and the space's canonical sub-networks, so the sub-network key is a faithful dedup key.
 */
import { subnetKey, type SubNetwork } from "@nas/model";
import type { Genome } from "./contract.ts";
import { SearchSpaceError, type GeneKind, type SearchSpace } from "./space.ts";

/** Genes per layer: one per searched dimension. */
export function genesPerLayer(space: SearchSpace): number {
  return (space.depth ? 1 : 0) + (space.mlp ? 1 : 0) + (space.kvHeads ? 1 : 0);
}

/** Position of a layer's gene of `kind` in the genome, or -1 when that dimension is not searched. */
export function geneIndex(space: SearchSpace, layer: number, kind: GeneKind): number {
  let offset = 0;
  for (const k of ["keep", "mlp", "kv"] as const) {
    const present = k === "keep" ? space.depth : k === "mlp" ? space.mlp : space.kvHeads;
    if (k === kind) return present ? layer * genesPerLayer(space) + offset : -1;
    if (present) offset++;
  }
  return -1;
}

/** Whether layer `i` is kept by a genome whose genes are in range. */
export function isLayerKept(space: SearchSpace, genome: Genome, layer: number): boolean {
  const g = geneIndex(space, layer, "keep");
  return g < 0 || space.genes[g].values[genome[g]] === 1;
}

/** Number of kept layers of a genome whose genes are in range. */
export function keptLayerCount(space: SearchSpace, genome: Genome): number {
  let kept = 0;
  for (let i = 0; i < space.numLayers; i++) if (isLayerKept(space, genome, i)) kept++;
  return kept;
}

/**
 * Every way `genome` breaks the space's rules (empty for a valid genome): wrong length, an index out of
 * range, fewer kept layers than `minKeptLayers`, or a skipped layer whose MLP/KV genes are not canonical (0).
 *
 * @example
 * checkGenome(space, largestGenome(space)); // []
 */
export function checkGenome(space: SearchSpace, genome: unknown): string[] {
  if (!Array.isArray(genome)) return [`genome must be an array of ${space.genes.length} integers, got ${JSON.stringify(genome)}`];
  if (genome.length !== space.genes.length) return [`genome has ${genome.length} genes, the space has ${space.genes.length}`];
  const problems: string[] = [];
  genome.forEach((v, i) => {
    const gene = space.genes[i];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v >= gene.values.length) {
      problems.push(`gene ${i} (${gene.kind} of layer ${gene.layer}) = ${JSON.stringify(v)} is not an index in [0, ${gene.values.length})`);
    }
  });
  if (problems.length > 0) return problems;
  const kept = keptLayerCount(space, genome);
  if (kept < space.minKeptLayers) problems.push(`genome keeps ${kept} layers, the space needs at least ${space.minKeptLayers}`);
  for (let layer = 0; layer < space.numLayers; layer++) {
    if (isLayerKept(space, genome, layer)) continue;
    for (const kind of ["mlp", "kv"] as const) {
      const g = geneIndex(space, layer, kind);
      if (g >= 0 && genome[g] !== 0) problems.push(`layer ${layer} is skipped but its ${kind} gene is ${genome[g]}, not the canonical 0`);
    }
  }
  return problems;
}

/** True when {@link checkGenome} finds nothing wrong. */
export function isValidGenome(space: SearchSpace, genome: unknown): genome is Genome {
  return checkGenome(space, genome).length === 0;
}

/**
 * The sub-network a valid genome encodes. Skipped layers are reported at full width.
 *
 * @example
 * genomeToSubnet(space, largestGenome(space)); // { layers: [true, ...], mlp: [172, ...], kvHeads: [4, ...] }
 */
export function genomeToSubnet(space: SearchSpace, genome: Genome): SubNetwork {
  const problems = checkGenome(space, genome);
  if (problems.length > 0) throw new SearchSpaceError(`invalid genome: ${problems.join("; ")}`);
  const layers: boolean[] = [];
  const mlp: number[] = [];
  const kvHeads: number[] = [];
  for (let i = 0; i < space.numLayers; i++) {
    const kept = isLayerKept(space, genome, i);
    const m = geneIndex(space, i, "mlp");
    const k = geneIndex(space, i, "kv");
    layers.push(kept);
    mlp.push(kept && m >= 0 ? space.genes[m].values[genome[m]] : space.fullMlp[i]);
    kvHeads.push(kept && k >= 0 ? space.genes[k].values[genome[k]] : space.fullKv[i]);
  }
  return { layers, mlp, kvHeads };
}

/**
 * The genome of a sub-network in this space (inverse of {@link genomeToSubnet}). Widths of skipped layers are
 * ignored (canonicalised). Throws {@link SearchSpaceError} naming the field when the sub-network is not in the space.
 *
 * @example
 * subnetToGenome(space, genomeToSubnet(space, g)); // equals g for every valid g
 */
export function subnetToGenome(space: SearchSpace, subnet: SubNetwork): Genome {
  const n = space.numLayers;
  if (subnet === null || typeof subnet !== "object") throw new SearchSpaceError(`sub-network must be an object {layers, mlp, kvHeads}, got ${JSON.stringify(subnet)}`);
  for (const field of ["layers", "mlp", "kvHeads"] as const) {
    const arr: unknown = subnet[field];
    if (!Array.isArray(arr) || arr.length !== n) {
      throw new SearchSpaceError(`sub-network ${field} must be an array of length ${n} (one per layer), got ${JSON.stringify(arr)}`);
    }
  }
  const genome = new Array<number>(space.genes.length).fill(0);
  for (let i = 0; i < n; i++) {
    const kept = subnet.layers[i];
    if (typeof kept !== "boolean") throw new SearchSpaceError(`sub-network layers[${i}] must be a boolean, got ${JSON.stringify(kept)}`);
    const keepGene = geneIndex(space, i, "keep");
    if (!kept) {
      if (keepGene < 0) throw new SearchSpaceError(`sub-network skips layer ${i}, but depth is not searched in this space`);
      const skip = space.genes[keepGene].values.indexOf(0);
      if (skip < 0) throw new SearchSpaceError(`sub-network skips layer ${i}, which the space pins (pinFirst/pinLast)`);
      genome[keepGene] = skip;
      continue;
    }
    // Kept layer: keep gene stays 0; look up the MLP and KV choices (absent dimensions must be full).
    const m = choiceIndex(space, i, "mlp", subnet.mlp[i], space.fullMlp[i]);
    const k = choiceIndex(space, i, "kv", subnet.kvHeads[i], space.fullKv[i]);
    if (m >= 0) genome[geneIndex(space, i, "mlp")] = m;
    if (k >= 0) genome[geneIndex(space, i, "kv")] = k;
  }
  const problems = checkGenome(space, genome);
  if (problems.length > 0) throw new SearchSpaceError(`sub-network is not in the space: ${problems.join("; ")}`);
  return genome;
}

function choiceIndex(space: SearchSpace, layer: number, kind: "mlp" | "kv", value: unknown, full: number): number {
  const field = kind === "mlp" ? "mlp" : "kvHeads";
  const g = geneIndex(space, layer, kind);
  if (g < 0) {
    if (value !== full) throw new SearchSpaceError(`sub-network ${field}[${layer}] = ${JSON.stringify(value)}, but ${field} is not searched (only the full ${full} is allowed)`);
    return -1;
  }
  const idx = space.genes[g].values.indexOf(value as number);
  if (idx < 0) {
    throw new SearchSpaceError(`sub-network ${field}[${layer}] = ${JSON.stringify(value)} is not one of the space's choices ${JSON.stringify(space.genes[g].values)}`);
  }
  return idx;
}

/** Canonical dedup key of a valid genome: the sub-network key from @nas/model. */
export function genomeKey(space: SearchSpace, genome: Genome): string {
  return subnetKey(genomeToSubnet(space, genome));
}

/**
 * The largest network of the space: every layer kept at its largest choices (the all-zero genome).
 *
 * @example
 * largestGenome(space).every((v) => v === 0); // true
 */
export function largestGenome(space: SearchSpace): Genome {
  return new Array<number>(space.genes.length).fill(0);
}

/**
 * The smallest network of the space: the smallest choice everywhere and exactly `minKeptLayers` layers kept:
 * pinned layers first, then the earliest unpinned ones (deep middle layers are the most redundant in
 * LLaMA-family models, so they are the ones skipped).
 *
 * @example
 * keptLayerCount(space, smallestGenome(space)) === space.minKeptLayers; // true when pins allow it
 */
export function smallestGenome(space: SearchSpace): Genome {
  const genome = space.genes.map((g) => g.values.length - 1);
  if (space.depth) {
    let kept = keptLayerCount(space, genome);
    for (let i = 0; i < space.numLayers && kept < space.minKeptLayers; i++) {
      const g = geneIndex(space, i, "keep");
      if (!isLayerKept(space, genome, i)) {
        genome[g] = 0;
        kept++;
      }
    }
  }
  canonicalizeSkipped(space, genome);
  return genome;
}

/** Set the MLP/KV genes of skipped layers to 0 in place (the canonical form). */
export function canonicalizeSkipped(space: SearchSpace, genome: Genome): void {
  if (!space.depth) return;
  for (let i = 0; i < space.numLayers; i++) {
    if (isLayerKept(space, genome, i)) continue;
    const m = geneIndex(space, i, "mlp");
    const k = geneIndex(space, i, "kv");
    if (m >= 0) genome[m] = 0;
    if (k >= 0) genome[k] = 0;
  }
}
