"""Moving an object to a new place given by relations ("left of the blue sphere"): cut it out with a soft edge,
remove it from its old place (background-guided DIP, remove.py), ask the position model where it goes, scale it to
the predicted size (the depth cue: an object moved nearer the camera is lower in the image and larger), paste it.

    result = move_object(image, object_mask, "red cube", [Triplet("left of", "blue sphere", box01)], predictor,
                         MoveOptions(), device=...)

The result carries only the changed region (the old hole and the new place together) with the masks used: the
object as given, the hole that was filled, and where the object now is.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import InvalidInputError
from ..placement.predict import Placement, PositionPredictor
from ..placement.vocabulary import PlacementRequest, Triplet
from .masks import Region, bounding_region
from .options import RemoveOptions
from .paste import cut_out, paste
from .remove import ProgressReport, apply_patch, remove_object, validate_remove_input

STAGE_PLACE = "place"
STAGE_PASTE = "paste"
MAX_CANDIDATES = 16


@dataclass(frozen=True)
class MoveOptions:
    """remove: how the old place is filled. candidates: how many ranked placements to consider, 1..16; candidate:
    which one to use, 0 = the best. seed: the placements' random draws. edge_px >= 0: the cut-out's soft edge; 0
    (default) pastes the mask's pixels as they are, which leaves the smallest seam on the scene generator's ground
    truth (docs/BENCHMARKS.md, paste seam); a soft edge is for masks that include some background at the border.
    keep_size: paste at the object's present size instead of the predicted one (no depth cue)."""

    remove: RemoveOptions = RemoveOptions()
    candidates: int = 4
    candidate: int = 0
    seed: int = 0
    edge_px: float = 0.0
    keep_size: bool = False

    def validated(self) -> MoveOptions:
        if not 1 <= self.candidates <= MAX_CANDIDATES:
            raise InvalidInputError(f"candidates must be 1 to {MAX_CANDIDATES}; got {self.candidates}")
        if not 0 <= self.candidate < self.candidates:
            raise InvalidInputError(
                f"candidate {self.candidate} does not exist: give 0 (the best) to {self.candidates - 1}")
        if not 0 <= self.edge_px <= 64:
            raise InvalidInputError(f"the cut-out's edge must be 0 to 64 px; got {self.edge_px}")
        self.remove.validated()
        return self


@dataclass
class MoveResult:
    region: Region  # the changed part of the image: the old hole and the new place
    patch: np.ndarray  # (region.height, region.width, channels) uint8
    object_mask: np.ndarray  # (region.height, region.width) bool, the object where it was
    hole_mask: np.ndarray  # (region.height, region.width) bool, the filled hole
    placed_mask: np.ndarray  # (region.height, region.width) bool, where the object is now (cut-out alpha > 0)
    placement: Placement  # the chosen placement (box in 0..1, which relations hold)
    candidates: list[Placement]  # every candidate considered, best first
    image_size: tuple[int, int]  # (width, height) of the image, for the placements' 0..1 boxes
    dilation_px: int
    iterations: int
    timings: dict[str, float] = field(default_factory=dict)
    object_ids: tuple[int, ...] = ()


def pasted_box(placement_box: Sequence[float], object_size: tuple[int, int], image_size: tuple[int, int],
               keep_size: bool) -> tuple[int, int, int, int]:
    """(x, y, width, height) in px for the cut-out: its aspect ratio kept, its height the predicted one (or its own
    with keep_size), centred on the predicted box's centre column and standing on its bottom edge (ground line)."""
    width, height = image_size
    x0, y0, x1, y1 = placement_box
    object_width, object_height = object_size
    new_height = object_height if keep_size else max(1, round((y1 - y0) * height))
    new_width = max(1, round(object_width * new_height / object_height))
    centre_x, bottom = (x0 + x1) / 2 * width, y1 * height
    return round(centre_x - new_width / 2), round(bottom - new_height), new_width, new_height


def _union(a: Region, b: Region) -> Region:
    x0, y0 = min(a.x, b.x), min(a.y, b.y)
    x1, y1 = max(a.x + a.width, b.x + b.width), max(a.y + a.height, b.y + b.height)
    return Region(x0, y0, x1 - x0, y1 - y0)


def _in(region: Region, inner: Region, crop: np.ndarray) -> np.ndarray:
    """A (region.height, region.width) bool array holding `crop` (the size of `inner`) at inner's place."""
    out = np.zeros((region.height, region.width), dtype=bool)
    out[inner.y - region.y:inner.y - region.y + inner.height, inner.x - region.x:inner.x - region.x + inner.width] = crop
    return out


def move_object(image: np.ndarray, object_mask: np.ndarray, object_class: str, relations: Sequence[Triplet],
                predictor: PositionPredictor, options: MoveOptions = MoveOptions(), *,
                device: torch.device | None = None, progress: ProgressReport | None = None,
                should_stop: Callable[[], bool] | None = None) -> MoveResult:
    """Moves the masked object so that `relations` hold (each relates it to an object already in the image)."""
    validate_remove_input(image, object_mask)
    options = options.validated()
    report = progress or (lambda stage, step, total, message: None)
    height, width = object_mask.shape
    old_box = bounding_region(object_mask)

    started = time.perf_counter()
    report(STAGE_PLACE, 0, 1, "Finding the new place")
    request = PlacementRequest(object_class, tuple(relations),
                               target_size=(old_box.width / width, old_box.height / height)).validated()
    candidates = predictor.candidates(request, options.candidates, seed=options.seed)
    placement = candidates[min(options.candidate, len(candidates) - 1)]
    cutout = cut_out(image, object_mask, edge_px=options.edge_px)
    x, y, new_width, new_height = pasted_box(placement.box, cutout.size, (width, height), options.keep_size)
    report(STAGE_PLACE, 1, 1, "Finding the new place")
    place_seconds = time.perf_counter() - started

    removed = remove_object(image, object_mask, options.remove, device=device, progress=progress,
                            should_stop=should_stop)
    background = apply_patch(image, removed.region, removed.patch)

    started = time.perf_counter()
    report(STAGE_PASTE, 0, 1, "Pasting the object at its new place")
    scaled = cutout.resized(new_width, new_height)
    new_region, new_patch = paste(background, scaled, x, y)
    out = apply_patch(background, new_region, new_patch)
    region = _union(removed.region, new_region)
    inner = (slice(new_region.y - y, new_region.y - y + new_region.height),
             slice(new_region.x - x, new_region.x - x + new_region.width))
    placed = _in(region, new_region, scaled.alpha[inner] > 0)
    report(STAGE_PASTE, 1, 1, "Pasting the object at its new place")
    timings = {STAGE_PLACE: place_seconds, **removed.timings, STAGE_PASTE: time.perf_counter() - started}

    return MoveResult(region=region, patch=out[region.slices].copy(),
                      object_mask=_in(region, removed.region, removed.object_mask),
                      hole_mask=_in(region, removed.region, removed.hole_mask), placed_mask=placed,
                      placement=placement, candidates=candidates, image_size=(width, height),
                      dilation_px=removed.dilation_px,
                      iterations=removed.iterations, timings=timings)
