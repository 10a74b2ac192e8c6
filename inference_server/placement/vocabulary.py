"""The words the position model knows (predicates and object classes) and the placement request made of them.

Boxes here are (x0, y0, x1, y1) in 0..1 image coordinates: x = column / width, y = row / height (y grows
downwards), ends exclusive as in ..segmentation.detection, so a 256 px image's pixel box (10, 20, 42, 60) is
(10/256, 20/256, 42/256, 60/256).

Predicates and their meaning in the image plane, for a target A and a reference B (satisfaction.py checks them;
the thresholds are ..scene_graph.relations.RelationOptions' defaults):

    left of       A's centre lies left of B's by 0.1 mean box width                     (right of: the mirror)
    above         A's centre lies higher than B's by 0.1 mean box height                (below: the mirror)
    in front of   A's bottom edge lies lower than B's by 0.1 mean box height: nearer on a common floor
                  (behind: the mirror)
    near          the boxes do not overlap (< 25% of the smaller box) and their gap is < half their mean longer side
    next to       near, and side by side: left of or right of B, the boxes' vertical spans sharing at least half the
                  shorter height
    on            A's centre x lies in B's columns, A's top above B's top, A's bottom edge in the top half of B
                  (a cup on a table)
    under         A's centre x lies in B's columns, A's top below B's top and A's centre below B's centre
                  (a dog under a table)

In the synthetic training scenes "left of", "right of", "in front of" and "behind" come from CLEVR's 3D rule
(..scenes.relations: ground positions), which the image-plane meaning above follows nearly always.

Classes: the synthetic scenes' 24 ("red cube", ..scenes.CLASSES) and UNKNOWN. A name is matched case- and
blank-insensitively ("Red  Cube"), with "grey" read as "gray"; any other name (a COCO class such as "dog") is
embedded as UNKNOWN, which the model learnt as "some object" (training replaces classes by it at random). The
class embeddings matter little: in CLEVR the predicates are purely spatial (SIMBIL section 3.2).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import InvalidInputError, quoted
from ..scene_graph.relations import ABOVE, BEHIND, BELOW, IN_FRONT_OF, LEFT_OF, NEAR, ON, RIGHT_OF
from ..scenes import CLASSES as SCENE_CLASSES

NEXT_TO = "next to"
UNDER = "under"
PREDICATES: tuple[str, ...] = (LEFT_OF, RIGHT_OF, ABOVE, BELOW, IN_FRONT_OF, BEHIND, NEXT_TO, NEAR, ON, UNDER)
CLEVR_PREDICATES: tuple[str, ...] = (LEFT_OF, RIGHT_OF, IN_FRONT_OF, BEHIND)  # from 3D positions in training
# "A p B" <=> "B CONVERSE[p] A"; "on" and "under" have no converse in the vocabulary.
CONVERSE: dict[str, str] = {LEFT_OF: RIGHT_OF, RIGHT_OF: LEFT_OF, ABOVE: BELOW, BELOW: ABOVE,
                            IN_FRONT_OF: BEHIND, BEHIND: IN_FRONT_OF, NEXT_TO: NEXT_TO, NEAR: NEAR}
# The predicate after mirroring the image left to right.
MIRRORED: dict[str, str] = {**{p: p for p in PREDICATES}, LEFT_OF: RIGHT_OF, RIGHT_OF: LEFT_OF}

UNKNOWN = "<unknown>"
CLASSES: tuple[str, ...] = SCENE_CLASSES + (UNKNOWN,)
_ALIASES = {"grey": "gray"}
MAX_TRIPLETS = 5  # SIMBIL A.2: at most 5 modified triplets per target

Box01 = tuple[float, float, float, float]  # (x0, y0, x1, y1) in 0..1


def normalise_predicate(predicate: str) -> str:
    """'Left  Of ' -> 'left of'; also 'left-of' and 'left_of'."""
    return " ".join(predicate.replace("-", " ").replace("_", " ").split()).lower()


def check_predicate(predicate: str) -> str:
    """The predicate, normalised; raises InvalidInputError listing the known ones unless it is one of them."""
    name = normalise_predicate(predicate)
    if name not in PREDICATES:
        raise InvalidInputError(
            f"the relation {quoted(predicate)} is not one the position model knows; use one of: {', '.join(PREDICATES)}")
    return name


def normalise_class(name: str) -> str:
    """A class name as the vocabulary spells it: lower case, single blanks, 'grey' -> 'gray'."""
    return " ".join(_ALIASES.get(word, word) for word in name.lower().split())


def class_index(name: str) -> int:
    """Index into CLASSES: the scene class the name spells, else UNKNOWN's (never an error)."""
    name = normalise_class(name)
    return CLASSES.index(name) if name in CLASSES else len(CLASSES) - 1


def check_box(box: Sequence[float], what: str = "the reference box") -> Box01:
    """The box as 4 floats; raises InvalidInputError unless 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1."""
    if len(box) != 4:
        raise InvalidInputError(f"{what} must be 4 numbers (x0, y0, x1, y1) in 0..1; got {len(box)}")
    x0, y0, x1, y1 = (float(value) for value in box)
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)) or not (0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1):
        raise InvalidInputError(
            f"{what} must satisfy 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1 (shares of the image's width and "
            f"height); got ({x0:g}, {y0:g}, {x1:g}, {y1:g})")
    return x0, y0, x1, y1


@dataclass(frozen=True)
class Triplet:
    """One requested relation between the target and a reference object already in the image.

    target_is_subject True: "target <predicate> reference" (move the cube *left of* the sphere); False:
        "reference <predicate> target" (SIMBIL's indicator I: the target is the triplet's object).
    reference_box: the reference's box in 0..1 image coordinates.
    """

    predicate: str
    reference_class: str
    reference_box: Box01
    target_is_subject: bool = True


@dataclass(frozen=True)
class PlacementRequest:
    """Where should `target_class` go so that every triplet holds?

    target_size: (width, height) of the target in 0..1 image units when known (a move keeps the object; its size
        where it stands now), else None (an added object; the model predicts a size). In a photo with depth the
        size at the new place differs; the model predicts it from the given size and the new place.
    """

    target_class: str
    triplets: tuple[Triplet, ...]
    target_size: tuple[float, float] | None = None

    def validated(self) -> PlacementRequest:
        """The request with predicates normalised and boxes checked; raises InvalidInputError when it is wrong."""
        if not self.triplets:
            raise InvalidInputError("a placement needs at least one relation to a reference object, e.g. "
                                    "'left of the red sphere'")
        if len(self.triplets) > MAX_TRIPLETS:
            raise InvalidInputError(f"a placement takes at most {MAX_TRIPLETS} relations (as the position model "
                                    f"was trained); got {len(self.triplets)}")
        triplets = tuple(Triplet(check_predicate(t.predicate), t.reference_class,
                                 check_box(t.reference_box, f"the box of the reference '{t.reference_class}'"),
                                 bool(t.target_is_subject)) for t in self.triplets)
        size = self.target_size
        if size is not None:
            if len(size) != 2 or not all(math.isfinite(float(v)) and 0 < float(v) <= 1 for v in size):
                raise InvalidInputError(f"the target size must be (width, height), each above 0 and at most 1 "
                                        f"(shares of the image); got {tuple(size)}")
            size = (float(size[0]), float(size[1]))
        return PlacementRequest(self.target_class, triplets, size)
