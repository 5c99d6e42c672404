"""The notebooks as lessons: what every notebook has, read from the files (nbval runs them).

* at least two cells nbval checks (``# NBVAL_CHECK_OUTPUT``), in fast and full mode, with or
  without the shared data (CI runs them both ways);
* the first code cell prints the device, the mode and the data (``lesson_setup``);
* models are called through the package's API, which moves inputs to the model's device,
  never through a sub-network (``model.generator(x)``), which would not on a GPU;
* each paper's training notebook writes its objective as an equation, and each paper's
  notebooks end on exercises ("Try it");
* prose comes in short cells.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
ALL = sorted(p for p in NOTEBOOKS.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
PAPERS = ("pix2pix", "contextual_gan", "sketchygan", "edgegan")
CHECKED = "# NBVAL_CHECK_OUTPUT"
SUB_NETWORK_CALL = re.compile(
    r"\.(generator|encoder|edge_generator|image_generator|discriminator|sampler|net)\("
)
LONGEST_PROSE = 250  # words in one markdown cell


def cells(path: Path, kind: str) -> list[str]:
    notebook = json.loads(path.read_text())
    return ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == kind]


def test_the_notebooks_are_found() -> None:
    assert len(ALL) >= 17 and {p.parent.name for p in ALL} >= set(PAPERS)


@pytest.mark.parametrize("path", ALL, ids=lambda p: str(p.relative_to(NOTEBOOKS)))
def test_at_least_two_checked_cells(path: Path) -> None:
    checked = [c for c in cells(path, "code") if c.lstrip().startswith(CHECKED)]
    assert len(checked) >= 2, f"{path.name}: {len(checked)} checked cell(s)"


@pytest.mark.parametrize("path", ALL, ids=lambda p: str(p.relative_to(NOTEBOOKS)))
def test_first_code_cell_prints_device_mode_and_data(path: Path) -> None:
    assert "lesson_setup(" in cells(path, "code")[0], f"{path.name}: no lesson_setup(...) first"


@pytest.mark.parametrize("path", ALL, ids=lambda p: str(p.relative_to(NOTEBOOKS)))
def test_models_are_called_through_the_api(path: Path) -> None:
    calls = [m.group(0) for c in cells(path, "code") for m in SUB_NETWORK_CALL.finditer(c)]
    assert not calls, f"{path.name} calls sub-networks directly: {calls}"


@pytest.mark.parametrize("path", ALL, ids=lambda p: str(p.relative_to(NOTEBOOKS)))
def test_prose_comes_in_short_cells(path: Path) -> None:
    longest = max(len(c.split()) for c in cells(path, "markdown"))
    assert longest <= LONGEST_PROSE, f"{path.name}: a markdown cell of {longest} words"


@pytest.mark.parametrize("paper", PAPERS)
def test_each_paper_states_its_objective_and_ends_on_exercises(paper: str) -> None:
    training = "\n".join(cells(NOTEBOOKS / paper / "02_training.ipynb", "markdown"))
    assert "$$" in training, f"{paper}/02_training: the objective is not written out in LaTeX"
    for path in sorted((NOTEBOOKS / paper).glob("*.ipynb")):
        prose = "\n".join(cells(path, "markdown"))
        assert "Try it" in prose, f"{paper}/{path.name}: no 'Try it' exercises"
