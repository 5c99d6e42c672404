"""The written parts read as a product, not as a lab notebook.

* Every model module opens on its paper in at most 40 docstring lines (findings and
  measurements live in ``docs/findings/``).
* The README is a front door: at most 150 lines, the first picture within its first 30, the
  two commands, and links into ``docs/`` that resolve.
* ``docs/checkpoints.md`` shows the shipped cards' figures as they are
  (``benchmarks/card_table.py`` prints the table).
* No process talk in the product, its docs, tests, notebooks and benchmarks: no issue
  numbers, no commit hashes, no remarks about how loaded the machine was.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "sketchwidgets" / "models"
README = REPO / "README.md"
MAX_MODEL_DOCSTRING_LINES = 40
MAX_README_LINES = 150
FIRST_PICTURE_BY_LINE = 30

# Trees kept free of process talk, and the files read there (cards, *.json, carry sha256 sums)
PROSE_TREES = ("sketchwidgets", "docs", "tests", "notebooks", "benchmarks")
PROSE_SUFFIXES = {".py", ".md", ".ipynb", ".sh", ".txt", ".toml", ".cfg"}
HEX = r"(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{7,40}"  # letters and digits both
PROCESS_TALK = {
    "an issue number": re.compile(r"\bissues?\s+#?\d+", re.IGNORECASE),
    "a '#NN' reference": re.compile(r"(?<![\w&/#])#\d{2,5}\b(?![0-9a-fA-F])"),
    "a commit hash": re.compile(
        rf"\bcommit(?:s|ted)?\b[^\n]{{0,30}}?\b{HEX}\b|\b{HEX}\b[^\n]{{0,30}}?\bcommit",
        re.IGNORECASE,
    ),
    "a remark about machine load": re.compile(
        r"shared (?:2-core )?(?:CPU|machine)|shared the CPU|load average"
        r"|under (?:heavy |heavier )?load|busy (?:machine|CPU)|quiet(?:er)? CPU"
        r"|other (?:training )?jobs|other trainings|(?:machine|CPU)'s load|with its load",
        re.IGNORECASE,
    ),
}


# --------------------------------------------------------------------------- model modules


def _docstring_lines(path: Path) -> int:
    docstring = ast.get_docstring(ast.parse(path.read_text()), clean=False)
    return len(docstring.splitlines()) if docstring else 0


def test_no_model_module_docstring_is_longer_than_40_lines():
    lengths = {p.name: _docstring_lines(p) for p in sorted(MODELS.glob("*.py"))}
    assert "contextual_gan.py" in lengths and "edgegan.py" in lengths
    too_long = {name: n for name, n in lengths.items() if n > MAX_MODEL_DOCSTRING_LINES}
    assert not too_long, f"module docstrings over {MAX_MODEL_DOCSTRING_LINES} lines: {too_long}"


@pytest.mark.parametrize("name", ["pix2pix", "contextual_gan", "sketchygan", "edgegan"])
def test_each_paper_module_lists_its_departures_and_has_a_findings_page(name):
    docstring = ast.get_docstring(ast.parse((MODELS / f"{name}.py").read_text()))
    assert "\nDepartures" in docstring, f"{name}.py has no 'Departures' list"
    assert (REPO / "docs" / "findings" / f"{name}.md").is_file()


# --------------------------------------------------------------------------- the README


def test_the_readme_is_a_front_door():
    lines = README.read_text().splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines"
    pictures = [i for i, line in enumerate(lines, 1) if re.search(r"!\[[^\]]*\]\(", line)]
    assert pictures and pictures[0] <= FIRST_PICTURE_BY_LINE, pictures[:1]
    assert "docs/screenshots/studio.png" in lines[pictures[0] - 1]
    text = "\n".join(lines)
    assert "bash .ci/lab" in text and "bash .ci/test" in text


def test_every_relative_link_in_the_docs_resolves():
    documents = [README, *sorted((REPO / "docs").rglob("*.md"))]
    documents += sorted((REPO / "benchmarks").rglob("*.md"))
    broken = []
    for document in documents:
        for target in re.findall(r"\]\(([^)\s]+)\)", document.read_text()):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            if not (document.parent / target.split("#")[0]).exists():
                broken.append(f"{document.relative_to(REPO)}: {target}")
    assert not broken, broken


# --------------------------------------------------------------------------- process talk


def _notebook_text(path: Path) -> str:
    """What a reader sees of a notebook: cell sources and the text of stored outputs."""
    notebook = json.loads(path.read_text())
    parts = []
    for cell in notebook["cells"]:
        parts.append("".join(cell["source"]))
        for output in cell.get("outputs", []):
            parts.append("".join(output.get("text", "")))
            parts.append("".join(output.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


def _prose_files() -> Iterator[Path]:
    """README.md and the prose-bearing files of the trees, hidden folders (caches) left out."""
    yield README
    this_file = Path(__file__).resolve()
    for tree in PROSE_TREES:
        for path in sorted((REPO / tree).rglob("*")):
            hidden = any(part.startswith(".") for part in path.relative_to(REPO).parts)
            if path.is_file() and path.suffix in PROSE_SUFFIXES and not hidden:
                if path.resolve() != this_file:
                    yield path


def process_talk(text: str) -> list[str]:
    """``"<what>: <the words>"`` for every piece of process talk in ``text``."""
    found = []
    for what, pattern in PROCESS_TALK.items():
        found += [f"{what}: {m.group(0)!r}" for m in pattern.finditer(text)]
    return found


def test_the_checkpoint_table_is_the_shipped_cards():
    from sketchwidgets import pretrained
    from sketchwidgets.eval.checkpoint_cards import shipped_table

    table = shipped_table(pretrained.available())
    assert table in (REPO / "docs" / "checkpoints.md").read_text(), (
        "docs/checkpoints.md is stale: paste the output of python benchmarks/card_table.py"
    )


def test_no_issue_numbers_commit_hashes_or_machine_load_remarks():
    hits = []
    for path in _prose_files():
        text = _notebook_text(path) if path.suffix == ".ipynb" else path.read_text()
        hits += [f"{path.relative_to(REPO)}: {hit}" for hit in process_talk(text)]
    assert not hits, "\n".join(hits)


@pytest.mark.parametrize(
    "text",
    [
        "measured while two other trainings shared the CPU",
        "the CPU's load varied",
        "as issue #11 asks",
        "see #13 for why",
        "shipped until commit a99f5d7",
        "(commit 860fb24) IoU 0.29",
        "0.03 under load",
        "load average 5.7",
    ],
)
def test_the_process_talk_patterns_catch_what_they_are_for(text):
    assert process_talk(text), text


@pytest.mark.parametrize(
    "text",
    [
        "colour = '#1f77b4'",
        "fill: #ffffff; stroke: #000000",
        "sha256 3f2a9c81d0b4e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1",
        "the committed outputs come from a reduced setting",
        "sysu-imsl/EdgeGAN, train.py at revision 11be85e",
        "# 64 steps",
        "&#39;quoted&#39;",
        "the shared pool of 1024 codes",
    ],
)
def test_the_process_talk_patterns_leave_legitimate_text_alone(text):
    assert not process_talk(text), process_talk(text)


def test_the_readmes_ten_lines_run(tmp_path, monkeypatch):
    """The README's "In ten lines", run as written but for 2 steps of a narrow model."""
    block = re.search(r"## In ten lines\n\n```python\n(.*?)```", README.read_text(), re.S)
    assert block, "README.md has no 'In ten lines' python block"
    code = block.group(1)
    assert len(code.strip().splitlines()) <= 10
    smaller = {"steps=2000": "steps=2", "image_size=64)": "image_size=64, ngf=8, ndf=8)"}
    for written, quick in smaller.items():
        assert written in code
        code = code.replace(written, quick)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # the README's own code
    image = namespace["image"]
    assert image.shape == (64, 64, 3) and image.dtype.name == "uint8"
    assert (tmp_path / "runs" / "p2p" / "checkpoints" / "last.pt").is_file()
    assert type(namespace["model"]).__name__ == "Pix2Pix"
