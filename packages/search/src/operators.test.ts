import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { checkGenome, genomeKey, keptLayerCount, largestGenome, smallestGenome } from "./genome.ts";
import { binaryTournament, mutate, nPointCrossover, randomGenome, repair, uniformCrossover } from "./operators.ts";
import { initialGenomes } from "./variation.ts";
import { Rng, seedRng } from "./rng.ts";
import { createSearchSpace } from "./space.ts";
import { arbitrarySpaceAndRaw, stories260KConfig } from "./testing.ts";

const valid = fc.tuple(arbitrarySpaceAndRaw(), fc.nat()).map(([{ space, raw }, seed]) => {
  const rng = new Rng(seedRng(seed));
  return { space, rng, a: randomGenome(space, rng), b: repair(space, raw, rng) };
});

describe("operators keep genomes valid", () => {
  test("repair makes any array valid and leaves valid genomes untouched", () => {
    fc.assert(
      fc.property(arbitrarySpaceAndRaw(), fc.nat(), ({ space, raw }, seed) => {
        const rng = new Rng(seedRng(seed));
        const g = repair(space, raw, rng);
        expect(checkGenome(space, g)).toEqual([]);
        const before = rng.state();
        expect(repair(space, g, rng)).toEqual(g);
        expect(rng.state()).toEqual(before); // no randomness spent on a valid genome
      }),
    );
  });

  test("random genomes, crossovers and mutations are valid", () => {
    fc.assert(
      fc.property(valid, fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 1, max: 5 }), ({ space, rng, a, b }, rate, points) => {
        expect(checkGenome(space, a)).toEqual([]);
        for (const c of uniformCrossover(space, a, b, rng)) expect(checkGenome(space, c)).toEqual([]);
        for (const c of nPointCrossover(space, a, b, points, rng)) expect(checkGenome(space, c)).toEqual([]);
        expect(checkGenome(space, mutate(space, a, rate, rng))).toEqual([]);
      }),
    );
  });

  test("crossover only mixes parental genes (before repair touches depth)", () => {
    const space = createSearchSpace(stories260KConfig, { depth: false, preset: "full" });
    fc.assert(
      fc.property(fc.nat(), (seed) => {
        const rng = new Rng(seedRng(seed));
        const a = randomGenome(space, rng);
        const b = randomGenome(space, rng);
        const [c1, c2] = nPointCrossover(space, a, b, 2, rng);
        for (let i = 0; i < a.length; i++) {
          expect([a[i], b[i]]).toContain(c1[i]);
          expect(c1[i] === a[i] ? c2[i] === b[i] : c2[i] === a[i]).toBe(true);
        }
        // Two-point crossover switches parents at most twice along the genome.
        let switches = 0;
        for (let i = 1; i < a.length; i++) if ((c1[i] === a[i]) !== (c1[i - 1] === a[i - 1]) && a[i] !== b[i] && a[i - 1] !== b[i - 1]) switches++;
        expect(switches).toBeLessThanOrEqual(2);
      }),
    );
  });

  test("mutation rate 0 is the identity; rate 1 changes every multi-choice gene", () => {
    const space = createSearchSpace(stories260KConfig, { depth: false, preset: "full" });
    fc.assert(
      fc.property(fc.nat(), (seed) => {
        const rng = new Rng(seedRng(seed));
        const g = randomGenome(space, rng);
        expect(mutate(space, g, 0, rng)).toEqual(g);
        const m = mutate(space, g, 1, rng);
        space.genes.forEach((gene, i) => expect(m[i] !== g[i]).toBe(gene.values.length > 1));
      }),
    );
  });

  test("random genomes cover every allowed depth", () => {
    const space = createSearchSpace(stories260KConfig, { minKeptLayers: 1, pinFirst: false, pinLast: false });
    const rng = new Rng(seedRng(3));
    const depths = new Set<number>();
    for (let i = 0; i < 300; i++) depths.add(keptLayerCount(space, randomGenome(space, rng)));
    expect([...depths].sort()).toEqual([1, 2, 3, 4, 5]);
  });
});

describe("initial population", () => {
  test("always contains the largest and the smallest network, all distinct and unseen", () => {
    fc.assert(
      fc.property(valid, fc.integer({ min: 2, max: 40 }), ({ space, rng }, count) => {
        const key = (g: number[]) => genomeKey(space, g);
        const genomes = initialGenomes(space, count, rng);
        expect(genomes[0]).toEqual(largestGenome(space));
        const smallest = smallestGenome(space);
        if (key(smallest) !== key(genomes[0])) expect(genomes[1]).toEqual(smallest);
        const keys = genomes.map(key);
        expect(new Set(keys).size).toBe(keys.length);
        expect(genomes.length).toBeLessThanOrEqual(count);
        for (const g of genomes) expect(checkGenome(space, g)).toEqual([]);
        const taken = new Set(keys.slice(0, 3));
        const more = initialGenomes(space, count, rng, (k) => taken.has(k));
        for (const g of more) expect(taken.has(key(g))).toBe(false);
      }),
    );
  });
});

describe("binary tournament", () => {
  test("prefers lower rank, then larger crowding", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ rank: fc.nat({ max: 3 }), crowd: fc.oneof(fc.double({ min: 0, max: 5, noNaN: true }), fc.constant(Infinity)) }), { minLength: 2, maxLength: 20 }),
        fc.nat(),
        (pop, seed) => {
          const rank = pop.map((p) => p.rank);
          const crowd = pop.map((p) => p.crowd);
          const rng = new Rng(seedRng(seed));
          const probe = new Rng(rng.state());
          const i = probe.int(pop.length);
          let j = probe.int(pop.length - 1);
          if (j >= i) j++;
          const w = binaryTournament(rank, crowd, rng);
          const loser = w === i ? j : i;
          expect([i, j]).toContain(w);
          expect(rank[w] < rank[loser] || (rank[w] === rank[loser] && crowd[w] >= crowd[loser])).toBe(true);
        },
      ),
    );
    expect(binaryTournament([0], [0], new Rng(seedRng(1)))).toBe(0);
    expect(() => binaryTournament([], [], new Rng(seedRng(1)))).toThrow(RangeError);
  });
});
