"""What the studio's in-page generator sends to the browser once: code, runtime, models, parity.

* the front end: the page's own modules (``sketchwidgets/web/assets``: ``sketch.js``,
  ``prepare.js``, ``generator.js``) inlined, import lines dropped, before the widget's
  ``assets/in_page.js``, as one ES module (anywidget loads one module from a string);
* the runtime: onnxruntime-web's WebAssembly build (three files) from the installed ``page``
  extra (:func:`sketchwidgets.web.runtime.runtime_files`), as bytes;
* each model: the ONNX files and the manifest entry the classroom page would have
  (:func:`sketchwidgets.web.page_models.model_entry`), as bytes;
* each model's parity references: its model input for fixed example sketches and the kernel's
  outputs for them: ``generate(seed=0, normalise=False)``, or for the Contextual GAN the start
  of its search ``G(E(sketch))``, which is what its tile shows in the page.

Nothing is fetched at run time: the bytes travel with the widget's state. A model's export and
references are kept for the session (:func:`model_bundle`), keyed by its name, class, config,
device and weights, so a second studio of the same models is built at once.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections import OrderedDict
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from sketchwidgets.models.base import SketchModel

PAGE_MODULES = ("sketch.js", "prepare.js", "generator.js")  # inlined, in this order
RUNTIME_FILES = {
    "module": "ort.wasm.min.mjs",
    "glue": "ort-wasm-simd-threaded.mjs",
    "wasm": "ort-wasm-simd-threaded.wasm",
}
WEBGPU_RUNTIME_FILES = {  # sent only when the page asks for them (InPageGenerator)
    "module": "ort.webgpu.min.mjs",
    "glue": "ort-wasm-simd-threaded.asyncify.mjs",
    "wasm": "ort-wasm-simd-threaded.asyncify.wasm",
}
PARITY_EXAMPLES = ("apple", "house")  # the fixed sketches of the parity check
CANVAS = 256  # the side the example sketches are drawn at, as the studio's canvas
KEPT = 8  # model bundles kept for the session (the classroom four take about 17 MB)
_kept: OrderedDict[tuple[str, ...], tuple[dict[str, Any], dict[str, bytes], dict[str, Any]]]
_kept = OrderedDict()
_IMPORT_LINE = re.compile(r"^import .* from \"\./[a-z_]+\.js\";\n", re.MULTILINE)


def front_end_module() -> str:
    """The widget's ES module: the page's modules, then the widget's own code."""
    web = resources.files("sketchwidgets.web") / "assets"
    parts = [_IMPORT_LINE.sub("", (web / name).read_text()) for name in PAGE_MODULES]
    own = resources.files("sketchwidgets.widgets") / "assets" / "in_page.js"
    return "\n".join([*parts, own.read_text()])


def runtime_bytes(roles: dict[str, str] = RUNTIME_FILES) -> dict[str, bytes]:
    """``{"module", "glue", "wasm"}``: the files of the WebAssembly runtime (or of the build
    ``roles`` names); :class:`~sketchwidgets.web.runtime.PageRuntimeMissing` without the
    ``page`` extra."""
    from sketchwidgets.web.runtime import runtime_files

    _version, paths = runtime_files()
    by_name = {path.name: path for path in paths}
    return {role: by_name[name].read_bytes() for role, name in roles.items()}


def model_bundle(
    name: str, model: SketchModel
) -> tuple[dict[str, Any], dict[str, bytes], dict[str, Any]]:
    """Model ``name``'s entry, ONNX bytes and parity references; made once per weights."""
    key = (name, type(model).__qualname__, repr(model.config), str(model.device), weights(model))
    if key not in _kept:
        entry, files = exported_model(name, model)
        _kept[key] = (entry, files, parity_reference(model, entry))
        while len(_kept) > KEPT:
            _kept.popitem(last=False)
    _kept.move_to_end(key)
    return _kept[key]


def weights(model: SketchModel) -> str:
    """SHA-256 over the model's state (parameters and buffers), in order."""
    digest = hashlib.sha256()
    for key, tensor in model.state_dict().items():
        digest.update(key.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def exported_model(name: str, model: SketchModel) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Model ``name``'s page entry and the bytes of the ONNX files it names."""
    from sketchwidgets.web.page_models import model_entry

    with tempfile.TemporaryDirectory(prefix="sketchwidgets-in-page-") as folder:
        entry = model_entry(name, name, model, Path(folder))
        roles = ("file",) if entry["kind"] == "one_shot" else ("generator", "encoder", "refiner")
        roles = tuple(role for role in roles if role in entry)
        files = {entry[role]: (Path(folder) / entry[role]).read_bytes() for role in roles}
    return entry, files


def parity_reference(model: SketchModel, entry: dict[str, Any]) -> dict[str, Any]:
    """The fixed inputs (uint8 S*S bytes), the class index, and the kernel's outputs for them."""
    from sketchwidgets.data.builtin import example_sketch

    label = model.class_names[0] if model.needs_label else None
    inputs, expected = [], []
    for class_name in PARITY_EXAMPLES:
        seen = model.model_input(example_sketch(class_name).to_array(CANVAS))
        inputs.append(np.ascontiguousarray(seen, dtype=np.uint8).tobytes())
        outputs = kernel_outputs(model, entry, seen, label)
        expected.append(
            {k: np.ascontiguousarray(v, np.uint8).tobytes() for k, v in outputs.items()}
        )
    return {"inputs": inputs, "label": 0, "expected": expected}


def kernel_outputs(
    model: SketchModel, entry: dict[str, Any], seen: np.ndarray, label: Any
) -> dict[str, np.ndarray]:
    """What the page must show for model input ``seen``: uint8 RGB per output."""
    if entry["kind"] == "search_start":
        return {"image": search_start(model, seen)}
    return model.generate(seen, seed=0, label=label, outputs=True, normalise=False)


def search_start(model: Any, seen: np.ndarray) -> np.ndarray:
    """The photo a Contextual GAN's search starts from: ``G(E(sketch))``'s photo half (refined
    with the sketch when the model has a refiner), the search's completion after no step."""
    from sketchwidgets.io import image_to_tensor, tensor_to_image

    start = model.search(image_to_tensor(seen[..., None])[None], iterations=0)
    return tensor_to_image(start.completion[0])
