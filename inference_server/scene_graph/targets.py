"""Resolving an edit's target to one mask (the union of the objects it names).

A TargetQuery names the target one way:
    object_ids=(2,)                  the objects with these ids (indices into the detections); several = union
    class_target="person"            every person in the image (as GONE removes every instance of a class)
    class_target="person:2"          the 2nd person in instance order (below), counted from 1
    class_target="person", hint_box  the person whose box overlaps the hint box most (IoU)
    hint_box alone                   the object of any class whose box overlaps the hint box most (IoU)

Instance order, for "class:N": left to right by box centre x; equal x: the higher centre (smaller y) first, then
the higher score, then the lower id. Hint-box ties (equal IoU): the higher score, then the lower id.
Class names are matched case-insensitively, with surrounding blanks ignored ("Traffic Light " = "traffic light").

Errors carry the user's sentence: a class the model does not know, an instance number out of range, or a malformed
query raise InvalidInputError; a known class with no instance here raises NotFoundError listing what was found.
"""
from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import InvalidInputError, quoted
from ..segmentation.detection import Box, Detection
from ..segmentation.errors import NotFoundError
from .box_geometry import box_centre, box_iou


@dataclass(frozen=True)
class ClassTarget:
    """class_name: normalised (lower case, single spaces); instance: 1-based in instance order, None = all."""

    class_name: str
    instance: int | None = None


@dataclass(frozen=True)
class TargetQuery:
    """What the request names; see the module docstring for the combinations allowed."""

    object_ids: tuple[int, ...] = ()
    class_target: str | None = None  # "person" or "person:2"
    hint_box: Box | None = None  # (x0, y0, x1, y1), ends exclusive, e.g. the bounds of the user's selection


@dataclass(frozen=True)
class Target:
    """object_ids: the chosen detections' ids, ascending; mask: (H, W) bool, the union of their masks."""

    object_ids: tuple[int, ...]
    mask: np.ndarray = field(compare=False, repr=False)


def normalise_class_name(name: str) -> str:
    return " ".join(name.split()).lower()


def parse_class_target(text: str) -> ClassTarget:
    """"person" -> ClassTarget("person"); "person:2" -> ClassTarget("person", 2). Raises InvalidInputError for an
    empty name or an instance that is not a whole number from 1."""
    name, separator, number = text.rpartition(":") if ":" in text else (text, "", "")
    name = normalise_class_name(name)
    if not name:
        raise InvalidInputError(f"the target {quoted(text)} names no class; give a class such as 'person' or 'person:2'")
    if not separator:
        return ClassTarget(name)
    number = number.strip()
    if not (number.isascii() and number.isdigit()) or int(number) < 1:
        raise InvalidInputError(
            f"in '{text}' the instance after ':' must be a whole number from 1 (counted left to right), "
            f"e.g. '{name}:2'")
    return ClassTarget(name, int(number))


def found_summary(detections: Sequence[Detection]) -> str:
    """'found: car, dog' (each class once, sorted), or a sentence saying nothing was detected."""
    if not detections:
        return "nothing was detected in the image (a lower score threshold may find more)"
    return "found: " + ", ".join(sorted({detection.class_name for detection in detections}))


def check_known_class(class_name: str, known_classes: Sequence[str]) -> None:
    """Raises InvalidInputError, listing the known classes (and a close match), unless the model knows it."""
    if class_name in known_classes:
        return
    close = difflib.get_close_matches(class_name, known_classes, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise InvalidInputError(
        f"the model does not know the class '{class_name}'{hint}; it knows: {', '.join(sorted(known_classes))}")


def check_hint_box(box: Box) -> Box:
    """The box as 4 ints; raises InvalidInputError unless 0 <= x0 < x1 and 0 <= y0 < y1."""
    if len(box) != 4:
        raise InvalidInputError(f"the hint box must be 4 numbers (x0, y0, x1, y1); got {len(box)}")
    x0, y0, x1, y1 = (int(value) for value in box)
    if not (0 <= x0 < x1 and 0 <= y0 < y1):
        raise InvalidInputError(
            f"the hint box ({x0}, {y0}, {x1}, {y1}) is empty or negative: it must have 0 <= x0 < x1 and "
            "0 <= y0 < y1 (pixels, ends exclusive)")
    return x0, y0, x1, y1


def instance_order(detections: Sequence[Detection], ids: Sequence[int]) -> list[int]:
    """`ids` in instance order: left to right by box centre x, then top to bottom by centre y, then higher score,
    then lower id."""
    def key(i: int) -> tuple:
        x, y = box_centre(detections[i].box)
        return x, y, -detections[i].score, i
    return sorted(ids, key=key)


def _target(detections: Sequence[Detection], ids: Sequence[int]) -> Target:
    chosen = tuple(sorted(set(ids)))
    return Target(chosen, np.logical_or.reduce([detections[i].mask for i in chosen]))


def _best_overlap(detections: Sequence[Detection], ids: Sequence[int], hint_box: Box) -> int | None:
    """The id in `ids` whose box has the highest IoU with hint_box (ties: higher score, lower id); None if none
    overlaps it."""
    scored = [(box_iou(detections[i].box, hint_box), detections[i].score, -i) for i in ids]
    scored = [entry for entry in scored if entry[0] > 0]
    return -max(scored)[2] if scored else None


def _ids_of_class(detections: Sequence[Detection], class_name: str, known_classes: Sequence[str]) -> list[int]:
    check_known_class(class_name, known_classes)
    ids = [i for i, detection in enumerate(detections) if detection.class_name == class_name]
    if not ids:
        raise NotFoundError(f"no {quoted(class_name)} found; {found_summary(detections)}")
    return ids


def target_from_ids(detections: Sequence[Detection], object_ids: Sequence[int]) -> Target:
    """The union of the objects `object_ids` (duplicates ignored); each must be an index into `detections`."""
    if not object_ids:
        raise InvalidInputError("no object id was given; give at least one id from the detection answer")
    for object_id in object_ids:
        if not 0 <= object_id < len(detections):
            within = f"ids 0 to {len(detections) - 1}" if detections else "no objects were detected"
            raise InvalidInputError(
                f"there is no object {object_id}: the detection found {len(detections)} ({within}); "
                "detect again if the image changed")
    return _target(detections, object_ids)


def target_from_class(detections: Sequence[Detection], class_target: ClassTarget,
                      known_classes: Sequence[str]) -> Target:
    """Every instance of the class, or the `instance`-th in instance order."""
    ids = _ids_of_class(detections, class_target.class_name, known_classes)
    if class_target.instance is None:
        return _target(detections, ids)
    if class_target.instance > len(ids):
        raise InvalidInputError(
            f"'{class_target.class_name}:{class_target.instance}' asks for number {class_target.instance} but "
            f"{len(ids)} '{class_target.class_name}' {'was' if len(ids) == 1 else 'were'} found "
            f"(numbered 1 to {len(ids)}, left to right)")
    return _target(detections, [instance_order(detections, ids)[class_target.instance - 1]])


def target_from_class_and_box(detections: Sequence[Detection], class_name: str, hint_box: Box,
                              known_classes: Sequence[str]) -> Target:
    """The instance of `class_name` whose box overlaps `hint_box` most (IoU)."""
    class_name = normalise_class_name(class_name)
    hint_box = check_hint_box(hint_box)
    ids = _ids_of_class(detections, class_name, known_classes)
    best = _best_overlap(detections, ids, hint_box)
    if best is None:
        raise NotFoundError(
            f"no '{class_name}' overlaps the selected box {hint_box}: the {len(ids)} found lie outside it; select "
            "around one of them, or name the class without a box")
    return _target(detections, [best])


def target_from_box(detections: Sequence[Detection], hint_box: Box) -> Target:
    """The object of any class whose box overlaps `hint_box` most (IoU)."""
    hint_box = check_hint_box(hint_box)
    best = _best_overlap(detections, range(len(detections)), hint_box)
    if best is None:
        raise NotFoundError(f"no detected object overlaps the selected box {hint_box}; {found_summary(detections)}")
    return _target(detections, [best])


def resolve_target(detections: Sequence[Detection], query: TargetQuery, known_classes: Sequence[str]) -> Target:
    """The mask `query` names, from `detections` (Segmenter.detect's answer) and the model's `known_classes`."""
    if query.object_ids:
        if query.class_target is not None or query.hint_box is not None:
            raise InvalidInputError("give object ids, or a class and/or a box, not both")
        return target_from_ids(detections, query.object_ids)
    if query.class_target is not None:
        class_target = parse_class_target(query.class_target)
        if query.hint_box is None:
            return target_from_class(detections, class_target, known_classes)
        if class_target.instance is not None:
            raise InvalidInputError(
                f"'{query.class_target}' gives an instance number and a box; give one of them "
                f"('{class_target.class_name}' with the box, or '{query.class_target}' alone)")
        return target_from_class_and_box(detections, class_target.class_name, query.hint_box, known_classes)
    if query.hint_box is not None:
        return target_from_box(detections, query.hint_box)
    raise InvalidInputError("the target is empty: give object ids, a class name (e.g. 'person:2'), or a box")
