"""Whether a placed box satisfies each requested relation, in image-plane terms (vocabulary.py has the rules).

Used to evaluate placements (the share of predictions satisfying every requested relation) and to rank the
predictor's candidates. Boxes are in 0..1; they are scaled to `image_size` pixels first, so "near" (a gap against
box sides) means the same as in a picture of that shape. The shared rules are ..scene_graph.relations'
(pair_predicates with its default RelationOptions, boxes only); "next to" and "under" are added here.
"""
from __future__ import annotations

from collections.abc import Sequence

from ..scene_graph.relations import RelationOptions, pair_predicates
from .vocabulary import LEFT_OF, NEAR, NEXT_TO, RIGHT_OF, UNDER, Box01, PlacementRequest

DEFAULT_IMAGE_SIZE = (256, 256)  # (width, height) in px; the synthetic training scenes' square
SIDE_BY_SIDE_OVERLAP = 0.5  # "next to": shared rows over the shorter box's height
_OPTIONS = RelationOptions()


def _pixels(box: Sequence[float], image_size: tuple[int, int]) -> tuple[float, float, float, float]:
    width, height = image_size
    return box[0] * width, box[1] * height, box[2] * width, box[3] * height


def _under(a: Sequence[float], b: Sequence[float]) -> bool:
    centre_x, centre_y = (a[0] + a[2]) / 2, (a[1] + a[3]) / 2
    return b[0] <= centre_x < b[2] and a[1] > b[1] and centre_y > (b[1] + b[3]) / 2


def _side_by_side(a: Sequence[float], b: Sequence[float]) -> bool:
    shared = min(a[3], b[3]) - max(a[1], b[1])
    return shared >= SIDE_BY_SIDE_OVERLAP * min(a[3] - a[1], b[3] - b[1])


def predicates_between(subject: Box01, reference: Box01, *,
                       image_size: tuple[int, int] = DEFAULT_IMAGE_SIZE) -> set[str]:
    """Every vocabulary predicate p for which "subject p reference" holds (0..1 boxes)."""
    a, b = _pixels(subject, image_size), _pixels(reference, image_size)
    found = set(pair_predicates(a, b, 0.0, _OPTIONS))  # boxes only: no mask overlap known
    found.discard("overlapping")
    if NEAR in found and (LEFT_OF in found or RIGHT_OF in found) and _side_by_side(a, b):
        found.add(NEXT_TO)
    if _under(a, b):
        found.add(UNDER)
    return found


def relation_holds(subject: Box01, predicate: str, reference: Box01, *,
                   image_size: tuple[int, int] = DEFAULT_IMAGE_SIZE) -> bool:
    """Whether "subject <predicate> reference" holds for these boxes."""
    return predicate in predicates_between(subject, reference, image_size=image_size)


def satisfied(box: Box01, request: PlacementRequest, *,
              image_size: tuple[int, int] = DEFAULT_IMAGE_SIZE) -> tuple[bool, ...]:
    """For the target placed at `box`, whether each of the request's triplets holds (in the request's order)."""
    result = []
    for triplet in request.triplets:
        if triplet.target_is_subject:
            result.append(relation_holds(box, triplet.predicate, triplet.reference_box, image_size=image_size))
        else:
            result.append(relation_holds(triplet.reference_box, triplet.predicate, box, image_size=image_size))
    return tuple(result)
