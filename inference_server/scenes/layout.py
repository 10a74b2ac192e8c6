"""Random scenes and the rules every layout keeps (CLEVR's: render_images.py add_random_objects).

Rules: objects stand in [-3, 3] x [-3, 3]; footprints keep MIN_GAP apart; along the left/right and front/behind axes
every pair is at least MARGIN apart (so each relation is clear-cut); each object lies wholly inside the central
square of the view; each shows at least MIN_VISIBLE_FRACTION of its silhouette (checked on a small render).
"""
from __future__ import annotations

import colorsys
from collections.abc import Callable

import numpy as np

from .camera import Camera
from .relations import PREDICATES, ground_directions
from .scene_spec import (BACKGROUND_KINDS, COLOURS, MATERIALS, SHAPES, SIZES, BackgroundSpec, LightSpec,
                         SceneObject, SceneSpec)
from .shape_geometry import bounding_corners

AREA = 3.0  # positions lie in [-AREA, AREA] on both ground axes
MIN_GAP = 0.25  # CLEVR's min_dist between footprints
MARGIN = 0.4  # CLEVR's margin along each relation direction
MIN_VISIBLE_FRACTION = 0.5
CHECK_SIDE = 128  # the visibility check renders at this size
FRAME_SIDE = 256  # the in-frame check projects onto a square image of this size
FRAME_MARGIN_PX = 4


class LayoutError(ValueError):
    """No layout keeping the rules was found (too many objects, or a relation that cannot be met)."""


def layout_problem(spec: SceneSpec, *, check_visibility: bool = True) -> str | None:
    """The first rule the spec breaks, as a sentence; None when it keeps them all."""
    objects = spec.objects
    directions = ground_directions(spec.camera)
    camera = Camera.for_image(spec.camera, FRAME_SIDE, FRAME_SIDE)
    for i, obj in enumerate(objects):
        if max(abs(obj.x), abs(obj.y)) > AREA + 1e-9:
            return f"object {i} stands at ({obj.x:.2f}, {obj.y:.2f}), outside [-{AREA}, {AREA}]"
        corners = camera.project(bounding_corners(obj))
        if (corners.min() < FRAME_MARGIN_PX or corners[:, 0].max() > FRAME_SIDE - FRAME_MARGIN_PX
                or corners[:, 1].max() > FRAME_SIDE - FRAME_MARGIN_PX):
            return f"object {i} ({obj.class_name}) reaches out of the picture"
        for j in range(i):
            other = objects[j]
            dx, dy = obj.x - other.x, obj.y - other.y
            if np.hypot(dx, dy) - obj.size - other.size < MIN_GAP:
                return f"objects {j} and {i} stand too close"
            for predicate in PREDICATES:
                along = dx * directions[predicate][0] + dy * directions[predicate][1]
                if 0 < along < MARGIN:
                    return f"objects {j} and {i} are too close along '{predicate}' for a clear relation"
    if check_visibility and objects:
        from .renderer import render_scene  # the renderer imports nothing from here; imported late to stay light

        rendered = render_scene(spec, CHECK_SIDE, CHECK_SIDE, supersample=1)
        for i, fraction in enumerate(rendered.visible_fraction):
            if fraction < MIN_VISIBLE_FRACTION:
                return f"object {i} ({objects[i].class_name}) is {100 * (1 - fraction):.0f}% hidden behind others"
    return None


def random_object(rng: np.random.Generator, *, sizes: tuple[str, ...] = tuple(SIZES), x: float = 0.0,
                  y: float = 0.0) -> SceneObject:
    """An object with random shape, colour, material, size and turn, standing at (x, y)."""
    return SceneObject(shape=str(rng.choice(SHAPES)), colour=str(rng.choice(list(COLOURS))),
                       material=str(rng.choice(MATERIALS)), size=SIZES[str(rng.choice(sizes))], x=x, y=y,
                       rotation_deg=float(rng.uniform(0.0, 360.0)))


def place(spec: SceneSpec, obj: SceneObject, rng: np.random.Generator, *,
          accept: Callable[[float, float], bool] = lambda x, y: True, insert_at: int | None = None,
          attempts: int = 400) -> SceneSpec:
    """`spec` with `obj` added at a random position where `accept(x, y)` holds and the layout rules keep.

    insert_at: its index among the objects (None appends it). Raises LayoutError when no such position turns up in
    `attempts` tries.
    """
    objects = list(spec.objects)
    index = len(objects) if insert_at is None else insert_at
    for _ in range(attempts):
        x, y = (float(v) for v in rng.uniform(-AREA, AREA, size=2))
        if not accept(x, y):
            continue
        candidate = spec.with_objects(objects[:index] + [obj.moved(x, y)] + objects[index:])
        if layout_problem(candidate) is None:  # cheap geometric rules first, the render only if they pass
            return candidate
    raise LayoutError(f"found no free place for the {obj.class_name} in {attempts} tries")


def random_background(rng: np.random.Generator, kind: str | None = None) -> BackgroundSpec:
    """A muted two-colour ground texture; never flat."""
    kind = kind or str(rng.choice(BACKGROUND_KINDS))
    hue = rng.uniform(0.0, 1.0)
    lightness = rng.uniform(0.42, 0.62)
    saturation = rng.uniform(0.04, 0.22)
    first = colorsys.hls_to_rgb(hue, lightness, saturation)
    second = colorsys.hls_to_rgb((hue + rng.uniform(-0.15, 0.15)) % 1.0,
                                 lightness - rng.uniform(0.1, 0.2) * rng.choice([-1, 1]), saturation * 1.2)
    colours = tuple(tuple(int(round(255 * min(max(c, 0.0), 1.0))) for c in colour) for colour in (first, second))
    scale = {"noise": rng.uniform(0.8, 1.6), "tiles": rng.uniform(0.7, 1.3), "gradient": rng.uniform(1.0, 2.0)}[kind]
    return BackgroundSpec(kind=kind, colours=colours, scale=float(scale), angle_deg=float(rng.uniform(0.0, 90.0)),
                          texture_seed=int(rng.integers(0, 2**31)),
                          spot=(float(rng.uniform(-2.0, 2.0)), float(rng.uniform(-1.0, 2.0))),
                          spot_radius=float(rng.uniform(3.5, 6.0)))


def random_scene(seed: int, *, num_objects: int | tuple[int, int] = (3, 6), sizes: tuple[str, ...] = tuple(SIZES),
                 background_kind: str | None = None, max_attempts: int = 50) -> SceneSpec:
    """A random scene keeping the layout rules; the same arguments give the same spec.

    num_objects: an exact count, or an inclusive (low, high) range to draw from.
    sizes: the SIZES names objects may take. background_kind: one of BACKGROUND_KINDS, or None for a random one.
    """
    rng = np.random.default_rng(seed)
    if isinstance(num_objects, tuple):
        count = int(rng.integers(num_objects[0], num_objects[1] + 1))
    else:
        count = int(num_objects)
    if not 0 <= count <= 12:
        raise ValueError(f"Expected 0 to 12 objects, but found {count}")
    unknown = [name for name in sizes if name not in SIZES]
    if unknown or not sizes:
        raise ValueError(f"Expected sizes among {tuple(SIZES)}, but found {sizes}")
    background = random_background(rng, background_kind)
    light = LightSpec(azimuth_deg=float(rng.uniform(15.0, 75.0)), elevation_deg=float(rng.uniform(45.0, 65.0)))
    for _ in range(max_attempts):
        spec = SceneSpec(objects=(), background=background, light=light)
        try:
            for _ in range(count):
                spec = place(spec, random_object(rng, sizes=sizes), rng, attempts=100)
        except LayoutError:
            continue  # start over, as CLEVR does when an object finds no room
        return spec
    raise LayoutError(f"could not lay out {count} objects in {max_attempts} attempts")
