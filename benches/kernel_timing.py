"""Times the notebook kernel (`make bench-kernel`): prints figures, asserts nothing.

    .venv/bin/python benches/kernel_timing.py [--cold] [--notebook notebooks/01_vanilla_gan.ipynb]

Rows:
  cold       (--cold) a kernel with an empty build directory: start-up and the
             setup cell's `:dep gan_tutorial` build everything (tch's C++
             wrapper included), as on a fresh set-up before the warm-up
  warm       a new kernel after set-up: start-up, setup cell, prelude, a
             trivial cell and a cell that touches libtorch
  second     a second kernel while the first is still running: it gets its
             own build directory, copied from the warm one
  notebook   executing the notebook in CI mode (GAN_TUTORIAL_NOTEBOOK_MODE=quick)
             through nbclient with the gan_tutorial kernel, and in full mode with --full
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "kernel"))
from gan_kernel import Kernel, setup_cell  # noqa: E402


def session(label, env=None, keep_open=None):
    with Kernel(env=env) as k:
        row = {"start": k.startup_seconds}
        row["setup cell"], _, _ = k.run(setup_cell())
        row["prelude"], _, _ = k.run("use gan_tutorial::prelude::*;")
        row["trivial"], _, _ = k.run('println!("{}", 1 + 1);')
        row["tensor"], _, _ = k.run('println!("{}", Tensor::from_slice(&[1.0f32, 2.0]).sum(Kind::Float).double_value(&[]));')
        if keep_open is not None:
            keep_open(row)
    print(f"{label:<9}" + "  ".join(f"{k} {v:6.1f}s" for k, v in row.items()), flush=True)
    return row


def execute_notebook(path, mode):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    os.environ["GAN_TUTORIAL_NOTEBOOK_MODE"] = mode
    t0 = time.monotonic()
    NotebookClient(nb, kernel_name="gan_tutorial", timeout=3600, startup_timeout=120,
                   resources={"metadata": {"path": str(Path(path).parent)}}).execute()
    seconds = time.monotonic() - t0
    cells = sum(c.cell_type == "code" for c in nb.cells)
    print(f"notebook {Path(path).name} ({mode} mode): {seconds:.1f}s for {cells} code cells", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cold", action="store_true", help="also time a kernel that builds everything (minutes)")
    p.add_argument("--full", action="store_true", help="also execute the notebook in full mode")
    p.add_argument("--notebook", default=str(ROOT / "notebooks" / "01_vanilla_gan.ipynb"))
    args = p.parse_args()
    print(f"kernel timings on {os.cpu_count()} cores (seconds, wall clock)", flush=True)
    if args.cold:
        with tempfile.TemporaryDirectory(prefix="gan_tutorial_cold_") as slots:
            session("cold", env={"GAN_TUTORIAL_EVCXR_SLOTS": slots})
    session("warm")

    def second(_row):
        session("second")

    session("first", keep_open=second)
    execute_notebook(args.notebook, "quick")
    if args.full:
        execute_notebook(args.notebook, "full")


if __name__ == "__main__":
    main()
