"""Training and evaluation samples for the position model, from the synthetic scene generator (..scenes).

A layout is a random_scene spec reduced to what placement needs: each object's class and full silhouette box (the
projection of its surface, hidden parts included: where the object *is*, not what shows; no rendering), and every
relation that holds between two objects: CLEVR's 3D left of / right of / in front of / behind
(..scenes.relations.relation_holds) and the image-plane above / below / next to / near / on / under from the boxes
(satisfaction.py). Boxes are in 0..1 of a square image (any square size: the camera's view is fixed).

A sample (SIMBIL A.2): one target object and 1 to MAX_TRIPLETS triplets relating it to others, drawn from the
holding relations, each either "target p other" or "other p target" (the indicator); the target's true box is the
label. Rare predicates are drawn more often (weight 1 / frequency) so each is learnt. When the target's size is
given (a move), it is the size the object would have at another random place on the ground: where it stood
before the move; its true size at the new place differs by perspective, and the model must predict that.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..scenes import SceneObject, SceneSpec, random_scene
from ..scenes.camera import Camera
from ..scenes.layout import AREA
from ..scenes.relations import relation_holds
from .satisfaction import predicates_between
from .vocabulary import CLEVR_PREDICATES, MIRRORED, PREDICATES, UNKNOWN, Box01, PlacementRequest, Triplet

SIDE = 256  # projection size in px; boxes are divided by it
_SPHERE_POINTS = 400  # surface samples of a sphere (Fibonacci lattice): the box is within 0.1 px of exact
_RING_POINTS = 96  # points on a cylinder's rims
MAX_WEIGHT_RATIO = 10.0  # the rarest predicate is drawn at most this many times more often than the commonest


def _sphere_directions(count: int) -> np.ndarray:
    index = np.arange(count) + 0.5
    z = 1.0 - 2.0 * index / count
    angle = math.pi * (3.0 - math.sqrt(5.0)) * index
    radius = np.sqrt(1.0 - z * z)
    return np.stack([radius * np.cos(angle), radius * np.sin(angle), z], axis=1)


_SPHERE = _sphere_directions(_SPHERE_POINTS)
_RING = np.stack([np.cos(np.linspace(0, 2 * math.pi, _RING_POINTS, endpoint=False)),
                  np.sin(np.linspace(0, 2 * math.pi, _RING_POINTS, endpoint=False))], axis=1)


def surface_points(obj: SceneObject) -> np.ndarray:
    """(M, 3) world points whose projections span the object's silhouette."""
    r = obj.half_extent
    if obj.shape == "sphere":
        return np.array([obj.x, obj.y, r]) + r * _SPHERE
    if obj.shape == "cylinder":
        rim = np.column_stack([obj.x + r * _RING[:, 0], obj.y + r * _RING[:, 1], np.zeros(_RING_POINTS)])
        return np.concatenate([rim, rim + [0.0, 0.0, obj.height]])
    angle = math.radians(obj.rotation_deg)
    c, s = math.cos(angle), math.sin(angle)
    corners = [(obj.x + c * dx - s * dy, obj.y + s * dx + c * dy, z)
               for dx in (-r, r) for dy in (-r, r) for z in (0.0, obj.height)]
    return np.array(corners)


def object_box(obj: SceneObject, camera: Camera) -> Box01:
    """The object's full silhouette box (x0, y0, x1, y1) in 0..1 of the camera's image (may reach outside)."""
    points = camera.project(surface_points(obj))
    return (float(points[:, 0].min() / camera.width), float(points[:, 1].min() / camera.height),
            float(points[:, 0].max() / camera.width), float(points[:, 1].max() / camera.height))


@dataclass(frozen=True)
class SceneLayout:
    """classes: N class names. boxes: (N, 4) float64 in 0..1. relations: (subject, predicate, reference) for every
    holding vocabulary relation. moved_sizes: (N, 2) each object's (width, height) at another place of the ground."""

    seed: int
    classes: tuple[str, ...]
    boxes: np.ndarray
    relations: tuple[tuple[int, str, int], ...]
    moved_sizes: np.ndarray


def scene_layout(spec: SceneSpec, seed: int = 0) -> SceneLayout:
    """The layout of `spec`; `seed` draws the other places that give moved_sizes."""
    camera = Camera.for_image(spec.camera, SIDE, SIDE)
    boxes = np.array([object_box(obj, camera) for obj in spec.objects], dtype=np.float64).reshape(-1, 4)
    rng = np.random.default_rng(seed)
    moved = []
    for obj in spec.objects:
        for _ in range(50):
            x0, y0, x1, y1 = object_box(obj.moved(*(float(v) for v in rng.uniform(-AREA, AREA, 2))), camera)
            if x0 >= 0 and y0 >= 0 and x1 <= 1 and y1 <= 1:
                break
        moved.append((x1 - x0, y1 - y0))
    relations = []
    for i in range(len(spec.objects)):
        for j in range(len(spec.objects)):
            if i == j:
                continue
            image = predicates_between(tuple(boxes[i]), tuple(boxes[j]))
            for predicate in PREDICATES:
                holds = (relation_holds(spec, i, predicate, j) if predicate in CLEVR_PREDICATES
                         else predicate in image)
                if holds:
                    relations.append((i, predicate, j))
    return SceneLayout(seed, spec.classes, boxes, tuple(relations), np.array(moved, dtype=np.float64).reshape(-1, 2))


def scene_layouts(seeds: Iterable[int], *, num_objects: tuple[int, int] = (3, 6)) -> list[SceneLayout]:
    """The layouts of random_scene(seed) for each seed (about 0.1 s each: the generator's visibility renders)."""
    return [scene_layout(random_scene(seed, num_objects=num_objects), seed) for seed in seeds]


def mirrored(layout: SceneLayout) -> SceneLayout:
    """The layout mirrored left to right: boxes flipped, left of <-> right of."""
    boxes = layout.boxes.copy()
    boxes[:, 0], boxes[:, 2] = 1.0 - layout.boxes[:, 2], 1.0 - layout.boxes[:, 0]
    relations = tuple((i, MIRRORED[p], j) for i, p, j in layout.relations)
    return replace(layout, boxes=boxes, relations=relations)


def predicate_weights(layouts: Sequence[SceneLayout]) -> dict[str, float]:
    """1 / (share of the relations with this predicate), at most MAX_WEIGHT_RATIO times the commonest one's (a
    predicate seen 50 times less is not drawn 50 times as often: its few examples would be learnt by heart),
    normalised to mean 1; a predicate never seen gets the largest weight."""
    counts = {p: 0 for p in PREDICATES}
    for layout in layouts:
        for _, predicate, _ in layout.relations:
            counts[predicate] += 1
    total = sum(counts.values()) or 1
    floor = total / max(max(counts.values()), 1)
    raw = {p: min(total / counts[p] if counts[p] else math.inf, MAX_WEIGHT_RATIO * floor) for p in PREDICATES}
    mean = sum(raw.values()) / len(raw)
    return {p: value / mean for p, value in raw.items()}


def draw_sample(layout: SceneLayout, target: int, rng: np.random.Generator, *, weights: dict[str, float],
                size_known: bool, unknown_class_rate: float = 0.0,
                max_triplets: int = 5) -> tuple[PlacementRequest, Box01] | None:
    """A request about objects[target] and its true box; None when the target has no relation to draw."""
    pool = [(other, p, True) for subject, p, other in layout.relations if subject == target]
    pool += [(subject, p, False) for subject, p, other in layout.relations if other == target]
    if not pool:
        return None
    count = int(rng.integers(1, min(max_triplets, len(pool)) + 1))
    probabilities = np.array([weights[p] for _, p, _ in pool])
    chosen = rng.choice(len(pool), size=count, replace=False, p=probabilities / probabilities.sum())

    def name(index: int) -> str:
        return UNKNOWN if rng.random() < unknown_class_rate else layout.classes[index]

    triplets = tuple(Triplet(pool[k][1], name(pool[k][0]), tuple(float(v) for v in layout.boxes[pool[k][0]]),
                             pool[k][2]) for k in chosen)
    size = tuple(float(v) for v in layout.moved_sizes[target]) if size_known else None
    request = PlacementRequest(name(target), triplets, size)
    return request, tuple(float(v) for v in layout.boxes[target])


def layout_to_dict(layout: SceneLayout) -> dict:
    """A JSON-able dict of the layout (training scripts cache layouts: generating one takes ~0.1 s)."""
    return {"seed": layout.seed, "classes": list(layout.classes), "boxes": layout.boxes.tolist(),
            "relations": [list(r) for r in layout.relations], "moved_sizes": layout.moved_sizes.tolist()}


def layout_from_dict(data: dict) -> SceneLayout:
    return SceneLayout(int(data["seed"]), tuple(data["classes"]),
                       np.array(data["boxes"], dtype=np.float64).reshape(-1, 4),
                       tuple((int(i), str(p), int(j)) for i, p, j in data["relations"]),
                       np.array(data["moved_sizes"], dtype=np.float64).reshape(-1, 2))
