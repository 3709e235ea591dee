#!/usr/bin/python3
"""adamw_reference.py: expected values for lathe's AdamW test (tests/test_optim.c).

Runs torch.optim.AdamW (PyTorch 1.13, foreach=False: the single-tensor loop) for a
few steps on small float32 tensors and writes tests/fixtures/optim/adamw.json.
No lathe code is involved. Rerun from any directory with

    /usr/bin/python3 tests/reference/adamw_reference.py

It is deterministic (numpy default_rng with fixed seeds, one torch thread), so a
rerun rewrites a byte-identical file.

The arena of the fixture is three tensors laid out one after another, as lathe's
tensor table does: "w2" (3, 5) decayed, "norm" (7) not decayed (1-D, like an
RMSNorm weight: its own param group with weight_decay 0), "w3" (4, 9) decayed.
Each case gives the hyperparameters, a learning rate per step (a schedule changes
it between steps, so the test must use the current one), the gradient of every
step, and the parameters after every step plus the final moments.

Case "large-eps" has eps comparable to sqrt(v_hat), so adding eps inside the
sqrt would give visibly different numbers (checked below).

All floats are written with repr() of the float32 value widened to float64,
which parses back to the very same float32.

Before writing, each case is recomputed in float64 numpy from the formula lathe
documents (include/lathe/optim.h: decay p *= 1 - lr*wd first, then the Adam step
with bias corrections and eps after sqrt(v_hat)) and must agree with torch to
float32 rounding; the variant that applies the decay after the Adam step must
not (asserting that the fixture pins the order down).
"""
import json
import os

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "optim", "adamw.json")

TENSORS = [("w2", [3, 5]), ("norm", [7]), ("w3", [4, 9])]


def f32_list(a):
    return [float(x) for x in np.asarray(a, dtype=np.float32).reshape(-1)]


def numpy_adamw(initial, steps, decay_mask, beta1, beta2, eps, weight_decay, decay_first,
                eps_inside_sqrt=False):
    """The documented update in float64; returns the parameters after each step."""
    p = np.array(initial, dtype=np.float64)
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    wd = np.where(decay_mask, weight_decay, 0.0)
    out = []
    for t, s in enumerate(steps, start=1):
        g = np.array(s["grad"], dtype=np.float64)
        lr = s["lr"]
        if decay_first:
            p = p * (1.0 - lr * wd)
        m = beta1 * m + (1.0 - beta1) * g
        v = beta2 * v + (1.0 - beta2) * g * g
        m_hat = m / (1.0 - beta1 ** t)
        v_hat = v / (1.0 - beta2 ** t)
        denom = np.sqrt(v_hat + eps) if eps_inside_sqrt else np.sqrt(v_hat) + eps
        p_adam = p - lr * m_hat / denom
        p = p_adam if decay_first else p_adam - lr * wd * p_adam
        out.append(p.copy())
    return out


def check_case(case, decay_mask, order_visible):
    args = (case["initial"], case["steps"], decay_mask, case["beta1"], case["beta2"],
            case["eps"], case["weight_decay"])
    worst = 0.0
    for ref, s in zip(numpy_adamw(*args, decay_first=True), case["steps"]):
        got = np.array(s["params"], dtype=np.float64)
        worst = max(worst, float(np.max(np.abs(got - ref))))
    # float32 parameters of magnitude < 2: a few ulps (1.2e-7) of rounding per step
    assert worst < 1e-6, (case["name"], "torch differs from the documented formula", worst)
    last = numpy_adamw(*args, decay_first=False)[-1]
    moved = float(np.max(np.abs(np.array(case["steps"][-1]["params"]) - last)))
    if order_visible:
        assert moved > 1e-5, (case["name"], "decay order not visible", moved)
    if case["name"] == "large-eps":
        inside = numpy_adamw(*args, decay_first=True, eps_inside_sqrt=True)[-1]
        off = float(np.max(np.abs(np.array(case["steps"][-1]["params"]) - inside)))
        assert off > 1e-4, ("eps placement not visible", off)
        print(f"large-eps: eps-inside-sqrt variant off by {off:.2e}")
    print(f"{case['name']}: max abs. difference to float64 formula {worst:.2e}, "
          f"decay-after variant off by {moved:.2e}")


def run_case(name, seed, betas, eps, weight_decay, lrs, grad_scale):
    rng = np.random.default_rng(seed)
    params = {}
    for tname, shape in TENSORS:
        if len(shape) == 1:
            init = 1.0 + 0.1 * rng.standard_normal(shape)
        else:
            init = 0.5 * rng.standard_normal(shape)
        params[tname] = torch.tensor(init.astype(np.float32), requires_grad=True)
    initial = np.concatenate([f32_list(params[t].detach().numpy()) for t, _ in TENSORS])

    decayed = [params["w2"], params["w3"]]
    opt = torch.optim.AdamW(
        [{"params": decayed, "weight_decay": weight_decay},
         {"params": [params["norm"]], "weight_decay": 0.0}],
        lr=lrs[0], betas=betas, eps=eps, foreach=False)

    steps = []
    for step, lr in enumerate(lrs):
        grads = {}
        for tname, shape in TENSORS:
            g = grad_scale[step] * rng.standard_normal(shape)
            g = g.astype(np.float32)
            if step == 1:
                g.reshape(-1)[2] = 0.0  # a zero gradient entry
            grads[tname] = g
        for group in opt.param_groups:
            group["lr"] = lr
        for tname, _ in TENSORS:
            params[tname].grad = torch.tensor(grads[tname])
        opt.step()
        steps.append({
            "lr": lr,
            "grad": np.concatenate([f32_list(grads[t]) for t, _ in TENSORS]).tolist(),
            "params": np.concatenate(
                [f32_list(params[t].detach().numpy()) for t, _ in TENSORS]).tolist(),
        })

    state = opt.state
    m = np.concatenate([f32_list(state[params[t]]["exp_avg"].numpy()) for t, _ in TENSORS])
    v = np.concatenate([f32_list(state[params[t]]["exp_avg_sq"].numpy()) for t, _ in TENSORS])
    step_count = int(state[params["w2"]]["step"].item())
    assert step_count == len(lrs)
    return {
        "name": name,
        "beta1": betas[0], "beta2": betas[1], "eps": eps, "weight_decay": weight_decay,
        "initial": initial.tolist(),
        "steps": steps,
        "final_m": m.tolist(), "final_v": v.tolist(), "step_count": step_count,
    }


def main():
    torch.set_num_threads(1)
    offset = 0
    layout = []
    for tname, shape in TENSORS:
        numel = int(np.prod(shape))
        layout.append({"name": tname, "shape": shape, "offset": offset, "numel": numel,
                       "decay": len(shape) >= 2})
        offset += numel
    doc = {
        "generator": "tests/reference/adamw_reference.py",
        "torch": torch.__version__,
        "n_params": offset,
        "tensors": layout,
        "cases": [
            run_case("wd0.1-betas0.9,0.95", 1, (0.9, 0.95), 1e-8, 0.1,
                     [1e-2, 5e-3, 2e-2, 1e-2, 3e-3], [1.0, 0.5, 2.0, 1.0, 0.1]),
            run_case("torch-defaults", 2, (0.9, 0.999), 1e-8, 0.01,
                     [1e-3, 1e-3, 1e-3, 1e-3], [1.0, 1.0, 1.0, 1.0]),
            run_case("large-eps", 3, (0.8, 0.9), 1e-3, 0.5,
                     [5e-2, 5e-2, 1e-2], [1e-3, 2e-3, 5e-4]),
        ],
    }
    decay_mask = np.concatenate([np.full(t["numel"], t["decay"]) for t in layout])
    for case in doc["cases"]:
        # torch's defaults (lr 1e-3, wd 0.01) move the decay-order effect below f32 rounding
        check_case(case, decay_mask, order_visible=case["name"] != "torch-defaults")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print("wrote", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
