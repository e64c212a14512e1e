"""Checks on the committed notebooks themselves (no kernel needed)."""
import json
import re
from pathlib import Path

import pytest

from nbstrict import expected_output

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
FIXTURES = sorted((Path(__file__).resolve().parent / "fixtures").glob("*.ipynb"))
SETUP_DEP = ':dep gan_tutorial = { path = ".." }'
SETUP_RUSTFLAGS = ":build_env RUSTFLAGS=-Cprefer-dynamic -Clink-arg=-Wl,--no-as-needed -Clink-arg=-ltorch"


def source(cell):
    s = cell["source"]
    return "".join(s) if isinstance(s, list) else s


def output_problems(nb):
    """Code cells that carry outputs or execution counts, as 'cell N: why'."""
    problems = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        if cell.get("outputs"):
            problems.append(f"cell {i}: has {len(cell['outputs'])} output(s)")
        if cell.get("execution_count") is not None:
            problems.append(f"cell {i}: has execution_count {cell['execution_count']}")
    return problems


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks under notebooks/"


@pytest.mark.parametrize("path", NOTEBOOKS + FIXTURES, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    problems = output_problems(json.loads(path.read_text()))
    assert not problems, f"{path.name} is committed with outputs: {problems}. Clear them: .venv/bin/jupyter nbconvert --clear-output --inplace {path}"


def test_the_output_check_catches_outputs():
    nb = {"cells": [{"cell_type": "markdown", "source": "x"},
                    {"cell_type": "code", "source": "1", "outputs": [{"output_type": "stream", "name": "stdout", "text": "1"}], "execution_count": 3}]}
    assert output_problems(nb) == ["cell 1: has 1 output(s)", "cell 1: has execution_count 3"]


def control_characters(nb):
    """Cells whose text holds control characters other than newline, as 'cell N: ...'.

    A notebook written by a script with LaTeX in a plain Python string loses
    backslashes to escapes: "\\varepsilon" becomes a vertical tab and "arepsilon",
    "\\beta" a backspace, "\\frac" a form feed, "\\theta" a tab. Rendered, the
    formula breaks without an error, so check for the characters themselves.
    """
    problems = []
    for i, cell in enumerate(nb["cells"]):
        text = source(cell)
        for m in re.finditer(r"[\x00-\x09\x0b-\x1f\x7f]", text):
            problems.append(f"cell {i}: {m.group()!r} in {text[max(0, m.start() - 30):m.end() + 10]!r}")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_control_characters_in_cells(path):
    problems = control_characters(json.loads(path.read_text()))
    assert not problems, f"{path.name}: a LaTeX backslash was probably eaten as an escape: {problems}"


def test_the_control_character_check_catches_an_eaten_backslash():
    nb = {"cells": [{"cell_type": "markdown", "source": "ok $\\varepsilon$\n"},
                    {"cell_type": "markdown", "source": ["the $\x0barepsilon$ it was trained at"]}]}
    problems = control_characters(nb)
    assert len(problems) == 1 and problems[0].startswith("cell 1: '\\x0b'"), problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_begins_with_setup_then_prelude(path):
    nb = json.loads(path.read_text())
    assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name), f"{path.name}: name notebooks NN_topic.ipynb"
    cells = nb["cells"]
    first, second = cells[0], cells[1]
    assert first["cell_type"] == "code", f"{path.name}: the first cell must be the :dep cell"
    lines = [l.strip() for l in source(first).splitlines() if not l.strip().startswith("//")]
    assert lines == [SETUP_RUSTFLAGS, SETUP_DEP], f"{path.name}: first cell must be exactly the setup cell, got {lines}"
    assert source(second).startswith("use gan_tutorial::prelude::*;"), f"{path.name}: second cell must start with the prelude"
    # Every notebook's setup cell is the same text, so the kernel's warm build serves them all.
    assert source(first) == source(json.loads(NOTEBOOKS[0].read_text())["cells"][0])
    assert nb["metadata"]["kernelspec"]["name"] == "gan_tutorial"


@pytest.mark.parametrize("path", NOTEBOOKS + FIXTURES, ids=lambda p: p.name)
def test_compared_cells_say_what_they_expect(path):
    for i, cell in enumerate(json.loads(path.read_text())["cells"]):
        if "nbval-check-output" in cell.get("metadata", {}).get("tags", []):
            assert isinstance(expected_output(cell), str), f"{path.name} cell {i}: tagged nbval-check-output without expected text"


def test_notebook_01_compares_deterministic_cells_and_tags_its_figures():
    nb = json.loads((ROOT / "notebooks" / "01_vanilla_gan.ipynb").read_text())
    tags = [t for c in nb["cells"] for t in c.get("metadata", {}).get("tags", [])]
    assert tags.count("nbval-check-output") >= 3, tags
    for tag in ["loss-plot", "sample-grid", "sample-row", "real-digits", "training"]:
        assert tag in tags, f"notebook 01 has no cell tagged {tag}"


def test_notebook_02_compares_the_analytic_cells_and_tags_its_figures():
    nb = json.loads((ROOT / "notebooks" / "02_nash_and_2d.ipynb").read_text())
    tags = [t for c in nb["cells"] for t in c.get("metadata", {}).get("tags", [])]
    assert tags.count("nbval-check-output") >= 3, tags
    for tag in ["optimal-d", "training-2d", "bilinear", "mode-collapse", "vanishing"]:
        assert tag in tags, f"notebook 02 has no cell tagged {tag}"
    # The proof's four steps and the three problems each have a section.
    text = "\n".join(source(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    for heading in ["Step 1", "Step 2", "Step 3", "Step 4", "## 2D demo", "Non-convergence", "Mode collapse", "Vanishing gradients"]:
        assert heading in text, f"notebook 02 lacks {heading!r}"


def test_notebook_03_trains_every_variant_and_measures_each_tip():
    nb = json.loads((ROOT / "notebooks" / "03_gan_family.ipynb").read_text())
    tags = [t for c in nb["cells"] for t in c.get("metadata", {}).get("tags", [])]
    assert tags.count("nbval-check-output") >= 1, tags
    for tag in ["family-losses", "family-samples", "quality-table", "sn-gradients", "sn-table", "tips-table", "failure-checks"]:
        assert tag in tags, f"notebook 03 has no cell tagged {tag}"
    code = "\n".join(source(c) for c in nb["cells"] if c["cell_type"] == "code")
    for variant in ["Vanilla", "Dcgan", "Lsgan", "Wgan", "WganGp", "Sngan"]:
        assert f"Variant::{variant}" in code, f"notebook 03 does not train {variant}"
    for tip in ["with_label_smoothing", "with_label_flip", "with_instance_noise", "LatentDist::Uniform", "with_lrs", "with_n_dis"]:
        assert tip in code, f"notebook 03 does not measure {tip}"
    assert "DNorm::Spectral" in code, "the assignment's spectral-norm runs are missing"
    # Salimans et al.'s and ganhacks' tricks, compared over seeds, and the loss-balance anti-pattern.
    for trick in ["with_soft_labels", "GActivation::LeakyRelu", "Downsample::AvgPool", "Upsample::PixelShuffle", "DNorm::Instance",
                  "with_feature_matching", "with_minibatch_discrimination", "with_historical_averaging", "with_virtual_batch_norm",
                  "with_loss_balance", "with_d_loss_variance_check", "compare_over_seeds"]:
        assert trick in code, f"notebook 03 does not measure {trick}"
    for tag in ["tricks-table", "balance-table", "balance-losses"]:
        assert tag in tags, f"notebook 03 has no cell tagged {tag}"
    text = "\n".join(source(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    for topic in ["gradient penalty", "per sample", "spectral normalisation", "Fréchet", "precision", "recall", "label smoothing", "instance noise"]:
        assert topic.lower() in text.lower(), f"notebook 03 does not teach {topic}"


def test_notebook_04_conditions_and_walks_the_latent_space():
    nb = json.loads((ROOT / "notebooks" / "04_conditional_and_latent.ipynb").read_text())
    tags = [t for c in nb["cells"] for t in c.get("metadata", {}).get("tags", [])]
    for tag in ["cgan-samples", "acgan-samples", "conditional-table", "chosen-digits", "class-sweep", "interpolation", "arithmetic", "arithmetic-figure"]:
        assert tag in tags, f"notebook 04 has no cell tagged {tag}"
    code = "\n".join(source(c) for c in nb["cells"] if c["cell_type"] == "code")
    for call in ["Variant::Cgan", "Variant::Acgan", "Interp::Spherical", "Interp::Linear", "class_sweep", "latent_arithmetic"]:
        assert call in code, f"notebook 04 does not call {call}"


def test_notebook_05_compares_settings_and_tags_its_figures():
    nb = json.loads((ROOT / "notebooks" / "05_adversarial_attacks.ipynb").read_text())
    tags = [t for c in nb["cells"] for t in c.get("metadata", {}).get("tags", [])]
    assert tags.count("nbval-check-output") >= 2, tags
    assert tags.count("accuracy-plot") == 3, tags
    for tag in ["adv-figure", "fgsm-example", "attack-study", "results-table"]:
        assert tag in tags, f"notebook 05 has no cell tagged {tag}"
    text = "".join(source(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    for topic in ["White box", "Black box", "FGSM", "linearity", "PGD", "patch", "transfer", "adversarial training", "distillation", "gradient"]:
        assert topic.lower() in text.lower(), f"notebook 05 does not teach {topic}"


def test_notebook_06_attacks_d_while_it_trains_and_poses_exercises():
    nb = json.loads((ROOT / "notebooks" / "06_adversarial_training_of_gans.ipynb").read_text())
    tags = [t for c in nb["cells"] for t in c.get("metadata", {}).get("tags", [])]
    for tag in ["flip-table", "flip-pictures", "flip-curve", "arms-table", "lipschitz-over-training", "clamp-order", "study", "study-figure", "check"]:
        assert tag in tags, f"notebook 06 has no cell tagged {tag}"
    # Questions come before their answers: every solution follows an exercise.
    kinds = [k for c in nb["cells"] for k in c.get("metadata", {}).get("tags", []) if k in ("exercise", "solution")]
    assert kinds.count("solution") >= 3 and kinds[0] == "exercise", kinds
    for i, k in enumerate(kinds):
        if k == "solution":
            assert "exercise" in kinds[:i], f"solution {i} comes before any exercise"
    code = "".join(source(c) for c in nb["cells"] if c["cell_type"] == "code")
    for call in ["DAttack::Fgsm", "DAttack::Dat", "clamp_first: true", "flip_demo", "train_arms", "run_study", "study_report"]:
        assert call in code, f"notebook 06 does not call {call}"
    text = "".join(source(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    for topic in ["adversarial examples", "FGSM", "DAT", "Lipschitz", "WGAN-GP", "SNGAN", "paired difference", "95%"]:
        assert topic.lower() in text.lower(), f"notebook 06 does not teach {topic}"


def exercise_problems(nb):
    """Where a notebook's exercises break "questions before answers", as 'cell N: why'.

    The tags `exercise`, `solution` and `check` mark a question (or a student's
    code cell), its answer, and a cell that tells the student whether their code
    is right. Every exercise must be answered by a solution before the next
    exercise begins; no solution may come before an exercise it answers; and a
    check must come after the solution of the exercise it checks, so that in
    the instructor's copy it runs against the right answer and in the students'
    copy (solutions removed) against their own.
    """
    problems = []
    open_exercise = None  # index of the exercise waiting for its solution
    answered = False  # whether the last exercise has its solution
    kinds = []
    for i, cell in enumerate(nb["cells"]):
        tags = cell.get("metadata", {}).get("tags", [])
        if "exercise" in tags and "solution" in tags:
            problems.append(f"cell {i}: tagged both exercise and solution")
            continue
        if "exercise" in tags:
            if open_exercise is not None:
                problems.append(f"cell {open_exercise}: exercise without a solution before the next exercise (cell {i})")
            open_exercise, answered = i, False
            kinds.append("exercise")
        elif "solution" in tags:
            if open_exercise is None and not answered:
                problems.append(f"cell {i}: solution before any exercise it could answer")
            open_exercise, answered = None, True
            kinds.append("solution")
        if "check" in tags:
            last = kinds[-1] if kinds else None
            if last != "solution" or "solution" in tags or "exercise" in tags:
                problems.append(f"cell {i}: check cell not after a solution")
    if open_exercise is not None:
        problems.append(f"cell {open_exercise}: exercise without a solution")
    if kinds.count("exercise") < 3:
        problems.append(f"{kinds.count('exercise')} exercise(s): pose at least three")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_exercises_come_before_their_solutions(path):
    problems = exercise_problems(json.loads(path.read_text()))
    assert not problems, f"{path.name}: {problems}"


def test_the_exercise_check_catches_answers_out_of_order():
    def cell(*tags):
        return {"cell_type": "markdown", "metadata": {"tags": list(tags)}, "source": "x"}
    good = [cell("exercise"), cell("solution"), cell("exercise"), cell("solution"), cell("check"), cell(), cell("exercise"), cell(), cell("solution")]
    assert exercise_problems({"cells": good}) == []
    # A second solution to one exercise (notebook 06 answers a question posed in an untagged cell so) is allowed.
    assert exercise_problems({"cells": good + [cell("solution")]}) == []
    assert exercise_problems({"cells": [cell("solution")] + good}) == ["cell 0: solution before any exercise it could answer"]
    assert exercise_problems({"cells": [cell("exercise"), cell("exercise"), cell("solution"), cell("exercise"), cell("solution")]}) == [
        "cell 0: exercise without a solution before the next exercise (cell 1)"]
    assert exercise_problems({"cells": good + [cell("exercise")]}) == ["cell 9: exercise without a solution"]
    assert exercise_problems({"cells": [cell("exercise"), cell("check"), cell("solution")] + good}) == ["cell 1: check cell not after a solution"]
    assert exercise_problems({"cells": good[:4]}) == ["2 exercise(s): pose at least three"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_solutions_are_hidden_and_code_exercises_are_checked(path):
    """Solution cells are collapsed in JupyterLab (a code solution's output too), and every code exercise is
    followed by its code solution and then a check cell whose expected text is "correct"."""
    cells = json.loads(path.read_text())["cells"]
    for i, cell in enumerate(cells):
        tags = cell.get("metadata", {}).get("tags", [])
        if "solution" in tags:
            hidden = cell["metadata"].get("jupyter", {})
            assert hidden.get("source_hidden") is True, f"{path.name} cell {i}: a solution cell must set jupyter.source_hidden"
            if cell["cell_type"] == "code":
                assert hidden.get("outputs_hidden") is True, f"{path.name} cell {i}: a code solution must set jupyter.outputs_hidden"
        if "exercise" in tags and cell["cell_type"] == "code":
            solution, check = cells[i + 1], cells[i + 2]
            assert solution["cell_type"] == "code" and "solution" in solution["metadata"].get("tags", []), f"{path.name} cell {i}: a code exercise is followed by its code solution"
            assert "check" in check["metadata"].get("tags", []), f"{path.name} cell {i + 2}: a code solution is followed by its check"
            assert expected_output(check) == "correct\n", f"{path.name} cell {i + 2}: the check must say 'correct' against the solution"
