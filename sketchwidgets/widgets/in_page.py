"""InPageGenerator: the studio's models run in the browser page, so tiles never wait for the kernel.

An anywidget sent once with onnxruntime-web's WebAssembly build, every model's exported ONNX
graph and the parity references (:mod:`sketchwidgets.widgets._in_page_bundle`), all as bytes in
its state: nothing is fetched at run time. In the page it loads the models and runs each on the
kernel's fixed inputs; the largest difference from the kernel's outputs, in grey levels, comes
back as ``parity_diffs`` and decides each model's path (:func:`path_for`): within
:data:`TOLERANCE` the model runs in the page, else in the kernel. Each stroke's end on the
studio's canvas then redraws every in-page tile in the page, whatever the kernel is doing; the
kernel still generates every model when it is free (the reference, and the fallback). The
Contextual GAN's tile shows ``G(E(sketch))`` from the page at once and the kernel's search
result when the kernel gets to it.

WebGPU (``webgpu``): where the page may use it ("auto": a hardware adapter; "on": any, the
software one too; "off": never), it asks the kernel for onnxruntime-web's WebGPU build (29 MB,
so it is sent only then, when the kernel is free), runs the same parity check on it, and moves
each in-page model there that passes and runs faster than on WebAssembly (with "on", whatever
its speed); ``backends`` comes back with each in-page model's runtime.

The hooks for tests and scripts (the first studio on a page answers them): its drawing canvas
gets the id ``sketch``, each tile's main image ``data-model="NAME"``;
``window.sketchwidgets.drawStroke(points)`` draws a stroke (canvas CSS px) and
``window.sketchwidgets.lastLatencyMs`` maps each in-page model to the milliseconds from the
stroke's end to its image painted.

Without the ``page`` extra (or the exporter's onnx) :func:`in_page_generator` says why, and the
studio stays on the kernel path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import anywidget
from traitlets import Dict, Enum, Int, List, Unicode, observe

from sketchwidgets.widgets import _in_page_bundle as bundle

if TYPE_CHECKING:  # pragma: no cover
    from sketchwidgets.models.base import SketchModel

TOLERANCE = 2  # grey levels: the most an in-page output may differ from the kernel's
PAGE, KERNEL = "page", "kernel"
WEBGPU_RUNTIME = "webgpu_runtime"  # the page's request for the WebGPU build, and the answer
StrokeHandler = Callable[[Sequence[Sequence[float]]], Any]


def path_for(max_diff: float | None, tolerance: int = TOLERANCE) -> str:
    """``"page"`` when the page's outputs were within ``tolerance`` grey levels of the kernel's
    (``max_diff``; None: the model could not run in the page), else ``"kernel"``."""
    return PAGE if max_diff is not None and max_diff <= tolerance else KERNEL


class InPageGenerator(anywidget.AnyWidget):
    """The models, runtime and parity references in the page; see the module docstring."""

    _esm = Unicode().tag(sync=True)
    runtime = Dict(help="onnxruntime-web's WebAssembly files: module, glue, wasm (bytes).").tag(
        sync=True
    )
    entries = List(Dict(), help="Each in-page model's entry (as the classroom page's).").tag(
        sync=True
    )
    files = Dict(help="{ONNX file name: bytes} of every entry.").tag(sync=True)
    parity = Dict(help="{model: fixed inputs, class index, the kernel's outputs}.").tag(sync=True)
    tolerance = Int(TOLERANCE, help="Grey levels within which a model runs in the page.").tag(
        sync=True
    )
    canvas_side = Int(256, help="The drawing canvas's side in CSS px.").tag(sync=True)
    sketch = Dict(help="The kernel's drawing: strokes (canvas px), strokes ended, pen.").tag(
        sync=True
    )
    class_name = Unicode(None, allow_none=True, help="The class picked.").tag(sync=True)
    seeds = Dict(help="{model with noise: its seed}; the page holds seed 0's draws.").tag(sync=True)
    parity_diffs = Dict(help="From the page: {model: largest grey-level difference}.").tag(
        sync=True
    )
    webgpu = Enum(
        ["auto", "on", "off"], "auto", help="When the page tries WebGPU (module docstring)."
    ).tag(sync=True)
    backends = Dict(help="From the page: {in-page model: 'wasm' | 'webgpu'}.").tag(sync=True)
    paths = Dict(help="{model: 'page' | 'kernel'}, decided from parity_diffs.").tag(sync=True)

    def __init__(self, *, skipped: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(_esm=bundle.front_end_module(), **kwargs)
        self.skipped = dict(skipped or {})  # {model: why it stays in the kernel}
        self.paths = dict.fromkeys([*self.names, *self.skipped], KERNEL)
        self._stroke_handler: StrokeHandler | None = None
        self.on_msg(self._on_message)

    @property
    def names(self) -> list[str]:
        """The models sent to the page."""
        return [entry["name"] for entry in self.entries]

    @observe("parity_diffs")
    def _decide_paths(self, change: dict[str, Any]) -> None:
        decided = {name: path_for(diff, self.tolerance) for name, diff in change["new"].items()}
        self.paths = {**self.paths, **decided}

    def on_stroke(self, handler: StrokeHandler) -> None:
        """Call ``handler(points)`` for a stroke the page drew (``drawStroke``)."""
        self._stroke_handler = handler

    def _on_message(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        if content.get("type") == "stroke" and self._stroke_handler is not None:
            self._stroke_handler(content.get("points", []))
        elif content.get("type") == WEBGPU_RUNTIME:
            self._send_webgpu_runtime()

    def _send_webgpu_runtime(self) -> None:
        """The page asked for the WebGPU build: its files as buffers, or why not."""
        from sketchwidgets.export.exporter import MissingDependencyError

        try:
            files = bundle.runtime_bytes(bundle.WEBGPU_RUNTIME_FILES)
        except MissingDependencyError as error:
            self.send({"type": WEBGPU_RUNTIME, "error": str(error)})
            return
        self.send({"type": WEBGPU_RUNTIME, "roles": list(files)}, buffers=list(files.values()))


def in_page_generator(
    models: Mapping[str, SketchModel], webgpu: str = "auto"
) -> tuple[InPageGenerator | None, str]:
    """The generator for ``models``, or None and the one-line reason every model stays in the
    kernel. A model that cannot be exported stays in the kernel alone (``skipped``). ``webgpu``:
    when the page tries WebGPU ("auto", "on" or "off", see the module docstring)."""
    from sketchwidgets.export.exporter import MissingDependencyError

    try:
        runtime = bundle.runtime_bytes()  # first: without the page extra, no export is wasted
    except MissingDependencyError as error:
        return None, f"every model runs in the kernel: {error}"
    entries, files, parity, skipped = [], {}, {}, {}
    for name, model in models.items():
        try:
            entry, model_files, parity[name] = bundle.model_bundle(name, model)
        except Exception as error:  # that model stays in the kernel; the others go on
            skipped[name] = f"{type(error).__name__}: {error}".splitlines()[0]
            continue
        entries.append(entry)
        files.update(model_files)
    if not entries:
        reasons = "; ".join(f"{n}: {r}" for n, r in skipped.items())
        return None, f"every model runs in the kernel: none exports to the page ({reasons})"
    generator = InPageGenerator(
        runtime=runtime,
        entries=entries,
        files=files,
        parity=parity,
        skipped=skipped,
        webgpu=webgpu,
    )
    return generator, ""
