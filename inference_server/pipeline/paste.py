"""Cutting an object out and pasting it elsewhere, for move, replace and add.

    cutout = cut_out(image, object_mask)                 # straight colour + a soft alpha edge, the object's box
    cutout = cutout.resized(width, height)               # on premultiplied colour: no fringe of the old background
    region, patch = paste(target_image, cutout, x, y)    # alpha-blended; pixels under alpha 0 are bit-identical

The cut-out's alpha is 1 inside the mask and ramps down over its outermost `edge_px` pixels (the border pixels of a
photo's object are part background). Scaling multiplies colour by alpha first and divides after, so the transparent
pixels' colour (the old background) never bleeds into the edge: SIMBIL's white edges after resizing (its
limitation 4.4b) come from scaling straight colour.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from ..errors import InvalidInputError
from .masks import Region, bounding_region, composite

ALPHA_EPSILON = 1e-4  # below this the colour of a pixel is undefined (fully transparent)


@dataclass(frozen=True)
class Cutout:
    """rgb: (h, w, 3) float32 straight (not premultiplied) colour in [0, 1]; alpha: (h, w) float32 in [0, 1]."""

    rgb: np.ndarray
    alpha: np.ndarray

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in px."""
        return self.alpha.shape[1], self.alpha.shape[0]

    def resized(self, width: int, height: int) -> Cutout:
        """The cut-out scaled to width x height px, on premultiplied colour, with a triangle filter (Pillow's
        bilinear, widened when shrinking): no negative lobes, so no ringing where the alpha is small."""
        if width < 1 or height < 1:
            raise InvalidInputError(f"an object cannot be scaled to {width}x{height} px; it needs at least 1x1")
        if (width, height) == self.size:
            return self

        def scale(channel: np.ndarray) -> np.ndarray:
            image = Image.fromarray(channel.astype(np.float32), mode="F")
            return np.asarray(image.resize((width, height), Image.Resampling.BILINEAR), dtype=np.float32)

        alpha = np.clip(scale(self.alpha), 0.0, 1.0)
        premultiplied = np.stack([scale(self.rgb[..., c] * self.alpha) for c in range(3)], axis=-1)
        rgb = np.where(alpha[..., None] > ALPHA_EPSILON, premultiplied / np.maximum(alpha, ALPHA_EPSILON)[..., None], 0)
        return Cutout(np.clip(rgb, 0.0, 1.0).astype(np.float32), alpha.astype(np.float32))


def cut_out(image: np.ndarray, object_mask: np.ndarray, *, edge_px: float = 1.0) -> Cutout:
    """The object's box of `image` ((H, W, 3|4) uint8; an alpha channel multiplies the cut-out's) with alpha from
    `object_mask` ((H, W) bool, non-empty): 1 deeper than edge_px inside the mask, (d - 0.5) / edge_px at distance
    d from the outside (so the border pixels get 0.5 with edge_px 1), 0 outside. edge_px 0: a hard edge."""
    if not object_mask.any():
        raise InvalidInputError("the mask is empty: mark the object to cut out (nonzero pixels = object)")
    box = bounding_region(object_mask).slices
    mask = object_mask[box]
    if edge_px > 0:
        inside = ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
        alpha = np.clip((inside - 0.5) / edge_px, 0.0, 1.0)
        alpha[~mask] = 0.0
    else:
        alpha = mask.astype(np.float64)
    crop = image[box]
    if crop.shape[2] == 4:
        alpha = alpha * (crop[..., 3] / 255.0)
    return Cutout((crop[..., :3] / 255.0).astype(np.float32), alpha.astype(np.float32))


def paste(image: np.ndarray, cutout: Cutout, x: int, y: int) -> tuple[Region, np.ndarray]:
    """`cutout` blended over `image` with its top-left corner at (x, y) (may lie partly outside the image).

    Returns the changed region (the cut-out's box clipped to the image) and its new pixels, in the image's format
    (an alpha channel passes through). Raises InvalidInputError when the cut-out lies wholly outside."""
    height, width = image.shape[:2]
    cut_width, cut_height = cutout.size
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + cut_width, width), min(y + cut_height, height)
    if x0 >= x1 or y0 >= y1:
        raise InvalidInputError(
            f"the object placed at ({x}, {y}) with size {cut_width}x{cut_height} lies outside the "
            f"{width}x{height} image")
    region = Region(x0, y0, x1 - x0, y1 - y0)
    inner = (slice(y0 - y, y1 - y), slice(x0 - x, x1 - x))
    patch = composite(image[region.slices], cutout.rgb[inner], cutout.alpha[inner])
    return region, patch
