/**
 * `bun packages/compute/bench/matmul.ts`: matmul GFLOP/s (2*M*N*K / time) on the engine's adapter, one JSON object.
 * Timed inside the engine worker (op "benchMatmul": device-resident inputs, median of `repeats` submissions after a
 * warm-up, each submission one recorded linear layer incl. its W row chunks), so no IPC or upload is timed.
 * Shapes: LLaMA-2-7B projections at prefill T=128 and decode, stories260K projections at B=16 x T=256 and decode.
 * Options: --repeats N (default 5), --only <substring of a shape name>.
 * Not a test: numbers move with machine load (lavapipe runs on the same CPU cores as everything else).
 */
import { Engine } from "../src/client.ts";

const shapes: Record<string, { M: number; N: number; K: number }> = {
  llama7b_qkvo_t128: { M: 128, N: 4096, K: 4096 },
  llama7b_gate_up_t128: { M: 128, N: 11008, K: 4096 },
  llama7b_down_t128: { M: 128, N: 4096, K: 11008 },
  llama7b_qkvo_decode: { M: 1, N: 4096, K: 4096 },
  stories260k_q_b16t256: { M: 4096, N: 64, K: 64 },
  stories260k_gate_up_b16t256: { M: 4096, N: 172, K: 64 },
  stories260k_down_b16t256: { M: 4096, N: 64, K: 172 },
  stories260k_head_b16t256: { M: 4096, N: 512, K: 64 },
  stories260k_head_decode: { M: 1, N: 512, K: 64 },
};

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const repeats = Number(arg("repeats") ?? 5);
const only = arg("only");
if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`--repeats must be a positive integer, got "${arg("repeats")}"`);

const engine = await Engine.start();
const out: Record<string, unknown> = { adapter: `${engine.info.vendor} ${engine.info.architecture} ${engine.info.description}`.trim(), repeats };
const round = (x: number) => Math.round(x * 100) / 100;
try {
  for (const [name, s] of Object.entries(shapes)) {
    if (only && !name.includes(only)) continue;
    const r = (await engine.call("benchMatmul", { ...s, repeats })) as { ms: number; gflops: number };
    out[`${name}_gflops`] = round(r.gflops);
    out[`${name}_ms`] = round(r.ms);
  }
} finally {
  await engine.close();
}
console.log(JSON.stringify(out));
