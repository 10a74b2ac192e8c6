"""Geometry of the three shapes: ray hits with surface normals, and the soft shadow each casts on the ground.

Rays share one origin (the camera) and come as direction arrays (..., 3). A miss has distance inf.
Ground-plane helpers take ground coordinates gx, gy of equal shape and return signed distances in world units
(negative inside).
"""
from __future__ import annotations

import math

import numpy as np

from .scene_spec import SceneObject

SHADOW_SLICES = 24  # horizontal slices swept along the light to build a shadow outline
SHADOW_DARKNESS = 0.5  # share of the light a full shadow takes away
CONTACT_DARKNESS = 0.35  # extra darkening where the object meets the ground


def object_centre(obj: SceneObject) -> np.ndarray:
    return np.array([obj.x, obj.y, obj.half_extent])


def bounding_corners(obj: SceneObject) -> np.ndarray:
    """The 8 corners (8, 3) of an axis-aligned box holding the object."""
    r = obj.size  # every shape's footprint fits a circle of radius `size`
    xs, ys, zs = (obj.x - r, obj.x + r), (obj.y - r, obj.y + r), (0.0, obj.height)
    return np.array([[x, y, z] for x in xs for y in ys for z in zs])


def _turn(x: np.ndarray, y: np.ndarray, angle_rad: float) -> tuple[np.ndarray, np.ndarray]:
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    return c * x - s * y, s * x + c * y


def intersect(obj: SceneObject, origin: np.ndarray, directions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance along each ray to the object's surface (..., ) float64 (inf on a miss) and the outward unit
    normal there (..., 3) (meaningless on a miss)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if obj.shape == "sphere":
            return _intersect_sphere(obj, origin, directions)
        if obj.shape == "cube":
            return _intersect_cube(obj, origin, directions)
        return _intersect_cylinder(obj, origin, directions)


def _intersect_sphere(obj: SceneObject, origin: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    centre, radius = object_centre(obj), obj.half_extent
    oc = origin - centre
    b = d @ oc
    discriminant = b * b - (oc @ oc - radius * radius)
    t = -b - np.sqrt(np.maximum(discriminant, 0.0))
    t = np.where((discriminant >= 0) & (t > 0), t, np.inf)
    normals = (origin + np.where(np.isfinite(t), t, 0.0)[..., None] * d - centre) / radius
    return t, normals


def _intersect_cube(obj: SceneObject, origin: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    half = obj.half_extent
    angle = -math.radians(obj.rotation_deg)
    ox, oy = _turn(np.array(origin[0] - obj.x), np.array(origin[1] - obj.y), angle)
    o_local = np.array([float(ox), float(oy), origin[2] - half])
    dx, dy = _turn(d[..., 0], d[..., 1], angle)
    d_local = np.stack([dx, dy, d[..., 2]], axis=-1)
    near = (-half - o_local) / d_local
    far = (half - o_local) / d_local
    t_enter = np.minimum(near, far).max(axis=-1)
    t_exit = np.maximum(near, far).min(axis=-1)
    t = np.where((t_exit >= t_enter) & (t_enter > 0), t_enter, np.inf)
    point = o_local + np.where(np.isfinite(t), t, 0.0)[..., None] * d_local
    axis = np.argmax(np.abs(point), axis=-1)
    normal_local = np.zeros_like(point)
    np.put_along_axis(normal_local, axis[..., None], np.sign(np.take_along_axis(point, axis[..., None], -1)), -1)
    nx, ny = _turn(normal_local[..., 0], normal_local[..., 1], -angle)
    return t, np.stack([nx, ny, normal_local[..., 2]], axis=-1)


def _intersect_cylinder(obj: SceneObject, origin: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    radius, top = obj.half_extent, obj.height
    ox, oy, oz = origin[0] - obj.x, origin[1] - obj.y, origin[2]
    a = d[..., 0] ** 2 + d[..., 1] ** 2
    b = 2.0 * (ox * d[..., 0] + oy * d[..., 1])
    c = ox * ox + oy * oy - radius * radius
    discriminant = b * b - 4.0 * a * c
    t_side = (-b - np.sqrt(np.maximum(discriminant, 0.0))) / (2.0 * a)
    z_side = oz + t_side * d[..., 2]
    t_side = np.where((discriminant >= 0) & (t_side > 0) & (z_side >= 0) & (z_side <= top), t_side, np.inf)
    t_cap = (top - oz) / d[..., 2]
    cap_x, cap_y = ox + t_cap * d[..., 0], oy + t_cap * d[..., 1]
    t_cap = np.where((t_cap > 0) & (cap_x * cap_x + cap_y * cap_y <= radius * radius), t_cap, np.inf)
    on_cap = t_cap < t_side
    t = np.minimum(t_side, t_cap)
    finite_t = np.where(np.isfinite(t), t, 0.0)
    side_normal = np.stack([(ox + finite_t * d[..., 0]) / radius, (oy + finite_t * d[..., 1]) / radius,
                            np.zeros_like(finite_t)], axis=-1)
    normals = np.where(on_cap[..., None], np.array([0.0, 0.0, 1.0]), side_normal)
    return t, normals


def _disc_distance(gx: np.ndarray, gy: np.ndarray, cx: float, cy: float, radius: float) -> np.ndarray:
    return np.hypot(gx - cx, gy - cy) - radius


def _square_distance(gx: np.ndarray, gy: np.ndarray, cx: float, cy: float, half: float,
                     angle_rad: float) -> np.ndarray:
    lx, ly = _turn(gx - cx, gy - cy, -angle_rad)
    qx, qy = np.abs(lx) - half, np.abs(ly) - half
    return np.hypot(np.maximum(qx, 0.0), np.maximum(qy, 0.0)) + np.minimum(np.maximum(qx, qy), 0.0)


def _slice_distance(obj: SceneObject, gx: np.ndarray, gy: np.ndarray, height: float, cx: float,
                    cy: float) -> np.ndarray:
    """Signed distance to the object's horizontal cross-section at `height`, moved to (cx, cy)."""
    if obj.shape == "sphere":
        r = obj.half_extent
        return _disc_distance(gx, gy, cx, cy, math.sqrt(max(r * r - (height - r) ** 2, 0.0)))
    if obj.shape == "cylinder":
        return _disc_distance(gx, gy, cx, cy, obj.half_extent)
    return _square_distance(gx, gy, cx, cy, obj.half_extent, math.radians(obj.rotation_deg))


def shadow_offset(obj: SceneObject, light: np.ndarray) -> np.ndarray:
    """Where the object's top lands on the ground, relative to its foot: (dx, dy)."""
    return -obj.height * light[:2] / light[2]


def penumbra(obj: SceneObject) -> float:
    """Half-width of the shadow's soft edge in world units; taller objects cast softer shadows."""
    return 0.06 + 0.3 * obj.size


def contact_reach(obj: SceneObject) -> float:
    return 0.6 * obj.size


def shadow_ground_box(obj: SceneObject, light: np.ndarray) -> tuple[float, float, float, float]:
    """Ground rectangle (x0, y0, x1, y1) outside which the object's shadow and contact darkening are exactly 0."""
    dx, dy = shadow_offset(obj, light)
    reach = obj.size + max(penumbra(obj), contact_reach(obj)) + 0.01
    return (obj.x + min(0.0, dx) - reach, obj.y + min(0.0, dy) - reach,
            obj.x + max(0.0, dx) + reach, obj.y + max(0.0, dy) + reach)


def shadow_alpha(obj: SceneObject, light: np.ndarray, gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """Share of the ground's light the object takes away at ground points (gx, gy): 0 .. ~0.7, exactly 0 where
    neither its soft shadow nor its contact darkening reaches."""
    dx, dy = shadow_offset(obj, light)
    distance = np.full(gx.shape, np.inf)
    for fraction in np.linspace(0.0, 1.0, SHADOW_SLICES):
        height = fraction * obj.height
        distance = np.minimum(distance, _slice_distance(obj, gx, gy, height, obj.x + fraction * dx,
                                                        obj.y + fraction * dy))
    width = penumbra(obj)
    t = np.clip((distance + width) / (2.0 * width), 0.0, 1.0)
    shadow = SHADOW_DARKNESS * (1.0 - t * t * (3.0 - 2.0 * t))
    if obj.shape == "sphere":
        footprint = _disc_distance(gx, gy, obj.x, obj.y, 0.6 * obj.half_extent)
    else:
        footprint = _slice_distance(obj, gx, gy, 0.0, obj.x, obj.y)
    t = np.clip(footprint / contact_reach(obj), 0.0, 1.0)
    contact = CONTACT_DARKNESS * (1.0 - t * t * (3.0 - 2.0 * t))
    return 1.0 - (1.0 - shadow) * (1.0 - contact)
