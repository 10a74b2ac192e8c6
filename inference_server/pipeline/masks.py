"""Mask geometry for removal: dilation, windows around the hole, the soft paste edge and compositing.

Masks are (H, W) bool numpy arrays, True = inside. Boxes are Region(x, y, width, height) in image pixels.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..errors import InvalidInputError
from scipy import ndimage


class Region(NamedTuple):
    """Columns x .. x+width-1, rows y .. y+height-1."""

    x: int
    y: int
    width: int
    height: int

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y, self.y + self.height), slice(self.x, self.x + self.width)

    def grown(self, margin: int, image_height: int, image_width: int) -> Region:
        """This region with `margin` pixels added on every side, clipped to the image."""
        x0, y0 = max(0, self.x - margin), max(0, self.y - margin)
        x1 = min(image_width, self.x + self.width + margin)
        y1 = min(image_height, self.y + self.height + margin)
        return Region(x0, y0, x1 - x0, y1 - y0)

    def at_least(self, side: int, image_height: int, image_width: int) -> Region:
        """This region widened (about its centre, shifted to stay inside) to `side` px where the image allows."""
        def span(start: int, length: int, limit: int) -> tuple[int, int]:
            length_wanted = min(limit, max(length, side))
            start = min(max(0, start - (length_wanted - length) // 2), limit - length_wanted)
            return start, length_wanted

        x, width = span(self.x, self.width, image_width)
        y, height = span(self.y, self.height, image_height)
        return Region(x, y, width, height)

    def relative_to(self, outer: Region) -> Region:
        return Region(self.x - outer.x, self.y - outer.y, self.width, self.height)


def bounding_region(mask: np.ndarray) -> Region:
    """The smallest region holding every True pixel of a non-empty mask."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        raise ValueError("Expected a mask with at least one pixel set, but found an empty mask")
    return Region(int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1))


def auto_dilation_px(mask: np.ndarray) -> int:
    """Dilation scaled to the object's size: 8% of its equivalent diameter, 2 .. 48 px.

    An 80 px wide disc gets 6 px; a 20 px object 2 px; a 600 px person 48 px. Segmentation edges and anti-aliased
    borders are a few pixels wide at any size, and GONE (Table 2) and SIMBIL (Table 5) show dilated masks remove
    them where tight masks leave a halo.
    """
    diameter = 2.0 * math.sqrt(float(mask.sum()) / math.pi)
    return int(min(48, max(2, round(0.08 * diameter))))


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Every pixel within Euclidean distance `radius` of the mask (a disc-shaped structuring element)."""
    if radius <= 0:
        return mask.copy()
    height, width = mask.shape
    box = bounding_region(mask).grown(radius + 1, height, width)
    crop = mask[box.slices]
    grown = ndimage.distance_transform_edt(~crop) <= radius
    out = np.zeros_like(mask)
    out[box.slices] = grown
    return out


def paste_alpha(object_mask: np.ndarray, hole: np.ndarray, feather_px: int) -> np.ndarray:
    """Weight of the filled pixels when pasting: 0 outside the hole, 1 on the object, a ramp in between.

    The ramp rises from the hole's edge inwards over `feather_px` pixels, so the seam with the untouched image is soft
    while every pixel outside the hole keeps weight 0 and every object pixel weight 1. Returns (H, W) float32.
    """
    # Padded with one outside pixel so a hole touching the crop's edge still ramps there; 1 at the hole's border.
    inside_distance = ndimage.distance_transform_edt(np.pad(hole, 1))[1:-1, 1:-1]
    alpha = np.clip(inside_distance / max(1, feather_px), 0.0, 1.0).astype(np.float32)
    alpha[object_mask] = 1.0
    alpha[~hole] = 0.0
    return alpha


def composite(original: np.ndarray, fill: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Blends `fill` (H, W, 3) float [0, 1] over `original` (H, W, 3|4) uint8 with weights `alpha` (H, W).

    Pixels with alpha 0 are copied bit for bit; an alpha channel is passed through unchanged.
    """
    out = original.copy()
    rgb = original[..., :3].astype(np.float32)
    blended = alpha[..., None] * (fill * 255.0) + (1.0 - alpha[..., None]) * rgb
    touched = alpha > 0
    out[..., :3][touched] = np.clip(np.rint(blended[touched]), 0, 255).astype(np.uint8)
    return out


def validate_image_and_mask(image: np.ndarray, object_mask: np.ndarray, *, verb: str, whole_image_reason: str) -> None:
    """Raises InvalidInputError with a sentence when the pair cannot be edited: not 8-bit RGB(A), a mask of another
    size, an empty mask, or one covering the whole image. verb: what the edit does ("remove"); whole_image_reason:
    why the whole image cannot be the object."""
    if image.ndim != 3 or image.shape[2] not in (3, 4) or image.dtype != np.uint8:
        raise InvalidInputError(f"the image must be 8-bit RGB or RGBA; got shape {image.shape} of {image.dtype}")
    height, width = image.shape[:2]
    if object_mask.shape != (height, width):
        mh, mw = object_mask.shape[:2]
        raise InvalidInputError(
            f"the mask is {mw}x{mh} but the image is {width}x{height}; give a mask of the image's size")
    if not object_mask.any():
        raise InvalidInputError(f"the mask is empty: mark the object to {verb} (nonzero pixels = object)")
    if object_mask.all():
        raise InvalidInputError(f"the mask covers the whole image: {whole_image_reason}; mark only the object")
