export { Engine, EngineError, EngineModel, type EngineCaller, type EngineOptions, type LoadOptions } from "./client.ts";
export type { AdapterInfo } from "./gpu/device.ts";
export type { DecodePath, ForwardResult, ForwardWant } from "./gpu/model.ts";
export type { KernelRun } from "./gpu/run-kernel.ts";
export type { Latency, LatencyOptions } from "./gpu/latency.ts";
