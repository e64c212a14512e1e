"""Drive the gan_tutorial Jupyter kernel from Python: warm it up, time it,
and run cells in tests.

    .venv/bin/python kernel/gan_kernel.py warm     # set-up: build the kernel's dependencies once
    .venv/bin/python kernel/gan_kernel.py time     # print start-up and cell timings

Both start the real kernel (kernel/launch.sh through the installed
kernelspec) in notebooks/, run the notebooks' setup cell (the first cell of
notebooks/01_vanilla_gan.ipynb: build settings and `:dep gan_tutorial`), then
`use gan_tutorial::prelude::*;` and a trivial cell.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

from jupyter_client.manager import KernelManager

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
KERNEL_NAME = "gan_tutorial"

# Strict execution, shared by the notebook tests (tests/notebooks/nbstrict.py)
# and the lecture renderer (scripts/render_lecture.py): evcxr answers "ok" for
# a cell whose `?` error (or caught panic) went to stderr, so a cell that
# writes to stderr fails unless it carries one of these tags.
ALLOW_STDERR_TAGS = frozenset({"allow-stderr", "raises-exception"})


def cell_tags(cell):
    return set(cell.get("metadata", {}).get("tags", []))


def stderr_text(outputs):
    """What a cell's outputs (nbformat dicts) wrote to stderr."""
    return "".join(o.get("text", "") for o in outputs or [] if o.get("output_type") == "stream" and o.get("name") == "stderr")


# evcxr forwards a cell's stderr from its own reader thread, so a line (a `?`
# error, a panic message) can reach Jupyter after the cell's reply and "idle"
# status, where clients stop listening; a heavily loaded machine shows it.
# Running this cell afterwards and waiting for its marker on stderr (a pipe:
# first in, first out) collects everything the cell wrote.
SYNC_MARK = "GAN_TUTORIAL_STDERR_SYNC"
SYNC_CELL = 'eprintln!("GAN_TUTORIAL_{}", "STDERR_SYNC");'


def collect_late_output(get_message, sync_msg_id, timeout=120):
    """After SYNC_CELL was sent as `sync_msg_id`: reads iopub messages until
    the marker has arrived on stderr and the sync cell is idle. Returns the
    stream outputs (nbformat dicts) that came late, without the marker."""
    late, marked, idle = [], False, False
    deadline = time.monotonic() + timeout
    while not (marked and idle):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no stderr marker from the kernel within {timeout} s")
        msg = get_message(timeout=left)
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            text = content["text"]
            if SYNC_MARK in text:
                marked = True
                text = text.replace(SYNC_MARK + "\n", "").replace(SYNC_MARK, "")
            if text:
                late.append({"output_type": "stream", "name": content["name"], "text": text})
        elif kind == "status" and content["execution_state"] == "idle" and msg["parent_header"].get("msg_id") == sync_msg_id:
            idle = True
    return late


def unexpected_stderr(cell, outputs=None):
    """The stderr text of a cell that is not allowed any, else ''."""
    if cell_tags(cell) & ALLOW_STDERR_TAGS:
        return ""
    return stderr_text(cell.get("outputs", []) if outputs is None else outputs).strip()


def setup_cell(notebook=NOTEBOOKS / "01_vanilla_gan.ipynb"):
    """The source of a notebook's first cell (the setup cell every notebook begins with)."""
    nb = json.loads(Path(notebook).read_text())
    src = nb["cells"][0]["source"]
    return "".join(src) if isinstance(src, list) else src


class CellError(RuntimeError):
    pass


class Kernel:
    """A running gan_tutorial kernel. Use as a context manager."""

    def __init__(self, cwd=NOTEBOOKS, startup_timeout=120, env=None):
        self.cwd = Path(cwd)
        self.startup_timeout = startup_timeout
        self.env = env
        self.km = None
        self.kc = None
        self.startup_seconds = None

    def __enter__(self):
        t0 = time.monotonic()
        self.km = KernelManager(kernel_name=KERNEL_NAME)
        kwargs = {"cwd": str(self.cwd)}
        if self.env is not None:
            kwargs["env"] = {**os.environ, **self.env}
        self.km.start_kernel(**kwargs)
        self.kc = self.km.client()
        self.kc.start_channels()
        try:
            self.kc.wait_for_ready(timeout=self.startup_timeout)
        except RuntimeError:
            self.__exit__(None, None, None)
            raise
        self.startup_seconds = time.monotonic() - t0
        return self

    def __exit__(self, *exc):
        if self.kc is not None:
            self.kc.stop_channels()
        if self.km is not None and self.km.has_kernel:
            self.km.shutdown_kernel(now=True)

    def run(self, code, timeout=1800, allow_stderr=False):
        """Executes one cell. Returns (seconds, stdout, outputs). Raises
        CellError on an error reply or, unless allowed, any stderr output."""
        outputs = []
        t0 = time.monotonic()
        reply = self.kc.execute_interactive(code, timeout=timeout, output_hook=outputs.append, allow_stdin=False)
        seconds = time.monotonic() - t0
        streams = [{"output_type": "stream", **m["content"]} for m in outputs if m["msg_type"] == "stream"]
        errors = [m["content"] for m in outputs if m["msg_type"] == "error"]
        if reply["content"]["status"] != "ok" or errors:
            detail = "\n".join(e.get("evalue", "") + "\n" + "\n".join(e.get("traceback", [])) for e in errors)
            raise CellError(f"cell failed ({reply['content']['status']}):\n{code}\n{detail}\n{stderr_text(streams)}")
        sync_id = self.kc.execute(SYNC_CELL, allow_stdin=False)
        streams += collect_late_output(self.kc.get_iopub_msg, sync_id)
        stdout = "".join(o["text"] for o in streams if o["name"] == "stdout")
        stderr = stderr_text(streams)
        if stderr.strip() and not allow_stderr:
            raise CellError(f"cell wrote to stderr:\n{code}\n{stderr}")
        return seconds, stdout, outputs


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=["warm", "time"])
    p.add_argument("--json", action="store_true", help="print the timings as JSON")
    args = p.parse_args(argv)
    timings = {}
    try:
        with Kernel() as k:
            timings["kernel_start_s"] = k.startup_seconds
            timings["setup_cell_s"], _, _ = k.run(setup_cell())
            timings["use_prelude_s"], _, _ = k.run("use gan_tutorial::prelude::*;")
            timings["trivial_cell_s"], out, _ = k.run('println!("{}", 1 + 1);')
            if out.strip() != "2":
                raise CellError(f"trivial cell printed {out!r}, expected 2")
            timings["tensor_cell_s"], out, _ = k.run('println!("{}", gan_tutorial::notebook::summary());')
            timings["summary"] = out.strip()
    except (CellError, RuntimeError) as e:
        print(f"gan_tutorial kernel: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(timings, indent=1))
    else:
        for k, v in timings.items():
            print(f"{k:<16} {v:.1f}" if isinstance(v, float) else f"{k:<16} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
