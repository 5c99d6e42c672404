"""Fetch onnxruntime-web from npm into ``sketchwidgets_page_runtime/files/`` (a build step).

``python sketchwidgets/web/runtime_dist/fetch.py`` runs ``npm pack onnxruntime-web@VERSION``
in a temporary folder, checks the tarball against the pinned integrity (sha512), and unpacks
only the files the classroom page uses. Nothing is fetched when the page runs. Exit status 0
when the files are in place, 1 with one line when npm is missing, fails, or the tarball does
not match.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _runtime_module():
    spec = importlib.util.spec_from_file_location(
        "sketchwidgets_page_runtime", HERE / "sketchwidgets_page_runtime" / "__init__.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _integrity(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def _member(name: str) -> str:
    return "package/package.json" if name == "package.json" else f"package/dist/{name}"


def fetch(runtime) -> Path:
    """Pack, check and unpack the runtime's files; returns their folder."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm not found: install Node.js 20 (npm) to fetch onnxruntime-web")
    target = runtime.directory()
    with tempfile.TemporaryDirectory() as scratch:
        spec = f"{runtime.PACKAGE}@{runtime.VERSION}"
        done = subprocess.run(
            [npm, "pack", spec, "--silent"], cwd=scratch, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"npm pack {spec} failed: {done.stderr.strip()[-300:]}")
        tarball = Path(scratch) / done.stdout.strip().splitlines()[-1]
        if _integrity(tarball) != runtime.INTEGRITY:
            raise RuntimeError(f"{tarball.name} does not match the pinned integrity; not used")
        staging = Path(scratch) / "files"
        staging.mkdir()
        with tarfile.open(tarball) as archive:
            for name in runtime.FILES:
                source = archive.extractfile(_member(name))
                (staging / name).write_bytes(source.read())
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(staging, target)
    return target


def main() -> int:
    runtime = _runtime_module()
    if not runtime.missing():
        print(f"[sketchwidgets] onnxruntime-web {runtime.VERSION} already in {runtime.directory()}")
        return 0
    try:
        target = fetch(runtime)
    except (RuntimeError, OSError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"[sketchwidgets] onnxruntime-web {runtime.VERSION} unpacked into {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
