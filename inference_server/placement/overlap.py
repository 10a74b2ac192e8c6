"""Placements that do not interpenetrate: which objects a placed box must keep clear of, and whether it does.

A placed object that covers part of another object reads as the two shapes passing through each other, unless the
request asks for contact or depth: "on" and "under" put the target against its reference, and "in front of" /
"behind" may draw the nearer object over the farther one. So the obstacles of a request are its references that
take part in none of those relations (obstacles_of), plus whatever other objects the caller knows of in the image;
a box overlaps an obstacle when their intersection covers more than OVERLAP_TOLERANCE of the smaller box (a touch
of anti-aliased corners is not an overlap). predict.py ranks clear placements before overlapping ones.
"""
from __future__ import annotations

from collections.abc import Sequence

from ..scene_graph.relations import BEHIND, IN_FRONT_OF, ON
from .vocabulary import UNDER, Box01, PlacementRequest

CONTACT_PREDICATES: frozenset[str] = frozenset({ON, UNDER, IN_FRONT_OF, BEHIND})
OVERLAP_TOLERANCE = 0.05  # share of the smaller box


def overlap_share(a: Box01, b: Box01) -> float:
    """The area the two boxes share over the smaller box's area (0 = apart, 1 = one inside the other)."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return width * height / smaller if smaller > 0 else 0.0


def obstacles_of(request: PlacementRequest, others: Sequence[Box01] = ()) -> tuple[Box01, ...]:
    """The boxes a placement for `request` must keep clear of: its references in no contact or depth relation,
    then `others` (further objects known in the image) that are not such a reference."""
    def key(box: Sequence[float]) -> Box01:
        return tuple(float(v) for v in box)

    exempt = {key(t.reference_box) for t in request.triplets if t.predicate in CONTACT_PREDICATES}
    unique = list(dict.fromkeys(key(box) for box in [t.reference_box for t in request.triplets] + list(others)))
    return tuple(box for box in unique if box not in exempt)


def overlaps_any(box: Box01, obstacles: Sequence[Box01], tolerance: float = OVERLAP_TOLERANCE) -> bool:
    """Whether `box` covers more than `tolerance` of (or is covered by) any obstacle."""
    return any(overlap_share(box, obstacle) > tolerance for obstacle in obstacles)
