#!/usr/bin/python3
# train_vs_pytorch.py: lathe's training step against PyTorch's on the same model, in one run.
#
# lathe's `bench train` reports tokens/s and MFU for a forward+backward step of a preset. A figure
# alone says little; this script puts the peer beside it. For one preset and dtype it alternates,
# over several repetitions, between
#   - `lathe bench train --preset P --dtype D --json` (a subprocess), and
#   - the same architecture written in plain PyTorch 1.13 (this file, re-run as a subprocess with
#     --worker torch): embedding, heterogeneous DeciLM blocks (GQA with per-layer kv heads, linear
#     or no-op attention and FFN, per-layer SwiGLU widths), hand-written RMSNorm, rotate-half RoPE,
#     causal attention as matmul + softmax, tied or untied head, cross-entropy,
# with the same batch x seq, the same thread count and fresh processes for both. Both MFU figures
# are taken against the same peak: the GEMM peak lathe measured in that repetition.
#
# PyTorch from Debian links the system OpenBLAS 0.3.21 for f32 matmuls, which does not recognise
# this CPU and falls back to SSE3 "Prescott" kernels unless OPENBLAS_CORETYPE=SkylakeX is set
# (bf16 matmuls go through oneDNN instead). lathe's CLI fixes that for itself, so PyTorch is run
# both ways and the faster one is reported as the peer.
#
# Before timing, it checks that the PyTorch model is the same function as lathe's: the parameter
# count against `lathe info`, and the logits of `lathe forward` over a lathe-initialised checkpoint
# against the PyTorch model loaded with the same weights (skip with --no-check).
#
# Usage: /usr/bin/python3 bench/train_vs_pytorch.py [--preset bench-m] [--dtype f32|bf16]
#            [--reps 3] [--steps 5] [--threads 2] [--lathe build/lathe]
# bench/README.md explains what is compared and the caveats.

import argparse
import json
import math
import os
import re
import statistics
import struct
import subprocess
import sys
import tempfile

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
IGNORE_INDEX = -100
PEAK_N = 2048
CHECK_T = 24  # tokens in the equivalence check's sequence
CHECK_REL_TOL = 1e-4  # max |logit difference| / max |logit|; f32 summation order gives ~1e-6

# ---------------------------------------------------------------------------------------------
# Presets, written from the table in /work/shared/DESIGN.md (and checked against `lathe info`).

PRESETS = {
    # name: (arch, hidden, heads, vocab, tied, blocks); a block is (attn, kv_heads, ffn, ffn_dim)
    # with attn in gqa|linear|no_op and ffn in swiglu|linear|no_op.
    "tiny": ("llama", 64, 4, 512, True, [("gqa", 2, "swiglu", 128)] * 2),
    "bench-m": ("llama", 512, 8, 16384, True, [("gqa", 4, "swiglu", 1536)] * 8),
    "bench-l": ("llama", 1024, 16, 16384, False, [("gqa", 4, "swiglu", 2816)] * 16),
}


def deci_ffn_dim(ffn_mult, hidden):
    # DeciLM: int() truncates 2/3 * mult * hidden, then rounds up to a multiple of 256.
    n = int(2 * ffn_mult * hidden / 3)
    return n if n % 256 == 0 else n + 256 - n % 256


def _hetero_presets():
    C = 64
    PRESETS["tiny-hetero"] = ("decilm", C, 4, 512, False, [
        ("gqa", 4 // 2, "swiglu", deci_ffn_dim(2.0, C)),
        ("no_op", 0, "swiglu", deci_ffn_dim(4.0, C)),
        ("linear", 0, "linear", 0),
        ("gqa", 4 // 4, "no_op", 0),
        ("gqa", 4 // 1, "swiglu", deci_ffn_dim(8.0, C)),
        ("no_op", 0, "no_op", 0),
    ])
    C, H = 512, 8
    mults = [4.5, 3.0, 4.5, 1.5, 4.5, 2.25, 4.5, 6.0]
    blocks = []
    for i, mult in enumerate(mults):
        attn = "no_op" if i in (2, 5) else "gqa"
        kv = 0 if attn == "no_op" else H // (4 if i == 7 else 2)
        blocks.append((attn, kv, "swiglu", deci_ffn_dim(mult, C)))
    PRESETS["bench-m-hetero"] = ("decilm", C, H, 16384, True, blocks)


_hetero_presets()


def bench_shape(preset):
    # The same shapes `lathe bench train` uses (DESIGN.md, "seq x batch (bench)").
    if preset == "bench-l":
        return 1, 1024
    if preset.startswith("bench-m"):
        return 4, 512
    return 2, 64


def flops_per_token(preset, T):
    # The issue's formula, as lathe computes it: 6 N (N = weights in matmuls, the head once,
    # norms and the embedding lookup excluded) + 12 * sum over GQA layers of (heads * head_dim) * T.
    _, C, H, V, _, blocks = PRESETS[preset]
    n, attn_width = V * C, 0
    for attn, kv, ffn, ffn_dim in blocks:
        D = C // H
        if attn == "gqa":
            n += 2 * C * H * D + 2 * C * kv * D
            attn_width += H * D
        elif attn == "linear":
            n += C * C
        if ffn == "swiglu":
            n += 3 * C * ffn_dim
        elif ffn == "linear":
            n += C * C
    return 6.0 * n + 12.0 * attn_width * T


# ---------------------------------------------------------------------------------------------
# The PyTorch side (imported only in worker processes).

def build_torch_model(preset):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    arch, C, H, V, tied, blocks = PRESETS[preset]
    D = C // H
    eps, theta = 1e-5, 500000.0

    class RMSNorm(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(C))

        def forward(self, x):  # x (B, T, C), computed in f32 as Hugging Face does
            x = x.float()
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * self.weight

    def rotate_half(x):
        x1, x2 = x.chunk(2, dim=-1)
        return torch.cat((-x2, x1), dim=-1)

    class Attention(nn.Module):
        def __init__(self, kv):
            super().__init__()
            self.kv = kv
            self.q_proj = nn.Linear(C, H * D, bias=False)
            self.k_proj = nn.Linear(C, kv * D, bias=False)
            self.v_proj = nn.Linear(C, kv * D, bias=False)
            self.o_proj = nn.Linear(H * D, C, bias=False)

        def forward(self, x, cos, sin, mask):  # x (B, T, C); cos, sin (T, D); mask (T, T)
            B, T, _ = x.shape
            q = self.q_proj(x).view(B, T, H, D).transpose(1, 2)        # (B, H, T, D)
            k = self.k_proj(x).view(B, T, self.kv, D).transpose(1, 2)  # (B, KVH, T, D)
            v = self.v_proj(x).view(B, T, self.kv, D).transpose(1, 2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            group = H // self.kv  # kv head j serves query heads j*group .. j*group+group-1
            k = k[:, :, None].expand(B, self.kv, group, T, D).reshape(B, H, T, D)
            v = v[:, :, None].expand(B, self.kv, group, T, D).reshape(B, H, T, D)
            scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(D) + mask  # (B, H, T, T)
            probs = F.softmax(scores, dim=-1, dtype=torch.float32).to(v.dtype)
            y = torch.matmul(probs, v).transpose(1, 2).reshape(B, T, H * D)
            return self.o_proj(y)

    class MLP(nn.Module):
        def __init__(self, ffn_dim):
            super().__init__()
            self.gate_proj = nn.Linear(C, ffn_dim, bias=False)
            self.up_proj = nn.Linear(C, ffn_dim, bias=False)
            self.down_proj = nn.Linear(ffn_dim, C, bias=False)

        def forward(self, x):
            return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))

    class LinearAttention(nn.Module):  # DeciLM replace_with_linear
        def __init__(self):
            super().__init__()
            self.linear_attn = nn.Linear(C, C, bias=False)

        def forward(self, x, cos, sin, mask):
            return self.linear_attn(x)

    class LinearMLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear_mlp = nn.Linear(C, C, bias=False)

        def forward(self, x):
            return self.linear_mlp(x)

    class Block(nn.Module):
        # A no-op part has neither norm nor weights: the residual passes unchanged.
        def __init__(self, attn, kv, ffn, ffn_dim):
            super().__init__()
            if attn != "no_op":
                self.input_layernorm = RMSNorm()
                self.self_attn = Attention(kv) if attn == "gqa" else LinearAttention()
            if ffn != "no_op":
                self.post_attention_layernorm = RMSNorm()
                self.mlp = MLP(ffn_dim) if ffn == "swiglu" else LinearMLP()

        def forward(self, x, cos, sin, mask):
            if hasattr(self, "self_attn"):
                x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
            if hasattr(self, "mlp"):
                x = x + self.mlp(self.post_attention_layernorm(x))
            return x

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed_tokens = nn.Embedding(V, C)
            self.layers = nn.ModuleList(Block(*b) for b in blocks)
            self.norm = RMSNorm()

    class CausalLM(nn.Module):
        # Module names follow Hugging Face, so state_dict keys are the checkpoint's tensor names.
        def __init__(self):
            super().__init__()
            self.model = Decoder()
            if not tied:
                self.lm_head = nn.Linear(C, V, bias=False)
            inv_freq = 1.0 / theta ** (torch.arange(0, D, 2, dtype=torch.float64) / D)
            self.inv_freq = inv_freq

        def forward(self, ids):  # ids (B, T) -> logits (B, T, V)
            T = ids.shape[1]
            freqs = torch.outer(torch.arange(T, dtype=torch.float64), self.inv_freq)
            angles = torch.cat((freqs, freqs), dim=-1)  # (T, D)
            cos, sin = angles.cos().float(), angles.sin().float()
            mask = torch.full((T, T), float("-inf")).triu(1)
            x = self.model.embed_tokens(ids)
            for layer in self.model.layers:
                x = layer(x, cos, sin, mask)
            x = self.model.norm(x)
            head = self.model.embed_tokens.weight if tied else self.lm_head.weight
            return F.linear(x, head)

    model = CausalLM()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("layernorm.weight") or name == "model.norm.weight":
                p.fill_(1.0)
            else:
                p.normal_(0.0, 0.02)
    return model


def torch_peak_gflops(torch, dtype, n=PEAK_N, min_seconds=1.0):
    # Like lathe's lt_gemm_peak_gflops: one warm-up, 3 trials each repeating n x n x n products
    # until min_seconds have passed; the best trial.
    import time
    g = torch.Generator().manual_seed(1234)
    a = (torch.rand(n, n, generator=g) * 2 - 1).to(dtype)
    b = (torch.rand(n, n, generator=g) * 2 - 1).to(dtype)
    torch.mm(a, b)
    best = 0.0
    for _ in range(3):
        calls, t0 = 0, time.perf_counter()
        while True:
            torch.mm(a, b)
            calls += 1
            elapsed = time.perf_counter() - t0
            if elapsed >= min_seconds:
                break
        best = max(best, 2.0 * n ** 3 * calls / elapsed / 1e9)
    return best


def openblas_corename():
    import ctypes
    try:
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib.openblas_get_corename().decode()
    except (OSError, AttributeError):
        return "unknown"


def torch_worker(args):
    import time
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    model = build_torch_model(args.preset)
    V = PRESETS[args.preset][3]
    B, T = args.batch, args.seq
    g = torch.Generator().manual_seed(2)
    ids = torch.randint(0, V, (B, T), generator=g)
    targets = torch.cat((ids[:, 1:], torch.full((B, 1), IGNORE_INDEX)), dim=1)
    bf16 = args.dtype == "bf16"
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step(with_optimizer):
        model.zero_grad(set_to_none=True)  # outside the timed region
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = model(ids)
        loss = F.cross_entropy(logits.float().view(-1, V), targets.view(-1), ignore_index=IGNORE_INDEX)
        loss.backward()
        if with_optimizer:
            optimizer.step()
        elapsed = time.perf_counter() - t0
        if not math.isfinite(loss.item()):
            raise RuntimeError(f"non-finite loss {loss.item()}")
        return elapsed

    result = {"threads": torch.get_num_threads(), "openblas_core": openblas_corename(),
              "torch": torch.__version__, "batch": B, "seq": T}
    for key, with_optimizer in (("fwd_bwd", False), ("fwd_bwd_adamw", True)):
        step(with_optimizer)  # warm-up (and, with the optimizer, its state)
        times = sorted(step(with_optimizer) for _ in range(args.steps))
        median = times[len(times) // 2]
        result[key] = {"tokens_per_s": B * T / median, "step_s_median": median,
                       "step_s_min": times[0], "step_s_max": times[-1]}
    result["mm_peak_gflops"] = torch_peak_gflops(torch, torch.bfloat16 if bf16 else torch.float32)
    print(json.dumps(result))


def read_safetensors(path):
    # The format: u64 little-endian header size, a JSON header {name: {dtype, shape,
    # data_offsets}}, then the data. Returns {name: float32 numpy array}.
    import numpy as np
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base, out = 8 + n, {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        lo, hi = info["data_offsets"]
        raw = data[base + lo:base + hi]
        if info["dtype"] == "F32":
            arr = np.frombuffer(raw, dtype="<f4").copy()
        elif info["dtype"] == "BF16":
            arr = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise ValueError(f"{path}: tensor '{name}' has dtype {info['dtype']}, expected F32 or BF16")
        out[name] = arr.reshape(info["shape"])
    return out


def check_worker(args):
    # The PyTorch model with the weights of a lathe checkpoint, over the same ids as lathe's
    # logits in args.out (a (T, V) .npy from `lathe forward --dump`); prints the comparison.
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    model = build_torch_model(args.preset)
    tensors = read_safetensors(os.path.join(args.model_dir, "model.safetensors"))
    expected = set(model.state_dict().keys())
    if set(tensors) != expected:
        missing, extra = sorted(expected - set(tensors)), sorted(set(tensors) - expected)
        raise SystemExit(f"check: checkpoint tensors differ from the PyTorch model: missing {missing}, extra {extra}")
    model.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items()}, strict=True)
    ids = torch.tensor([[int(t) for t in args.ids.split(",")]])
    with torch.no_grad():
        ours = model(ids)[0].numpy()  # (T, V)
    theirs = np.load(args.out)
    same_shape = ours.shape == theirs.shape
    print(json.dumps({"shape_ok": same_shape, "max_abs": float(np.abs(ours).max()),
                      "max_diff": float(np.abs(ours - theirs).max()) if same_shape else None,
                      "params": sum(p.numel() for p in model.parameters())}))


# ---------------------------------------------------------------------------------------------
# The driver.

def run(cmd, env, what):
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"train_vs_pytorch: {what} failed (exit {proc.returncode}): {' '.join(cmd)}")
    return proc.stdout


def last_json(text, what):
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise SystemExit(f"train_vs_pytorch: {what} printed no JSON line:\n{text}")


def base_env(threads):
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(threads)
    env.pop("OPENBLAS_NUM_THREADS", None)
    return env


def torch_env(threads, variant):
    env = base_env(threads)
    env.pop("OPENBLAS_CORETYPE", None)
    if variant != "default":
        env["OPENBLAS_CORETYPE"] = variant
    return env


def check_equivalence(args, env):
    # Same weights, same tokens: lathe's logits against the PyTorch model's.
    import random
    V = PRESETS[args.preset][3]
    info = run([args.lathe, "info", "--preset", args.preset], env, "lathe info")
    m = re.search(r"^\s*parameters\s+([\d,]+)\s*$", info, re.M)
    if not m:
        raise SystemExit(f"train_vs_pytorch: no parameter count in `lathe info` output:\n{info}")
    lathe_params = int(m.group(1).replace(",", ""))
    rng = random.Random(3)
    ids = ",".join(str(rng.randrange(V)) for _ in range(CHECK_T))
    with tempfile.TemporaryDirectory(prefix="lathe-bench-check-") as tmp:
        model_dir = os.path.join(tmp, "model")
        # bf16 storage: both sides widen the same bf16 values to f32, and the file is half the size.
        run([args.lathe, "init", "--preset", args.preset, "--out", model_dir, "--seed", "7", "--dtype", "bf16"],
            env, "lathe init")
        lathe_npy = os.path.join(tmp, "lathe-logits.npy")
        run([args.lathe, "forward", model_dir, "--ids", ids, "--dump", lathe_npy], env, "lathe forward")
        out = run([sys.executable, os.path.abspath(__file__), "--worker", "check", "--preset", args.preset,
                   "--threads", str(args.threads), "--model-dir", model_dir, "--ids", ids, "--out", lathe_npy],
                  torch_env(args.threads, "default"), "PyTorch equivalence check")
    res = json.loads(out.strip().splitlines()[-1])
    rel = None if res["max_diff"] is None else res["max_diff"] / max(res["max_abs"], 1e-30)
    result = {"lathe_params": lathe_params, "torch_params": res["params"], "tokens": CHECK_T,
              "max_rel_logit_diff": rel, "tolerance": CHECK_REL_TOL}
    result["ok"] = bool(res["shape_ok"] and lathe_params == res["params"] and rel is not None and rel <= CHECK_REL_TOL)
    return result


def fmt_rel(rel):
    return "n/a (logit shapes differ)" if rel is None else f"{rel:.2e}"


def spread(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def fmt_spread(s, fmt):
    return f"{fmt.format(s['median'])} ({fmt.format(s['min'])}-{fmt.format(s['max'])})"


def driver(args):
    if not os.access(args.lathe, os.X_OK):
        raise SystemExit(f"train_vs_pytorch: {args.lathe} is not an executable lathe binary (build it, or pass --lathe)")
    B, T = bench_shape(args.preset)
    args.batch, args.seq = args.batch or B, args.seq or T
    fpt = flops_per_token(args.preset, args.seq)
    env = base_env(args.threads)
    variants = ["default", "SkylakeX"] if args.torch_coretype in ("auto", "both") else [args.torch_coretype]

    load = {"start": os.getloadavg()[0]}
    if load["start"] > 0.5 and not args.check_only:
        print(f"warning: load average {load['start']:.2f} before starting: other work shares the CPU, and OpenMP "
              f"barrier waits then distort both programs (bench/README.md, caveats)", file=sys.stderr)
    check = None
    if not args.no_check:
        check = check_equivalence(args, env)
        print(f"equivalence check: {check['lathe_params']:,} parameters in lathe, {check['torch_params']:,} in PyTorch; "
              f"logits over {check['tokens']} tokens differ by {fmt_rel(check['max_rel_logit_diff'])} of max |logit| "
              f"(tolerance {check['tolerance']:.0e})", file=sys.stderr)
        if not check["ok"]:
            print(json.dumps({"bench": "train_vs_pytorch", "error": "equivalence check failed", "check": check}))
            raise SystemExit("train_vs_pytorch: the PyTorch model is not the function lathe computes (see check)")
        if args.check_only:
            print(json.dumps({"bench": "train_vs_pytorch", "preset": args.preset, "check": check}))
            return 0

    lathe_cmd = [args.lathe, "bench", "train", "--preset", args.preset, "--dtype", args.dtype,
                 "--steps", str(args.steps), "--threads", str(args.threads),
                 "--batch", str(args.batch), "--seq", str(args.seq), "--json"]
    torch_cmd = [sys.executable, os.path.abspath(__file__), "--worker", "torch", "--preset", args.preset,
                 "--dtype", args.dtype, "--steps", str(args.steps), "--threads", str(args.threads),
                 "--batch", str(args.batch), "--seq", str(args.seq)]
    programs = ["lathe"] + [f"torch:{v}" for v in variants]
    reps = []
    for rep in range(args.reps):
        runs = {}
        for k in range(len(programs)):  # rotate the order so no program always runs first
            name = programs[(rep + k) % len(programs)]
            print(f"  rep {rep + 1}/{args.reps}: {name} ...", file=sys.stderr, flush=True)
            if name == "lathe":
                res = last_json(run(lathe_cmd, env, "lathe bench train"), "lathe bench train")
                if (res["batch"], res["seq"]) != (args.batch, args.seq):
                    raise SystemExit(f"train_vs_pytorch: lathe ran {res['batch']} x {res['seq']}, expected {args.batch} x {args.seq}")
                implied = res["gflops"] * 1e9 / res["tokens_per_s"]
                if abs(implied / fpt - 1) > 0.01:
                    raise SystemExit(f"train_vs_pytorch: lathe counts {implied:.4g} FLOPs/token, this script {fpt:.4g}")
            else:
                variant = name.split(":", 1)[1]
                res = last_json(run(torch_cmd, torch_env(args.threads, variant), f"PyTorch ({name})"), name)
            runs[name] = res
        peak = runs["lathe"]["peak_gflops"]
        for name in programs[1:]:
            for key in ("fwd_bwd", "fwd_bwd_adamw"):
                r = runs[name][key]
                r["mfu"] = fpt * r["tokens_per_s"] / (peak * 1e9)
                r["mfu_own_peak"] = fpt * r["tokens_per_s"] / (runs[name]["mm_peak_gflops"] * 1e9)
        reps.append(runs)
        if rep == 0 and args.torch_coretype == "auto" and len(programs) > 2:
            # The slow variant costs minutes a run and loses by 2-5x in f32: keep only the faster.
            faster = max(programs[1:], key=lambda name: runs[name]["fwd_bwd"]["tokens_per_s"])
            programs = ["lathe", faster]
    load["end"] = os.getloadavg()[0]
    return summarise(args, fpt, variants, reps, check, load)


def summarise(args, fpt, variants, reps, check, load):
    lathe = {key: spread([r["lathe"][key] for r in reps]) for key in ("tokens_per_s", "mfu", "peak_gflops", "step_s_median")}
    torch_summary = {}
    for v in variants:
        name = f"torch:{v}"
        runs = [r[name] for r in reps if name in r]
        s = {"openblas_core": runs[0]["openblas_core"], "torch": runs[0]["torch"], "reps": len(runs),
             "mm_peak_gflops": spread([r["mm_peak_gflops"] for r in runs])}
        for key in ("fwd_bwd", "fwd_bwd_adamw"):
            s[key] = {f: spread([r[key][f] for r in runs]) for f in ("tokens_per_s", "mfu", "mfu_own_peak", "step_s_median")}
        torch_summary[v] = s
    # The peer: the faster variant among those run in every repetition.
    complete = [v for v in variants if torch_summary[v]["reps"] == len(reps)]
    peer = max(complete, key=lambda v: torch_summary[v]["fwd_bwd"]["tokens_per_s"]["median"])
    ratio = {key: spread([r["lathe"]["tokens_per_s"] / r[f"torch:{peer}"][key]["tokens_per_s"] for r in reps])
             for key in ("fwd_bwd", "fwd_bwd_adamw")}
    summary = {"bench": "train_vs_pytorch", "preset": args.preset, "dtype": args.dtype, "threads": args.threads,
               "batch": args.batch, "seq": args.seq, "steps": args.steps, "reps": args.reps,
               "flops_per_token": fpt, "check": check, "lathe": lathe, "torch": torch_summary, "peer": peer,
               "ratio_tokens_per_s": ratio, "loadavg_1min": load,
               "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"), "per_rep": reps}
    print_report(summary)
    print(json.dumps(summary))
    return 0


def coretype_label(variant):
    return "OPENBLAS_CORETYPE unset" if variant == "default" else f"OPENBLAS_CORETYPE={variant}"


def print_report(sm):
    lathe, torch_summary, peer, load, check = sm["lathe"], sm["torch"], sm["peer"], sm["loadavg_1min"], sm["check"]
    print(f"\nlathe vs PyTorch {torch_summary[peer]['torch']}: training step, preset {sm['preset']}, {sm['dtype']}, "
          f"batch {sm['batch']} x seq {sm['seq']}, {sm['threads']} threads, {sm['steps']} timed steps per run, {sm['reps']} reps")
    print(f"model FLOPs/token {sm['flops_per_token']:.4g} (6N + 12 * attention width * T, full T^2 attention)")
    print(f"MFU: against lathe's {sm['dtype']} GEMM peak measured in the same rep; 'own' = against torch.mm's peak")
    if check:
        print(f"equivalence check: {check['torch_params']:,} parameters on both sides; logits over {check['tokens']} tokens "
              f"agree to {fmt_rel(check['max_rel_logit_diff'])} of max |logit| (tolerance {check['tolerance']:.0e})")
    print(f"load average (1 min) {load['start']:.2f} at start, {load['end']:.2f} at end; "
          f"OMP_WAIT_POLICY {sm['omp_wait_policy'] or 'unset'}")
    print("values: median over reps (min-max)\n")
    none = {"median": float("nan"), "min": float("nan"), "max": float("nan")}
    rows = [("lathe fwd+bwd", sm["reps"], lathe["tokens_per_s"], lathe["mfu"], none, lathe["step_s_median"])]
    for v, s in torch_summary.items():
        tag = f"{coretype_label(v)}, core {s['openblas_core']}"
        for key, what in (("fwd_bwd", "fwd+bwd"), ("fwd_bwd_adamw", "fwd+bwd+AdamW")):
            r = s[key]
            rows.append((f"torch {what} [{tag}]", s["reps"], r["tokens_per_s"], r["mfu"], r["mfu_own_peak"], r["step_s_median"]))
    width = max(len(r[0]) for r in rows)
    print(f"{'program':<{width}}  reps  {'tokens/s':>22}  {'MFU %':>18}  {'MFU % own':>18}  {'step s':>24}")
    pct = lambda d: {k: 100 * x for k, x in d.items()}
    for label, n, tps, mfu, own, step in rows:
        own_text = "-" if math.isnan(own["median"]) else fmt_spread(pct(own), "{:.1f}")
        print(f"{label:<{width}}  {n:>4}  {fmt_spread(tps, '{:.0f}'):>22}  {fmt_spread(pct(mfu), '{:.1f}'):>18}  "
              f"{own_text:>18}  {fmt_spread(step, '{:.3f}'):>24}")
    backend = "oneDNN bf16 matmul" if sm["dtype"] == "bf16" else "cblas_sgemm"
    print(f"\nGEMM peak, {PEAK_N}^3 {sm['dtype']}, GFLOP/s: lathe ({backend}) {fmt_spread(lathe['peak_gflops'], '{:.1f}')}")
    for v, s in torch_summary.items():
        print(f"    torch.mm [{coretype_label(v)}] {fmt_spread(s['mm_peak_gflops'], '{:.1f}')}")
    faster = " (the faster of the two)" if len(torch_summary) > 1 else ""
    print(f"\npeer: PyTorch with {coretype_label(peer)}{faster}")
    print(f"lathe / PyTorch tokens/s, fwd+bwd against fwd+bwd:         {fmt_spread(sm['ratio_tokens_per_s']['fwd_bwd'], '{:.2f}')}x")
    print(f"lathe / PyTorch tokens/s, fwd+bwd against fwd+bwd+AdamW:   "
          f"{fmt_spread(sm['ratio_tokens_per_s']['fwd_bwd_adamw'], '{:.2f}')}x (lathe's figure has no optimizer step)")


def main():
    p = argparse.ArgumentParser(description="lathe's training step against PyTorch's on the same model (bench/README.md)")
    p.add_argument("--preset", default="bench-m", choices=sorted(PRESETS))
    p.add_argument("--dtype", default="f32", choices=["f32", "bf16"])
    p.add_argument("--reps", type=int, default=3, help="repetitions, each running every program once (default 3)")
    p.add_argument("--steps", type=int, default=5, help="timed steps per program run, after one warm-up (default 5)")
    p.add_argument("--threads", type=int, default=2, help="OMP_NUM_THREADS and torch.set_num_threads (default 2)")
    p.add_argument("--batch", type=int, default=0, help="override the preset's benchmark batch")
    p.add_argument("--seq", type=int, default=0, help="override the preset's benchmark sequence length")
    p.add_argument("--lathe", default=os.path.join(REPO_ROOT, "build", "lathe"), help="the lathe binary (default build/lathe)")
    p.add_argument("--torch-coretype", default="auto", choices=["auto", "both", "default", "SkylakeX"],
                   help="PyTorch with OPENBLAS_CORETYPE unset (default), =SkylakeX, both in every rep (both), "
                        "or both in the first rep and then only the faster (auto, the default)")
    p.add_argument("--no-check", action="store_true", help="skip the lathe/PyTorch equivalence check")
    p.add_argument("--check-only", action="store_true", help="run the equivalence check and stop (no timing)")
    p.add_argument("--worker", choices=["torch", "check"], help=argparse.SUPPRESS)
    p.add_argument("--model-dir", help=argparse.SUPPRESS)
    p.add_argument("--ids", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.check_only and args.no_check:
        p.error("--check-only and --no-check contradict each other")
    if args.reps < 1 or args.steps < 1 or args.threads < 1 or args.batch < 0 or args.seq < 0:
        p.error("--reps, --steps and --threads must be positive; --batch and --seq non-negative")
    if args.worker == "torch":
        return torch_worker(args)
    if args.worker == "check":
        return check_worker(args)
    return driver(args)


if __name__ == "__main__":
    sys.exit(main())
