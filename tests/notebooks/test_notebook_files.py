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
