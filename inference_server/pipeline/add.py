"""Adding an object where relations hold ("a lamp on the table"): the position model predicts its box (its size
from the place: nearer = larger), the source object is scaled to the box's height (aspect kept), stands on the
box's bottom edge and is pasted with its own alpha; when a reference object casts a shadow, the new object casts
one like it (shadow_transfer.py). Nothing is removed, so no fitting runs.

    source = source_cutout(picture_rgba)
    result = add_object(image, source, "lamp", [Triplet("on", "table", box01)], predictor, AddOptions())
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import InvalidInputError
from ..placement.predict import PositionPredictor
from ..placement.vocabulary import Box01, PlacementRequest, Triplet
from .move import check_candidates, choose_placement
from .paste import Cutout
from . import shadow_transfer
from .masks import Region, bounding_region
from .pasting import STAGE_PASTE, STAGE_PLACE, PasteResult, box_on_ground_line, paste_casting
from .remove import ProgressReport, known_background


@dataclass(frozen=True)
class AddOptions:
    """candidates: how many ranked placements to consider, 1..16; candidate: which to use, 0 = the best; seed: the
    placements' random draws; keep_size: paste at the source picture's own size instead of the predicted one.
    cast_shadow: when a reference object casts a shadow, the new object casts one like it (shadow_transfer.py)."""

    candidates: int = 4
    candidate: int = 0
    seed: int = 0
    keep_size: bool = False
    cast_shadow: bool = True

    def validated(self) -> AddOptions:
        check_candidates(self.candidates, self.candidate)
        return self


def add_object(image: np.ndarray, source: Cutout, object_class: str, relations: Sequence[Triplet],
               predictor: PositionPredictor, options: AddOptions = AddOptions(), *,
               progress: ProgressReport | None = None, others: Sequence[Box01] = (),
               reference_masks: Sequence[np.ndarray] = (), device: torch.device | None = None) -> PasteResult:
    """Pastes `source` into `image` ((H, W, 3|4) uint8) where `relations` (to objects in the image) hold, clear of
    the `others` boxes (0..1: further objects in the image) as of the references (placement/overlap.py).
    reference_masks: the relations' reference objects ((H, W) bool each), whose shadows show the scene's light."""
    if image.ndim != 3 or image.shape[2] not in (3, 4) or image.dtype != np.uint8:
        raise InvalidInputError(f"the image must be 8-bit RGB or RGBA; got shape {image.shape}, {image.dtype}")
    options = options.validated()
    report = progress or (lambda stage, step, total, message: None)
    height, width = image.shape[:2]

    started = time.perf_counter()
    report(STAGE_PLACE, 0, 1, "Finding a place for the object")
    request = PlacementRequest(object_class, tuple(relations))  # no size: the model predicts it for the place
    placement, candidates = choose_placement(predictor, request, options.candidates, options.candidate, options.seed,
                                             others)
    box = box_on_ground_line(placement.box, source.size, (width, height), keep_size=options.keep_size)
    report(STAGE_PLACE, 1, 1, "Finding a place for the object")
    place_seconds = time.perf_counter() - started

    started = time.perf_counter()
    report(STAGE_PASTE, 0, 1, "Pasting the object")
    shadow = _new_shadow(image, reference_masks, box, device) if options.cast_shadow else None
    edited, region, placed, placed_shadow = paste_casting(image, source, box, shadow)
    report(STAGE_PASTE, 1, 1, "Pasting the object")
    timings = {STAGE_PLACE: place_seconds, STAGE_PASTE: time.perf_counter() - started}

    return PasteResult(region=region, patch=edited[region.slices].copy(), object_mask=None,
                       hole_mask=None, placed_mask=placed, placement=placement, candidates=candidates,
                       image_size=(width, height), timings=timings, placed_shadow_mask=placed_shadow)


def _new_shadow(image: np.ndarray, reference_masks: Sequence[np.ndarray], box: tuple[int, int, int, int],
                device: torch.device | None) -> tuple[Region, np.ndarray] | None:
    """The shadow of an object pasted at `box`, like the first reference's that casts one: (region, darkening
    there), or None."""
    valid = known_background(image)
    for mask in reference_masks:
        if mask is None or not mask.any():
            continue
        measured = shadow_transfer.reference_darkening(image, mask, valid, device)
        if measured is None:
            continue
        region, carried = shadow_transfer.carry_shadow(measured[1], measured[0], bounding_region(mask), box,
                                                       image.shape[:2])
        if region.width and region.height:
            return region, carried
    return None
