"""Strict notebook execution for evcxr (Rust) notebooks under nbval.

nbval fails a cell when the kernel answers `status: error` (a compile error)
and compares outputs of cells tagged `nbval-check-output`. With evcxr's
defaults that is not enough (see shared TECH-NOTES, evcxr `eval_context.rs`):

- a panic is caught by evcxr (`preserve_vars_on_panic`, on by default): the
  cell still answers `ok` and the panic message only reaches stderr;
- a top-level `?` error prints the error to stderr and also answers `ok`.

This plugin closes both holes:

1. it sets GAN_TUTORIAL_STRICT=1, so kernel/launch.sh starts evcxr with
   kernel/config-strict (`:preserve_vars_on_panic 0`): a panic ends the
   cell's process and evcxr reports an error;
2. after each cell it fails the test when the cell wrote anything to stderr
   (how evcxr reports a `?` error), unless the cell is tagged
   `allow-stderr` or `raises-exception`. evcxr forwards stderr from its own
   thread, so a line can arrive after the cell's "idle" status; the plugin
   first runs a one-line cell that writes a marker to stderr and waits for
   it (see gan_kernel.collect_late_output).

Committed notebooks carry no outputs. A cell tagged `nbval-check-output`
keeps its expected output as text in its metadata instead,
`metadata.gan_tutorial.expected_output`; this plugin hands that to nbval as
the reference output, so nbval's own comparison (with its sanitizers) runs.
A tagged cell without it is an error, not a silent pass.

Each notebook of notebooks/ is executed once per test run. When every one of
its code cells passed, this plugin writes the notebook with the outputs that
run produced to build/ci-artifacts/executed/<stem>.ipynb (or
$GAN_TUTORIAL_EXECUTED_DIR), atomically; the rendered-lecture test then
renders those copies instead of executing the notebooks a second time. A
notebook with a failed or skipped cell leaves no copy (and removes a stale
one), so a render never shows outputs of a run that did not pass.
"""
import copy
import os
import tempfile
import time
from pathlib import Path

import pytest
from nbformat import NotebookNode

from gan_kernel import SYNC_CELL, cell_tags, collect_late_output, unexpected_stderr

os.environ.setdefault("GAN_TUTORIAL_STRICT", "1")

EXPECTED_KEY = "expected_output"
ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"


def executed_dir():
    """Where executed copies of the notebooks go."""
    return Path(os.environ.get("GAN_TUTORIAL_EXECUTED_DIR") or ROOT / "build" / "ci-artifacts" / "executed")


def expected_output(cell):
    """The expected text of a `nbval-check-output` cell, or None."""
    return cell.get("metadata", {}).get("gan_tutorial", {}).get(EXPECTED_KEY)


def _install(cell_class):
    if getattr(cell_class, "_gan_tutorial_strict", False):
        return
    original = cell_class.runtest

    def runtest(self):
        _record(self.parent)  # starts the notebook's clock at its first cell
        original(self)
        # What evcxr forwards after the cell's "idle" would be lost: sync first.
        kernel = self.parent.kernel
        sync_id = kernel.execute_cell_input(SYNC_CELL, allow_stdin=False)
        late = collect_late_output(self.parent.get_kernel_message, sync_id)
        outputs = list(self.test_outputs or []) + [NotebookNode(o) for o in late]
        err = unexpected_stderr(self.cell, outputs)
        if err:
            self.raise_cell_error(
                "Cell wrote to stderr: with evcxr that is how a `?` error or a caught panic "
                "shows (the cell still answers 'ok'). Fix the cell, or tag it `allow-stderr` "
                "if the message is expected",
                "\n" + err,
            )
        # Only a cell that passed has outputs on record (see executed_notebook).
        _record(self.parent)["outputs"][id(self.cell)] = outputs

    cell_class.runtest = runtest
    cell_class._gan_tutorial_strict = True


def _record(nbfile):
    """The outputs gathered so far for one notebook's run (kept on its collector)."""
    if not hasattr(nbfile, "_gan_tutorial_run"):
        nbfile._gan_tutorial_run = {"outputs": {}, "started": time.monotonic()}
    return nbfile._gan_tutorial_run


def executed_notebook(nb, outputs):
    """A copy of `nb` whose code cells hold `outputs` (by id of the original
    cell), numbered in order; None unless every code cell has its outputs."""
    out = copy.deepcopy(nb)
    count = 0
    for original, cell in zip(nb.cells, out.cells):
        if cell.cell_type != "code":
            continue
        if id(original) not in outputs:
            return None
        count += 1
        cell.execution_count = count
        cell.outputs = []
        for o in copy.deepcopy(outputs[id(original)]):
            if o.get("output_type") == "execute_result":
                o["execution_count"] = count
            cell.outputs.append(o)
    return out


def write_executed(nbfile):
    """After a notebook's run: its executed copy when every cell passed, else
    no copy at all. Only notebooks of notebooks/ (not test fixtures)."""
    import nbformat

    path = Path(str(nbfile.fspath)).resolve()
    if path.parent != NOTEBOOKS:
        return None
    run = _record(nbfile)
    target = executed_dir() / path.name
    nb = None if getattr(nbfile, "nb", None) is None else executed_notebook(nbfile.nb, run["outputs"])
    if nb is None:
        target.unlink(missing_ok=True)
        return None
    nb.metadata.setdefault("gan_tutorial", {})["executed"] = {
        "by": "nbval (tests/notebooks/nbstrict.py)",
        "mode": os.environ.get("GAN_TUTORIAL_NOTEBOOK_MODE") or "full",
        "seconds": round(time.monotonic() - run["started"], 1),
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(nbformat.writes(nb))
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise
    return target


def _install_file(file_class):
    if getattr(file_class, "_gan_tutorial_strict", False):
        return
    original = file_class.teardown

    def teardown(self):
        try:
            original(self)
        finally:
            write_executed(self)

    file_class.teardown = teardown
    file_class._gan_tutorial_strict = True


def pytest_collection_modifyitems(session, config, items):
    try:
        from nbval.plugin import IPyNbCell, IPyNbFile
    except ImportError:  # nbval not installed: nothing to do
        return
    _install(IPyNbCell)
    _install_file(IPyNbFile)
    for item in items:
        if not isinstance(item, IPyNbCell):
            continue
        if "nbval-check-output" not in cell_tags(item.cell):
            continue
        text = expected_output(item.cell)
        if text is None:
            raise pytest.UsageError(
                f"{item.nodeid}: tagged nbval-check-output but has no "
                f"metadata.gan_tutorial.{EXPECTED_KEY}: add the expected text"
            )
        if isinstance(text, list):
            text = "".join(text)
        item.cell.outputs = [NotebookNode(output_type="stream", name="stdout", text=text)]
        item.cell.execution_count = 1


# Wall time per notebook (kernel start, every cell's setup, call and teardown),
# printed at the end of the run: the figures issue 17's targets are read from.
_notebook_seconds = {}


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _notebook_seconds[path] = _notebook_seconds.get(path, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter):
    if not _notebook_seconds:
        return
    terminalreporter.section("wall time per notebook")
    for path, seconds in sorted(_notebook_seconds.items()):
        terminalreporter.write_line(f"{seconds:7.1f} s  {path}")
    terminalreporter.write_line(f"{sum(_notebook_seconds.values()):7.1f} s  all notebooks")
