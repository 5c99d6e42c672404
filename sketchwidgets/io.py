"""Image and file I/O: read/write with clear errors, atomic writes, array <-> tensor, grids.

Conventions used across the package:

* an *image array* is ``uint8``, ``HxWx3`` (RGB) or ``HxW`` (grayscale);
* a *sketch array* is ``uint8`` ``HxW``, **black ink (0) on white (255)**;
* a *tensor image* is ``float32`` ``(C, H, W)`` or ``(N, C, H, W)`` in ``[-1, 1]``.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
# The smallest side (px) of a photo a build turns into a pair, or of a sketch generate() takes.
# 16 px is the smallest image_size a registered model accepts (Contextual GAN: a power of two
# >= 16), and about the smallest side at which XDoG's default difference of Gaussians (sigma
# 0.7 and 1.6 * 0.7 px, so ~3.4 px of support on each side) leaves an interior clear of the
# border. Below it a build upscales a blur into a flat photo and an empty sketch, and
# generate() blows a few pixels up into a blur.
MIN_IMAGE_SIDE = 16
_HIGH_DEPTH_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")  # Pillow's 16/32-bit integer gray
TEMP_SUFFIX = ".tmp"  # atomic_write's temporary files: .<name>.<random>.tmp
# What write_image writes, by suffix (GIF: a 256-colour palette, so lossy for photos)
WRITE_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".gif": "GIF",
    ".bmp": "BMP",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}


class ImageReadError(ValueError):
    """An image file could not be read; the message names the file and the reason."""

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot read image {self.path}: {reason}")


def is_image_file(path: str | os.PathLike) -> bool:
    """True when the file name has an image suffix."""
    return str(path).lower().endswith(IMAGE_SUFFIXES)


def list_images(folder: str | os.PathLike, *, recursive: bool = True) -> list[Path]:
    """Image files below ``folder``, sorted; raises when the folder is missing."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder not found: {root}")
    pattern = "**/*" if recursive else "*"
    return sorted(p for p in root.glob(pattern) if p.is_file() and is_image_file(p))


class ImageTooSmallError(ValueError):
    """An image whose smaller side is under :data:`MIN_IMAGE_SIDE`; the message gives its size."""


def check_min_size(image: np.ndarray, what: str) -> None:
    """Raise :class:`ImageTooSmallError` naming ``what`` and its size when it is too small."""
    height, width = image.shape[:2]
    if min(height, width) < MIN_IMAGE_SIDE:
        raise ImageTooSmallError(
            f"{what} is {width}x{height} px (W x H); the smallest side accepted is "
            f"{MIN_IMAGE_SIDE} px (sketchwidgets.io.MIN_IMAGE_SIDE)"
        )


def to_uint8(array: np.ndarray) -> np.ndarray:
    """A uint8 array as is; uint16 (16-bit PNG/TIFF data) scaled to 0..255 as ``round(v / 257)``."""
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.uint16:
        return ((array.astype(np.uint32) + 128) // 257).astype(np.uint8)
    raise TypeError(f"expected a uint8 or uint16 image, got {array.dtype}")


def _eight_bit(image: Image.Image) -> Image.Image:
    """16/32-bit integer grayscale as 8-bit "L" scaled to 0..255 (Pillow's convert clips at 255).

    Pillow already reads 16-bit RGB(A) PNGs as 8-bit RGB(A); its "I" mode holds 16-bit data.
    """
    if image.mode not in _HIGH_DEPTH_MODES:
        return image
    values = np.clip(np.asarray(image), 0, 65535).astype(np.uint16)
    return Image.fromarray(to_uint8(values), "L")


def _flatten_alpha(image: Image.Image) -> Image.Image:
    """Composite an image with transparency over white."""
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba)


def read_image(path: str | os.PathLike, mode: str = "RGB") -> np.ndarray:
    """Read an image file as a uint8 array in ``mode`` ("RGB" -> HxWx3, "L" -> HxW).

    Grayscale, palette and RGBA files are converted (transparency over white); 16-bit
    grayscale and RGB files are scaled to 8 bits (``round(v / 257)``).
    Missing, truncated or non-image files raise :class:`ImageReadError` naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise ImageReadError(path, not_a_file_reason(path))
    try:
        with warnings.catch_warnings():  # Pillow only warns below twice its pixel limit
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            converted = _decoded(path, mode)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageReadError(
            path,
            f"too many pixels, a possible decompression bomb ({error}); raise "
            "PIL.Image.MAX_IMAGE_PIXELS to read it on purpose",
        ) from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ImageReadError(path, f"not a readable image ({error})") from error
    return np.asarray(converted, dtype=np.uint8).copy()


def _decoded(path: Path, mode: str) -> Image.Image:
    """The decoded file in ``mode`` (16-bit scaled, transparency over white)."""
    with Image.open(path) as image:
        image.load()
        image = _eight_bit(image)
        if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
            image = _flatten_alpha(image)
        return image.convert(mode)


def not_a_file_reason(path: Path) -> str:
    """Why ``path`` is no regular file: a folder, a link loop, a broken link, or missing."""
    if path.is_dir():
        return "a folder, not an image file"
    if path.is_symlink():
        try:
            path.stat()
        except OSError as error:
            if error.errno == errno.ELOOP:
                return "a symbolic link loop"
            return f"a broken symbolic link (to {os.readlink(path)})"
    return "file not found"


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` then rename the temporary file onto ``path`` atomically.

    A crash mid-write leaves the previous ``path`` untouched (and at worst a
    ``.<name>.<random>.tmp`` file, see :func:`remove_stale_temporaries`).  The file gets the
    permissions a plain write would: those of the file it replaces, else ``0o666`` less the
    umask.  When ``write`` fails because of the operating system (a full disk, a read-only
    folder), the :class:`OSError` itself is raised, even if a library wrapped it.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        try:
            write(tmp)
        except Exception as error:
            cause = error.__cause__ or error.__context__
            if not isinstance(error, OSError) and isinstance(cause, OSError):
                raise OSError(cause.errno, cause.strerror, str(target)) from error
            raise
        os.chmod(tmp, _plain_write_mode(target))
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


class StagedFiles:
    """Files that go into place together: each written to a temporary beside its target
    (``.<name>.<random>.tmp``), renamed onto the targets by :meth:`commit` only.

    Use it through :func:`staged_files`, which removes every temporary not committed. A failed
    write raises the :class:`OSError` naming the target (not the temporary).
    """

    def __init__(self) -> None:
        self._temporaries: dict[Path, Path] = {}

    def write_bytes(self, target: str | os.PathLike, data: bytes) -> Path:
        """Write ``data`` to a new temporary beside ``target``; returns the temporary's path."""
        target = Path(target)
        try:
            if target.is_dir():  # found now, before any target is replaced
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(target))
            fd, name = tempfile.mkstemp(
                prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=target.parent
            )
            os.close(fd)
            self._temporaries[target] = temporary = Path(name)
            with open(temporary, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())  # a filesystem may report a full disk only here
        except OSError as error:
            raise OSError(error.errno, error.strerror, str(target)) from error
        return temporary

    def commit(self) -> None:
        """Rename every temporary onto its target (the permissions a plain write would give)."""
        for target, temporary in list(self._temporaries.items()):
            os.chmod(temporary, _plain_write_mode(target))
            os.replace(temporary, target)
            del self._temporaries[target]

    def discard(self) -> None:
        """Remove the temporaries not committed."""
        for temporary in self._temporaries.values():
            temporary.unlink(missing_ok=True)
        self._temporaries.clear()


@contextlib.contextmanager
def staged_files() -> Iterator[StagedFiles]:
    """A :class:`StagedFiles`; whatever was not committed when the block ends (an error, an
    interrupt) is removed, and the targets keep their previous content."""
    staged = StagedFiles()
    try:
        yield staged
    finally:
        staged.discard()


def _plain_write_mode(target: Path) -> int:
    """The mode ``open(target, "w")`` would leave: the old file's, else 0o666 less the umask."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        return 0o666 & ~_current_umask()


def _current_umask() -> int:
    """The process umask, read without changing it where Linux tells it (/proc), else set back."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete what a killed :func:`atomic_write` left in ``folder``; returns the removed paths.

    Call it only while no other process writes there (the trainer holds the run-folder lock).
    """
    root = Path(folder)
    if not root.is_dir():
        return []
    stale = sorted(p for p in root.glob(f".*{TEMP_SUFFIX}") if p.is_file())
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


_SHA256_CACHE: dict[tuple[str, int, int, int, int], str] = {}


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 (hex) of a file's bytes, computed once per process while the file keeps
    its path, size, inode and modification and change times."""
    resolved = Path(path).resolve()
    info = resolved.stat()
    key = (str(resolved), info.st_size, info.st_ino, info.st_mtime_ns, info.st_ctime_ns)
    if key not in _SHA256_CACHE:
        digest = hashlib.sha256()
        with open(resolved, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _SHA256_CACHE[key] = digest.hexdigest()
    return _SHA256_CACHE[key]


class UnsafeFileError(ValueError):
    """A torch file holds more than plain data (tensors, numbers, strings, lists, dicts)."""


def save_torch(path: str | os.PathLike, obj: Any) -> Path:
    """``torch.save`` plain data atomically (through a Python file, so OS errors keep errno)."""

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            torch.save(obj, handle)

    return atomic_write(path, write)


def load_torch(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> Any:
    """Load a torch file with the safe unpickler: plain data only, never code from the file.

    A file that needs more raises :class:`UnsafeFileError` naming it; a missing file
    ``FileNotFoundError``; a corrupt or truncated one ``ValueError``; all name the file.
    """
    import pickle

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # torch's pickle-protocol notice
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        reason = _unpickler_reason(error)
        if "global" not in reason.lower():  # an opcode it does not know: garbage, not a class
            raise ValueError(
                f"cannot read checkpoint {path} (corrupt or truncated?){reason}"
            ) from None
        raise UnsafeFileError(
            f"refusing to load {path}: it holds Python objects beyond plain tensors, numbers, "
            f"strings, lists and dicts, and unpickling them could run code from the file{reason}. "
            "Load only files saved by sketchwidgets."
        ) from None
    except Exception as error:  # truncated, corrupt or not a torch file at all
        raise ValueError(
            f"cannot read checkpoint {path} (corrupt or truncated?): {error}"
        ) from error


def _unpickler_reason(error: Exception) -> str:
    """The line of torch's safe-unpickler message that says what it met (e.g. a blocked GLOBAL)."""
    lines = [line.strip() for line in str(error).splitlines() if "nsupported" in line]
    return f" ({lines[-1][:200]})" if lines else ""


def image_format(path: str | os.PathLike) -> str:
    """The Pillow format a file name asks for (:data:`WRITE_FORMATS`; no suffix: PNG); an
    unknown suffix raises ``ValueError`` listing the known ones."""
    suffix = Path(path).suffix.lower()
    if not suffix:
        return "PNG"
    if suffix not in WRITE_FORMATS:
        raise ValueError(
            f"cannot write {path}: unknown image suffix {suffix!r}; use one of "
            f"{', '.join(WRITE_FORMATS)}"
        )
    return WRITE_FORMATS[suffix]


def write_image(path: str | os.PathLike, image: np.ndarray, *, overwrite: bool = False) -> Path:
    """Write a uint8 HxW or HxWx3 array atomically in the format its suffix names (GIF for
    ``.gif``, ...; see :func:`image_format`); refuses to overwrite unless asked."""
    target = Path(path)
    fmt = image_format(target)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} exists; pass overwrite=True to replace it")
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise TypeError(f"write_image expects uint8, got {array.dtype} for {target}")
    options = {"lossless": True} if fmt == "WEBP" else {}
    return atomic_write(target, lambda tmp: Image.fromarray(array).save(tmp, fmt, **options))


def to_rgb(image: np.ndarray) -> np.ndarray:
    """Any uint8 HxW, HxWx1, HxWx3 or HxWx4 array as HxWx3 (alpha over white)."""
    array = np.asarray(image)
    if array.ndim == 2:
        return np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim == 3 and array.shape[2] == 1:
        return np.repeat(array, 3, axis=2)
    if array.ndim == 3 and array.shape[2] == 4:
        alpha = array[:, :, 3:4].astype(np.float32) / 255.0
        rgb = array[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
        return np.round(rgb).astype(np.uint8)
    if array.ndim == 3 and array.shape[2] == 3:
        return array
    raise ValueError(f"expected an HxW, HxWx3 or HxWx4 image, got shape {array.shape}")


def to_gray(image: np.ndarray) -> np.ndarray:
    """Any uint8 image array as HxW luminance (ITU-R 601, as Pillow's "L")."""
    rgb = to_rgb(image).astype(np.float32)
    gray = rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114
    return np.clip(np.round(gray), 0, 255).astype(np.uint8)


def image_to_tensor(image: np.ndarray) -> torch.Tensor:
    """uint8 HxW or HxWxC (or NxHxWxC) -> float32 (C,H,W) (or (N,C,H,W)) in [-1, 1]."""
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise TypeError(f"expected a uint8 image, got {array.dtype}")
    tensor = torch.from_numpy(np.ascontiguousarray(array)).float().div_(127.5).sub_(1.0)
    if array.ndim == 2:
        return tensor.unsqueeze(0)
    if array.ndim == 3:
        return tensor.permute(2, 0, 1).contiguous()
    if array.ndim == 4:
        return tensor.permute(0, 3, 1, 2).contiguous()
    raise ValueError(f"expected HxW, HxWxC or NxHxWxC, got shape {array.shape}")


def tensor_to_image(tensor: torch.Tensor) -> np.ndarray:
    """float (C,H,W) or (N,C,H,W) in [-1, 1] -> uint8 HxWxC / NxHxWxC (HxW for one channel)."""
    t = tensor.detach().float().cpu().clamp(-1.0, 1.0).add(1.0).mul(127.5).round().to(torch.uint8)
    if t.ndim == 3:
        array = t.permute(1, 2, 0).numpy()
        return array[:, :, 0] if array.shape[2] == 1 else array
    if t.ndim == 4:
        array = t.permute(0, 2, 3, 1).numpy()
        return array[..., 0] if array.shape[3] == 1 else array
    raise ValueError(f"expected (C,H,W) or (N,C,H,W), got shape {tuple(tensor.shape)}")


def image_grid(
    images: Sequence[np.ndarray], *, ncols: int = 8, pad: int = 2, fill: int = 255
) -> np.ndarray:
    """Tile uint8 images (same size; grayscale is made RGB) into one RGB grid."""
    if len(images) == 0:
        raise ValueError("image_grid needs at least one image")
    tiles = [to_rgb(np.asarray(im)) for im in images]
    h, w = tiles[0].shape[:2]
    ncols = max(1, min(ncols, len(tiles)))
    nrows = -(-len(tiles) // ncols)
    grid = np.full((nrows * (h + pad) + pad, ncols * (w + pad) + pad, 3), fill, np.uint8)
    for i, tile in enumerate(tiles):
        if tile.shape[:2] != (h, w):
            raise ValueError(f"image {i} has size {tile.shape[:2]}, expected {(h, w)}")
        r, c = divmod(i, ncols)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        grid[y : y + h, x : x + w] = tile
    return grid


def png_bytes(image: np.ndarray) -> bytes:
    """Encode a uint8 image array as PNG bytes."""
    import io as _io

    buffer = _io.BytesIO()
    Image.fromarray(np.asarray(image)).save(buffer, format="PNG")
    return buffer.getvalue()
