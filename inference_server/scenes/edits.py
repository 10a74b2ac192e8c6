"""Semantic edits of a scene and their ground truth: the edited spec, re-rendered over the same background.

    edit = edit_remove(spec, 2)                      # or edit_move / edit_replace / edit_add / edit_recolor
    pair = render_edit(edit, 256, 256)               # pair.before.image, pair.after.image, pair.changed_mask

Only the edited object changes in the spec, and the background, light and camera stay, so the after-image differs
from the before-image only inside `changed_mask`: the edited object's object and shadow masks before and after.
Indices: remove drops the object (later ones shift down by one); add appends the new object; the others keep theirs.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from .layout import LayoutError, place, random_object
from .relations import (EPSILON, OPPOSITE, PREDICATES, Relation, SceneGraph, check_predicate, ground_directions,
                        relation_holds)
from .renderer import RenderedScene, render_scene
from .scene_spec import COLOURS, MATERIALS, SHAPES, SIZES, SceneObject, SceneSpec

EDIT_KINDS: tuple[str, ...] = ("remove", "move", "replace", "add", "recolor")
CLEAR_MARGIN = EPSILON + 0.2  # a requested relation holds by this much, so it survives small position noise


@dataclass(frozen=True)
class SceneEdit:
    """One edit: the specs before and after and which object it touched.

    before_index: the edited object in before.objects (None for add).
    after_index: the edited object in after.objects (None for remove).
    requested: the relations the edit asked for, in after's indices (move and add); empty otherwise.
    description: a sentence such as "move the red cube left of the blue sphere".
    """

    kind: str
    before: SceneSpec
    after: SceneSpec
    before_index: int | None
    after_index: int | None
    requested: tuple[Relation, ...]
    description: str


def _check_index(spec: SceneSpec, index: int) -> None:
    if not 0 <= index < len(spec.objects):
        raise IndexError(f"Expected an object index in 0..{len(spec.objects) - 1}, but found {index}")


def _the(spec: SceneSpec, index: int) -> str:
    return f"the {spec.objects[index].class_name}"


def edit_remove(spec: SceneSpec, index: int) -> SceneEdit:
    """Removes objects[index] and its shadow; what was behind it shows."""
    _check_index(spec, index)
    after = spec.with_objects(spec.objects[:index] + spec.objects[index + 1:])
    return SceneEdit("remove", spec, after, index, None, (), f"remove {_the(spec, index)}")


def _clearly(spec: SceneSpec, reference: int, predicate: str, x: float, y: float) -> bool:
    """Whether ground point (x, y) is `predicate` objects[reference] by at least CLEAR_MARGIN."""
    other = spec.objects[reference]
    direction = ground_directions(spec.camera)[predicate]
    return (x - other.x) * direction[0] + (y - other.y) * direction[1] > CLEAR_MARGIN


def edit_move(spec: SceneSpec, index: int, predicate: str, reference: int, *, seed: int = 0) -> SceneEdit:
    """Moves objects[index] to a free place where it is `predicate` objects[reference] (e.g. "left of").

    The object keeps its index and look; its other relations follow from where it lands. Raises LayoutError when
    no free place satisfies the relation.
    """
    _check_index(spec, index)
    _check_index(spec, reference)
    check_predicate(predicate)
    if index == reference:
        raise ValueError(f"Expected a reference other than the moved object, but both are {index}")
    rng = np.random.default_rng(seed)
    obj = spec.objects[index]
    others = spec.with_objects(spec.objects[:index] + spec.objects[index + 1:])
    reference_in_others = reference - (reference > index)

    def accept(x: float, y: float) -> bool:
        far_enough = np.hypot(x - obj.x, y - obj.y) > obj.size  # a visible move, not a nudge
        return far_enough and _clearly(others, reference_in_others, predicate, x, y)

    after = place(others, obj, rng, accept=accept, insert_at=index)
    return SceneEdit("move", spec, after, index, index, (Relation(index, predicate, reference),),
                     f"move {_the(spec, index)} {predicate} {_the(spec, reference)}")


def edit_replace(spec: SceneSpec, index: int, *, shape: str | None = None, colour: str | None = None,
                 material: str | None = None) -> SceneEdit:
    """Replaces objects[index] by an object of another shape, colour and/or material at the same place and size."""
    _check_index(spec, index)
    if shape is None and colour is None and material is None:
        raise ValueError("Expected a new shape, colour or material for the replacement, but found none")
    old = spec.objects[index]
    new = replace(old, shape=shape or old.shape, colour=colour or old.colour, material=material or old.material)
    after = spec.with_objects(spec.objects[:index] + (new,) + spec.objects[index + 1:])
    return SceneEdit("replace", spec, after, index, index, (),
                     f"replace {_the(spec, index)} with a {new.material} {new.class_name}")


def edit_recolor(spec: SceneSpec, index: int, colour: str) -> SceneEdit:
    """Paints objects[index] in another colour; shape, material and place stay."""
    _check_index(spec, index)
    if colour not in COLOURS:
        raise ValueError(f"Expected a colour in {tuple(COLOURS)}, but found '{colour}'")
    new = replace(spec.objects[index], colour=colour)
    after = spec.with_objects(spec.objects[:index] + (new,) + spec.objects[index + 1:])
    return SceneEdit("recolor", spec, after, index, index, (), f"paint {_the(spec, index)} {colour}")


def edit_add(spec: SceneSpec, obj: SceneObject, relations: Sequence[tuple[str, int]], *, seed: int = 0) -> SceneEdit:
    """Adds `obj` (its x, y are ignored) at a free place where every (predicate, reference) holds, e.g.
    [("left of", 0), ("behind", 2)]: the new object is left of objects[0] and behind objects[2]."""
    for predicate, reference in relations:
        check_predicate(predicate)
        _check_index(spec, reference)
    rng = np.random.default_rng(seed)

    def accept(x: float, y: float) -> bool:
        return all(_clearly(spec, reference, predicate, x, y) for predicate, reference in relations)

    after = place(spec, obj, rng, accept=accept)
    new_index = len(spec.objects)
    wanted = " and ".join(f"{predicate} {_the(spec, reference)}" for predicate, reference in relations)
    description = f"add a {obj.class_name}" + (f" {wanted}" if wanted else "")
    return SceneEdit("add", spec, after, None, new_index,
                     tuple(Relation(new_index, predicate, reference) for predicate, reference in relations),
                     description)


def random_edit(spec: SceneSpec, kind: str, *, seed: int = 0, attempts: int = 20) -> SceneEdit:
    """A random edit of `kind` (one of EDIT_KINDS); move asks for a relation that does not hold yet."""
    if kind not in EDIT_KINDS:
        raise ValueError(f"Expected an edit kind in {EDIT_KINDS}, but found '{kind}'")
    rng = np.random.default_rng(seed)
    count = len(spec.objects)
    if kind != "add" and count == 0:
        raise ValueError(f"Expected a scene with objects to {kind}, but it has none")
    for _ in range(attempts):
        index = int(rng.integers(count)) if count else 0
        try:
            if kind == "remove":
                return edit_remove(spec, index)
            if kind == "recolor":
                colours = [c for c in COLOURS if c != spec.objects[index].colour]
                return edit_recolor(spec, index, str(rng.choice(colours)))
            if kind == "replace":
                old = spec.objects[index]
                return edit_replace(spec, index, shape=str(rng.choice([s for s in SHAPES if s != old.shape])),
                                    colour=str(rng.choice(list(COLOURS))), material=str(rng.choice(MATERIALS)))
            if kind == "move":
                if count < 2:
                    raise ValueError("Expected at least two objects to move one relative to another")
                reference = int(rng.choice([j for j in range(count) if j != index]))
                unmet = [p for p in PREDICATES if not relation_holds(spec, index, p, reference)
                         and relation_holds(spec, index, OPPOSITE[p], reference)]
                return edit_move(spec, index, str(rng.choice(unmet or list(PREDICATES))), reference,
                                 seed=int(rng.integers(2**31)))
            relations = []
            if count:
                for reference in rng.choice(count, size=min(count, int(rng.integers(1, 3))), replace=False):
                    relations.append((str(rng.choice(PREDICATES)), int(reference)))
            return edit_add(spec, random_object(rng, sizes=tuple(SIZES)), relations, seed=int(rng.integers(2**31)))
        except LayoutError:
            continue
    raise LayoutError(f"found no possible '{kind}' edit in {attempts} tries")


@dataclass(frozen=True)
class RenderedEdit:
    """An edit rendered at one size.

    changed_mask: (H, W) bool, the pixels the edit may change: the edited object's object and shadow masks in the
        before-image and in the after-image (object masks only for recolor). Every other pixel is equal in both.
    roi_box: (x0, y0, x1, y1), ends exclusive, the bounding box of changed_mask (SIMBIL's region of interest).
    """

    edit: SceneEdit
    before: RenderedScene
    after: RenderedScene
    changed_mask: np.ndarray
    roi_box: tuple[int, int, int, int]

    @property
    def before_graph(self) -> SceneGraph:
        return self.before.graph

    @property
    def after_graph(self) -> SceneGraph:
        return self.after.graph


def render_edit(edit: SceneEdit, width: int, height: int, *, supersample: int | None = None) -> RenderedEdit:
    """Renders the scene before and after the edit at width x height, and where they may differ."""
    before = render_scene(edit.before, width, height, supersample=supersample)
    after = render_scene(edit.after, width, height, supersample=supersample)
    with_shadow = edit.kind != "recolor"  # a new colour leaves the shadow as it was
    changed = np.zeros((height, width), dtype=bool)
    if edit.before_index is not None:
        changed |= before.removal_mask(edit.before_index, with_shadow=with_shadow)
    if edit.after_index is not None:
        changed |= after.removal_mask(edit.after_index, with_shadow=with_shadow)
    rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
    roi = (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1) if rows.size else (0, 0, 0, 0)
    return RenderedEdit(edit, before, after, changed, roi)
