/**
 * @nas/search: elastic search spaces over LLaMA super-networks, GA operators, NSGA-II, random search and
 * LINAS behind an ask/tell contract with a plain-JSON, exactly resumable state. Pure TypeScript; runs under
 * Bun and Node. See ../README.md.
 */
export * from "./contract.ts";
export * from "./rng.ts";
export * from "./space.ts";
export * from "./genome.ts";
export * from "./operators.ts";
export * from "./variation.ts";
export * from "./sort.ts";
export * from "./hypervolume.ts";
export * from "./state.ts";
export * from "./ridge.ts";
export * from "./nsga2.ts";
export * from "./linas.ts";
export * from "./engine.ts";
export * from "./problems.ts";
