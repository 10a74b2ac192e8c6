"""CLEVR's spatial relations and the scene graph they make.

As in CLEVR (clevr-dataset-gen, render_images.py: compute_all_relationships), B is "left of" A when the ground
vector from A to B points more than EPSILON world units along the camera's left direction; likewise right, front
("in front of", towards the camera) and behind. Directions are the camera's axes projected onto the ground.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .scene_spec import SIZES, CameraSpec, SceneSpec

LEFT_OF = "left of"
RIGHT_OF = "right of"
IN_FRONT_OF = "in front of"
BEHIND = "behind"
PREDICATES: tuple[str, ...] = (LEFT_OF, RIGHT_OF, IN_FRONT_OF, BEHIND)
OPPOSITE = {LEFT_OF: RIGHT_OF, RIGHT_OF: LEFT_OF, IN_FRONT_OF: BEHIND, BEHIND: IN_FRONT_OF}
EPSILON = 0.2  # CLEVR's eps for compute_all_relationships


def ground_directions(camera: CameraSpec) -> dict[str, np.ndarray]:
    """Unit ground vectors (2,) for each predicate, from the camera's orientation."""
    position, target = np.asarray(camera.position, float), np.asarray(camera.look_at, float)
    behind = (target - position)[:2]
    behind = behind / np.linalg.norm(behind)
    right = np.array([behind[1], -behind[0]])  # behind turned 90 degrees clockwise seen from above
    return {LEFT_OF: -right, RIGHT_OF: right, IN_FRONT_OF: -behind, BEHIND: behind}


def check_predicate(predicate: str) -> None:
    if predicate not in PREDICATES:
        raise ValueError(f"Expected a relation in {PREDICATES}, but found '{predicate}'")


def relation_holds(spec: SceneSpec, subject: int, predicate: str, reference: int) -> bool:
    """Whether objects[subject] is `predicate` objects[reference] (e.g. subject is left of reference)."""
    check_predicate(predicate)
    a, b = spec.objects[reference], spec.objects[subject]
    direction = ground_directions(spec.camera)[predicate]
    return float((b.x - a.x) * direction[0] + (b.y - a.y) * direction[1]) > EPSILON


@dataclass(frozen=True)
class Relation:
    """subject is `predicate` object, e.g. Relation(2, "left of", 0): objects[2] is left of objects[0]."""

    subject: int
    predicate: str
    object: int


@dataclass(frozen=True)
class ObjectNode:
    index: int
    class_name: str  # e.g. "red cube"
    shape: str
    colour: str
    material: str
    size: str  # the nearest SIZES name: "small" or "large"


@dataclass(frozen=True)
class SceneGraph:
    """Objects (nodes, indexed as in the spec) and every relation that holds between two of them."""

    objects: tuple[ObjectNode, ...]
    relations: tuple[Relation, ...]

    def related(self, reference: int, predicate: str) -> tuple[int, ...]:
        """Indices of the objects that are `predicate` objects[reference], sorted (CLEVR's relationships[p][i])."""
        check_predicate(predicate)
        return tuple(sorted(r.subject for r in self.relations if r.object == reference and r.predicate == predicate))

    def triples(self) -> list[tuple[str, str, str]]:
        """Relations as readable (subject class, predicate, object class) triples."""
        names = [node.class_name for node in self.objects]
        return [(names[r.subject], r.predicate, names[r.object]) for r in self.relations]


def scene_graph(spec: SceneSpec) -> SceneGraph:
    """The scene graph of a spec: one node per object, every holding relation between ordered pairs."""
    nodes = tuple(
        ObjectNode(i, obj.class_name, obj.shape, obj.colour, obj.material,
                   min(SIZES, key=lambda name: abs(SIZES[name] - obj.size)))
        for i, obj in enumerate(spec.objects))
    relations = [Relation(i, predicate, j)
                 for j in range(len(spec.objects)) for i in range(len(spec.objects)) if i != j
                 for predicate in PREDICATES if relation_holds(spec, i, predicate, j)]
    return SceneGraph(nodes, tuple(relations))
