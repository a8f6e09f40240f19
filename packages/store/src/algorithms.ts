/** The default AlgorithmFactory: the search package's NSGA-II / random / LINAS over its plain JSON state. */
import { createAlgorithm, restoreAlgorithm, type SearchOptions } from "@nas/search";
import type { AlgorithmFactory } from "./runner.ts";

/**
 * Build the algorithm a stored search names. `options` (population, evaluations, crossover, ...) go to the
 * search package unchanged; name, space, objectives and seed always come from the search itself.
 * `restore` validates a checkpointed state before the runner continues from it.
 *
 * @example
 * const { algorithm, initialState } = await createAlgorithmFromSearchPackage({ name: "nsga2", space, objectives, options: { population: 8 }, seed: 1 });
 */
export const createAlgorithmFromSearchPackage: AlgorithmFactory = ({ name, space, objectives, options, seed }) => {
  const { algorithm, initialState } = createAlgorithm({ ...options, name, space, objectives, seed } as SearchOptions);
  return {
    algorithm,
    initialState,
    restore(stored: unknown) {
      const restored = restoreAlgorithm(stored);
      if (restored.algorithm.name !== algorithm.name) {
        throw new Error(`checkpoint holds a ${restored.algorithm.name} state but the search uses ${algorithm.name}`);
      }
      return restored.state;
    },
  };
};
