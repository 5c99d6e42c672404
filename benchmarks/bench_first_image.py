"""Wall time of the quickstart's first cells in a fresh process: imports, load, one image.

Run from the repository root: ``python benchmarks/bench_first_image.py`` (a fresh process each
time; the kernel's own start is not included). Prints the import time, the time to load the
shipped ``pix2pix/classroom`` and make the first image, and the total.
"""

import time

start = time.perf_counter()
from ipywidgets import HBox  # noqa: E402,F401
from PIL import Image  # noqa: E402

import sketchwidgets as sw  # noqa: E402
from sketchwidgets.config import fast_mode_enabled, pick  # noqa: E402,F401
from sketchwidgets.data.builtin import CLASSES, EmbeddedDataset, example_sketch  # noqa: E402,F401
from sketchwidgets.io import image_grid  # noqa: E402
from sketchwidgets.train import Trainer  # noqa: E402,F401
from sketchwidgets.widgets import CompareView, LossPanel, SketchCanvas  # noqa: E402,F401

imported = time.perf_counter()
shipped = sw.load("pretrained:pix2pix/classroom")
drawing = example_sketch("apple").to_array()
picture = Image.fromarray(image_grid([drawing, shipped.generate(drawing, keep_size=True)], ncols=2))
done = time.perf_counter()
print(
    f"imports {imported - start:.2f} s, load + first image {done - imported:.2f} s, "
    f"total {done - start:.2f} s"
)
