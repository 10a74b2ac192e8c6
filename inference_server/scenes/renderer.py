"""Renders a SceneSpec at any size from 64 to 2048 px: shaded objects, occlusion by depth, soft ground shadows.

How a pixel is made:
  background = ground texture x light pool x (1 - shadow of each object)   (at the pixel centre)
  each pixel is cut into s x s subsamples; each subsample shows the nearest object its ray hits, or the background
  pixel = background where no subsample hits an object, else the mean of its subsamples.
So a pixel outside every object mask and every shadow mask equals `render_background` bit for bit, and an edit that
changes one object changes pixels only inside that object's masks before and after the edit.
Shadows fall on the ground only (not on other objects).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .camera import Camera
from .ground_texture import ground_colour
from .relations import SceneGraph, scene_graph
from .scene_spec import COLOURS, SceneObject, SceneSpec
from .shape_geometry import bounding_corners, intersect, shadow_alpha, shadow_ground_box

SAMPLES_PER_BAND = 1 << 22  # subsamples processed at once, bounds memory at 2048 px


def default_supersample(width: int, height: int) -> int:
    """Subsamples per pixel side: 3 up to 1024 px, 2 above (anti-aliasing is finer than a pixel either way)."""
    return 3 if max(width, height) <= 1024 else 2


@dataclass(frozen=True)
class RenderedScene:
    """A rendered scene and its ground truth.

    image: (H, W, 3) uint8 RGB.
    object_masks: (N, H, W) bool, the pixels where object i is visible (in front of everything else in at least one
        subsample); occluded parts are not in it.
    shadow_masks: (N, H, W) bool, the pixels whose ground is darkened by object i's shadow or contact shadow and is
        visible in at least one subsample. May overlap other objects' masks.
    boxes: (N, 4) int64 (x0, y0, x1, y1), the bounding box of object_masks[i], ends exclusive (x1 = last column
        + 1); all zeros for an object that is not visible.
    classes: N class names, e.g. "red cube" (scene_spec.CLASSES).
    visible_fraction: (N,) float64, share of the object's own silhouette that is not hidden behind others.
    graph: the scene graph (relations.scene_graph(spec)).
    """

    spec: SceneSpec
    image: np.ndarray
    object_masks: np.ndarray
    shadow_masks: np.ndarray
    boxes: np.ndarray
    classes: tuple[str, ...]
    visible_fraction: np.ndarray
    graph: SceneGraph

    def removal_mask(self, index: int, *, with_shadow: bool = True) -> np.ndarray:
        """(H, W) bool: the pixels that change when objects[index] is removed (object + shadow), or just the
        object's visible pixels when with_shadow is False."""
        if with_shadow:
            return self.object_masks[index] | self.shadow_masks[index]
        return self.object_masks[index].copy()


def _shade(obj: SceneObject, normals: np.ndarray, view: np.ndarray, light: np.ndarray) -> np.ndarray:
    """RGB in [0, 1] (M, 3) of the object's surface with unit `normals` (M, 3) seen along `view` (M, 3), the unit
    vectors from the surface towards the camera."""
    albedo = np.asarray(COLOURS[obj.colour], dtype=np.float64) / 255.0
    n_dot_l = normals @ light
    diffuse = np.maximum(n_dot_l, 0.0)[:, None]
    ambient = (0.32 + 0.12 * normals[:, 2])[:, None]  # brighter sky above, darker ground below
    halfway = light + view
    halfway /= np.linalg.norm(halfway, axis=1, keepdims=True)
    n_dot_h = np.maximum(np.einsum("ij,ij->i", normals, halfway), 0.0)
    n_dot_v = np.clip(np.einsum("ij,ij->i", normals, view), 0.0, 1.0)
    lit_side = (n_dot_l > 0).astype(np.float64)
    if obj.material == "matte":
        sheen = 0.06 * n_dot_h**10 * lit_side
        colour = albedo * (ambient + 0.78 * diffuse) + sheen[:, None]
    else:
        reflected_z = 2.0 * n_dot_v * normals[:, 2] - view[:, 2]  # z of the mirror direction
        sky = np.clip((reflected_z + 0.1) / 0.7, 0.0, 1.0)[:, None]  # mirror sees the bright sky or the dark floor
        highlight = (0.9 * n_dot_h**80 * lit_side)[:, None]
        rim = (0.18 * (1.0 - n_dot_v) ** 4)[:, None]
        colour = albedo * (0.5 * ambient + 0.55 * diffuse + 0.35 * sky) + highlight + rim
    return np.clip(colour, 0.0, 1.0)


def _background(spec: SceneSpec, camera: Camera, light: np.ndarray,
                with_shadows: bool) -> tuple[np.ndarray, list[tuple[tuple[int, int, int, int], np.ndarray] | None]]:
    """Ground colour with shadows (H, W, 3) float64 and, per object, (pixel box, shadow alpha crop) or None."""
    gx, gy, footprint = camera.ground_points()
    colour = ground_colour(spec.background, gx, gy, footprint)
    shadows: list[tuple[tuple[int, int, int, int], np.ndarray] | None] = []
    if not with_shadows:
        return colour, shadows
    lit = np.ones(gx.shape)
    for obj in spec.objects:
        x0, y0, x1, y1 = shadow_ground_box(obj, light)
        corners = np.array([[x0, y0, 0.0], [x1, y0, 0.0], [x0, y1, 0.0], [x1, y1, 0.0]])
        box = camera.pixel_box(corners, margin=2)
        if box is None:
            shadows.append(None)
            continue
        bx0, by0, bx1, by1 = box
        alpha = shadow_alpha(obj, light, gx[by0:by1, bx0:bx1], gy[by0:by1, bx0:bx1])
        lit[by0:by1, bx0:bx1] *= 1.0 - alpha
        shadows.append((box, alpha))
    return colour * lit[..., None], shadows


def render_background(spec: SceneSpec, width: int, height: int) -> np.ndarray:
    """The bare ground of the scene, without objects or shadows: (H, W, 3) uint8."""
    camera = Camera.for_image(spec.camera, width, height)
    colour, _ = _background(spec, camera, np.asarray(spec.light.direction), with_shadows=False)
    return _to_uint8(colour)


def _to_uint8(colour: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(colour, 0.0, 1.0) * 255.0).astype(np.uint8)


def render_scene(spec: SceneSpec, width: int, height: int, *, supersample: int | None = None,
                 shadows: bool = True) -> RenderedScene:
    """Renders `spec` at width x height (64 .. 2048 each). Same spec and size => identical bytes. shadows=False:
    no object darkens the ground (a scene under diffuse light; every shadow mask is empty)."""
    camera = Camera.for_image(spec.camera, width, height)
    s = supersample or default_supersample(width, height)
    if not 1 <= s <= 8:
        raise ValueError(f"Expected a supersample factor between 1 and 8, but found {s}")
    light = np.asarray(spec.light.direction, dtype=np.float64)
    background, shadow_alphas = _background(spec, camera, light, with_shadows=shadows)
    count = len(spec.objects)

    object_boxes = [camera.pixel_box(bounding_corners(obj), margin=1) for obj in spec.objects]
    object_masks = np.zeros((count, height, width), dtype=bool)
    own_samples = np.zeros(count, dtype=np.int64)  # subsamples each object's silhouette covers, ignoring others
    visible_samples = np.zeros(count, dtype=np.int64)
    hits = np.zeros((height, width), dtype=np.int64)
    colour_sum = np.zeros((height, width, 3), dtype=np.float64)

    band_rows = max(1, SAMPLES_PER_BAND // (width * s * s))
    for top in range(0, height, band_rows):
        bottom = min(height, top + band_rows)
        owner = np.full(((bottom - top) * s, width * s), -1, dtype=np.int16)  # front-most object per subsample
        depth = np.full(owner.shape, np.inf)
        found = []  # (index, pixel rect, subsample slices, ray directions, normals) of objects in this band
        for index, box in enumerate(object_boxes):
            if box is None or box[3] <= top or box[1] >= bottom:
                continue
            x0, x1 = box[0], box[2]
            y0, y1 = max(box[1], top), min(box[3], bottom)
            rows = (np.arange(y0 * s, y1 * s) + 0.5) / s
            cols = (np.arange(x0 * s, x1 * s) + 0.5) / s
            directions = camera.rays(rows, cols)  # (R, C, 3)
            distance, normals = intersect(spec.objects[index], camera.origin, directions)
            own_samples[index] += int(np.isfinite(distance).sum())
            sub = (slice((y0 - top) * s, (y1 - top) * s), slice(x0 * s, x1 * s))
            nearer = distance < depth[sub]
            depth[sub] = np.where(nearer, distance, depth[sub])
            owner[sub] = np.where(nearer, index, owner[sub])
            found.append((index, (y0, y1, x0, x1), sub, directions, normals))

        for index, (y0, y1, x0, x1), sub, directions, normals in found:
            mine = owner[sub] == index
            visible_samples[index] += int(mine.sum())
            if not mine.any():
                continue
            colour = np.zeros(mine.shape + (3,))
            colour[mine] = _shade(spec.objects[index], normals[mine], -directions[mine], light)
            rows, cols = y1 - y0, x1 - x0
            # each subsample has one owner, so the per-object sums add up to the per-pixel sums
            object_masks[index, y0:y1, x0:x1] = mine.reshape(rows, s, cols, s).any(axis=(1, 3))
            hits[y0:y1, x0:x1] += mine.reshape(rows, s, cols, s).sum(axis=(1, 3))
            colour_sum[y0:y1, x0:x1] += colour.reshape(rows, s, cols, s, 3).sum(axis=(1, 3))

    samples = s * s
    # Where no subsample meets an object the pixel is the background itself, bit for bit.
    mixed = (colour_sum + (samples - hits)[..., None] * background) / samples
    pixels = np.where((hits == 0)[..., None], background, mixed)

    ground_seen = hits < samples
    shadow_masks = np.zeros((count, height, width), dtype=bool)
    for index, shadow in enumerate(shadow_alphas):
        if shadow is not None:
            (x0, y0, x1, y1), alpha = shadow
            shadow_masks[index, y0:y1, x0:x1] = (alpha > 0) & ground_seen[y0:y1, x0:x1]

    boxes = np.zeros((count, 4), dtype=np.int64)
    for index in range(count):
        rows = np.flatnonzero(object_masks[index].any(axis=1))
        cols = np.flatnonzero(object_masks[index].any(axis=0))
        if rows.size:
            boxes[index] = (cols[0], rows[0], cols[-1] + 1, rows[-1] + 1)
    visible_fraction = visible_samples / np.maximum(own_samples, 1)
    return RenderedScene(spec=spec, image=_to_uint8(pixels), object_masks=object_masks, shadow_masks=shadow_masks,
                         boxes=boxes, classes=spec.classes, visible_fraction=visible_fraction,
                         graph=scene_graph(spec))
