"""A moved object takes its shadow along: the old shadow's darkening, measured on the photo, laid on the new place.

    darkening = shadow_darkening(image[r], filled[r], shadow[r])   # a crop r around the old shadow: 1 - shadowed / lit
    at, darkening = reference_darkening(image, reference_mask, valid)  # add: another object's shadow, or None
    region, carried = carry_shadow(darkening, at, old_box, new_box, image.shape[:2])  # moved and scaled with it
    image[region.slices] = cast(image[region.slices], carried)     # the ground at the new place darkened

The removal found the object's cast shadow (segmentation/shadows.py) and filled it with shadow-free ground, so the
photo itself says how much light the shadow takes away at each of its pixels: 1 - original / filled. That map holds
the light's direction, the shadow's length and its soft edge as the scene's light made them. Moving the object keeps
the light, so the map moves with the object: anchored at the bottom centre of the object's box (where it stands)
and scaled by the same factor as the object (nearer = larger). The ground at the new place is multiplied by
1 - darkening, every channel alike (a shadow dims the light and keeps the surface's colour), before the object is
pasted over it.
An added object has no old shadow: it takes a reference object's (the first relation's reference that casts one),
whose darkening is measured against the ground estimated under it by harmonic interpolation, and carried to the new
box the same way (scaled by the new object's height over the reference's: the same light makes shadows as long as
their objects are tall; the shadow's outline stays the reference's).
Not handled: the shadow falling onto another object, and a shadow cut by the image's edge at the old place (only
its visible part moves).

Arrays: images (H, W, 3|4) uint8; maps float32 in [0, MAX_DARKENING], each covering a Region of the image (`at`);
boxes (x, y, width, height) in px.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage

from ..inpainting.harmonic import harmonic_fill
from ..segmentation.shadows import find_shadow
from .masks import Region, bounding_region, dilate

MAX_DARKENING = 0.9
MIN_DARKENING = 0.01  # a carried shadow ends where it takes less light than this (under 3 of 255 levels)


def shadow_darkening(original: np.ndarray, filled: np.ndarray, shadow: np.ndarray) -> np.ndarray:
    """(H, W) float32: 1 - brightness(original) / brightness(filled) on `shadow` pixels (0 elsewhere), smoothed
    over a pixel so the grain of the two images does not become the shadow's texture."""
    original_light = original[..., :3].astype(np.float32).sum(axis=2) + 1.0
    filled_light = filled[..., :3].astype(np.float32).sum(axis=2) + 1.0
    darkening = np.clip(1.0 - original_light / filled_light, 0.0, MAX_DARKENING)
    darkening = ndimage.gaussian_filter(np.where(shadow, darkening, 0.0).astype(np.float32), 1.0)
    return np.where(ndimage.binary_dilation(shadow, iterations=2), darkening, 0.0).astype(np.float32)


def carry_shadow(darkening: np.ndarray, at: Region, old_box: Region, new_box: tuple[int, int, int, int],
                 image_shape: tuple[int, int]) -> tuple[Region, np.ndarray]:
    """The `darkening` map (covering region `at` of an image of `image_shape` (H, W)) moved from the object's
    `old_box` to its `new_box` (x, y, width, height): anchored at each box's bottom centre, scaled by new height /
    old height, cut where it falls below MIN_DARKENING. Returns (the region of the image it lands on, the map
    there); an empty region when nothing lands inside the image."""
    height, width = image_shape
    origin = np.array([at.y, at.x])
    new_x, new_y, new_width, new_height = new_box
    scale = new_height / max(1, old_box.height)
    old_anchor = np.array([old_box.y + old_box.height, old_box.x + old_box.width / 2.0])  # (row, col) it stands on
    new_anchor = np.array([new_y + new_height, new_x + new_width / 2.0])
    rows, cols = np.nonzero(darkening)
    if rows.size == 0:
        return Region(0, 0, 0, 0), np.zeros((0, 0), np.float32)
    extent = np.array([[rows.min(), cols.min()], [rows.max() + 1, cols.max() + 1]]) + origin
    corners = (extent - old_anchor) * scale + new_anchor
    top, left = np.floor(corners.min(axis=0)).astype(int) - 1
    bottom, right = np.ceil(corners.max(axis=0)).astype(int) + 1
    top, left, bottom, right = max(0, top), max(0, left), min(height, bottom), min(width, right)
    if bottom <= top or right <= left:
        return Region(0, 0, 0, 0), np.zeros((0, 0), np.float32)
    # The centre of output pixel p (image coordinates, p + 0.5) samples the old map at old_anchor + (p + 0.5 -
    # new_anchor) / scale, bilinearly between the old pixels' centres (the map's own coordinates: minus `at`).
    offset = old_anchor - origin - 0.5 + (np.array([top, left]) + 0.5 - new_anchor) / scale
    carried = ndimage.affine_transform(darkening, np.eye(2) / scale, offset=offset, output_shape=(bottom - top,
                                       right - left), order=1, mode="constant", cval=0.0)
    carried = np.where(carried >= MIN_DARKENING, carried.clip(0.0, MAX_DARKENING), 0.0).astype(np.float32)
    return Region(int(left), int(top), int(right - left), int(bottom - top)), carried


def cast(image: np.ndarray, darkening: np.ndarray) -> np.ndarray:
    """A copy of `image` with its colour multiplied by 1 - `darkening` (alpha unchanged)."""
    out = image.copy()
    touched = darkening > 0
    rgb = out[..., :3][touched].astype(np.float32) * (1.0 - darkening[touched])[:, None]
    out[..., :3][touched] = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    return out


def reference_darkening(image: np.ndarray, reference_mask: np.ndarray, valid: np.ndarray,
                        device: torch.device | None = None) -> tuple[Region, np.ndarray] | None:
    """(region, darkening map there) of the shadow `reference_mask`'s object casts (segmentation/shadows.py),
    measured against the ground estimated under the object and its shadow by harmonic interpolation; None when it
    casts none."""
    shadow = find_shadow(image, reference_mask, valid, device)
    if not shadow.any():
        return None
    height, width = reference_mask.shape
    box = bounding_region(reference_mask | shadow)
    window = box.grown(max(8, max(box.width, box.height) // 4), height, width)
    unknown = dilate(reference_mask | shadow, 3)[window.slices] | ~valid[window.slices]
    crop = torch.from_numpy(np.array(image[window.slices][..., :3])).permute(2, 0, 1).float()
    ground = harmonic_fill(crop, torch.from_numpy(unknown)).permute(1, 2, 0).numpy()
    filled = np.clip(np.rint(ground), 0, 255).astype(np.uint8)
    return window, shadow_darkening(image[window.slices], filled, shadow[window.slices])
