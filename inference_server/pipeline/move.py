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
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import InvalidInputError
from ..placement.predict import MAX_CANDIDATES, Placement, PositionPredictor
from ..placement.vocabulary import Box01, PlacementRequest, Triplet
from .masks import bounding_region
from .options import RemoveOptions
from .paste import cut_out
from .pasting import STAGE_PLACE, PasteResult, box_on_ground_line, remove_and_paste
from .remove import ProgressReport, validate_remove_input


def check_candidates(candidates: int, candidate: int) -> None:
    """Raises InvalidInputError unless 1 <= candidates <= MAX_CANDIDATES and 0 <= candidate < candidates."""
    if not 1 <= candidates <= MAX_CANDIDATES:
        raise InvalidInputError(f"candidates must be 1 to {MAX_CANDIDATES}; got {candidates}")
    if not 0 <= candidate < candidates:
        raise InvalidInputError(f"candidate {candidate} does not exist: give 0 (the best) to {candidates - 1}")


@dataclass(frozen=True)
class MoveOptions:
    """remove: how the old place is filled. candidates: how many ranked placements to consider, 1..16; candidate:
    which one to use, 0 = the best (remove.seed also seeds the placements' random draws). edge_px >= 0: the cut-out's soft edge; 0
    (default) pastes the mask's pixels as they are, which leaves the smallest seam on the scene generator's ground
    truth (docs/BENCHMARKS.md, paste seam); a soft edge is for masks that include some background at the border.
    keep_size: paste at the object's present size instead of the predicted one (no depth cue)."""

    remove: RemoveOptions = RemoveOptions()
    candidates: int = 4
    candidate: int = 0
    edge_px: float = 0.0
    keep_size: bool = False

    def validated(self) -> MoveOptions:
        check_candidates(self.candidates, self.candidate)
        if not 0 <= self.edge_px <= 64:
            raise InvalidInputError(f"the cut-out's edge must be 0 to 64 px; got {self.edge_px}")
        self.remove.validated()
        return self


def choose_placement(predictor: PositionPredictor, request: PlacementRequest, candidates: int, candidate: int,
                     seed: int, others: Sequence[Box01] = ()) -> tuple[Placement, list[Placement]]:
    """The chosen placement and every ranked one (fewer than asked when the model finds fewer distinct places).
    others: boxes (0..1) of objects in the image besides the references, to keep clear of."""
    ranked = predictor.candidates(request.validated(), candidates, seed=seed, others=others)
    return ranked[min(candidate, len(ranked) - 1)], ranked


def move_object(image: np.ndarray, object_mask: np.ndarray, object_class: str, relations: Sequence[Triplet],
                predictor: PositionPredictor, options: MoveOptions = MoveOptions(), *,
                device: torch.device | None = None, progress: ProgressReport | None = None,
                should_stop: Callable[[], bool] | None = None, others: Sequence[Box01] = ()) -> PasteResult:
    """Moves the masked object so that `relations` hold (each relates it to an object already in the image).
    others: boxes (0..1) of further objects in the image that the new place should not cover (the references
    are kept clear of already, unless a relation asks for contact or depth: placement/overlap.py)."""
    validate_remove_input(image, object_mask)
    options = options.validated()
    report = progress or (lambda stage, step, total, message: None)
    height, width = object_mask.shape
    old_box = bounding_region(object_mask)

    started = time.perf_counter()
    report(STAGE_PLACE, 0, 1, "Finding the new place")
    request = PlacementRequest(object_class, tuple(relations),
                               target_size=(old_box.width / width, old_box.height / height))
    placement, candidates = choose_placement(predictor, request, options.candidates, options.candidate,
                                             options.remove.seed, others)
    cutout = cut_out(image, object_mask, edge_px=options.edge_px)
    box = box_on_ground_line(placement.box, cutout.size, (width, height), keep_size=options.keep_size)
    report(STAGE_PLACE, 1, 1, "Finding the new place")
    place_seconds = time.perf_counter() - started

    result = remove_and_paste(image, object_mask, cutout, box, options.remove, "Pasting the object at its new place",
                              device=device, progress=progress, should_stop=should_stop, carry_shadow=True)
    result.placement, result.candidates = placement, candidates
    result.timings = {STAGE_PLACE: place_seconds, **result.timings}
    return result
