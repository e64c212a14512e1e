"""The notebook run is strict: every way a Rust cell can fail makes it fail.

Runs the real nbval + Jupyter + gan_tutorial kernel (as `make test` does) on
deliberately failing notebooks in fixtures/ and checks that each is reported
failing, at the right cell, for the right reason; and that the control
notebook passes under the same run. Without this project's strict plugin
(`--noconftest`), evcxr's defaults let a panic and a `?` error pass: that
run is checked too, so the test shows the plugin is what catches them.
"""
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def run_nbval(tmp_path, notebooks, *extra):
    """Runs pytest on `notebooks`; returns (exit code, {notebook stem: [(cell, failure message or None)]})."""
    xml = tmp_path / "junit.xml"
    env = {k: v for k, v in os.environ.items() if k != "GAN_TUTORIAL_STRICT"}
    cmd = [sys.executable, "-m", "pytest", "-q", f"--junitxml={xml}", *extra, *map(str, notebooks)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    results = {}
    for case in ET.parse(xml).getroot().iter("testcase"):
        cls = case.get("classname", "")  # e.g. tests.notebooks.fixtures.panic.ipynb
        stem = cls.removesuffix(".ipynb").rsplit(".", 1)[-1]
        failure = case.find("failure")
        if failure is None:
            failure = case.find("error")
        message = None if failure is None else (failure.get("message", "") + "\n" + (failure.text or ""))
        results.setdefault(stem, []).append((case.get("name"), message))
    return proc.returncode, results, proc.stdout + proc.stderr


def failures(results, stem):
    return [(name, msg) for name, msg in results.get(stem, []) if msg is not None]


@pytest.fixture(scope="module")
def strict_run(tmp_path_factory):
    names = ["compile_error", "panic", "question_mark", "wrong_output", "passing"]
    return run_nbval(tmp_path_factory.mktemp("strict"), [FIXTURES / f"{n}.ipynb" for n in names])


def test_the_strict_run_fails(strict_run):
    code, results, out = strict_run
    assert code == 1, f"pytest exit {code}, expected 1 (tests failed)\n{out[-3000:]}"
    assert set(results) >= {"compile_error", "panic", "question_mark", "wrong_output", "passing"}, (results.keys(), out[-3000:])


@pytest.mark.parametrize(
    "stem, cell, reason",
    [
        ("compile_error", "Cell 2", "mismatched types"),
        ("panic", "Cell 2", "Cell execution caused an exception"),
        ("question_mark", "Cell 2", "Cell wrote to stderr"),
        ("wrong_output", "Cell 1", "Cell outputs differ"),
    ],
)
def test_each_failing_notebook_fails_at_its_cell(strict_run, stem, cell, reason):
    _, results, out = strict_run
    failed = failures(results, stem)
    assert [name for name, _ in failed] == [cell], f"{stem}: failed cells {failed}\n{out[-3000:]}"
    assert reason in failed[0][1], failed[0][1]


def test_the_question_mark_error_is_shown(strict_run):
    _, results, _ = strict_run
    (_, msg), = failures(results, "question_mark")
    assert "lr_g" in msg and "positive" in msg, msg


def test_the_control_notebook_passes(strict_run):
    _, results, out = strict_run
    assert results["passing"] and not failures(results, "passing"), out[-3000:]


def test_without_the_plugin_evcxr_lets_panics_and_question_marks_pass(tmp_path):
    code, results, out = run_nbval(tmp_path, [FIXTURES / "panic.ipynb", FIXTURES / "question_mark.ipynb"], "--noconftest")
    assert code == 0, f"expected evcxr's defaults to pass these (that is the hole the plugin closes)\n{out[-3000:]}"
    assert not failures(results, "panic") and not failures(results, "question_mark")
