"""What move, replace and add share: the source object as a cut-out, its box at a new place, the paste into the
(possibly already filled) image, and one result type.

    source = source_cutout(picture, mask)                        # a picture with alpha, or with a mask
    x, y, w, h = box_on_ground_line(box01, source.size, (W, H))  # aspect kept, standing on the box's bottom edge
    pasted = paste_scaled(image, source, (x, y, w, h))           # region, patch, placed mask
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import InvalidInputError
from ..placement.predict import Placement
from .masks import Region, bounding_region
from .options import RemoveOptions
from .paste import Cutout, cut_out, paste
from .remove import ProgressReport, apply_patch, remove_object
from . import shadow_transfer

STAGE_PLACE = "place"
STAGE_PASTE = "paste"


@dataclass
class PasteResult:
    """The result of move, replace and add: only the changed region, with the masks used, each cropped to it.

    object_mask / hole_mask: the target where it was and the filled hole (None for add: nothing is removed).
    shadow_mask: the old place's cast shadow, removed with the object (None when none was found or kept).
    placed_mask: where the pasted object now is (its alpha > 0).
    placed_shadow_mask: where the pasted object's shadow darkens the ground (move: the removed one carried along;
        add: one like a reference's; None when none was cast).
    placement / candidates: the chosen and all ranked placements (move, add); None / [] for replace.
    """

    region: Region
    patch: np.ndarray  # (region.height, region.width, channels) uint8
    object_mask: np.ndarray | None
    hole_mask: np.ndarray | None
    placed_mask: np.ndarray
    placement: Placement | None
    candidates: list[Placement]
    image_size: tuple[int, int]  # (width, height), for the placements' 0..1 boxes
    dilation_px: int = 0
    iterations: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    object_ids: tuple[int, ...] = ()
    shadow_mask: np.ndarray | None = None
    placed_shadow_mask: np.ndarray | None = None


def source_cutout(picture: np.ndarray, mask: np.ndarray | None = None) -> Cutout:
    """The object in `picture` ((h, w, 3|4) uint8) as a cut-out of its bounding box: alpha from the picture's alpha
    channel, times `mask` ((h, w) bool) when given. An RGB picture needs a mask."""
    if picture.ndim != 3 or picture.shape[2] not in (3, 4) or picture.dtype != np.uint8:
        raise InvalidInputError(f"the source picture must be 8-bit RGB or RGBA; got shape {picture.shape}, "
                                f"{picture.dtype}")
    if mask is not None and mask.shape != picture.shape[:2]:
        raise InvalidInputError(f"the source mask is {mask.shape[1]}x{mask.shape[0]} but the source picture is "
                                f"{picture.shape[1]}x{picture.shape[0]}; give a mask of the picture's size")
    if picture.shape[2] == 3 and mask is None:
        raise InvalidInputError("the source picture has no alpha channel and no mask, so it does not say which pixels "
                                "are the object: give an RGBA picture (a layer with transparency) or a mask")
    shape = np.ones(picture.shape[:2], dtype=bool) if mask is None else mask.astype(bool)
    if picture.shape[2] == 4:
        shape &= picture[..., 3] > 0
    if not shape.any():
        raise InvalidInputError("the source object is empty: its alpha channel (and mask) mark no pixel; give a "
                                "picture whose opaque pixels are the object")
    return cut_out(picture, shape, edge_px=0.0)


def box_on_ground_line(box01: Sequence[float], object_size: tuple[int, int], image_size: tuple[int, int], *,
                       fit: str = "height", keep_size: bool = False) -> tuple[int, int, int, int]:
    """(x, y, width, height) in px for an object of object_size (w, h) placed in box01 (x0, y0, x1, y1 in 0..1):
    its aspect ratio kept, centred on the box's middle column, standing on its bottom edge (the ground line).
    fit "height": the box's height (move, add: the predicted size); "inside": as large as fits inside the box;
    "width": the box's width (replace: the old object's box). keep_size: the object's own size."""
    width, height = image_size
    x0, y0, x1, y1 = box01
    object_width, object_height = object_size
    box_width, box_height = (x1 - x0) * width, (y1 - y0) * height
    if keep_size:
        scale = 1.0
    elif fit == "height":
        scale = box_height / object_height
    elif fit == "inside":
        scale = min(box_width / object_width, box_height / object_height)
    elif fit == "width":
        scale = box_width / object_width
    else:
        raise ValueError(f"Expected fit 'height', 'inside' or 'width', but found '{fit}'")
    new_width, new_height = max(1, round(object_width * scale)), max(1, round(object_height * scale))
    centre_x, bottom = (x0 + x1) / 2 * width, y1 * height
    return round(centre_x - new_width / 2), round(bottom - new_height), new_width, new_height


def box01_of(region: Region, image_size: tuple[int, int]) -> tuple[float, float, float, float]:
    """A pixel region as (x0, y0, x1, y1) in 0..1 image coordinates."""
    width, height = image_size
    return region.x / width, region.y / height, (region.x + region.width) / width, (region.y + region.height) / height


@dataclass(frozen=True)
class Pasted:
    """The image after the paste, the pasted region and where the object is in it (alpha > 0)."""

    image: np.ndarray
    region: Region
    placed_mask: np.ndarray  # (region.height, region.width) bool


def paste_scaled(image: np.ndarray, cutout: Cutout, box: tuple[int, int, int, int]) -> Pasted:
    """`cutout` scaled to box (x, y, width, height) on premultiplied colour and blended over `image`."""
    x, y, new_width, new_height = box
    scaled = cutout.resized(new_width, new_height)
    region, patch = paste(image, scaled, x, y)
    inner = (slice(region.y - y, region.y - y + region.height), slice(region.x - x, region.x - x + region.width))
    return Pasted(apply_patch(image, region, patch), region, scaled.alpha[inner] > 0)


def union(a: Region, b: Region) -> Region:
    x0, y0 = min(a.x, b.x), min(a.y, b.y)
    x1, y1 = max(a.x + a.width, b.x + b.width), max(a.y + a.height, b.y + b.height)
    return Region(x0, y0, x1 - x0, y1 - y0)


def placed_in(region: Region, inner: Region, crop: np.ndarray) -> np.ndarray:
    """A (region.height, region.width) bool array holding `crop` (the size of `inner`) at inner's place."""
    out = np.zeros((region.height, region.width), dtype=bool)
    out[inner.y - region.y:inner.y - region.y + inner.height, inner.x - region.x:inner.x - region.x + inner.width] = crop
    return out


SHADOW_SPREAD_PX = 4  # shadow_darkening's map reaches this far beyond the shadow (a 1 px blur, 2 px dilation)


def paste_casting(image: np.ndarray, cutout: Cutout, box: tuple[int, int, int, int],
                  shadow: tuple[Region, np.ndarray] | None, changed: Region | None = None
                  ) -> tuple[np.ndarray, Region, np.ndarray, np.ndarray | None]:
    """`cutout` pasted at `box` over `image` after the `shadow` (the region it lands on, its darkening there:
    shadow_transfer.py) is cast on the ground. Returns (the edited image, a copy; the region holding every change,
    `changed` included; the placed mask and the cast shadow's mask beside the object (None without one), both over
    that region)."""
    if shadow is not None and not (shadow[0].width and shadow[0].height):
        shadow = None
    shaded = image
    if shadow is not None:
        shadow_region, darkening = shadow
        shaded = image.copy()
        shaded[shadow_region.slices] = shadow_transfer.cast(image[shadow_region.slices], darkening)
    pasted = paste_scaled(shaded, cutout, box)
    region = pasted.region
    for other in (changed, shadow[0] if shadow is not None else None):
        if other is not None:
            region = union(region, other)
    placed = placed_in(region, pasted.region, pasted.placed_mask)
    placed_shadow = None if shadow is None else placed_in(region, shadow[0], shadow[1] > 0) & ~placed
    return pasted.image, region, placed, placed_shadow


def remove_and_paste(image: np.ndarray, object_mask: np.ndarray, cutout: Cutout, box: tuple[int, int, int, int],
                     options: RemoveOptions, message: str, *, device: torch.device | None = None,
                     progress: ProgressReport | None = None, should_stop: Callable[[], bool] | None = None,
                     carry_shadow: bool = False) -> PasteResult:
    """Removes the masked object (remove.py), then pastes `cutout` at box (x, y, width, height) over the filled
    image (move, replace). carry_shadow: the shadow removed with the object is cast again under the pasted object
    (shadow_transfer.py; move). The result covers every changed place; its placement is left for the caller."""
    report = progress or (lambda stage, step, total, text: None)
    removed = remove_object(image, object_mask, options, device=device, progress=progress, should_stop=should_stop)
    started = time.perf_counter()
    report(STAGE_PASTE, 0, 1, message)
    filled = apply_patch(image, removed.region, removed.patch)
    shadow = None
    if carry_shadow and removed.shadow_mask is not None:
        around = removed.region.grown(SHADOW_SPREAD_PX, *object_mask.shape)  # the smoothed map's edge stays inside
        old_shadow = np.zeros((around.height, around.width), bool)
        old_shadow[removed.region.relative_to(around).slices] = removed.shadow_mask
        darkening = shadow_transfer.shadow_darkening(image[around.slices], filled[around.slices], old_shadow)
        shadow = shadow_transfer.carry_shadow(darkening, around, bounding_region(object_mask), box,
                                              object_mask.shape)
    edited, region, placed, placed_shadow = paste_casting(filled, cutout, box, shadow, removed.region)
    report(STAGE_PASTE, 1, 1, message)
    return PasteResult(region=region, patch=edited[region.slices].copy(),
                       object_mask=placed_in(region, removed.region, removed.object_mask),
                       hole_mask=placed_in(region, removed.region, removed.hole_mask),
                       shadow_mask=None if removed.shadow_mask is None else
                       placed_in(region, removed.region, removed.shadow_mask),
                       placed_mask=placed, placed_shadow_mask=placed_shadow,
                       placement=None, candidates=[], image_size=(image.shape[1], image.shape[0]),
                       dilation_px=removed.dilation_px, iterations=removed.iterations,
                       timings={**removed.timings, STAGE_PASTE: time.perf_counter() - started})
