"""The classroom page: sketch-to-image in a browser tab, with no Python at run time.

:func:`build_page` (``python -m sketchwidgets page OUT_DIR``) writes a folder that any static
web server (or a USB stick opened through one) serves as is: ``index.html``, its scripts and
style (``assets/``), onnxruntime-web (:mod:`sketchwidgets.web.runtime`), every model as ONNX
with its side file (:mod:`sketchwidgets.web.page_models`) and the example sketches. The
page's scripts are package data; ``generator.js`` (load a model, prepare a drawing, generate)
has no page in it, so a notebook widget can load the same module.
"""

from sketchwidgets.web.builder import DEFAULT_MODELS, PageError, build_page
from sketchwidgets.web.runtime import PageRuntimeMissing

__all__ = ["DEFAULT_MODELS", "PageError", "PageRuntimeMissing", "build_page"]
