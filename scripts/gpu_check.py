"""`make gpu-check`: the CUDA path, proved on a machine that has a CUDA device.

    .venv/bin/python scripts/gpu_check.py [--device cuda:0] [--out runs/gpu-check]

On a machine without a CUDA device it says so in one line and exits 0.
With one, it
  1. trains the vanilla GAN and a DCGAN on the GPU and, with the same seed
     and settings, on the CPU (`gan-tutorial train`, run directories under
     --out);
  2. checks that each run's config.json names the device it ran on
     (`runtime.device`) and that the GPU runs' statistics agree with the
     CPU's within the tolerances below;
  3. executes notebook 01 through the gan_tutorial kernel with
     GAN_TUTORIAL_DEVICE set to the GPU (quick mode) and checks that its
     summary line and its training run name the GPU;
  4. times the DCGAN step against the same loop in PyTorch on the GPU
     (benches/dcgan_step.rs; goal: at least 0.9x PyTorch's iterations/s).
It prints a table and writes --out/gpu-check.json; it exits 1 when a check
fails (a ratio under the goal is reported, not a failure).

Tolerances. CPU and GPU initialise the weights from different random
streams (the CUDA generator is not the CPU's) and their kernels round
differently, so the runs cannot be compared step by step; what must agree is
how training went: over the last quarter of the steps, mean D(x) and mean
D(G(z)) within 0.15 (absolute), mean D and G losses within 35% (relative),
every logged number finite. With `--device cpu` (a self-test of this script
on any machine) both runs are on the CPU with the same seed and must agree
exactly.
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "target" / "release" / "gan-tutorial"
PYTHON = ROOT / ".venv" / "bin" / "python"
RUNS = {"vanilla": ["--epochs", "5"], "dcgan": ["--steps", "400"]}
TOL_D_OUT = 0.15
TOL_LOSS_REL = 0.35
GOAL_RATIO = 0.9


def run(cmd, **kw):
    t = time.monotonic()
    p = subprocess.run([str(c) for c in cmd], cwd=ROOT, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise SystemExit(f"gpu-check: {' '.join(map(str, cmd))} failed ({p.returncode}):\n{p.stdout[-2000:]}\n{p.stderr[-4000:]}")
    return p.stdout, time.monotonic() - t


def cuda_devices():
    out, _ = run([BIN, "info"])
    return int(json.loads(out).get("cuda_devices", 0))


def metrics(run_dir):
    rows = [json.loads(l) for l in (run_dir / "metrics.jsonl").read_text().splitlines() if l.strip()]
    if not rows:
        raise SystemExit(f"gpu-check: {run_dir}/metrics.jsonl is empty")
    return rows


def tail_means(rows):
    tail = rows[-max(1, len(rows) // 4):]
    keys = ["d_loss", "g_loss", "d_real", "d_fake"]
    flat = [{**r, **r.get("log", {})} for r in tail]
    return {k: sum(r[k] for r in flat) / len(flat) for k in keys if all(k in r for r in flat)}


def all_finite(rows):
    def numbers(v):
        if isinstance(v, dict):
            for x in v.values():
                yield from numbers(x)
        elif isinstance(v, list):
            for x in v:
                yield from numbers(x)
        elif isinstance(v, float):
            yield v
    return all(math.isfinite(x) for r in rows for x in numbers(r))


def compare(name, gpu_dir, cpu_dir, device, exact):
    checks = []
    for d, want in [(gpu_dir, device), (cpu_dir, "cpu")]:
        got = json.loads((d / "config.json").read_text())["runtime"].get("device")
        checks.append((f"{name}: {d.name}/config.json names {want}", got == want, f"runtime.device = {got!r}"))
    g_rows, c_rows = metrics(gpu_dir), metrics(cpu_dir)
    checks.append((f"{name}: every logged number finite", all_finite(g_rows) and all_finite(c_rows), ""))
    checks.append((f"{name}: same number of steps", len(g_rows) == len(c_rows), f"{len(g_rows)} vs {len(c_rows)}"))
    g, c = tail_means(g_rows), tail_means(c_rows)
    for key in sorted(set(g) & set(c)):
        if exact:
            ok, tol = g[key] == c[key], "identical"
        elif key.startswith("d_real") or key.startswith("d_fake"):
            ok, tol = abs(g[key] - c[key]) <= TOL_D_OUT, f"|diff| <= {TOL_D_OUT}"
        else:
            ok, tol = abs(g[key] - c[key]) <= TOL_LOSS_REL * max(abs(c[key]), 1e-6), f"rel diff <= {TOL_LOSS_REL:.0%}"
        checks.append((f"{name}: last-quarter mean {key} ({tol})", ok, f"{device} {g[key]:.4f}, cpu {c[key]:.4f}"))
    return checks


def notebook_on(device, out):
    """Executes notebook 01 (quick mode) with the kernel on `device`; returns (checks, seconds)."""
    executed = out / "01_vanilla_gan.executed.ipynb"
    env = dict(os.environ, GAN_TUTORIAL_DEVICE=device, GAN_TUTORIAL_NOTEBOOK_MODE="quick", GAN_TUTORIAL_STRICT="1")
    _, seconds = run([ROOT / ".venv" / "bin" / "jupyter", "nbconvert", "--to", "notebook", "--execute",
                      "--ExecutePreprocessor.kernel_name=gan_tutorial", "--ExecutePreprocessor.timeout=1800",
                      "--output", executed, ROOT / "notebooks" / "01_vanilla_gan.ipynb"], env=env)
    nb = json.loads(executed.read_text())
    text = "".join(o.get("text", "") if isinstance(o.get("text", ""), str) else "".join(o["text"])
                   for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", []))
    return [
        ("notebook 01: summary line names the device", f"device {device}" in text, _first(text, r"device [^|\n]*")),
        ("notebook 01: training ran on the device", f"on {device}" in text, _first(text, r"on (cpu|cuda:\d+)")),
    ], seconds


def _first(text, pattern):
    m = re.search(pattern, text)
    return m.group(0) if m else "(not found)"


def bench(device):
    out, _ = run(["cargo", "bench", "--locked", "--bench", "dcgan_step", "--", "--device", device, "--steps", "200", "--rounds", "3"])
    m = re.search(r"ratio rust/pytorch \(iterations/s\): ([0-9.]+)", out)
    return out, float(m.group(1)) if m else float("nan")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default=None, help="default: cuda:0 when a CUDA device is present; `cpu` runs the self-test")
    p.add_argument("--out", type=Path, default=ROOT / "runs" / "gpu-check")
    p.add_argument("--skip-notebook", action="store_true")
    p.add_argument("--skip-bench", action="store_true")
    args = p.parse_args()
    if not BIN.exists():
        raise SystemExit(f"gpu-check: {BIN} is missing: run `make setup` first")
    n = cuda_devices()
    device = args.device
    if device is None:
        if n == 0:
            print("gpu-check: no CUDA device on this machine (gan-tutorial info: 0 CUDA devices); nothing to check")
            return 0
        device = "cuda:0"
    exact = device == "cpu"
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    print(f"gpu-check on {device} ({n} CUDA device(s)){' - self-test: both runs on the CPU, must agree exactly' if exact else ''}")

    checks, timings = [], {}
    for name, extra in RUNS.items():
        dirs = {}
        for side, dev in [("gpu", device), ("cpu", "cpu")]:
            d = out / f"{name}-{side}"
            _, timings[f"{name} on {dev} ({side}) s"] = run([BIN, "train", name, *extra, "--seed", "0", "--device", dev, "--out", d, "--force"])
            dirs[side] = d
        checks += compare(name, dirs["gpu"], dirs["cpu"], device, exact)
    if not args.skip_notebook:
        # The kernel is needed only now (idempotent: seconds on a set-up machine).
        print("gpu-check: setting up the notebook kernel (scripts/setup.sh kernel)", flush=True)
        run([ROOT / "scripts" / "setup.sh", "kernel"])
        nb_checks, timings["notebook 01 (quick) s"] = notebook_on(device, out)
        checks += nb_checks
    ratio, bench_out = None, ""
    if not args.skip_bench:
        bench_out, ratio = bench(device)
        print(bench_out.strip())

    width = max(len(c[0]) for c in checks)
    for what, ok, detail in checks:
        print(f"{'ok  ' if ok else 'FAIL'} {what:<{width}}  {detail}")
    for what, s in timings.items():
        print(f"     {what:<{width}}  {s:.1f}")
    if ratio is not None:
        verdict = "meets" if ratio >= GOAL_RATIO else "is under"
        print(f"     DCGAN step, rust/pytorch on {device}: {ratio:.2f}x ({verdict} the goal of {GOAL_RATIO}x)")
    failed = [c for c in checks if not c[1]]
    record = {"device": device, "cuda_devices": n, "checks": [{"what": w, "ok": o, "detail": d} for w, o, d in checks],
              "timings_s": timings, "dcgan_ratio": ratio, "goal_ratio": GOAL_RATIO, "bench": bench_out}
    tmp = out / ".gpu-check.json.partial"
    tmp.write_text(json.dumps(record, indent=1))
    tmp.replace(out / "gpu-check.json")
    print(f"gpu-check: {len(checks) - len(failed)}/{len(checks)} checks passed; record: {out / 'gpu-check.json'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
