"""Replacing an object by another one: remove the target (background-guided DIP, remove.py), fit the source object
into the target's box (aspect kept, as large as fits, standing on the box's bottom edge: the same ground line),
paste it with its own alpha.

    source = source_cutout(picture_rgba)                     # or source_cutout(picture_rgb, mask)
    result = replace_object(image, object_mask, source, RemoveOptions(), device=...)

The result carries the changed region (the hole, and the pasted object where it reaches beyond it) with the masks
used: the target as given, the filled hole, and where the new object is.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from .masks import bounding_region
from .options import RemoveOptions
from .paste import Cutout
from .pasting import PasteResult, box01_of, box_on_ground_line, remove_and_paste
from .remove import ProgressReport, validate_remove_input


def replace_object(image: np.ndarray, object_mask: np.ndarray, source: Cutout,
                   options: RemoveOptions = RemoveOptions(), *, device: torch.device | None = None,
                   progress: ProgressReport | None = None,
                   should_stop: Callable[[], bool] | None = None) -> PasteResult:
    """Replaces the masked object by `source`; `options` say how its place is filled first."""
    validate_remove_input(image, object_mask)
    options = options.validated()
    height, width = object_mask.shape
    target_box = box01_of(bounding_region(object_mask), (width, height))
    box = box_on_ground_line(target_box, source.size, (width, height), fit="inside")

    return remove_and_paste(image, object_mask, source, box, options, "Pasting the new object", device=device,
                            progress=progress, should_stop=should_stop)
