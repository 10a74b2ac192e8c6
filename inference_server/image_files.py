"""Reading and writing images and masks (PNG, JPEG, TIFF) for the command line. Pillow does the decoding."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import InvalidInputError, SemanticEditError

WRITABLE = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF"}
EIGHT_BIT_MODES = {"1", "L", "P", "RGB", "RGBA", "LA", "PA", "CMYK", "YCbCr"}


def _open(path: Path, what: str) -> Image.Image:
    try:
        image = Image.open(path)
        image.load()
        return image
    except FileNotFoundError:
        raise InvalidInputError(f"{what} file {path} does not exist") from None
    except (UnidentifiedImageError, OSError) as error:
        raise InvalidInputError(f"{what} file {path} is not an image Pillow can read ({error})") from None


def read_image(path: Path) -> np.ndarray:
    """(H, W, 3) or, when the file has transparency, (H, W, 4) uint8."""
    image = _open(path, "image")
    if image.mode not in EIGHT_BIT_MODES:
        raise InvalidInputError(f"image {path} is {image.mode}; only 8-bit images are supported: convert it first")
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    return np.asarray(image.convert("RGBA" if has_alpha else "RGB"))


def read_mask(path: Path) -> np.ndarray:
    """(H, W) bool: any 8-bit image, nonzero (in any channel) = object."""
    image = _open(path, "mask")
    if image.mode not in EIGHT_BIT_MODES:
        raise InvalidInputError(f"mask {path} is {image.mode}; a mask must be an 8-bit image (nonzero = object)")
    pixels = np.asarray(image.convert("RGB") if image.mode not in ("1", "L") else image.convert("L"))
    return pixels.any(axis=2) if pixels.ndim == 3 else pixels != 0


def output_format(path: Path) -> str:
    """The Pillow format for an output path; raises InvalidInputError for an extension it cannot write."""
    file_format = WRITABLE.get(path.suffix.lower())
    if file_format is None:
        raise InvalidInputError(f"cannot write {path}: use one of the extensions {', '.join(WRITABLE)}")
    return file_format


class OutputError(SemanticEditError):
    """An output file could not be written."""


def check_output(path: Path, inputs: Sequence[Path | None], overwrite: bool = False) -> None:
    """Before any work: refuses an output that cannot be written (extension, folder) or that names an input file
    (unless `overwrite`), each with a sentence saying what to do."""
    output_format(path)
    for source in inputs:
        if source is not None and path.exists() and source.exists() and path.samefile(source) and not overwrite:
            raise InvalidInputError(f"-o {path} is the input file {source}: name another output, or add --overwrite "
                                    "to replace it once the edit has succeeded")
    folder = path.parent if str(path.parent) else Path(".")
    existing = next((p for p in (folder, *folder.parents) if p.exists()), Path("."))
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise InvalidInputError(f"cannot write {path}: the folder {existing} is not writable; choose another -o")
    if path.is_dir():
        raise InvalidInputError(f"cannot write {path}: it is a folder; give a file name such as {path / 'out.png'}")


def write_image(path: Path, pixels: np.ndarray) -> None:
    """Writes (H, W), (H, W, 3) or (H, W, 4) uint8; the format follows the extension (JPEG drops alpha). The
    file is written beside its final name and renamed into place, so a failed write (a full disk) leaves whatever
    was there untouched. Raises OutputError with a sentence when the write fails."""
    file_format = output_format(path)
    image = Image.fromarray(pixels)
    if file_format == "JPEG" and image.mode == "RGBA":
        image = image.convert("RGB")
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix,
                                         delete=False) as handle:
            temporary = Path(handle.name)
            image.save(handle, format=file_format, **({"quality": 95} if file_format == "JPEG" else {}))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
        temporary = None
    except OSError as error:
        raise OutputError(f"could not write {path}: {error.strerror or error}; nothing was changed there "
                          "(free some space or choose another -o)") from error
    finally:
        if temporary is not None:
            temporary.unlink(missing_ok=True)

