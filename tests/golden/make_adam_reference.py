"""Golden trajectories for tests/adam_golden.rs: torch.optim.Adam (PyTorch's
defaults but the betas: no weight decay, no AMSGrad, eps 1e-8) on a fixed
sequence of gradients, in float64 and in float32.

    .venv/bin/python tests/golden/make_adam_reference.py   # rewrites adam_reference.safetensors

Deterministic: the gradients come from a seeded generator in float64 and do
not depend on the parameters, so the Rust side can replay them exactly (as the
gradient of sum(p * g)). Three parameters of different shapes:

- `weight` [3, 4]: a gradient at every step, its scale varying over three
  orders of magnitude from step to step;
- `bias` [5]: a gradient at every step; two of its entries get gradients of
  about 1e-9, so that eps (1e-8) dominates their denominators;
- `late` [2, 3]: no gradient (`grad = None`) for the first 30 steps and for
  steps 120..=139, so it is skipped then and its own step count
  (`state['step']`) lags the others: 150 at the end, against 200.

Stored (all float64 unless said):
- `init.<p>`: the starting values;
- `grad.<p>` [200, *shape]: the gradient at each step (zeros where absent);
- `has_grad.<p>` [200] (int64): 1 where the parameter has a gradient;
- `traj.<dtype>.<betas>.<p>` [200, *shape]: the parameter after each step,
  dtype `f64` or `f32` (float32 values stored as float32), betas `b09` for
  (0.9, 0.999) or `b05` for (0.5, 0.999); lr 1e-3 throughout. The float32
  run starts from init and gradients cast to float32;
- `state.<dtype>.<betas>.<p>.{exp_avg,exp_avg_sq}` and `.step` (int64):
  torch's optimiser state after the last step.

The script also prints how far each float32 trajectory ends from its float64
twin (max |p32 - p64| over all steps and entries); the Rust test compares the
crate's float32 distance with this one.
"""
from pathlib import Path

import torch
from safetensors.torch import save_file

OUT = Path(__file__).resolve().parent / "adam_reference.safetensors"
STEPS = 200
LR = 1e-3
BETAS = {"b09": (0.9, 0.999), "b05": (0.5, 0.999)}
SHAPES = {"weight": (3, 4), "bias": (5,), "late": (2, 3)}


def problem():
    gen = torch.Generator().manual_seed(20240601)
    init = {n: torch.randn(s, generator=gen, dtype=torch.float64) for n, s in SHAPES.items()}
    grads, has = {}, {}
    for n, s in SHAPES.items():
        # A slowly drifting mean (so that m and v build up) plus noise, each step scaled by 10^U(-1.5, 1.5).
        drift = torch.randn(s, generator=gen, dtype=torch.float64)
        noise = torch.randn((STEPS, *s), generator=gen, dtype=torch.float64)
        scale = 10.0 ** (3.0 * torch.rand(STEPS, generator=gen, dtype=torch.float64) - 1.5)
        t = torch.arange(STEPS, dtype=torch.float64) / STEPS
        g = (drift * torch.cos(6.0 * t).view(-1, *[1] * len(s)) + 0.7 * noise) * scale.view(-1, *[1] * len(s))
        mask = torch.ones(STEPS, dtype=torch.int64)
        if n == "bias":
            g[:, 3:] *= 1e-9
        if n == "late":
            mask[:30] = 0
            mask[120:140] = 0
            g[mask == 0] = 0.0
        grads[n], has[n] = g, mask
    return init, grads, has


def run(init, grads, has, dtype, betas):
    params = {n: init[n].to(dtype).clone().requires_grad_(True) for n in SHAPES}
    opt = torch.optim.Adam(list(params.values()), lr=LR, betas=betas)
    traj = {n: torch.empty((STEPS, *s), dtype=dtype) for n, s in SHAPES.items()}
    for k in range(STEPS):
        opt.zero_grad()  # set_to_none=True: a parameter without a gradient this step is skipped
        for n, p in params.items():
            if has[n][k]:
                p.grad = grads[n][k].to(dtype).clone()
        opt.step()
        for n, p in params.items():
            traj[n][k] = p.detach()
    state = {}
    for n, p in params.items():
        st = opt.state[p]
        state[f"{n}.exp_avg"] = st["exp_avg"].clone()
        state[f"{n}.exp_avg_sq"] = st["exp_avg_sq"].clone()
        state[f"{n}.step"] = torch.tensor([int(st["step"].item())], dtype=torch.int64)
    return traj, state


def main():
    torch.set_num_threads(1)
    init, grads, has = problem()
    out = {}
    for n in SHAPES:
        out[f"init.{n}"] = init[n]
        out[f"grad.{n}"] = grads[n]
        out[f"has_grad.{n}"] = has[n]
    for bname, betas in BETAS.items():
        trajs = {}
        for dname, dtype in (("f64", torch.float64), ("f32", torch.float32)):
            traj, state = run(init, grads, has, dtype, betas)
            trajs[dname] = traj
            for n in SHAPES:
                out[f"traj.{dname}.{bname}.{n}"] = traj[n]
            for k, v in state.items():
                out[f"state.{dname}.{bname}.{k}"] = v
        dist = max((trajs["f32"][n].double() - trajs["f64"][n]).abs().max().item() for n in SHAPES)
        print(f"betas {betas}: torch float32 vs float64, max |diff| over the trajectory {dist:.3e}")
    save_file({k: v.contiguous() for k, v in out.items()}, OUT)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
