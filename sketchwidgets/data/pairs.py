"""Paired-image formats on disk, their readers and writers, and the exclusion list.

Three layouts hold (sketch, photo) pairs:

``side_by_side`` (pix2pix A|B)
    One RGB file per pair, ``A`` on the left and ``B`` on the right, e.g. 512x256 (W x H) for
    256 px halves (pix2pix ``datasets/combine_A_and_B.py``). For sketches A is the sketch
    (``order="AB"``); a file stored photo|sketch is read with ``order="BA"``.
``paired`` (parallel folders)
    ``root/sketch/[<class>/]<name>.<ext>`` and ``root/photo/[<class>/]<name>.<ext>``, matched
    by class folder and file stem; the suffixes may differ (``x.png`` <-> ``x.jpg``).
``joint`` (Contextual GAN / EdgeGAN)
    One ``S x 2S`` RGB file per pair, sketch left (stored as RGB), photo right; S = 64.

Every reader honours ``root/excluded.txt``: one path relative to the root per line (either
file of a pair, or a folder to drop all below it), ``#`` starts a comment line.

Errors name the files: :class:`~sketchwidgets.io.ImageReadError` for unreadable files,
:class:`PairError` for malformed or mismatched pairs; a sketch or photo without partner is
reported with a warning naming the file and the partner that was expected. A sketch and a
photo of different shapes (aspect ratios differing by more than a pixel of rounding) are
refused, naming both files: cropping each to a square would cut different regions, so the
pair could not stay aligned. Files of the same shape at different resolutions are resized
alike.

The two files of a parallel-folder pair are written as a unit (:func:`write_files`): when the
second cannot be written the first is removed, so a full disk never leaves half a pair.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sketchwidgets.data.transforms import square_resize
from sketchwidgets.io import (
    ImageReadError,
    atomic_write,
    list_images,
    read_image,
    to_gray,
    to_rgb,
    write_image,
)

SKETCH_DIR = "sketch"
PHOTO_DIR = "photo"
EXCLUSION_FILE = "excluded.txt"
ORDERS = ("AB", "BA")


class PairError(ValueError):
    """A malformed paired image or a mismatched pair; the message names the file(s)."""


class EmptyDatasetError(ValueError):
    """A dataset folder holds no usable images; the message names the folder."""


# --- shapes and writing ----------------------------------------------------------------


def same_shape(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    """True when two (H, W, ...) shapes have one aspect ratio, up to a pixel of rounding.

    Scaled to the smaller of the two heights, the widths may differ by at most one pixel.
    """
    (ah, aw), (bh, bw) = a[:2], b[:2]
    return abs(aw * bh - bw * ah) <= max(ah, bh)


def check_pair_shapes(
    sketch: np.ndarray,
    photo: np.ndarray,
    sketch_path: object | None = None,
    photo_path: object | None = None,
) -> None:
    """Raise :class:`PairError` naming both files (when given) if their aspect ratios differ."""
    if not same_shape(sketch.shape, photo.shape):
        (sh, sw), (ph, pw) = sketch.shape[:2], photo.shape[:2]
        sketch_name = "the sketch" if sketch_path is None else f"sketch {sketch_path}"
        photo_name = "the photo" if photo_path is None else f"photo {photo_path}"
        raise PairError(
            f"{sketch_name} is {sw}x{sh} but {photo_name} is {pw}x{ph} (W x H): "
            "different shapes, so one crop cannot keep them aligned; crop or pad them to one "
            "shape, or exclude the pair (excluded.txt)"
        )


def write_files(items: Sequence[tuple[Path, np.ndarray]], *, overwrite: bool) -> list[Path]:
    """Write every ``(path, image)`` or none: on a failure the files written so far are removed.

    An :class:`OSError` (full disk, read-only folder) is raised again naming the file that
    failed, with its ``errno`` kept.
    """
    written: list[Path] = []
    path: Path | None = None
    try:
        for path, image in items:
            written.append(write_image(path, image, overwrite=overwrite))
    except BaseException as error:
        for done in written:
            done.unlink(missing_ok=True)
        if isinstance(error, OSError) and error.filename is None and path is not None:
            raise OSError(error.errno, error.strerror or str(error), str(path)) from error
        raise
    return written


def count_pairs(root: str | os.PathLike, format: str) -> int:
    """The complete pairs in a folder as the readers see them (half pairs not counted).

    ``"paired"``: stems found in both ``sketch/`` and ``photo/``; otherwise image files.
    """
    root = Path(root)
    if format != "paired":
        return len(list_images(root)) if root.is_dir() else 0
    keys = []
    for folder in (root / SKETCH_DIR, root / PHOTO_DIR):
        files = list_images(folder) if folder.is_dir() else []
        keys.append({f.relative_to(folder).with_suffix("").as_posix() for f in files})
    return len(keys[0] & keys[1])


# --- in-memory formats -------------------------------------------------------------------


def split_side_by_side(image: np.ndarray, *, order: str = "AB") -> tuple[np.ndarray, np.ndarray]:
    """Split an A|B image into ``(A, B)``: ``(left, right)`` for "AB", ``(right, left)`` for "BA".

    The width must be even (pix2pix writes halves of equal width).
    """
    if order not in ORDERS:
        raise ValueError(f"order={order!r}: expected one of {ORDERS}")
    if image.ndim < 2 or image.shape[1] % 2:
        raise PairError(f"a side-by-side image needs an even width, got shape {image.shape}")
    width = image.shape[1]
    left, right = image[:, : width // 2], image[:, width // 2 :]
    return (left, right) if order == "AB" else (right, left)


def join_side_by_side(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``[a | b]`` as one uint8 RGB image (grayscale or RGBA halves are made RGB)."""
    a, b = to_rgb(a), to_rgb(b)
    if a.shape[:2] != b.shape[:2]:
        raise PairError(f"halves differ in size: {a.shape[:2]} and {b.shape[:2]} (H, W)")
    return np.concatenate([a, b], axis=1)


def make_joint(sketch: np.ndarray, photo: np.ndarray, size: int = 64) -> np.ndarray:
    """The joint ``size x 2*size`` RGB image ``[sketch | photo]``.

    Each half is centre-cropped to a square and resized to ``size`` (a no-op when it is
    already ``size x size``); halves of different shapes raise :class:`PairError`.
    """
    check_pair_shapes(sketch, photo)
    return join_side_by_side(
        square_resize(to_rgb(sketch), size), square_resize(to_rgb(photo), size)
    )


def split_joint(joint: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(sketch HxW, photo HxWx3)`` from a joint ``H x 2H`` image."""
    height, width = joint.shape[:2]
    if width != 2 * height:
        raise PairError(f"a joint image must be twice as wide as high, got {width}x{height}")
    sketch, photo = split_side_by_side(joint, order="AB")
    return to_gray(sketch), to_rgb(photo)


# --- files: side-by-side and joint ------------------------------------------------------


def read_side_by_side(
    path: str | os.PathLike, *, order: str = "AB"
) -> tuple[np.ndarray, np.ndarray]:
    """Read an A|B file as two RGB arrays ``(A, B)``; see :func:`split_side_by_side`."""
    try:
        return split_side_by_side(read_image(path, "RGB"), order=order)
    except PairError as error:
        raise PairError(f"{path}: {error}") from None


def write_side_by_side(
    path: str | os.PathLike, a: np.ndarray, b: np.ndarray, *, overwrite: bool = False
) -> Path:
    """Write ``[a | b]`` to ``path`` (atomic; refuses to overwrite unless asked)."""
    try:
        image = join_side_by_side(a, b)
    except PairError as error:
        raise PairError(f"{path}: {error}") from None
    return write_image(path, image, overwrite=overwrite)


def read_joint(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read a joint sketch|photo file as ``(sketch HxW, photo HxWx3)``."""
    try:
        return split_joint(read_image(path, "RGB"))
    except PairError as error:
        raise PairError(f"{path}: {error}") from None


def write_joint(
    path: str | os.PathLike,
    sketch: np.ndarray,
    photo: np.ndarray,
    *,
    size: int = 64,
    overwrite: bool = False,
) -> Path:
    """Write the joint image of a pair (see :func:`make_joint`) to ``path``."""
    return write_image(path, make_joint(sketch, photo, size), overwrite=overwrite)


# --- files: parallel sketch/ and photo/ folders -----------------------------------------


@dataclass(frozen=True)
class PairedFiles:
    """One pair in a parallel-folder dataset."""

    sketch: Path
    photo: Path
    class_name: str | None  # first folder below sketch/ and photo/, None at the top level


def paired_paths(
    root: str | os.PathLike, name: str, *, class_name: str | None = None, suffix: str = ".png"
) -> tuple[Path, Path]:
    """``(root/sketch/[class/]name+suffix, root/photo/[class/]name+suffix)``."""
    sub = Path(class_name) if class_name else Path()
    file = f"{name}{suffix}"
    return Path(root, SKETCH_DIR, sub, file), Path(root, PHOTO_DIR, sub, file)


def write_pair(
    root: str | os.PathLike,
    name: str,
    sketch: np.ndarray,
    photo: np.ndarray,
    *,
    class_name: str | None = None,
    suffix: str = ".png",
    overwrite: bool = False,
) -> tuple[Path, Path]:
    """Write a pair into the parallel-folder layout; refuses to overwrite unless asked."""
    sketch_path, photo_path = paired_paths(root, name, class_name=class_name, suffix=suffix)
    if not overwrite:
        for path in (sketch_path, photo_path):
            if path.exists():
                raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    check_pair_shapes(sketch, photo, sketch_path, photo_path)
    items = [(sketch_path, to_gray(sketch)), (photo_path, to_rgb(photo))]
    write_files(items, overwrite=overwrite)
    return sketch_path, photo_path


def _images_by_key(
    folder: Path, excluded: Collection[str], root: Path
) -> tuple[dict[str, Path], set[str]]:
    """Images below ``folder`` keyed by ``<relative parent>/<stem>``, and the excluded keys.

    Two files with one key (``x.png`` and ``x.jpg``) raise :class:`PairError` naming both.
    """
    found: dict[str, Path] = {}
    dropped: set[str] = set()
    for path in list_images(folder):
        key = path.relative_to(folder).with_suffix("").as_posix()
        if is_excluded(path.relative_to(root).as_posix(), excluded):
            dropped.add(key)
        elif key in found:
            raise PairError(f"two files share the name {key!r}: {found[key]} and {path}")
        else:
            found[key] = path
    return found, dropped


def _warn_unpaired(keys: set[str], found: dict[str, Path], partner_dir: Path, kind: str) -> None:
    """One warning per file whose partner is missing, naming the file and the partner."""
    for key in sorted(keys):
        warnings.warn(
            f"unpaired {kind} {found[key]}: no file {partner_dir / key}.* found; pair skipped",
            stacklevel=3,
        )


def find_pairs(root: str | os.PathLike, *, excluded: Collection[str] = ()) -> list[PairedFiles]:
    """Match ``root/sketch/`` with ``root/photo/`` by class folder and stem, sorted.

    ``excluded`` holds paths relative to ``root`` (see :func:`read_exclusions`); excluding
    either file of a pair drops the pair. A file without partner is skipped with a warning
    naming the file and the partner expected.
    """
    root = Path(root)
    folders = [root / SKETCH_DIR, root / PHOTO_DIR]
    for folder in folders:
        if not folder.is_dir():
            raise FileNotFoundError(
                f"paired dataset {root} has no {folder.name}/ folder (expected {folder})"
            )
    (sketches, drop_s), (photos, drop_p) = (_images_by_key(f, excluded, root) for f in folders)
    for key in drop_s - set(sketches):  # an excluded sketch silently drops its photo
        photos.pop(key, None)
    for key in drop_p - set(photos):
        sketches.pop(key, None)
    _warn_unpaired(set(sketches) - set(photos), sketches, folders[1], "sketch")
    _warn_unpaired(set(photos) - set(sketches), photos, folders[0], "photo")
    keys = sorted(set(sketches) & set(photos))
    return [
        PairedFiles(sketches[k], photos[k], k.split("/")[0] if "/" in k else None) for k in keys
    ]


def read_pair(pair: PairedFiles, *, same_size: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Read ``(sketch HxW, photo HxWx3)``; a shape mismatch raises PairError naming both.

    With ``same_size`` the sizes must be equal; without, the aspect ratios (see
    :func:`same_shape`), so that resizing both to one square keeps them aligned.
    """
    sketch, photo = read_image(pair.sketch, "L"), read_image(pair.photo, "RGB")
    check_pair_shapes(sketch, photo, pair.sketch, pair.photo)
    if same_size and sketch.shape[:2] != photo.shape[:2]:
        (sh, sw), (ph, pw) = sketch.shape[:2], photo.shape[:2]
        raise PairError(
            f"sketch {pair.sketch} is {sw}x{sh} but photo {pair.photo} is {pw}x{ph}"
            " (W x H); resize them to one size (e.g. the dataset's size=)"
        )
    return sketch, photo


def bad_items(
    read_pair: Callable[[int], object], files: Sequence[str | os.PathLike]
) -> list[tuple[Path, str]]:
    """Call ``read_pair(i)`` for every item; ``[(path, reason)]`` for those that fail.

    An unreadable file is named itself; a mismatched or malformed pair by ``files[i]`` (the
    reason names both files). Nothing is raised.
    """
    bad: list[tuple[Path, str]] = []
    for index, path in enumerate(files):
        try:
            read_pair(index)
        except ImageReadError as error:
            bad.append((Path(error.path), error.reason))
        except PairError as error:
            bad.append((Path(path), str(error)))
    return bad


# --- exclusion list -----------------------------------------------------------------------


def _normalise(relative: str) -> str:
    """A relative path in the exclusion list's spelling: POSIX, no leading ``./``."""
    text = relative.strip().replace("\\", "/")
    while text.startswith("./"):
        text = text[2:]
    return text.rstrip("/")


def read_exclusions(root: str | os.PathLike) -> list[str]:
    """The paths listed in ``root/excluded.txt`` (relative to root, file order, no repeats)."""
    file = Path(root) / EXCLUSION_FILE
    if not file.is_file():
        return []
    entries: list[str] = []
    for line in file.read_text(encoding="utf-8").splitlines():
        entry = _normalise(line)
        if entry and not entry.startswith("#") and entry not in entries:
            entries.append(entry)
    return entries


def is_excluded(relative: str, excluded: Collection[str]) -> bool:
    """True when ``relative`` (POSIX, relative to the root) or one of its folders is excluded."""
    if not excluded:
        return False
    parts = _normalise(relative).split("/")
    return any("/".join(parts[:n]) in excluded for n in range(1, len(parts) + 1))


def add_exclusion(root: str | os.PathLike, path: str | os.PathLike) -> str:
    """Append ``path`` (relative to ``root``, or absolute inside it) to ``root/excluded.txt``.

    Returns the entry as written; adding an entry twice is a no-op. A path outside the
    root raises ``ValueError``.
    """
    root = Path(root)
    target = Path(path)
    if target.is_absolute():
        try:
            target = target.resolve().relative_to(root.resolve())
        except ValueError:
            raise ValueError(f"{path} is not inside the dataset root {root}") from None
    entry = _normalise(target.as_posix())
    if not entry or entry.startswith("../") or entry == "..":
        raise ValueError(f"{path} is not a path inside the dataset root {root}")
    file = root / EXCLUSION_FILE
    if entry in read_exclusions(root):
        return entry
    old = file.read_text(encoding="utf-8") if file.is_file() else ""
    text = old + ("" if not old or old.endswith("\n") else "\n") + entry + "\n"
    atomic_write(file, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return entry
