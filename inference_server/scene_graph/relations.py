"""Pairwise relations between detected objects, read from their boxes and masks in the image plane.

For a subject A and a reference B (object ids = indices into the detections), with box centres (cx, cy), sizes
(w, h) and bottom edges y1 (image y grows downwards):

    A left of B      cx_B - cx_A > direction_margin * (w_A + w_B) / 2        (right of: the mirror)
    A above B        cy_B - cy_A > direction_margin * (h_A + h_B) / 2        (below: the mirror)
    A in front of B  y1_A - y1_B > depth_margin * (h_A + h_B) / 2            (behind: the mirror)
                     the depth cue of a photo of things standing on one floor: the lower bottom edge is nearer
    A overlapping B  the masks share at least mask_overlap of the smaller mask's pixels, or the boxes share at
                     least box_overlap of the smaller box's area (an occluded object's mask misses the hidden part)
    A near B         not overlapping, and the gap between the boxes < near_gap * the mean of their longer sides
    A on B           A's centre x lies in B's columns, A's top is above B's top, and A's bottom edge lies in the
                     top on_band share of B's box: B.y0 < y1_A <= B.y0 + on_band * h_B (a cup on a table)

`overlapping` and `near` are symmetric and listed in both directions. These are image-plane heuristics, not 3D.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from ..errors import InvalidInputError
from ..segmentation.detection import Box, Detection
from .box_geometry import box_area, box_centre, box_gap, box_intersection, box_size

LEFT_OF = "left of"
RIGHT_OF = "right of"
ABOVE = "above"
BELOW = "below"
IN_FRONT_OF = "in front of"
BEHIND = "behind"
NEAR = "near"
OVERLAPPING = "overlapping"
ON = "on"
PREDICATES: tuple[str, ...] = (LEFT_OF, RIGHT_OF, ABOVE, BELOW, IN_FRONT_OF, BEHIND, NEAR, OVERLAPPING, ON)


@dataclass(frozen=True)
class Relation:
    """detections[subject] <predicate> detections[reference], e.g. (0, "left of", 2)."""

    subject: int
    predicate: str
    reference: int


@dataclass(frozen=True)
class RelationOptions:
    """Thresholds of the rules in the module docstring, as shares of the objects' sizes (scale-free).

    direction_margin >= 0: centres must be this far apart along the axis, in mean box widths/heights.
    depth_margin >= 0: bottom edges must be this far apart, in mean box heights.
    near_gap >= 0: the largest gap counted as near, in mean longer sides (0 = never near).
    mask_overlap, box_overlap in (0, 1]: shares of the smaller mask / box that make two objects overlap.
    on_band in (0, 1]: how far down the reference's box the subject's bottom edge may rest.
    """

    direction_margin: float = 0.1
    depth_margin: float = 0.1
    near_gap: float = 0.5
    mask_overlap: float = 0.05
    box_overlap: float = 0.25
    on_band: float = 0.5

    def __post_init__(self) -> None:
        for option in fields(self):
            value = getattr(self, option.name)
            if not math.isfinite(value) or value < 0:
                raise InvalidInputError(
                    f"the relation option {option.name} must be a finite number of at least 0; got {value}")
        for name in ("mask_overlap", "box_overlap", "on_band"):
            value = getattr(self, name)
            if not 0 < value <= 1:
                raise InvalidInputError(f"the relation option {name} must be above 0 and at most 1; got {value}")


def _tight_box(mask: np.ndarray) -> Box | None:
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


class _MaskIndex:
    """Each mask's pixel count and tight box, so a pair's shared pixels are counted only where both can be."""

    def __init__(self, detections: Sequence[Detection]):
        self.masks = [detection.mask for detection in detections]
        self.areas = [int(mask.sum()) for mask in self.masks]
        self.boxes = [_tight_box(mask) for mask in self.masks]
        self._shares: dict[tuple[int, int], float] = {}  # (i, j) with i < j -> share; the share is symmetric

    def shared_share(self, i: int, j: int) -> float:
        """Shared pixels of masks i and j over the smaller mask's pixel count; 0 when either is empty."""
        key = (min(i, j), max(i, j))
        if key not in self._shares:
            self._shares[key] = self._count_share(i, j)
        return self._shares[key]

    def _count_share(self, i: int, j: int) -> float:
        if self.boxes[i] is None or self.boxes[j] is None:
            return 0.0
        shared = box_intersection(self.boxes[i], self.boxes[j])
        if shared is None:
            return 0.0
        x0, y0, x1, y1 = shared
        both = np.count_nonzero(self.masks[i][y0:y1, x0:x1] & self.masks[j][y0:y1, x0:x1])
        return both / min(self.areas[i], self.areas[j])


def _overlapping(a: Box, b: Box, mask_share: float, options: RelationOptions) -> bool:
    if mask_share >= options.mask_overlap:
        return True
    shared = box_intersection(a, b)
    return shared is not None and box_area(shared) >= options.box_overlap * min(box_area(a), box_area(b))


def _is_on(a: Box, b: Box, on_band: float) -> bool:
    centre_x, _ = box_centre(a)
    return (b[0] <= centre_x < b[2] and a[1] < b[1]
            and b[1] < a[3] <= b[1] + on_band * (b[3] - b[1]))


def pair_predicates(a: Box, b: Box, mask_share: float, options: RelationOptions = RelationOptions()) -> list[str]:
    """The predicates P, in PREDICATES order, for which "A P B" holds; `mask_share` is the masks' shared pixels over
    the smaller mask's count (0 when unknown)."""
    (ax, ay), (bx, by) = box_centre(a), box_centre(b)
    (aw, ah), (bw, bh) = box_size(a), box_size(b)
    mean_width, mean_height = (aw + bw) / 2, (ah + bh) / 2
    found = []
    if bx - ax > options.direction_margin * mean_width:
        found.append(LEFT_OF)
    if ax - bx > options.direction_margin * mean_width:
        found.append(RIGHT_OF)
    if by - ay > options.direction_margin * mean_height:
        found.append(ABOVE)
    if ay - by > options.direction_margin * mean_height:
        found.append(BELOW)
    if a[3] - b[3] > options.depth_margin * mean_height:
        found.append(IN_FRONT_OF)
    if b[3] - a[3] > options.depth_margin * mean_height:
        found.append(BEHIND)
    overlapping = _overlapping(a, b, mask_share, options)
    if not overlapping and box_gap(a, b) < options.near_gap * (max(aw, ah) + max(bw, bh)) / 2:
        found.append(NEAR)
    if overlapping:
        found.append(OVERLAPPING)
    if _is_on(a, b, options.on_band):
        found.append(ON)
    return found


def extract_relations(detections: Sequence[Detection],
                      options: RelationOptions = RelationOptions()) -> list[Relation]:
    """Every relation between every ordered pair of detections, sorted by (subject, reference, PREDICATES order).
    Fewer than two detections give []. All masks must have the same (H, W)."""
    shapes = {detection.mask.shape for detection in detections}
    if len(shapes) > 1:
        raise InvalidInputError(f"the detections' masks differ in size ({sorted(shapes)}); they must share one image")
    masks = _MaskIndex(detections)
    relations = []
    for i, subject in enumerate(detections):
        for j, reference in enumerate(detections):
            if i == j:
                continue
            share = masks.shared_share(i, j)
            relations.extend(Relation(i, predicate, j)
                             for predicate in pair_predicates(subject.box, reference.box, share, options))
    return relations


def as_triplets(detections: Sequence[Detection], relations: Sequence[Relation]) -> list[tuple[str, str, str]]:
    """Relations as (subject class, predicate, reference class) triplets, e.g. ("cup", "on", "dining table")."""
    return [(detections[r.subject].class_name, r.predicate, detections[r.reference].class_name) for r in relations]
