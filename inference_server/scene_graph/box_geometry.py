"""Geometry of boxes (x0, y0, x1, y1) with exclusive ends (see ..segmentation.detection): all pure, no numpy."""
from __future__ import annotations

import math

from ..segmentation.detection import Box


def box_area(box: Box) -> int:
    x0, y0, x1, y1 = box
    return max(0, x1 - x0) * max(0, y1 - y0)


def box_intersection(a: Box, b: Box) -> Box | None:
    """The shared part of two boxes, or None when they share no pixel (touching edges share none)."""
    x0, y0, x1, y1 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    return (x0, y0, x1, y1) if x0 < x1 and y0 < y1 else None


def box_iou(a: Box, b: Box) -> float:
    """Intersection over union in [0, 1]; 0 for disjoint boxes."""
    shared = box_intersection(a, b)
    if shared is None:
        return 0.0
    inter = box_area(shared)
    return inter / (box_area(a) + box_area(b) - inter)


def box_gap(a: Box, b: Box) -> float:
    """The shortest distance in pixels between the two boxes' pixels' outer edges; 0 when they touch or overlap."""
    dx = max(0, b[0] - a[2], a[0] - b[2])
    dy = max(0, b[1] - a[3], a[1] - b[3])
    return math.hypot(dx, dy)


def box_centre(box: Box) -> tuple[float, float]:
    """(x, y) of the box's centre, in pixels."""
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def box_size(box: Box) -> tuple[int, int]:
    """(width, height) in pixels."""
    return box[2] - box[0], box[3] - box[1]
