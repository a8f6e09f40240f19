"""PyTorch baseline for `bun run bench:compute`: the same shapes, timed the same way, as one JSON object.

The issue's GPU target is ">= 50% of PyTorch CUDA fp32 on the same shapes". This script is the PyTorch side: it
runs on the GPU host of the device tool (scripts/device-bench.sh), where python3 holds torch and transformers,
or on any machine with torch (``--device cpu``). It is a benchmark, not a test; it prints one JSON object.

Each field mirrors one of packages/compute/bench/compute.ts and gpu/bench.ts, with the same timing rule:
  matmul_gflops_*          y = x W^T, x [128, 4096], W [N, 4096] fp32; back-to-back matmuls per timed batch, the
                           batch sized so that it lasts >= 20 ms; median of the repeats (benchMatmul).
  stories260k_prefill_*    one forward of B sequences of T tokens with per-token log-probs of the next token,
                           synchronised per call; warm-up >= 0.3 s, then >= 15 calls and >= 1.5 s; median.
  stories260k_generate_*   greedy generation of 200 tokens from BOS with the KV cache (HF generate), median of 10.
  llama7b_layer_ms_t128    one LLaMA-2-7B-shaped decoder layer (random weights, vocab 64), all 128 rows, with
                           per-token log-probs; median of 5 calls after 2 warm-ups.
fp32 means fp32: TF32 tensor-core matmuls are switched off (``--tf32`` switches them on, for reference).

With ``--wgsl FILE`` (the engine's JSON from the same host) it adds ``ratio``: the engine's speed as a fraction
of PyTorch's for each shared field (>= 0.5 meets the target).

Example:
    python3 packages/compute/bench/torch_compute.py --model ../shared/models/stories260K-hf --wgsl wgsl.json
"""

import argparse
import json
import math
import statistics
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, help="stories260K in HF format (config.json + model.safetensors)")
    p.add_argument("--device", default=None, help="torch device; default cuda when available, else cpu")
    p.add_argument("--tf32", action="store_true", help="allow TF32 matmuls (not fp32; off by default)")
    p.add_argument("--wgsl", default=None, help="the engine's bench:compute JSON, to add engine/PyTorch ratios")
    return p.parse_args()


def main():
    args = parse_args()
    import torch  # imported here so that --help works without torch

    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.backends.cudnn.allow_tf32 = args.tf32
    torch.set_float32_matmul_precision("high" if args.tf32 else "highest")

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    def timed(fn):
        """Wall ms of fn(), synchronised before and after (the engine reads its result back each call)."""
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        return (time.perf_counter() - t0) * 1e3

    result = {
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "tf32": bool(args.tf32),
    }
    errors = {}

    def field(name, measure):
        # One failing measurement must not lose the others: a device run is too scarce to repeat.
        try:
            result.update(measure())
        except Exception as e:  # noqa: BLE001 (reported in the JSON, by field)
            errors[name] = f"{type(e).__name__}: {e}"

    gen = torch.Generator(device="cpu").manual_seed(0)

    def rand(*shape, scale=2.0):
        return ((torch.rand(*shape, generator=gen) - 0.5) * scale).to(device)

    with torch.inference_mode():

        def matmul(n, k=4096, m=128, repeats=5):
            x, w = rand(m, k), rand(n, k)
            f = lambda: torch.nn.functional.linear(x, w)  # noqa: E731
            timed(f)  # first call: kernel selection, workspace
            batch = min(64, max(1, math.ceil(20 / timed(f))))
            times = [timed(lambda: [f() for _ in range(batch)]) / batch for _ in range(repeats)]
            ms = statistics.median(times)
            return 2 * m * n * k / (ms * 1e6), batch

        def matmuls():
            g1, b1 = matmul(4096, repeats=7)
            g2, _ = matmul(11008)
            return {"matmul_gflops_4096x4096_t128": round(g1, 1), "matmul_gflops_11008x4096_t128": round(g2, 1), "matmul_batch_4096x4096": b1}

        field("matmul", matmuls)

        def stories():
            from transformers import AutoModelForCausalLM

            model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32).to(device).eval()
            out = {}

            def prefill(b, t):
                # The engine's pseudo-text ids (compute.ts prefill), so attention sees full-length sequences.
                ids = torch.tensor([[1 if i == 0 else 3 + ((i * 31 + s * 17) % 500) for i in range(t)] for s in range(b)], device=device)

                def forward():
                    logits = model(input_ids=ids).logits[:, :-1]
                    return torch.log_softmax(logits, dim=-1).gather(-1, ids[:, 1:, None])

                spent, n = 0.0, 0
                while n < 3 or spent < 300:
                    spent, n = spent + timed(forward), n + 1
                times, spent = [], 0.0
                while len(times) < 15 or spent < 1500:
                    times.append(timed(forward))
                    spent += times[-1]
                times.sort()
                tok_s = lambda ms: round(b * t * 1000 / ms)  # noqa: E731
                at = lambda q: times[math.floor(q * (len(times) - 1))]  # noqa: E731
                return tok_s(times[len(times) // 2]), [tok_s(at(0.9)), tok_s(at(0.1))]

            out["stories260k_prefill_tok_s_b1_t256"], out["stories260k_prefill_tok_s_b1_t256_range"] = prefill(1, 256)
            out["stories260k_prefill_tok_s_b16_t256"], out["stories260k_prefill_tok_s_b16_t256_range"] = prefill(16, 256)

            bos = torch.tensor([[model.config.bos_token_id]], device=device)
            gen200 = lambda: model.generate(input_ids=bos, attention_mask=torch.ones_like(bos), max_new_tokens=200, min_new_tokens=200, do_sample=False)  # noqa: E731
            first = gen200()
            times = [timed(gen200) for _ in range(10)]
            out["stories260k_generate_tok_s_200"] = round(200 * 1000 / statistics.median(times))
            # The first greedy tokens, to check against the engine's (and the fixtures') greedy_from_bos.
            out["stories260k_greedy_first_10"] = first[0, 1:11].tolist()
            return out

        field("stories260k", stories)
        field("llama7b_layer", lambda: {"llama7b_layer_ms_t128": round(llama7b_layer(torch, device, rand, timed), 1)})

    if device.type == "cuda":
        result["peak_device_mb"] = round(torch.cuda.max_memory_allocated(device) / 2**20)
    if errors:
        result["errors"] = errors
    if args.wgsl:
        result["ratio"] = ratios(args.wgsl, result)
    print(json.dumps(result))
    return 1 if errors else 0


def llama7b_layer(torch, device, rand, timed, t=128):
    """ms of one LLaMA-2-7B-shaped decoder layer at t tokens (as gpu/bench.ts benchLlama7bLayer), eager fp32."""
    d, ff, heads, hd, v, eps = 4096, 11008, 32, 128, 64, 1e-5
    F = torch.nn.functional
    w = {name: rand(*shape, scale=0.03) for name, shape in [("q", (d, d)), ("k", (d, d)), ("v", (d, d)), ("o", (d, d)), ("gate", (ff, d)), ("up", (ff, d)), ("down", (d, ff)), ("head", (v, d))]}
    embed, norm1, norm2, norm_f = rand(v, d, scale=1.0), rand(d, scale=1.0), rand(d, scale=1.0), rand(d, scale=1.0)
    ids = torch.tensor([(i * 7) % v for i in range(t)], device=device)
    # HF rotate-half RoPE, theta 10000: cos/sin [t, hd].
    inv = 1.0 / (10000 ** (torch.arange(0, hd, 2, device=device, dtype=torch.float32) / hd))
    ang = torch.outer(torch.arange(t, device=device, dtype=torch.float32), inv)
    cos, sin = torch.cat([ang, ang], -1).cos(), torch.cat([ang, ang], -1).sin()

    def rms(x, g):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * g

    def rope(x):  # x [heads, t, hd]
        x1, x2 = x[..., : hd // 2], x[..., hd // 2 :]
        return x * cos + torch.cat([-x2, x1], -1) * sin

    def forward():
        x = embed[ids]  # [t, d]
        h = rms(x, norm1)
        # [t, d] -> [heads, t, hd]
        q, k, vv = (F.linear(h, w[n]).view(t, heads, hd).transpose(0, 1) for n in ("q", "k", "v"))
        a = F.scaled_dot_product_attention(rope(q), rope(k), vv, is_causal=True)  # [heads, t, hd]
        x = x + F.linear(a.transpose(0, 1).reshape(t, d), w["o"])
        h = rms(x, norm2)
        x = x + F.linear(F.silu(F.linear(h, w["gate"])) * F.linear(h, w["up"]), w["down"])
        logp = torch.log_softmax(F.linear(rms(x, norm_f), w["head"]), -1)
        return logp[:-1].gather(-1, ids[1:, None])

    for _ in range(2):
        timed(forward)
    return statistics.median([timed(forward) for _ in range(5)])


def ratios(wgsl_file, torch_result):
    """Engine speed / PyTorch speed per shared field (tok/s and GFLOP/s: engine/torch; ms: torch/engine)."""
    with open(wgsl_file) as f:
        wgsl = json.load(f)
    out = {}
    for key, ours in wgsl.items():
        theirs = torch_result.get(key)
        if not isinstance(ours, (int, float)) or not isinstance(theirs, (int, float)) or isinstance(ours, bool) or not ours or not theirs:
            continue
        if key.startswith(("matmul_gflops", "stories260k_prefill_tok_s", "stories260k_generate_tok_s")):
            out[key] = round(ours / theirs, 3)
        elif key.endswith("_ms_t128"):
            out[key] = round(theirs / ours, 3)
    return out


if __name__ == "__main__":
    sys.exit(main())
