"""The rule-based placement baseline: fixed geometric rules, no learning.

The target keeps its size when given, else takes the references' mean box size. Each triplet, read as "target p
reference" (a triplet with the target as object uses the converse: "reference left of target" = "target right of
reference"), constrains the target's centre x and its bottom edge y1 (its ground line):

    left of / right of   beside the reference at a gap of GAP mean widths, on the reference's ground line
    above / below        over / under the reference's box at a gap of GAP mean heights, centred on its column
    in front of / behind ground line DEPTH_STEP mean heights lower / higher than the reference's, centred on it
    near / next to       beside the reference at a gap of GAP mean widths (at most NEAR_REACH), same ground line,
                         sharing at least SHARED_ROWS of the shorter height
    on                   centred on the reference, bottom edge a quarter down the reference's box
    under                centred on the reference, on its ground line (bottom edge = the reference's)
    "reference on target" / "reference under target": the target centred below / behind the reference to match

A rule's hard limits (e.g. left of: centre x at most ...) are intersected over all triplets and its preferred value
clipped into the intersection; where a rule leaves an axis free its soft preference (e.g. the same ground line)
counts. The box is then shifted into the image. Several relations can still conflict; the result is one box.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from .vocabulary import (ABOVE, BEHIND, BELOW, CONVERSE, IN_FRONT_OF, LEFT_OF, NEAR, NEXT_TO, ON, RIGHT_OF, UNDER,
                         Box01, PlacementRequest)
from .satisfaction import satisfied

GAP = 0.25  # gap beside / over a reference, in mean box widths / heights
DEPTH_STEP = 0.3  # ground line shift for in front of / behind, in mean box heights
ON_DEPTH = 0.25  # "on": the bottom edge this far down the reference's box
NEAR_REACH = 0.45  # near / next to: the largest gap, in mean longer sides (satisfaction's limit is 0.5)
SHARED_ROWS = 0.55  # near / next to: rows shared with the reference, in the shorter height (next to needs 0.5)
EPS = 1e-4
_SUPPORTS = "reference on target"
_COVERS = "reference under target"


@dataclass(frozen=True)
class _Limit:
    """What one triplet asks of one axis: hard bounds and a preferred value (hard: within bounds), or a soft wish."""

    low: float = -math.inf
    high: float = math.inf
    preferred: float | None = None
    hard: bool = True


def _limits(predicate: str, ref: Box01, w: float, h: float, right_side: bool) -> tuple[_Limit, _Limit]:
    """(centre-x limit, bottom-y limit) for "target predicate reference"; right_side: where near / next to go."""
    rx0, ry0, rx1, ry1 = ref
    rw, rh, rcx, rcy = rx1 - rx0, ry1 - ry0, (rx0 + rx1) / 2, (ry0 + ry1) / 2
    gap_x, gap_y = GAP * (w + rw) / 2, GAP * (h + rh) / 2
    column = _Limit(preferred=rcx, hard=False)
    ground = _Limit(preferred=ry1, hard=False)
    if predicate in (NEAR, NEXT_TO):  # beside, the gap below NEAR_REACH mean longer sides
        reach = NEAR_REACH * (max(w, h) + max(rw, rh)) / 2
        shared = SHARED_ROWS * min(h, rh)  # rows both boxes span: side by side, no vertical gap
        level = _Limit(low=ry0 + shared, high=ry1 + h - shared, preferred=ry1)
        if right_side:
            return _Limit(low=rx1 + EPS + w / 2, high=rx1 + reach + w / 2, preferred=rx1 + gap_x + w / 2), level
        return _Limit(low=rx0 - reach - w / 2, high=rx0 - EPS - w / 2, preferred=rx0 - gap_x - w / 2), level
    if predicate == LEFT_OF:
        return _Limit(high=rx0 - gap_x - w / 2, preferred=rx0 - gap_x - w / 2), ground
    if predicate == RIGHT_OF:
        return _Limit(low=rx1 + gap_x + w / 2, preferred=rx1 + gap_x + w / 2), ground
    if predicate == ABOVE:
        return column, _Limit(high=ry0 - gap_y, preferred=ry0 - gap_y)
    if predicate == BELOW:
        return column, _Limit(low=ry1 + gap_y + h, preferred=ry1 + gap_y + h)
    step = DEPTH_STEP * (h + rh) / 2
    if predicate == IN_FRONT_OF:
        return column, _Limit(low=ry1 + step, preferred=ry1 + step)
    if predicate == BEHIND:
        return column, _Limit(high=ry1 - step, preferred=ry1 - step)
    if predicate in (ON, UNDER):
        x = _Limit(low=rx0, high=rx1 - EPS, preferred=rcx)
        if predicate == ON:
            return x, _Limit(low=ry0 + EPS, high=ry0 + rh / 2, preferred=ry0 + min(ON_DEPTH * rh, h / 2))
        return x, _Limit(low=max(rcy + h / 2, ry0 + h) + EPS, preferred=ry1)
    x = _Limit(low=rcx - w / 2 + EPS, high=rcx + w / 2 - EPS, preferred=rcx)
    if predicate == _SUPPORTS:  # the reference's bottom edge in the target's top half, its top above the target's
        low = max(ry1 - h / 2, ry0) + h + EPS
        return x, _Limit(low=low, high=ry1 + h - EPS, preferred=max(ry1 + 0.75 * h, low))
    if predicate == _COVERS:  # the reference's top below the target's, its centre below the target's
        high = min(ry0 + h, rcy + h / 2) - EPS
        return x, _Limit(high=high, preferred=min(ry1, high))
    raise ValueError(f"Expected a vocabulary predicate, but found '{predicate}'")


def _combine(limits: list[_Limit], fallback: float) -> float:
    hard = [limit for limit in limits if limit.hard]
    low = max((limit.low for limit in hard), default=-math.inf)
    high = min((limit.high for limit in hard), default=math.inf)
    wishes = [limit.preferred for limit in (hard or limits) if limit.preferred is not None]
    preferred = sum(wishes) / len(wishes) if wishes else fallback
    if low > high:  # the relations conflict: keep the first hard rule
        return hard[0].preferred
    return min(max(preferred, low), high)


def target_size(request: PlacementRequest) -> tuple[float, float]:
    """The given size, else the mean size of the reference boxes."""
    if request.target_size is not None:
        return request.target_size
    boxes = [t.reference_box for t in request.triplets]
    return (sum(b[2] - b[0] for b in boxes) / len(boxes), sum(b[3] - b[1] for b in boxes) / len(boxes))


def _place(request: PlacementRequest, w: float, h: float, sides: tuple[bool, ...]) -> Box01:
    x_limits, y_limits = [], []
    for triplet, right_side in zip(request.triplets, sides):
        predicate = triplet.predicate
        if not triplet.target_is_subject:
            predicate = CONVERSE.get(predicate) or {ON: _SUPPORTS, UNDER: _COVERS}[predicate]
        x_limit, y_limit = _limits(predicate, triplet.reference_box, w, h, right_side)
        x_limits.append(x_limit)
        y_limits.append(y_limit)
    cx = _combine(x_limits, 0.5)
    y1 = _combine(y_limits, 0.5 + h / 2)
    x0 = min(max(cx - w / 2, 0.0), 1.0 - w)
    y0 = min(max(y1 - h, 0.0), 1.0 - h)
    return (x0, y0, x0 + w, y0 + h)


def rule_placement(request: PlacementRequest) -> Box01:
    """The baseline's box for the target, in 0..1 (inside the image). `request` should be validated.

    A near / next to triplet may put the target on either side of its reference: each choice is tried (the side
    with more room first) and the box satisfying the most triplets kept (the first on a tie)."""
    w, h = (min(max(v, 1e-3), 1.0) for v in target_size(request))
    options = [((1.0 - t.reference_box[2] >= t.reference_box[0]),) if t.predicate not in (NEAR, NEXT_TO) else
               ((1.0 - t.reference_box[2] >= t.reference_box[0]), (1.0 - t.reference_box[2] < t.reference_box[0]))
               for t in request.triplets]
    best, best_count = None, -1
    for sides in itertools.product(*options):
        box = _place(request, w, h, sides)
        count = sum(satisfied(box, request))
        if count > best_count:
            best, best_count = box, count
            if count == len(request.triplets):
                break
    return best
