"""One detected object: what it is, how sure the model is, where it is (box and mask).

Boxes are (x0, y0, x1, y1) integer pixel coordinates with exclusive ends: columns x0 .. x1-1 and rows y0 .. y1-1,
so width = x1 - x0 and 0 <= x0 < x1 <= image width (likewise y). Masks are (H, W) bool, True = the object.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

Box = tuple[int, int, int, int]  # (x0, y0, x1, y1), ends exclusive


@dataclass(frozen=True)
class Detection:
    """class_name: one of the segmenter's `class_names`; score: confidence in [0, 1]; box: Box inside the image;
    mask: (H, W) bool of the whole image (not compared by ==; compare masks with np.array_equal)."""

    class_name: str
    score: float
    box: Box
    mask: np.ndarray = field(compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.mask.ndim != 2 or self.mask.dtype != np.bool_:
            raise ValueError(f"Expected a (H, W) bool mask, but found shape {self.mask.shape} of {self.mask.dtype}")
        height, width = self.mask.shape
        x0, y0, x1, y1 = self.box
        if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
            raise ValueError(
                f"Expected a box (x0, y0, x1, y1) with 0 <= x0 < x1 <= {width} and 0 <= y0 < y1 <= {height}, "
                f"but found {self.box}")
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"Expected a score in [0, 1], but found {self.score}")


def detection_order(detection: Detection) -> tuple:
    """The order `Segmenter.detect` returns: highest score first; equal scores by box (x0, y0, x1, y1), then name."""
    return (-detection.score, detection.box, detection.class_name)


def box_from_corners(x0: float, y0: float, x1: float, y1: float, width: int, height: int) -> Box:
    """The integer Box covering a real-valued box (pixels it touches), clipped to a width x height image and at least
    one pixel wide and high."""
    left = min(max(math.floor(x0), 0), width - 1)
    top = min(max(math.floor(y0), 0), height - 1)
    right = max(min(math.ceil(x1), width), left + 1)
    bottom = max(min(math.ceil(y1), height), top + 1)
    return left, top, right, bottom
