/**
 * The engine as the Bun side sees it. `Engine.start()` bundles the Node worker (worker/main.ts, kernels
 * inlined) with Bun's bundler, spawns it under Node, and talks to it over framed pipes.
 *
 * Why not in-process: Bun 1.4 crashes (segfault / hang) in dawn.node once GPU work is still running at the
 * first await — reproduced here even at 64^3 (see README.md, "Why the engine runs in a Node process"). Node hosts dawn.node reliably.
 *
 * @example
 * const engine = await Engine.start();
 * const model = await engine.load("../shared/models/stories260K-hf");
 * const [s] = await model.scoreTokens([[1, 403, 407]], normalizeSubnet(model.config, null));
 * await engine.close();
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { normalizeSubnet, type ImportancePermutation, type LlamaConfig, type ModelSource, type PrefixGroup, type PrefixTokenScorer, type SubNetwork, type SubNetworkSpec, type TokenScores } from "@nas/model";
import type { AdapterInfo } from "./gpu/device.ts";
import type { Latency, LatencyOptions } from "./gpu/latency.ts";
import type { DecodePath, ForwardResult, ForwardWant } from "./gpu/model.ts";
import type { ProfiledDispatch } from "./gpu/recorder.ts";
import type { KernelRun } from "./gpu/run-kernel.ts";
import { FrameReader, encodeFrame, type Response } from "./protocol.ts";

export interface EngineOptions {
  /** Node binary that hosts the worker. Default: $NAS_NODE or "node" on PATH. */
  node?: string;
  /** Forward the worker's stderr (minus Dawn's limit warnings). Default true. */
  stderr?: boolean;
}
const defaults = { node: process.env.NAS_NODE ?? "node", stderr: true } satisfies Required<EngineOptions>;

export class EngineError extends Error {
  override name = "EngineError";
}

/** Anything that answers engine ops: Engine (a Node worker driven from Bun) or LocalEngine (Node, in process). */
export interface EngineCaller {
  call(op: string, args: unknown): Promise<unknown>;
}

/** Options of Engine.load / LocalEngine.load (see Engine.load). */
export interface LoadOptions {
  quant?: "q8_0";
  permutation?: ImportancePermutation;
  keep16?: boolean;
  blocks?: boolean;
  decode?: "gen" | "step" | "blocks";
}

/** Upload a model through `engine` and wrap it (Engine.load and LocalEngine.load). */
export async function loadOn(engine: EngineCaller, path: string, options: LoadOptions): Promise<EngineModel> {
  const r = (await engine.call("load", { path, ...options })) as { id: number; config: LlamaConfig; source: ModelSource; uploadMs: number; weightBytes: number; decodePath: DecodePath };
  return new EngineModel(engine, r.id, r.config, r.source, r.weightBytes, r.decodePath);
}

/** Build the worker bundle once per content hash (concurrent processes never see a half-written file). */
async function buildWorker(): Promise<string> {
  // Paths from import.meta.url (not Bun's import.meta.dir): this module is also bundled for Node (bench kit).
  const here = fileURLToPath(new URL(".", import.meta.url));
  const repoRoot = join(here, "../../..");
  const result = await Bun.build({
    entrypoints: [join(here, "worker/main.ts")],
    target: "node",
    format: "esm",
    external: ["webgpu"],
  });
  if (!result.success) throw new EngineError(`could not bundle the engine worker:\n${result.logs.join("\n")}`);
  const code = await result.outputs[0].text();
  const hash = createHash("sha256").update(code).digest("hex").slice(0, 16);
  const dir = join(repoRoot, "node_modules/.cache/nas-engine");
  const file = join(dir, `worker-${hash}.mjs`);
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, code);
    renameSync(tmp, file);
  }
  return file;
}

export class Engine implements EngineCaller {
  private pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; op: string }>();
  private nextId = 1;
  private stderrTail: string[] = [];
  private exited: string | null = null;
  info!: AdapterInfo;

  private constructor(private proc: Bun.Subprocess<"pipe", "pipe", "pipe">) {}

  /** Process id of the worker (Node) that owns the device. */
  get pid(): number {
    return this.proc.pid;
  }

  /** Spawn the worker and create its device; fails with a clear message if there is no adapter. */
  static async start(options: EngineOptions = {}): Promise<Engine> {
    const o = { ...defaults, ...options };
    const file = await buildWorker();
    let proc: Bun.Subprocess<"pipe", "pipe", "pipe">;
    try {
      proc = Bun.spawn([o.node, file], {
        stdin: "pipe",
        stdout: "pipe",
        stderr: "pipe",
        env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? "/tmp" },
      });
    } catch (e) {
      throw new EngineError(`could not start the engine worker with "${o.node}" (Node.js is required to host Dawn): ${(e as Error).message}`);
    }
    const engine = new Engine(proc);
    engine.pump(o.stderr);
    try {
      engine.info = (await engine.call("init", {})) as AdapterInfo;
    } catch (e) {
      proc.kill(); // no device: the worker is of no use, and nobody else holds it to close it
      throw e;
    }
    return engine;
  }

  private async pump(forwardStderr: boolean): Promise<void> {
    // Worker output as lines: its stderr, and whatever native code (Dawn's shader warnings) wrote to its stdout
    // between frames. Kept for error messages, echoed when forwardStderr.
    const lines = (prefix: string) => {
      const decoder = new TextDecoder();
      let buf = "";
      return (chunk: Uint8Array) => {
        buf += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (/artificially reduced from/.test(line)) continue; // Dawn's harmless limit notices
          this.stderrTail.push(line);
          if (this.stderrTail.length > 40) this.stderrTail.shift();
          if (forwardStderr) process.stderr.write(`${prefix} ${line}\n`);
        }
      };
    };
    const readOut = (async () => {
      const reader = new FrameReader(lines("[engine stdout]"));
      try {
        for await (const chunk of this.proc.stdout) {
          for (const msg of reader.push(chunk)) this.settle(msg as Response);
        }
      } catch (e) {
        // A corrupt frame: no request can be matched to its answer any more, so fail them all and stop the worker.
        this.fail(`engine worker's output could not be read: ${e instanceof Error ? e.message : String(e)}`);
        this.proc.kill();
      }
    })();
    const readErr = (async () => {
      const onLine = lines("[engine]");
      for await (const chunk of this.proc.stderr) onLine(chunk);
    })();
    const code = await this.proc.exited;
    await Promise.allSettled([readOut, readErr]);
    this.fail(`engine worker exited with ${this.proc.signalCode ?? `code ${code}`}`);
  }

  /** Reject every pending request (and all later calls) with `why` and the worker's last output lines. */
  private fail(why: string): void {
    this.exited ??= why;
    for (const [, p] of this.pending) p.reject(new EngineError(`${why} during "${p.op}"${this.stderrTail.length ? `:\n${this.stderrTail.join("\n")}` : ""}`));
    this.pending.clear();
  }

  private settle(msg: Response): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if ("error" in msg) {
      const e = new EngineError(msg.error.message);
      e.name = msg.error.name === "Error" ? "EngineError" : msg.error.name;
      p.reject(e);
    } else p.resolve(msg.result);
  }

  /** Send one request; resolves with the worker's result. */
  call(op: string, args: unknown): Promise<unknown> {
    if (this.exited) return Promise.reject(new EngineError(`${this.exited}; start a new Engine`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, op });
      this.proc.stdin.write(encodeFrame({ id, op, args }));
      this.proc.stdin.flush();
    });
  }

  /**
   * Load a model (HF directory or llama2.c .bin) onto the device. `quant: "q8_0"` stores every linear weight
   * whose rows are whole 32-value blocks as GGUF Q8_0 and dequantises it in the matmul kernel, so accuracy
   * after quantization is measured on the same numbers a Q8_0 export holds. `permutation` (an importance
   * permutation from @nas/model) reorders the weights first (before any quantization), so sub-networks'
   * prefix slices keep the channels / head groups it ranks first; the worker validates it (PermutationError).
   * A BF16/F16 checkpoint's linear weights stay 16-bit on the device (converted exactly in the matmul: half the
   * memory, the same logits); `keep16: false` uploads them as f32 instead. `blocks` chooses whether layers run
   * as row-local block dispatches (default: on CPU adapters; see ModelOptions in gpu/model.ts), `decode` how
   * generation's decode steps run on them (default "gen": all steps in one dispatch where the model allows).
   */
  load(path: string, options: LoadOptions = {}): Promise<EngineModel> {
    return loadOn(this, path, options);
  }

  /** Run one kernel (tests). Returns the bytes of the binding named by `run.read`. */
  async runKernel(run: KernelRun): Promise<Uint8Array> {
    return (await this.call("kernel", run)) as Uint8Array;
  }

  /** Device bytes allocated now and at peak, and the worker process's peak RSS. */
  async memory(): Promise<{ allocated: number; peak: number; workerMaxRssMb: number }> {
    return (await this.call("memory", {})) as { allocated: number; peak: number; workerMaxRssMb: number };
  }

  async resetPeak(): Promise<void> {
    await this.call("resetPeak", {});
  }

  /** Destroy the device and end the worker. */
  async close(): Promise<void> {
    if (this.exited) return;
    try {
      await this.call("shutdown", {});
    } catch {
      // already gone
    }
    this.proc.stdin.end();
    await this.proc.exited;
  }
}

/** A model resident on the engine's device; every sub-network runs on its one copy of the weights. */
export class EngineModel implements PrefixTokenScorer {
  constructor(
    private engine: EngineCaller,
    readonly id: number,
    readonly config: LlamaConfig,
    readonly source: ModelSource,
    readonly weightBytes: number,
    /** How generation runs its decode steps on this device (GpuModel.decodePath). */
    readonly decodePath: DecodePath,
  ) {}

  /** Validate a partial sub-network against this model (throws SubNetworkError naming the field). */
  subnet(spec: SubNetworkSpec): SubNetwork {
    return normalizeSubnet(this.config, spec);
  }

  async forward(sequences: number[][], subnet: SubNetworkSpec, want: ForwardWant): Promise<ForwardResult> {
    return (await this.engine.call("forward", { id: this.id, sequences, subnet: this.subnet(subnet), want })) as ForwardResult;
  }

  /**
   * One forward with per-dispatch GPU times from timestamp queries (empty without the timestamp-query feature).
   * @example
   * const d = await model.profile([[1, 403, 407]], null, { scores: true }); // [{ kernel: "rmsnorm()", groups, ms }, ...]
   */
  async profile(sequences: number[][], subnet: SubNetworkSpec, want: ForwardWant): Promise<ProfiledDispatch[]> {
    return (await this.engine.call("profile", { id: this.id, sequences, subnet: this.subnet(subnet), want })) as ProfiledDispatch[];
  }

  /**
   * Per-token log-probs and argmax of each sequence (TokenScorer). A sequence may hold maxPositions + 1 tokens:
   * its last token is only a target.
   */
  async scoreTokens(sequences: number[][], subnet: SubNetwork): Promise<TokenScores[]> {
    for (const [i, s] of sequences.entries()) if (s.length < 2) throw new EngineError(`sequence ${i} has ${s.length} tokens; scoring needs at least 2`);
    const r = await this.scoreContinuations(sequences.map((s) => ({ prefix: s.slice(0, 1), continuations: [s.slice(1)] })), subnet);
    return r.map((g) => g[0]);
  }

  /**
   * Score continuations of shared prefixes, each prefix computed once per pass (PrefixTokenScorer): ARC's four
   * answers to one question cost the question once.
   * @example
   * const [[a, b]] = await model.scoreContinuations([{ prefix: [1, 403], continuations: [[407], [99, 7]] }], subnet);
   */
  async scoreContinuations(groups: PrefixGroup[], subnet: SubNetwork): Promise<TokenScores[][]> {
    return (await this.engine.call("score", { id: this.id, groups, subnet: this.subnet(subnet) })) as TokenScores[][];
  }

  /** Greedy generation with a KV cache; returns the new tokens and the wall time in ms. */
  async generate(prompt: number[], subnet: SubNetworkSpec, maxNew: number, stopAtEos = true): Promise<{ tokens: number[]; ms: number }> {
    return (await this.engine.call("generate", { id: this.id, prompt, subnet: this.subnet(subnet), maxNew, stopAtEos })) as { tokens: number[]; ms: number };
  }

  /**
   * Measured prefill latency at T tokens, decode ms/token and device bytes of a sub-network on this device.
   * @example
   * const { prefillMs, decodeMsPerToken } = await model.latency({ mlp: [64, 64, 64, 64, 64] }, { T: 128 });
   */
  async latency(subnet: SubNetworkSpec, options: LatencyOptions = {}): Promise<Latency> {
    return (await this.engine.call("latency", { id: this.id, subnet: this.subnet(subnet), options })) as Latency;
  }

  async unload(): Promise<void> {
    await this.engine.call("unload", { id: this.id });
  }
}
