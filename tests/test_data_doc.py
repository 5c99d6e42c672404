"""``docs/data.md`` documents every data folder the code looks for, as the folders really are.

* The folder names are collected from the code, so no folder can be read without a section of
  its own: the ``source`` of each data set in ``sketchwidgets.pretrained.DATASETS``,
  ``recipe_data.CUFS_FOLDER``, and every string passed to a look-up (``find_shared_data``,
  ``shared_data_folder``, ``lesson_setup``, the tests' ``shared_data``) in the package, the
  benchmarks, the notebooks and the tests.
* Each section gives the official source, the terms, the layout, the importer, how to make the
  folder from the official release, and what happens without it; the functions it names exist.
* Each layout is checked against the real folder where the data is on this machine, and every
  real folder has a section.
* The doc's recipes for the official releases run on tiny stand-ins, and the package's recipes
  read what they write.
"""

from __future__ import annotations

import ast
import csv
import fnmatch
import importlib
import json
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from sketchwidgets import pretrained
from sketchwidgets.data import shared
from sketchwidgets.io import write_image
from sketchwidgets.train import recipe_data

REPO = Path(__file__).resolve().parents[1]
DATA_DOC = REPO / "docs" / "data.md"
CODE_TREES = ("sketchwidgets", "benchmarks", "notebooks", "tests")
LOOKUPS = {"find_shared_data", "shared_data_folder", "lesson_setup", "shared_data"}
EMBEDDED = "embedded"  # DATASETS' source of the classroom set, which the package draws itself
FIELDS = (
    "Official source",
    "Terms",
    "Layout",
    "Importer",
    "Make it from the official release",
    "Without it",
)
MODULE_PACKAGES = ("sketchwidgets.data", "sketchwidgets.train")
FILE_SUFFIXES = {"csv", "md", "txt", "png", "jpg", "ndjson", "py", "ipynb", "json"}

# --------------------------------------------------------------------------- the code


def _called_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else ""


def folder_names_in(source: str) -> set[str]:
    """The string literals passed to a folder look-up in Python ``source``."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and _called_name(node.func) in LOOKUPS:
            names |= {
                arg.value
                for arg in node.args
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
            }
    return names


def _code_sources() -> Iterator[tuple[Path, str]]:
    """Every Python file and notebook code cell of the trees, hidden folders left out."""
    for tree in CODE_TREES:
        for path in sorted((REPO / tree).rglob("*")):
            if any(part.startswith(".") for part in path.relative_to(REPO).parts):
                continue
            if path.suffix == ".py":
                yield path, path.read_text()
            elif path.suffix == ".ipynb":
                for cell in json.loads(path.read_text())["cells"]:
                    if cell["cell_type"] == "code":
                        lines = "".join(cell["source"]).splitlines()
                        # IPython magics (%matplotlib inline) are not Python
                        yield path, "\n".join(x for x in lines if not x.lstrip().startswith("%"))


def folders_the_code_looks_for() -> dict[str, set[str]]:
    """``{folder name: where it is looked for}``."""
    found: dict[str, set[str]] = {}
    sources = {d["source"] for d in pretrained.DATASETS.values()} - {EMBEDDED}
    for name in sources:
        found.setdefault(name, set()).add("pretrained.DATASETS")
    found.setdefault(recipe_data.CUFS_FOLDER, set()).add("recipe_data.CUFS_FOLDER")
    for path, source in _code_sources():
        for name in folder_names_in(source):
            found.setdefault(name, set()).add(str(path.relative_to(REPO)))
    return found


# --------------------------------------------------------------------------- the doc


def doc_sections() -> dict[str, str]:
    """``{folder name: its section's text}`` for the ``## `folder` ...`` sections."""
    sections = {}
    for part in re.split(r"\n(?=## )", DATA_DOC.read_text()):
        heading = re.match(r"## `([\w-]+)`", part)
        if heading:
            sections[heading.group(1)] = part
    return sections


def _block(section: str, field: str, language: str) -> str:
    """The first ``language`` code block after ``**field:**`` in a section, dedented."""
    after = section.split(f"**{field}:**", 1)[1]
    block = re.search(rf"```{language}\n(.*?)\n\s*```", after, re.S)
    assert block, f"no {language} block after {field!r}"
    return textwrap.dedent(block.group(1))


def layout_patterns(section: str) -> tuple[str, list[str]]:
    """The layout's folder line and its entries as glob patterns (CAPITALS stand for a name)."""
    lines = [line for line in _block(section, "Layout", "text").splitlines() if line.strip()]
    return lines[0], [re.sub(r"[A-Z]+", "*", line.split()[0]) for line in lines[1:]]


def _resolves(dotted: str) -> bool:
    """Whether ``module.attr`` (under the package's data/train) or ``sketchwidgets.x.y`` exists."""
    parts = dotted.split(".")
    if parts[0] == "sketchwidgets":
        candidates = [parts]
    else:
        candidates = [[*package.split("."), *parts] for package in MODULE_PACKAGES]
    for candidate in candidates:
        for cut in range(len(candidate), 1, -1):
            try:
                target = importlib.import_module(".".join(candidate[:cut]))
            except ImportError:
                continue
            for attr in candidate[cut:]:
                target = getattr(target, attr, None)
            if target is not None:
                return True
            break
    return False


def named_functions(text: str) -> list[str]:
    """Backticked ``module.name`` references whose module is one of the package's."""
    modules = {
        p.stem for pkg in ("data", "train") for p in (REPO / "sketchwidgets" / pkg).glob("*.py")
    }
    found = re.findall(r"`((?:sketchwidgets\.)?[a-z_]+(?:\.[A-Za-z_]\w*)+)", text)
    found = [ref for ref in found if ref.rsplit(".", 1)[1] not in FILE_SUFFIXES]  # pairs.csv
    return [
        ref for ref in found if ref.startswith("sketchwidgets.") or ref.split(".")[0] in modules
    ]


# --------------------------------------------------------------------------- tests: names


def test_the_lookups_are_read_from_code():
    source = textwrap.dedent(
        """
        a = find_shared_data("one")
        b = recipe_data.shared_data_folder("two") / "data"
        lesson_setup("three", "four")
        find_shared_data(name)
        print("five")
        """
    )
    assert folder_names_in(source) == {"one", "two", "three", "four"}


def test_the_code_is_read_in_every_tree():
    found = folders_the_code_looks_for()
    recipes = {d["source"] for d in pretrained.DATASETS.values()} - {EMBEDDED}
    assert recipes | {recipe_data.CUFS_FOLDER} <= set(found)
    places = {place.split("/")[0] for where in found.values() for place in where}
    assert {"benchmarks", "notebooks", "tests"} <= places, places


def test_every_folder_the_code_looks_for_has_a_section():
    sections = doc_sections()
    missing = {name: sorted(where) for name, where in folders_the_code_looks_for().items()}
    missing = {name: where for name, where in missing.items() if name not in sections}
    assert not missing, f"folders with no '## `name`' section in docs/data.md: {missing}"


@pytest.mark.parametrize("name", sorted(doc_sections()))
def test_each_section_gives_source_terms_layout_importer_and_fallback(name):
    section = doc_sections()[name]
    absent = [field for field in FIELDS if f"**{field}:**" not in section]
    assert not absent, f"section {name}: no {absent}"
    source = section.split("**Official source:**", 1)[1].split("\n- **", 1)[0]
    assert re.search(r"<https?://", source), f"section {name}: no link to the official source"
    assert layout_patterns(section)[0] == f"{name}/"
    importer = section.split("**Importer:**", 1)[1].split("\n- **", 1)[0]
    assert named_functions(importer), f"section {name}: its importer line names no function"


def test_every_function_the_doc_names_exists():
    names = named_functions(DATA_DOC.read_text())
    assert len(names) >= 10
    missing = sorted({name for name in names if not _resolves(name)})
    assert not missing, f"docs/data.md names what the package lacks: {missing}"


def test_the_pointers_and_messages_are_the_packages(monkeypatch, capsys):
    text = DATA_DOC.read_text()
    monkeypatch.setenv(shared.DATA_ENV, shared.HIDDEN)
    assert f"{shared.DATA_ENV}={shared.HIDDEN}" in text
    assert "SKETCHWIDGETS_REQUIRE_SHARED=1" in text
    from sketchwidgets.train.lesson import lesson_setup

    assert lesson_setup("edges2shoes_subset") is None
    printed = capsys.readouterr().out.strip()
    assert printed.split("| data: ")[1] in text
    with pytest.raises(FileNotFoundError) as missing:
        shared.shared_data_folder("celeba_xdog_joint64")
    assert f"error: {missing.value}" in text


# --------------------------------------------------------------------------- tests: real data


@pytest.mark.parametrize("name", sorted(doc_sections()))
def test_the_layout_is_the_real_folders(name, shared_data):
    folder = shared_data(name)
    _, patterns = layout_patterns(doc_sections()[name])
    unmatched = [pattern for pattern in patterns if not next(folder.glob(pattern), None)]
    assert not unmatched, f"{folder}: nothing matches {unmatched}"
    tops = {pattern.split("/")[0] for pattern in patterns}
    undocumented = [
        entry.name
        for entry in folder.iterdir()
        if not any(fnmatch.fnmatchcase(entry.name, top) for top in tops)
    ]
    assert not undocumented, f"{folder}: the layout leaves out {undocumented}"


def test_every_data_folder_here_has_a_section():
    roots = [root for root in shared.data_roots() if root.is_dir()]
    if not roots:
        pytest.skip("no data folder on this machine")
    sections = doc_sections()
    folders = {entry.name for root in roots for entry in root.iterdir() if entry.is_dir()}
    assert folders and not folders - set(sections), sorted(folders - set(sections))


# --------------------------------------------------------------------------- tests: recipes


def _image(height: int, width: int, colour: tuple[int, int, int]) -> np.ndarray:
    return np.broadcast_to(np.array(colour, np.uint8), (height, width, 3)).copy()


def _celeba_release(base: Path) -> None:
    rng = np.random.default_rng(0)
    for index in range(1, 4):
        photo = rng.integers(0, 256, (218, 178, 3), dtype=np.uint8)
        write_image(base / "img_align_celeba" / f"{index:06d}.jpg", photo)


def _sketchy_release(base: Path) -> None:
    folder = base / "data" / "sketchy_subset"
    release = folder / "rendered_256x256" / "256x256"
    photo, sketch = _image(32, 32, (200, 100, 50)), _image(32, 32, (255, 255, 255))
    for name in ("cat", "cup"):
        for number in range(1, 6):
            photo_id = f"n{name}_{number}"
            write_image(release / "photo/tx_000000000000" / name / f"{photo_id}.jpg", photo)
            for n in (1, 2):
                write_image(
                    release / "sketch/tx_000000000000" / name / f"{photo_id}-{n}.png", sketch
                )
    (folder / "info").mkdir()
    (folder / "info" / "invalid-error.txt").write_text("ncat_1-2\n")


def _edges_release(base: Path) -> None:
    for source, colour in (("edges2shoes", (255, 0, 0)), ("edges2handbags", (0, 0, 255))):
        for split in ("train", "val"):
            for index in range(1, 4):
                edges_photo = np.concatenate(
                    [_image(32, 32, (255,) * 3), _image(32, 32, colour)], 1
                )
                write_image(base / source / split / f"{index}_AB.jpg", edges_photo)


def _check_faces(base: Path) -> None:
    train, held_out = recipe_data.splits(pretrained.RECIPES["pix2pix/faces"])
    assert (len(train), len(held_out)) == (2, 1)
    item = train[0]
    assert item["sketch"].shape == (1, 64, 64) and item["photo"].shape == (3, 64, 64)


def _check_sketchy(base: Path) -> None:
    from sketchwidgets.data.sketchy import import_sketchy_pairs, unpaired_photos

    folder = base / "data" / "sketchy_subset"
    pairs = import_sketchy_pairs(folder)
    assert len(pairs) == 15  # 4 photos x 2 sketches x 2 classes, one sketch listed invalid
    pool = unpaired_photos(folder, ["cat", "cup"])
    assert sorted(photo.stem for photo, _ in pool) == ["ncat_5", "ncup_5"]
    with (folder / "pairs.csv").open(newline="") as handle:
        assert next(csv.reader(handle)) == ["class", "photo_id", "sketch", "photo"]
    train, held_out = recipe_data.splits(pretrained.RECIPES["sketchygan/sketchy"])
    assert len(train) + len(held_out) == 15 and len(held_out) > 0


def _check_shoes_handbags(base: Path) -> None:
    from sketchwidgets.data.edgegan_format import shoes_handbags

    train = shoes_handbags(base / "data" / "shoes_handbags_photo_edges", split="train")
    assert train.class_names == ["handbag", "shoe"] and train.labels == [1, 1, 1, 0, 0, 0]
    sketch, photo = train.load_arrays(0)
    assert sketch.mean() > 230  # the edge map (white here) is the sketch after the swap
    assert photo[..., 0].mean() > 200 > photo[..., 2].mean()  # the shoe's red photo
    train, held_out = recipe_data.splits(pretrained.RECIPES["pix2pix/shoes_handbags"])
    assert (len(train), len(held_out)) == (6, 6)


RELEASES = {
    "celeba_xdog_joint64": (_celeba_release, {}, _check_faces),
    "sketchy_subset": (
        _sketchy_release,
        {"PHOTOS_PER_CLASS = 5": "PHOTOS_PER_CLASS = 4"},
        _check_sketchy,
    ),
    "shoes_handbags_photo_edges": (_edges_release, {}, _check_shoes_handbags),
}


@pytest.mark.parametrize("name", sorted(RELEASES))
def test_the_recipe_for_the_official_release_makes_what_the_package_reads(
    name, tmp_path, monkeypatch
):
    make_release, smaller, check = RELEASES[name]
    code = _block(doc_sections()[name], "Make it from the official release", "python")
    for written, small in smaller.items():
        assert written in code
        code = code.replace(written, small)
    make_release(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(shared.DATA_ENV, str(tmp_path / "data"))
    exec(compile(code, f"docs/data.md ({name})", "exec"), {})  # the doc's own code
    assert shared.find_shared_data(name) == (tmp_path / "data" / name).resolve()
    check(tmp_path)
