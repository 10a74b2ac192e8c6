"""Reading and writing images and masks (PNG, JPEG, TIFF) for the command line. Pillow does the decoding."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import InvalidInputError

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


def write_image(path: Path, pixels: np.ndarray) -> None:
    """Writes (H, W), (H, W, 3) or (H, W, 4) uint8; the format follows the extension (JPEG drops alpha)."""
    file_format = output_format(path)
    image = Image.fromarray(pixels)
    if file_format == "JPEG" and image.mode == "RGBA":
        image = image.convert("RGB")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format=file_format, **({"quality": 95} if file_format == "JPEG" else {}))
