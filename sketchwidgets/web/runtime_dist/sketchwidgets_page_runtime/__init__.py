"""onnxruntime-web's browser files, as ``sketchwidgets/web/runtime_dist/fetch.py`` took them
from npm.

``directory()`` is the folder that holds :data:`FILES`; ``missing()`` lists those absent (a
package installed before the fetch step ran). Nothing here runs at the page's run time: the
page builder copies the files beside the page.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = "onnxruntime-web"
VERSION = "1.31.1"
# npm's integrity of the tarball (`npm view onnxruntime-web@1.31.1 dist.integrity`)
INTEGRITY = (
    "sha512-5GeH+bWQ+HxM10z7erGlsWqryrwMbSvm/1tkIsKTT48g0fI19VXVVC435t4t7VsPdSQeS7NmuZPXrQ73k82URw"
    "=="
)
WASM_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
WEBGPU_FILES = (
    "ort.webgpu.min.mjs",
    "ort-wasm-simd-threaded.asyncify.mjs",
    "ort-wasm-simd-threaded.asyncify.wasm",
)
FILES = (*WASM_FILES, *WEBGPU_FILES, "package.json")  # dist/, and package.json (MIT, version)


def directory() -> Path:
    """The folder holding the runtime's files."""
    return Path(__file__).resolve().parent / "files"


def missing() -> list[str]:
    """The names of :data:`FILES` not in :func:`directory` (empty when complete)."""
    return [name for name in FILES if not (directory() / name).is_file()]
