"""Replacing an object by another one: remove the target (background-guided DIP, remove.py), size the source object
from the target's box (aspect kept; by default as large as fits inside it), stand it on the box's bottom edge (the
same ground line), paste it with its own alpha.

    source = source_cutout(picture_rgba)                     # or source_cutout(picture_rgb, mask)
    result = replace_object(image, object_mask, source, ReplaceOptions(fit="width"), device=...)

The old object's cast shadow stays: the new object stands where it stood, under the same light, and on the scene
generator's replacements keeping the shadow scores better than removing it and casting it again under the new object
(docs/BENCHMARKS.md, "Edits against ground truth"). So replace never runs the shadow step (keep_shadow is implied).

The result carries the changed region (the hole, and the pasted object where it reaches beyond it) with the masks
used: the target as given, the filled hole, and where the new object is.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import replace as dataclass_replace

import numpy as np
import torch

from ..errors import InvalidInputError, quoted
from .masks import bounding_region
from .options import REPLACE_FITS, RemoveOptions
from .paste import Cutout
from .pasting import PasteResult, box01_of, box_on_ground_line, remove_and_paste
from .remove import ProgressReport, validate_remove_input


@dataclass(frozen=True)
class ReplaceOptions:
    """remove: how the old place is filled. fit: how the new object is sized from the old one's box, aspect kept:
    "inside" (default) as large as fits inside it, so it never covers more than the old object did; "width" as wide
    (the same footprint: best on the scene generator, where a new shape keeps the old one's footprint, see
    docs/BENCHMARKS.md), "height" as tall."""

    remove: RemoveOptions = RemoveOptions()
    fit: str = "inside"

    def validated(self) -> ReplaceOptions:
        if self.fit not in REPLACE_FITS:
            raise InvalidInputError(f"unknown fit {quoted(self.fit)}: use one of {', '.join(REPLACE_FITS)}")
        self.remove.validated()
        return self


def replace_object(image: np.ndarray, object_mask: np.ndarray, source: Cutout,
                   options: ReplaceOptions = ReplaceOptions(), *, device: torch.device | None = None,
                   progress: ProgressReport | None = None,
                   should_stop: Callable[[], bool] | None = None) -> PasteResult:
    """Replaces the masked object by `source`; `options` say how its place is filled and the new one sized."""
    validate_remove_input(image, object_mask)
    options = options.validated()
    height, width = object_mask.shape
    target_box = box01_of(bounding_region(object_mask), (width, height))
    box = box_on_ground_line(target_box, source.size, (width, height), fit=options.fit)

    return remove_and_paste(image, object_mask, source, box, dataclass_replace(options.remove, keep_shadow=True),
                            "Pasting the new object", device=device, progress=progress, should_stop=should_stop)
