"""The pieces that let a test run execute each notebook once, and the
students' cut of the lecture, checked without a kernel.

- nbstrict.executed_notebook: the copy nbval's run leaves is complete or
  absent (a cell without outputs on record, i.e. failed or skipped, means no
  copy);
- render_lecture.reuse_executed: a copy is reused only when its cells are the
  notebook's and it ran in the wanted mode;
- render_lecture.student_version / blank_notebook: solutions removed,
  exercise and check outputs cleared, nothing else touched.
"""
import importlib.util
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from nbstrict import executed_notebook

ROOT = Path(__file__).resolve().parents[2]


def load_render_lecture():
    spec = importlib.util.spec_from_file_location("render_lecture", ROOT / "scripts" / "render_lecture.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


render_lecture = load_render_lecture()


def tagged(cell, *tags):
    cell.metadata["tags"] = list(tags)
    return cell


def lesson():
    return new_notebook(cells=[
        new_code_cell(":dep gan_tutorial"),
        new_markdown_cell("## Exercise\nWhy is D* = 1/2 at equilibrium?"),
        tagged(new_markdown_cell("**Solution.** Because p_g = p_data makes the ratio one half."), "solution"),
        tagged(new_code_cell("fn step() -> f64 { 0.0 } // replace this line"), "exercise"),
        tagged(new_code_cell("fn step() -> f64 { 42.0 }"), "solution"),
        tagged(new_code_cell('println!("{}", if step() == 42.0 { "correct" } else { "not yet" });'), "check"),
        new_code_cell('println!("a plot");'),
    ])


def run_outputs(nb):
    """Outputs as nbval's run would record them, by id of each code cell."""
    return {id(c): [new_output("stream", name="stdout", text=f"out {i}\n")]
            for i, c in enumerate(nb.cells) if c.cell_type == "code"}


def test_executed_copy_holds_every_cells_outputs_numbered_in_order():
    nb = lesson()
    done = executed_notebook(nb, run_outputs(nb))
    code = [c for c in done.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == [1, 2, 3, 4, 5]
    assert all(c.outputs and c.outputs[0]["text"].startswith("out ") for c in code)
    # The notebook itself is not changed.
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_a_cell_without_outputs_on_record_means_no_copy():
    nb = lesson()
    outputs = run_outputs(nb)
    del outputs[id(nb.cells[5])]  # the check cell failed (or was skipped)
    assert executed_notebook(nb, outputs) is None


def test_students_get_no_solution_and_no_exercise_or_check_outputs():
    nb = lesson()
    done = executed_notebook(nb, run_outputs(nb))
    student = render_lecture.student_version(done)
    assert len(student.cells) == len(done.cells) - 2
    assert not [c for c in student.cells if "solution" in c.metadata.get("tags", [])]
    text = nbformat.writes(student)
    assert "{ 42.0 }" not in text and "p_g = p_data makes" not in text
    by_tag = {t: c for c in student.cells for t in c.metadata.get("tags", [])}
    assert by_tag["exercise"].outputs == [] and by_tag["check"].outputs == []
    # Untagged cells keep what the run printed.
    assert student.cells[-1].outputs[0]["text"] == "out 6\n"
    assert all(not c.get("outputs") for c in render_lecture.blank_notebook(student).cells if c.cell_type == "code")


@pytest.fixture
def executed_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_TUTORIAL_NOTEBOOK_MODE", "quick")
    nb = lesson()
    done = executed_notebook(nb, run_outputs(nb))
    done.metadata["gan_tutorial"] = {"executed": {"mode": "quick"}}
    nbformat.write(done, tmp_path / "01_lesson.ipynb")
    return tmp_path


def test_a_matching_copy_is_reused(executed_dir):
    got = render_lecture.reuse_executed(lesson(), "01_lesson", executed_dir, require=True)
    assert got is not None and got.cells[-1].outputs


def test_a_copy_of_other_cells_is_never_reused(executed_dir):
    changed = lesson()
    changed.cells[3].source = "fn step() -> f64 { 1.0 }"
    with pytest.raises(render_lecture.RenderError, match="other cell sources"):
        render_lecture.reuse_executed(changed, "01_lesson", executed_dir, require=True)
    assert render_lecture.reuse_executed(changed, "01_lesson", executed_dir, require=False) is None


def test_a_copy_from_another_mode_is_never_reused(executed_dir, monkeypatch):
    monkeypatch.setenv("GAN_TUTORIAL_NOTEBOOK_MODE", "full")
    with pytest.raises(render_lecture.RenderError, match="another run mode"):
        render_lecture.reuse_executed(lesson(), "01_lesson", executed_dir, require=True)


def test_a_missing_copy_is_an_error_when_required(tmp_path):
    with pytest.raises(render_lecture.RenderError, match="no executed copy"):
        render_lecture.reuse_executed(lesson(), "01_lesson", tmp_path, require=True)
