#!/usr/bin/python3
# hf_reference.py: an independent float64 reference of the Hugging Face model semantics lathe
# implements in C (LlamaForCausalLM, and NVIDIA's DeciLMForCausalLM / model_type "nemotron-nas"
# with per-layer block_configs), and the generator of the golden fixtures the C tests compare
# against. It exists so that lathe's model is checked against a second implementation written
# from the published semantics, not against its own output.
#
# Written by hand for PyTorch 1.13 (no RMSNorm, no SDPA there) and numpy; `transformers` is not
# used. Everything is computed in float64. Weights are rounded to bf16 before use, so the f32
# values the C side loads from model.safetensors are exactly the values computed with here.
#
# Run from anywhere:  /usr/bin/python3 tests/reference/hf_reference.py
# It rewrites tests/fixtures/golden/ (byte-identical on rerun) and runs its self-checks first.
# tests/reference/README.md documents every file it writes.

import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT_DIR = os.path.join(REPO_ROOT, "tests", "fixtures", "golden")
GENERATOR = "tests/reference/hf_reference.py"
IGNORE_INDEX = -100

torch.set_num_threads(1)  # one summation order, so reruns give the same bytes
torch.set_default_dtype(torch.float64)


# ---------------------------------------------------------------------------------------------
# Configs, in the exact form Hugging Face writes them to config.json.

def llama_config(hidden, layers, heads, kv_heads, intermediate, vocab, tied):
    return {
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "head_dim": hidden // heads,
        "hidden_act": "silu",
        "hidden_size": hidden,
        "initializer_range": 0.02,
        "intermediate_size": intermediate,
        "max_position_embeddings": 2048,
        "mlp_bias": False,
        "model_type": "llama",
        "num_attention_heads": heads,
        "num_hidden_layers": layers,
        "num_key_value_heads": kv_heads,
        "pretraining_tp": 1,
        "rms_norm_eps": 1e-05,
        "rope_scaling": None,
        "rope_theta": 500000.0,
        "tie_word_embeddings": tied,
        "torch_dtype": "bfloat16",
        "transformers_version": "4.48.3",
        "use_cache": True,
        "vocab_size": vocab,
    }


def deci_attention(kind, n_heads_in_group=None):
    # kind: "gqa", "linear" or "no_op"; the key set and order follow NVIDIA's published configs.
    return {
        "n_heads_in_group": n_heads_in_group if kind == "gqa" else None,
        "no_op": kind == "no_op",
        "num_sink_tokens": None,
        "replace_with_linear": kind == "linear",
        "sparsify": None,
        "unshifted_sink": False,
        "use_prefill_window_in_sink_attention": False,
        "window_length": None,
    }


def deci_ffn(kind, ffn_mult=None):
    # kind: "swiglu", "linear" or "no_op". ffn_mult is null unless the FFN is a SwiGLU, which is
    # what llama.cpp's DeciModel converter keys on ("ffn_mult is None" means no FFN there).
    return {
        "ffn_mult": ffn_mult if kind == "swiglu" else None,
        "no_op": kind == "no_op",
        "replace_with_linear": kind == "linear",
        "sparsify": None,
    }


def deci_config(hidden, heads, vocab, tied, blocks):
    return {
        "architectures": ["DeciLMForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "auto_map": {
            "AutoConfig": "configuration_decilm.DeciLMConfig",
            "AutoModelForCausalLM": "modeling_decilm.DeciLMForCausalLM",
        },
        "block_configs": [{"attention": a, "ffn": f} for a, f in blocks],
        "bos_token_id": 1,
        "eos_token_id": 2,
        "hidden_act": "silu",
        "hidden_size": hidden,
        "initializer_range": 0.02,
        "intermediate_size": None,
        "max_position_embeddings": 2048,
        "mlp_bias": False,
        "model_type": "nemotron-nas",
        "num_attention_heads": heads,
        "num_hidden_layers": len(blocks),
        "num_key_value_heads": None,
        "pretraining_tp": 1,
        "rms_norm_eps": 1e-05,
        "rope_scaling": None,
        "rope_theta": 500000.0,
        "tie_word_embeddings": tied,
        "torch_dtype": "bfloat16",
        "transformers_version": "4.48.3",
        "use_cache": True,
        "vocab_size": vocab,
    }


def find_multiple(n, k):
    return n if n % k == 0 else n + k - (n % k)


def ffn_mult_to_intermediate_size(ffn_mult, hidden):
    # DeciLM: int() truncates before rounding up to a multiple of 256.
    return find_multiple(int(2 * ffn_mult * hidden / 3), 256)


def layer_specs(cfg):
    """Per layer: {attn: gqa|linear|no_op, n_kv_heads, ffn: swiglu|linear|no_op, ffn_dim}."""
    heads = cfg["num_attention_heads"]
    specs = []
    if cfg["model_type"] == "llama":
        for _ in range(cfg["num_hidden_layers"]):
            specs.append({"attn": "gqa", "n_kv_heads": cfg["num_key_value_heads"],
                          "ffn": "swiglu", "ffn_dim": cfg["intermediate_size"]})
        return specs
    assert cfg["model_type"] == "nemotron-nas"
    for block in cfg["block_configs"]:
        a, f = block["attention"], block["ffn"]
        spec = {"attn": "no_op" if a["no_op"] else "linear" if a["replace_with_linear"] else "gqa",
                "n_kv_heads": 0, "ffn": "no_op" if f["no_op"] else
                "linear" if f["replace_with_linear"] else "swiglu", "ffn_dim": 0}
        if spec["attn"] == "gqa":
            assert heads % a["n_heads_in_group"] == 0
            spec["n_kv_heads"] = heads // a["n_heads_in_group"]
        if spec["ffn"] == "swiglu":
            spec["ffn_dim"] = ffn_mult_to_intermediate_size(f["ffn_mult"], cfg["hidden_size"])
        specs.append(spec)
    return specs


def parameter_shapes(cfg):
    """Ordered [(HF tensor name, shape)] of every parameter; tied lm_head is not a parameter."""
    C, V = cfg["hidden_size"], cfg["vocab_size"]
    H = cfg["num_attention_heads"]
    D = C // H
    out = [("model.embed_tokens.weight", (V, C))]
    for i, s in enumerate(layer_specs(cfg)):
        p = f"model.layers.{i}."
        if s["attn"] != "no_op":
            out.append((p + "input_layernorm.weight", (C,)))
        if s["attn"] == "gqa":
            out += [(p + "self_attn.q_proj.weight", (H * D, C)),
                    (p + "self_attn.k_proj.weight", (s["n_kv_heads"] * D, C)),
                    (p + "self_attn.v_proj.weight", (s["n_kv_heads"] * D, C)),
                    (p + "self_attn.o_proj.weight", (C, H * D))]
        elif s["attn"] == "linear":
            out.append((p + "self_attn.linear_attn.weight", (C, C)))
        if s["ffn"] != "no_op":
            out.append((p + "post_attention_layernorm.weight", (C,)))
        if s["ffn"] == "swiglu":
            out += [(p + "mlp.gate_proj.weight", (s["ffn_dim"], C)),
                    (p + "mlp.up_proj.weight", (s["ffn_dim"], C)),
                    (p + "mlp.down_proj.weight", (C, s["ffn_dim"]))]
        elif s["ffn"] == "linear":
            out.append((p + "mlp.linear_mlp.weight", (C, C)))
    out.append(("model.norm.weight", (C,)))
    if not cfg["tie_word_embeddings"]:
        out.append(("lm_head.weight", (V, C)))
    return out


def count_parameters(cfg):
    shapes = parameter_shapes(cfg)
    per_layer = [0] * cfg["num_hidden_layers"]
    counts = {"embed_tokens": 0, "layers": per_layer, "norm": 0, "lm_head": 0, "total": 0}
    for name, shape in shapes:
        n = int(np.prod(shape))
        counts["total"] += n
        if name.startswith("model.layers."):
            per_layer[int(name.split(".")[2])] += n
        elif name == "model.embed_tokens.weight":
            counts["embed_tokens"] = n
        elif name == "model.norm.weight":
            counts["norm"] = n
        else:
            counts["lm_head"] = n
    return counts


# ---------------------------------------------------------------------------------------------
# bf16 rounding and a minimal safetensors writer.

def bf16_bits(a):
    """float64 array -> uint16 bf16 bits, via f32, round-to-nearest-even on the dropped 16 bits."""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    assert np.all((u & 0x7F800000) != 0x7F800000), "no inf/nan expected"
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def bf16_to_f64(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64)


def write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def safetensors_bytes(tensors):
    """tensors: [(name, dtype 'BF16'|'F32', shape, raw little-endian bytes)], stored in name order."""
    tensors = sorted(tensors, key=lambda t: t[0])
    header = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)  # pad so the data starts 8-byte aligned
    return struct.pack("<Q", len(h)) + h + b"".join(t[3] for t in tensors)


def json_text(obj, indent=0):
    """Deterministic JSON: dicts one key a line, lists of numbers on one line."""
    pad = "  " * indent
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f'{pad}  {json.dumps(k)}: {json_text(v, indent + 1)}' for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list) and any(isinstance(v, (dict, list)) for v in obj):
        items = [pad + "  " + json_text(v, indent + 1) for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(obj)


def write_json(path, obj):
    write_atomic(path, (json_text(obj) + "\n").encode("utf-8"))


# ---------------------------------------------------------------------------------------------
# Weights: seeded normals, rounded to bf16; the model then computes with the rounded values.

def init_weights(cfg, seed, std):
    rng = np.random.default_rng(seed)
    params = {}
    for name, shape in parameter_shapes(cfg):
        if name.endswith("norm.weight"):
            w = 1.0 + 0.1 * rng.standard_normal(shape)
        else:
            w = std * rng.standard_normal(shape)
        params[name] = bf16_bits(w).reshape(shape)
    return params  # name -> uint16 bf16 bits


# ---------------------------------------------------------------------------------------------
# RoPE, as HF computes it (modeling_rope_utils: default and llama3), here in float64.

def rope_inv_freq(head_dim, theta, scaling=None, dtype=torch.float64):
    # HF: 1 / base ** (arange(0, dim, 2, int64).float() / dim); dtype float32 reproduces HF.
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).to(dtype) / head_dim))
    if scaling is None:
        return inv_freq
    assert scaling["rope_type"] == "llama3"
    factor = scaling["factor"]
    low_freq_factor = scaling["low_freq_factor"]
    high_freq_factor = scaling["high_freq_factor"]
    old_context_len = scaling["original_max_position_embeddings"]
    low_freq_wavelen = old_context_len / low_freq_factor
    high_freq_wavelen = old_context_len / high_freq_factor
    wavelen = 2 * math.pi / inv_freq
    # long wavelengths divided by factor, short ones kept, the band between interpolated smoothly
    inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    smooth = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
    smoothed = (1 - smooth) * inv_freq_llama / factor + smooth * inv_freq_llama
    is_medium = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
    return torch.where(is_medium, smoothed, inv_freq_llama)


def rope_cos_sin(inv_freq, positions):
    """positions (B, T) -> cos, sin (B, T, head_dim); HF layout cat(freqs, freqs)."""
    freqs = positions.to(inv_freq.dtype)[..., None] * inv_freq  # (B, T, head_dim/2)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def apply_rope(x, cos, sin, variant):
    # x (B, heads, T, D); cos/sin (B, 1, T, D)
    if variant == "rope_interleaved":  # a deliberate bug: GGUF-style adjacent pairs on HF weights
        x2 = x.reshape(*x.shape[:-1], -1, 2)
        c = cos[..., : x.shape[-1] // 2]
        s = sin[..., : x.shape[-1] // 2]
        out = torch.stack((x2[..., 0] * c - x2[..., 1] * s, x2[..., 0] * s + x2[..., 1] * c), -1)
        return out.reshape(x.shape)
    return x * cos + rotate_half(x) * sin


# ---------------------------------------------------------------------------------------------
# The model. variant names a deliberate bug, used only to show the fixture detects it.

def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def attention(x, p, prefix, cfg, n_kv_heads, cos, sin, allowed, variant):
    B, T, C = x.shape
    H = cfg["num_attention_heads"]
    D = C // H
    q = (x @ p[prefix + "q_proj.weight"].T).view(B, T, H, D).transpose(1, 2)  # (B, H, T, D)
    k = (x @ p[prefix + "k_proj.weight"].T).view(B, T, n_kv_heads, D).transpose(1, 2)
    v = (x @ p[prefix + "v_proj.weight"].T).view(B, T, n_kv_heads, D).transpose(1, 2)
    if variant != "no_rope":
        q = apply_rope(q, cos[:, None], sin[:, None], variant)
        k = apply_rope(k, cos[:, None], sin[:, None], variant)
    group = H // n_kv_heads
    if variant == "kv_modulo":  # a deliberate bug: query head h reads kv head h % n_kv_heads
        k, v = k.repeat(1, group, 1, 1), v.repeat(1, group, 1, 1)
    else:  # HF repeat_kv: query head h reads kv head h // group
        k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(D)  # (B, H, T, T)
    scores = scores.masked_fill(~allowed[:, None], float("-inf"))
    att = torch.softmax(scores, dim=-1)
    y = (att @ v).transpose(1, 2).reshape(B, T, H * D)
    return y @ p[prefix + "o_proj.weight"].T


def model_forward(cfg, p, input_ids, positions, segments, variant=None):
    """-> logits (B, T, V), [residual stream after each layer (B, T, C)]."""
    eps = 0.0 if variant == "no_eps" else cfg["rms_norm_eps"]
    B, T = input_ids.shape
    C = cfg["hidden_size"]
    inv_freq = rope_inv_freq(C // cfg["num_attention_heads"], cfg["rope_theta"], cfg["rope_scaling"])
    cos, sin = rope_cos_sin(inv_freq, positions)
    idx = torch.arange(T)
    allowed = (idx[None, :] <= idx[:, None])[None].expand(B, T, T)  # (B, Tq, Tk)
    if segments is not None and variant != "no_segment_mask":
        allowed = allowed & (segments[:, :, None] == segments[:, None, :])
    x = p["model.embed_tokens.weight"][input_ids]  # (B, T, C)
    hiddens = []
    for i, s in enumerate(layer_specs(cfg)):
        pre = f"model.layers.{i}."
        if s["attn"] == "gqa":
            h = rms_norm(x, p[pre + "input_layernorm.weight"], eps)
            x = x + attention(h, p, pre + "self_attn.", cfg, s["n_kv_heads"], cos, sin, allowed, variant)
        elif s["attn"] == "linear":
            h = rms_norm(x, p[pre + "input_layernorm.weight"], eps)
            x = x + h @ p[pre + "self_attn.linear_attn.weight"].T
        if s["ffn"] == "swiglu":
            h = rms_norm(x, p[pre + "post_attention_layernorm.weight"], eps)
            g = h @ p[pre + "mlp.gate_proj.weight"].T
            u = h @ p[pre + "mlp.up_proj.weight"].T
            x = x + (F.silu(g) * u) @ p[pre + "mlp.down_proj.weight"].T
        elif s["ffn"] == "linear":
            h = rms_norm(x, p[pre + "post_attention_layernorm.weight"], eps)
            x = x + h @ p[pre + "mlp.linear_mlp.weight"].T
        hiddens.append(x)
    x = rms_norm(x, p["model.norm.weight"], eps)
    head = p["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else p["lm_head.weight"]
    return x @ head.T, hiddens


def mean_loss(logits, targets):
    # mean over positions whose target is not -100 (HF CrossEntropyLoss, ignore_index -100)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                           ignore_index=IGNORE_INDEX, reduction="mean")


# ---------------------------------------------------------------------------------------------
# Golden inputs.

def make_inputs(seed, vocab, B, T, packed_row_segments):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, vocab, size=(B, T))
    positions = np.tile(np.arange(T), (B, 1))
    segments = None
    if packed_row_segments is not None:
        segments = np.zeros((B, T), dtype=np.int64)
        segments[1] = packed_row_segments
        for t in range(1, T):  # positions restart at 0 where a new segment begins
            positions[1, t] = 0 if segments[1, t] != segments[1, t - 1] else positions[1, t - 1] + 1
    # next-token targets; no target across a segment end or past the row end
    targets = np.full((B, T), IGNORE_INDEX, dtype=np.int64)
    for b in range(B):
        for t in range(T - 1):
            if segments is None or segments[b, t] == segments[b, t + 1]:
                targets[b, t] = ids[b, t + 1]
    targets[0, 3] = IGNORE_INDEX  # a masked position mid-sequence, as SFT prompt tokens are
    targets[1, 1] = IGNORE_INDEX
    return ids, targets, positions, segments


def as_tensors(params_bits):
    return {k: torch.from_numpy(bf16_to_f64(v)).requires_grad_(True) for k, v in params_bits.items()}


# ---------------------------------------------------------------------------------------------
# Self-checks: finite differences, packing equivalence, and bug sensitivity.

def check_finite_differences(cfg, p, ids, tgt, pos, seg, grads, seed):
    """Central differences in float64 on two entries of every parameter (its largest gradient
    and a random one). Returns (worst relative error, where); the relative error's denominator
    is floored at 1e-3 of the parameter's largest gradient so near-zero entries do not divide
    rounding noise by zero."""
    rng = np.random.default_rng(seed)
    worst = (0.0, "")
    with torch.no_grad():
        for name, g in grads.items():
            flat = g.reshape(-1)
            picks = [int(flat.abs().argmax()), int(rng.integers(0, flat.numel()))]
            scale = float(flat.abs().max())
            for j in picks:
                w = p[name].view(-1)
                old = float(w[j])
                h = 1e-5
                w[j] = old + h
                lp = float(mean_loss(model_forward(cfg, p, ids, pos, seg)[0], tgt))
                w[j] = old - h
                lm = float(mean_loss(model_forward(cfg, p, ids, pos, seg)[0], tgt))
                w[j] = old
                fd = (lp - lm) / (2 * h)
                ad = float(flat[j])
                rel = abs(fd - ad) / max(abs(fd), abs(ad), 1e-3 * scale, 1e-30)
                if rel > worst[0]:
                    worst = (rel, f"{name}[{j}]: autograd {ad:.6e}, finite difference {fd:.6e}")
    return worst


def check_packing(cfg, p, ids, pos, seg, logits):
    """A packed row must give the same logits as its segments run as separate sequences."""
    worst = 0.0
    with torch.no_grad():
        for b in range(ids.shape[0]):
            for s in torch.unique(seg[b]).tolist():
                cols = (seg[b] == s).nonzero().view(-1)
                sub_ids = ids[b, cols][None]
                sub_pos = torch.arange(cols.numel())[None]
                assert torch.equal(pos[b, cols], sub_pos[0]), "positions must restart per segment"
                alone, _ = model_forward(cfg, p, sub_ids, sub_pos, None)
                worst = max(worst, float((alone[0] - logits[b, cols]).abs().max()))
    return worst


def check_sensitivity(cfg, p, ids, pos, seg, logits, variants):
    """Each deliberate bug must move the logits far beyond f32 rounding (>1e-3)."""
    out = {}
    with torch.no_grad():
        for v in variants:
            bad, _ = model_forward(cfg, p, ids, pos, seg, variant=v)
            out[v] = float((bad - logits).abs().max())
    return out


def read_safetensors(path):
    """name -> float64 numpy array, parsed from the file alone (checks what was written)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        data = raw[8 + n + a:8 + n + b]
        if info["dtype"] == "BF16":
            arr = bf16_to_f64(np.frombuffer(data, dtype="<u2"))
        else:
            assert info["dtype"] == "F32"
            arr = np.frombuffer(data, dtype="<f4").astype(np.float64)
        out[name] = arr.reshape(info["shape"])
    return out


def loop_logits(cfg, w, ids, pos, seg):
    """A second, per-token numpy forward: RoPE written pairwise, attention as explicit loops."""
    C, H = cfg["hidden_size"], cfg["num_attention_heads"]
    D, half, eps = C // H, C // H // 2, cfg["rms_norm_eps"]
    inv = 1.0 / np.array([cfg["rope_theta"] ** (2 * i / D) for i in range(half)])

    def norm(v, g):
        return v / math.sqrt(float(np.dot(v, v)) / C + eps) * g

    def rope(v, p):
        out = v.copy()
        for i in range(half):
            c, s = math.cos(p * inv[i]), math.sin(p * inv[i])
            out[i] = v[i] * c - v[i + half] * s
            out[i + half] = v[i + half] * c + v[i] * s
        return out

    B, T = ids.shape
    logits = np.zeros((B, T, cfg["vocab_size"]))
    for b in range(B):
        xs = [w["model.embed_tokens.weight"][ids[b, t]].copy() for t in range(T)]
        for li, s in enumerate(layer_specs(cfg)):
            pre = f"model.layers.{li}."
            if s["attn"] != "no_op":
                hs = [norm(x, w[pre + "input_layernorm.weight"]) for x in xs]
            if s["attn"] == "linear":
                xs = [x + w[pre + "self_attn.linear_attn.weight"] @ h for x, h in zip(xs, hs)]
            elif s["attn"] == "gqa":
                kv, group = s["n_kv_heads"], H // s["n_kv_heads"]
                q = [w[pre + "self_attn.q_proj.weight"] @ h for h in hs]
                k = [w[pre + "self_attn.k_proj.weight"] @ h for h in hs]
                v = [w[pre + "self_attn.v_proj.weight"] @ h for h in hs]
                new = []
                for t in range(T):
                    y = np.zeros(H * D)
                    for head in range(H):
                        g = head // group
                        qt = rope(q[t][head * D:(head + 1) * D], pos[b, t])
                        js = [j for j in range(t + 1) if seg is None or seg[b, j] == seg[b, t]]
                        sc = np.array([np.dot(qt, rope(k[j][g * D:(g + 1) * D], pos[b, j])) for j in js])
                        sc = np.exp((sc - sc.max()) / math.sqrt(D))
                        sc /= sc.sum()
                        y[head * D:(head + 1) * D] = sum(a * v[j][g * D:(g + 1) * D] for a, j in zip(sc, js))
                    new.append(xs[t] + w[pre + "self_attn.o_proj.weight"] @ y)
                xs = new
            if s["ffn"] != "no_op":
                hs = [norm(x, w[pre + "post_attention_layernorm.weight"]) for x in xs]
            if s["ffn"] == "linear":
                xs = [x + w[pre + "mlp.linear_mlp.weight"] @ h for x, h in zip(xs, hs)]
            elif s["ffn"] == "swiglu":
                for t, h in enumerate(hs):
                    gate = w[pre + "mlp.gate_proj.weight"] @ h
                    up = w[pre + "mlp.up_proj.weight"] @ h
                    xs[t] = xs[t] + w[pre + "mlp.down_proj.weight"] @ (gate / (1 + np.exp(-gate)) * up)
        head_w = w["lm_head.weight"] if "lm_head.weight" in w else w["model.embed_tokens.weight"]
        for t in range(T):
            logits[b, t] = head_w @ norm(xs[t], w["model.norm.weight"])
    return logits


def check_written_files(case_dir, cfg, ids, pos, seg):
    """Reread both safetensors files; the loop forward on the stored bf16 weights must match the
    stored f32 logits, and the gradients must name exactly the checkpoint's tensors."""
    w = read_safetensors(os.path.join(case_dir, "checkpoint", "model.safetensors"))
    golden = read_safetensors(os.path.join(case_dir, "golden.safetensors"))
    assert sorted("grad." + k for k in w) == sorted(k for k in golden if k.startswith("grad."))
    seg_np = None if seg is None else seg.numpy()
    ref = loop_logits(cfg, w, ids.numpy(), pos.numpy(), seg_np)
    return float(np.abs(ref - golden["logits"]).max() / np.abs(ref).max())


# ---------------------------------------------------------------------------------------------
# Fixture writers.

def write_case(name, cfg, weight_seed, weight_std, input_seed, packed_row_segments, variants):
    case_dir = os.path.join(OUT_DIR, name)
    ckpt_dir = os.path.join(case_dir, "checkpoint")
    os.makedirs(ckpt_dir, exist_ok=True)

    bits = init_weights(cfg, weight_seed, weight_std)
    write_json(os.path.join(ckpt_dir, "config.json"), cfg)
    write_atomic(os.path.join(ckpt_dir, "model.safetensors"), safetensors_bytes(
        [(k, "BF16", v.shape, v.astype("<u2").tobytes()) for k, v in bits.items()]))

    B, T = 2, 16
    ids_np, tgt_np, pos_np, seg_np = make_inputs(input_seed, cfg["vocab_size"], B, T, packed_row_segments)
    ids, tgt, pos = torch.from_numpy(ids_np), torch.from_numpy(tgt_np), torch.from_numpy(pos_np)
    seg = None if seg_np is None else torch.from_numpy(seg_np)

    p = as_tensors(bits)
    logits, hiddens = model_forward(cfg, p, ids, pos, seg)
    loss = mean_loss(logits, tgt)
    loss.backward()
    grads = {k: v.grad.detach().clone() for k, v in p.items()}
    for v in p.values():
        v.requires_grad_(False)

    fd_err, fd_where = check_finite_differences(cfg, p, ids, tgt, pos, seg, grads, weight_seed + 1)
    pack_err = check_packing(cfg, p, ids, pos, seg if seg is not None else torch.zeros_like(ids),
                             logits.detach())
    sens = check_sensitivity(cfg, p, ids, pos, seg, logits.detach(), variants)
    probs = torch.softmax(logits.detach(), -1)
    print(f"{name}: loss {loss.item():.12f}  (log V = {math.log(cfg['vocab_size']):.4f}), "
          f"logits std {logits.detach().std().item():.4f}, max prob {probs.max().item():.4f}")
    print(f"{name}: max |grad| per kind: embed {grads['model.embed_tokens.weight'].abs().max():.3e}, "
          f"norm {grads['model.norm.weight'].abs().max():.3e}")
    print(f"{name}: finite differences vs autograd on {2 * len(grads)} entries, "
          f"max relative error {fd_err:.3e} at {fd_where}")
    print(f"{name}: packed rows vs segments run alone, max |dlogits| {pack_err:.3e}")
    for v, d in sens.items():
        print(f"{name}: deliberate bug '{v}' moves logits by up to {d:.3e}")
    # float64 central differences with h = 1e-5 carry ~1e-10 absolute error; a wrong gradient
    # is off by O(1) relative, so 1e-5 separates the two by orders of magnitude.
    assert fd_err < 1e-5, f"{name}: autograd disagrees with finite differences ({fd_err:.3e})"
    assert pack_err < 1e-12, f"{name}: packing changes results ({pack_err:.3e})"
    for v, d in sens.items():
        assert d > 1e-3, f"{name}: fixture does not detect '{v}' ({d:.3e})"

    golden = [("logits", "F32", logits.shape, logits.detach().numpy().astype("<f4").tobytes())]
    for i, h in enumerate(hiddens):
        golden.append((f"hidden.{i}", "F32", h.shape, h.detach().numpy().astype("<f4").tobytes()))
    for k, g in grads.items():
        golden.append((f"grad.{k}", "F32", g.shape, g.numpy().astype("<f4").tobytes()))
    write_atomic(os.path.join(case_dir, "golden.safetensors"), safetensors_bytes(golden))

    write_json(os.path.join(case_dir, "inputs.json"), {
        "generator": GENERATOR,
        "model": name,
        "checkpoint": "checkpoint",
        "B": B,
        "T": T,
        "input_ids": ids_np.tolist(),
        "targets": tgt_np.tolist(),
        "positions": pos_np.tolist(),
        "segments": None if seg_np is None else seg_np.tolist(),
        "n_valid_targets": int((tgt_np != IGNORE_INDEX).sum()),
        "loss": float(loss.item()),
        "layers": [{"attention": s["attn"], "n_kv_heads": s["n_kv_heads"], "ffn": s["ffn"],
                    "ffn_dim": s["ffn_dim"]} for s in layer_specs(cfg)],
        "n_params": count_parameters(cfg),
    })

    readback_err = check_written_files(case_dir, cfg, ids, pos, seg)
    print(f"{name}: per-token loop forward on the reread bf16 checkpoint vs stored f32 logits, "
          f"max relative error {readback_err:.3e}")
    assert readback_err < 1e-6, f"{name}: written files disagree with the model ({readback_err:.3e})"


def write_rope():
    head_dim, theta = 128, 500000.0
    scaling = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
               "original_max_position_embeddings": 8192}
    positions = [0, 1, 100, 8191]
    out = {"generator": GENERATOR, "head_dim": head_dim, "rope_theta": theta, "rope_scaling": scaling,
           "positions": positions}
    for label, dtype in (("float64", torch.float64), ("hf_float32", torch.float32)):
        section = {}
        for kind, sc in (("default", None), ("llama3", scaling)):
            inv = rope_inv_freq(head_dim, theta, sc, dtype=dtype)
            if dtype == torch.float32:  # HF: (inv_freq[None,:,None].float() @ pos[:,None,:].float())
                pos = torch.tensor([positions], dtype=torch.int64)
                freqs = (inv[None, :, None].float() @ pos[:, None, :].float()).transpose(1, 2)[0]
                emb = torch.cat((freqs, freqs), dim=-1)
                cos, sin = emb.cos(), emb.sin()
            else:
                cos, sin = rope_cos_sin(inv, torch.tensor([positions]))
                cos, sin = cos[0], sin[0]
            section["inv_freq_" + kind] = [float(v) for v in inv.tolist()]
            section["cos_" + kind] = [[float(v) for v in row] for row in cos.tolist()]
            section["sin_" + kind] = [[float(v) for v in row] for row in sin.tolist()]
        out[label] = section
    write_json(os.path.join(OUT_DIR, "rope.json"), out)
    f64 = torch.tensor(out["float64"]["cos_llama3"])
    f32 = torch.tensor(out["hf_float32"]["cos_llama3"])
    print(f"rope: llama3 cos, HF float32 vs float64, max |diff| per position "
          f"{[float(x) for x in (f64 - f32).abs().max(-1).values]}")


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    # Ignoring the given positions is not in this list: RoPE scores depend only on position
    # differences, and a packed segment's restarted positions are a constant shift of the
    # indices, so no logit can show that bug (rope.json pins absolute positions instead).
    common_bugs = ["no_rope", "rope_interleaved", "kv_modulo", "no_eps"]

    tiny = llama_config(hidden=64, layers=2, heads=4, kv_heads=2, intermediate=128, vocab=512, tied=True)
    write_case("tiny", tiny, weight_seed=1001, weight_std=0.08, input_seed=2001,
               packed_row_segments=None, variants=common_bugs)

    hetero = deci_config(hidden=64, heads=4, vocab=512, tied=False, blocks=[
        (deci_attention("gqa", 2), deci_ffn("swiglu", 2.0)),
        (deci_attention("no_op"), deci_ffn("swiglu", 4.0)),
        (deci_attention("linear"), deci_ffn("linear")),
        (deci_attention("gqa", 4), deci_ffn("no_op")),
        (deci_attention("gqa", 1), deci_ffn("swiglu", 8.0)),
        (deci_attention("no_op"), deci_ffn("no_op")),
    ])
    assert [s["ffn_dim"] for s in layer_specs(hetero)] == [256, 256, 0, 0, 512, 0]
    write_case("tiny-hetero", hetero, weight_seed=1002, weight_std=0.08, input_seed=2002,
               packed_row_segments=[0] * 7 + [1] * 9, variants=common_bugs + ["no_segment_mask"])

    write_rope()
    return 0


if __name__ == "__main__":
    sys.exit(main())
