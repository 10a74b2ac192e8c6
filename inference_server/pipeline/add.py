"""Adding an object where relations hold ("a lamp on the table"): the position model predicts its box (its size
from the place: nearer = larger), the source object is scaled to the box's height (aspect kept), stands on the
box's bottom edge and is pasted with its own alpha. Nothing is removed, so no fitting runs.

    source = source_cutout(picture_rgba)
    result = add_object(image, source, "lamp", [Triplet("on", "table", box01)], predictor, AddOptions())
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidInputError
from ..placement.predict import PositionPredictor
from ..placement.vocabulary import Box01, PlacementRequest, Triplet
from .move import check_candidates, choose_placement
from .paste import Cutout
from .pasting import STAGE_PASTE, STAGE_PLACE, PasteResult, box_on_ground_line, paste_scaled
from .remove import ProgressReport


@dataclass(frozen=True)
class AddOptions:
    """candidates: how many ranked placements to consider, 1..16; candidate: which to use, 0 = the best; seed: the
    placements' random draws; keep_size: paste at the source picture's own size instead of the predicted one."""

    candidates: int = 4
    candidate: int = 0
    seed: int = 0
    keep_size: bool = False

    def validated(self) -> AddOptions:
        check_candidates(self.candidates, self.candidate)
        return self


def add_object(image: np.ndarray, source: Cutout, object_class: str, relations: Sequence[Triplet],
               predictor: PositionPredictor, options: AddOptions = AddOptions(), *,
               progress: ProgressReport | None = None, others: Sequence[Box01] = ()) -> PasteResult:
    """Pastes `source` into `image` ((H, W, 3|4) uint8) where `relations` (to objects in the image) hold, clear of
    the `others` boxes (0..1: further objects in the image) as of the references (placement/overlap.py)."""
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
    pasted = paste_scaled(image, source, box)
    report(STAGE_PASTE, 1, 1, "Pasting the object")
    timings = {STAGE_PLACE: place_seconds, STAGE_PASTE: time.perf_counter() - started}

    return PasteResult(region=pasted.region, patch=pasted.image[pasted.region.slices].copy(), object_mask=None,
                       hole_mask=None, placed_mask=pasted.placed_mask, placement=placement, candidates=candidates,
                       image_size=(width, height), timings=timings)
