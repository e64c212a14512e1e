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
"""
import os

import pytest
from nbformat import NotebookNode

from gan_kernel import SYNC_CELL, cell_tags, collect_late_output, unexpected_stderr

os.environ.setdefault("GAN_TUTORIAL_STRICT", "1")

EXPECTED_KEY = "expected_output"


def expected_output(cell):
    """The expected text of a `nbval-check-output` cell, or None."""
    return cell.get("metadata", {}).get("gan_tutorial", {}).get(EXPECTED_KEY)


def _install(cell_class):
    if getattr(cell_class, "_gan_tutorial_strict", False):
        return
    original = cell_class.runtest

    def runtest(self):
        original(self)
        # What evcxr forwards after the cell's "idle" would be lost: sync first.
        kernel = self.parent.kernel
        sync_id = kernel.execute_cell_input(SYNC_CELL, allow_stdin=False)
        late = collect_late_output(self.parent.get_kernel_message, sync_id)
        err = unexpected_stderr(self.cell, list(self.test_outputs or []) + late)
        if err:
            self.raise_cell_error(
                "Cell wrote to stderr: with evcxr that is how a `?` error or a caught panic "
                "shows (the cell still answers 'ok'). Fix the cell, or tag it `allow-stderr` "
                "if the message is expected",
                "\n" + err,
            )

    cell_class.runtest = runtest
    cell_class._gan_tutorial_strict = True


def pytest_collection_modifyitems(session, config, items):
    try:
        from nbval.plugin import IPyNbCell
    except ImportError:  # nbval not installed: nothing to do
        return
    _install(IPyNbCell)
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
