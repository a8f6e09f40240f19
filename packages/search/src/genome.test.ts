import { describe, expect, test } from "bun:test";
import { normalizeSubnet, subnetKey } from "@nas/model";
import fc from "fast-check";
import {
  checkGenome, genomeKey, genomeToSubnet, isValidGenome, keptLayerCount, largestGenome, smallestGenome, subnetToGenome,
} from "./genome.ts";
import { repair } from "./operators.ts";
import { Rng, seedRng } from "./rng.ts";
import { SearchSpaceError, createSearchSpace } from "./space.ts";
import { arbitrarySpaceAndRaw, perLayerConfig, stories260KConfig } from "./testing.ts";

const configFor = (n: number) => (n === 3 ? perLayerConfig : null);

describe("genome <-> sub-network", () => {
  test("round trip on valid genomes; the sub-network is valid for the model", () => {
    fc.assert(
      fc.property(arbitrarySpaceAndRaw(), fc.nat(), ({ space, raw }, seed) => {
        const genome = repair(space, raw, new Rng(seedRng(seed)));
        expect(checkGenome(space, genome)).toEqual([]);
        const subnet = genomeToSubnet(space, genome);
        expect(subnetToGenome(space, subnet)).toEqual(genome);
        expect(genomeToSubnet(space, subnetToGenome(space, subnet))).toEqual(subnet);
        expect(subnet.layers.filter(Boolean).length).toBeGreaterThanOrEqual(space.minKeptLayers);
        const cfg = configFor(space.numLayers);
        if (cfg) expect(normalizeSubnet(cfg, subnet)).toEqual(subnet);
      }),
    );
  });

  test("distinct valid genomes have distinct keys (the key is a faithful dedup key)", () => {
    fc.assert(
      fc.property(arbitrarySpaceAndRaw(), arbitrarySpaceAndRaw(), fc.nat(), ({ space, raw }, other, seed) => {
        const rng = new Rng(seedRng(seed));
        const a = repair(space, raw, rng);
        const b = repair(space, other.raw.slice(0, space.genes.length).concat(raw).slice(0, space.genes.length), rng);
        const same = JSON.stringify(a) === JSON.stringify(b);
        expect(genomeKey(space, a) === genomeKey(space, b)).toBe(same);
        expect(genomeKey(space, a)).toBe(subnetKey(genomeToSubnet(space, a)));
      }),
    );
  });

  test("largest and smallest networks", () => {
    const space = createSearchSpace(stories260KConfig, { preset: "full" });
    expect(genomeToSubnet(space, largestGenome(space))).toEqual({
      layers: [true, true, true, true, true], mlp: [172, 172, 172, 172, 172], kvHeads: [4, 4, 4, 4, 4],
    });
    const small = smallestGenome(space);
    expect(keptLayerCount(space, small)).toBe(4);
    expect(genomeToSubnet(space, small)).toEqual({
      layers: [true, true, true, false, true], mlp: [80, 80, 80, 172, 80], kvHeads: [2, 2, 2, 4, 2],
    });
  });

  test("constraint checks name the problem", () => {
    const space = createSearchSpace(stories260KConfig, { preset: "full", minKeptLayers: 4 });
    expect(checkGenome(space, [0])).toEqual(["genome has 1 genes, the space has 15"]);
    expect(checkGenome(space, "x")[0]).toMatch(/must be an array/);
    const g = largestGenome(space);
    g[1] = 9;
    expect(checkGenome(space, g)[0]).toMatch(/gene 1 \(mlp of layer 0\) = 9 is not an index in \[0, 5\)/);
    const tooFew = largestGenome(space);
    tooFew[3] = 1; // skip layer 1
    tooFew[6] = 1; // skip layer 2
    expect(checkGenome(space, tooFew)).toEqual(["genome keeps 3 layers, the space needs at least 4"]);
    const notCanonical = largestGenome(space);
    notCanonical[3] = 1;
    notCanonical[4] = 2;
    expect(checkGenome(space, notCanonical)).toEqual(["layer 1 is skipped but its mlp gene is 2, not the canonical 0"]);
    expect(isValidGenome(space, notCanonical)).toBe(false);
    expect(() => genomeToSubnet(space, notCanonical)).toThrow(SearchSpaceError);
  });

  test("sub-networks outside the space are rejected with the field named", () => {
    const space = createSearchSpace(stories260KConfig); // paper: no KV genes, pins on layer 0 and 4
    const full = genomeToSubnet(space, largestGenome(space));
    const cases: [unknown, RegExp][] = [
      [{ ...full, mlp: [172, 100, 172, 172, 172] }, /mlp\[1\] = 100 is not one of the space's choices/],
      [{ ...full, kvHeads: [4, 2, 4, 4, 4] }, /kvHeads\[1\] = 2, but kvHeads is not searched/],
      [{ ...full, layers: [false, true, true, true, true] }, /skips layer 0, which the space pins/],
      [{ ...full, layers: [true, false, false, true, true] }, /keeps 3 layers, the space needs at least 4/],
      [{ ...full, mlp: [172] }, /mlp must be an array of length 5/],
      [{ ...full, layers: [1, 1, 1, 1, 1] }, /layers\[0\] must be a boolean/],
    ];
    for (const [s, message] of cases) expect(() => subnetToGenome(space, s as never)).toThrow(message);
    const noDepth = createSearchSpace(stories260KConfig, { depth: false });
    expect(() => subnetToGenome(noDepth, { ...full, layers: [true, false, true, true, true] })).toThrow(/depth is not searched/);
  });

  test("skipped layers' widths are ignored and reported at full width", () => {
    const space = createSearchSpace(stories260KConfig);
    const g = subnetToGenome(space, { layers: [true, false, true, true, true], mlp: [80, 12345, 80, 80, 80], kvHeads: [4, 4, 4, 4, 4] });
    expect(genomeToSubnet(space, g).mlp).toEqual([80, 172, 80, 80, 80]);
  });
});
