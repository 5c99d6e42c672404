"""The dependency rules of STYLE.md section 3, checked on the source itself."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sketchwidgets"
JUPYTER_ONLY = ("ipywidgets", "ipycanvas", "IPython", "traitlets", "matplotlib.pyplot")


def _core_modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(relative.parts)
        if "widgets" in parts or parts[-1] == "__main__":
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(parts))
    return names


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_every_core_module_imports_without_jupyter_packages():
    blocked = "; ".join(f"sys.modules[{name!r}] = None" for name in JUPYTER_ONLY[:3])
    code = (
        f"import sys; {blocked}\n"
        "import importlib\n"
        f"for name in {_core_modules()!r}: importlib.import_module(name)\n"
        "import sketchwidgets; print(sketchwidgets.__version__)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_blocking_ipywidgets_really_blocks_it():
    code = "import sys; sys.modules['ipywidgets'] = None\nimport ipywidgets"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode != 0 and "ipywidgets" in result.stderr


def _check(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    problems = []
    paths = sorted((PACKAGE / folder).rglob("*.py")) if folder else sorted(PACKAGE.glob("*.py"))
    for path in paths:
        for name in _imports(path):
            if name.startswith(forbidden):
                problems.append(f"{path.relative_to(PACKAGE.parent)} imports {name}")
    return problems


def test_core_never_imports_jupyter_or_widgets():
    core_folders = ["", "data", "models", "train"]
    forbidden = (*JUPYTER_ONLY, "sketchwidgets.widgets", "sketchwidgets.cli")
    problems = [p for folder in core_folders for p in _check(folder, forbidden)]
    problems = [p for p in problems if not p.startswith("sketchwidgets/__main__.py")]
    assert problems == []


def test_models_never_import_data_or_train():
    assert _check("models", ("sketchwidgets.data", "sketchwidgets.train")) == []


def test_data_never_imports_models_or_train():
    assert _check("data", ("sketchwidgets.models", "sketchwidgets.train")) == []


# The layers, lowest first: a module may import its own layer and the layers below it, never a
# higher one. Keys are the first name under sketchwidgets/.
LAYERS = (
    ("io", "config", "device", "classes", "drawing", "sketch_input"),
    ("data",),
    ("models", "inference", "pretrained"),
    ("train",),
    ("eval",),
    ("export",),
    ("web",),
    ("widgets", "cli", "__main__"),
)


# Self-contained on purpose (copied beside an export and run without the package): at import
# time they import nothing from sketchwidgets (an optional feature may, inside a function), so
# any layer may use them.
STANDALONE = ("sketchwidgets.export.search",)


def _layer_of(module: str) -> int:
    """The layer of ``sketchwidgets.<module>`` (a dotted path); the package root is layer 0."""
    if module in STANDALONE:
        return 0
    parts = module.split(".")[1:]
    key = parts[0] if parts else "io"  # the bare package: its facade is checked apart
    for index, names in enumerate(LAYERS):
        if key in names:
            return index
    raise AssertionError(f"{module} is in no layer: add it to LAYERS in {__file__}")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _upward_imports() -> list[str]:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "__init__.py":
            continue  # the facade: lazy names from every layer, resolved on first use
        own = _layer_of(_module_name(path))
        for name in _imports(path):
            if name.startswith("sketchwidgets.") and _layer_of(name) > own:
                problems.append(f"{path.relative_to(PACKAGE.parent)} imports {name} (upward)")
    return problems


def test_no_import_runs_upward_through_the_layers():
    assert _upward_imports() == []


def test_the_layer_check_sees_an_upward_import(tmp_path, monkeypatch):
    fake = tmp_path / "sketchwidgets"
    (fake / "data").mkdir(parents=True)
    (fake / "data" / "bad.py").write_text("from sketchwidgets.train.trainer import Trainer\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    assert _upward_imports() == [
        "sketchwidgets/data/bad.py imports sketchwidgets.train.trainer (upward)"
    ]


def test_the_package_top_level_has_at_most_ten_loose_modules():
    loose = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(loose) <= 10, loose


def test_standalone_modules_import_nothing_from_the_package():
    for module in STANDALONE:
        path = PACKAGE.parent / (module.replace(".", "/") + ".py")
        tree = ast.parse(path.read_text())
        top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
        names = [a.name for n in top if isinstance(n, ast.Import) for a in n.names]
        names += [n.module or "" for n in top if isinstance(n, ast.ImportFrom)]
        assert not [name for name in names if name.startswith("sketchwidgets")], module
