/**
 * The engine for a benchmark script: under Bun a Node worker (Engine); under Node, as on a GPU host reached through
 * the benchmark kit (scripts/device-kit.sh: Node and dawn.node, no Bun), this process (LocalEngine).
 *
 * @example
 * const engine = await startEngine();
 * const model = await engine.load(defaultModelPath());
 */
import { Engine } from "../src/client.ts";

/** True under Node: the engine then runs in this process. */
export const inProcess = typeof Bun === "undefined";

export async function startEngine() {
  return inProcess ? (await import("../src/local.ts")).LocalEngine.start() : Engine.start();
}
