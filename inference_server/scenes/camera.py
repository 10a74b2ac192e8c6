"""Pinhole projection for a given image size: world points to pixels, pixels to rays, rays to ground points.

Pixel (column c, row r) has its centre at (c + 0.5, r + 0.5); rows grow downwards. Farther ground points are
higher in the image and objects there are smaller.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .scene_spec import CameraSpec

MIN_SIDE = 64
MAX_SIDE = 2048


MAX_ASPECT = 2.0  # taller than 1:2 the top rows would see the horizon


def check_image_size(width: int, height: int) -> None:
    for name, value in (("width", width), ("height", height)):
        if not isinstance(value, (int, np.integer)) or not MIN_SIDE <= value <= MAX_SIDE:
            raise ValueError(f"Expected an image {name} between {MIN_SIDE} and {MAX_SIDE} px, but found {value!r}")
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise ValueError(f"Expected an aspect ratio of at most {MAX_ASPECT:g}:1, but found {width}x{height}")


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


@dataclass(frozen=True)
class Camera:
    """A CameraSpec placed in front of a width x height image. Vectors are float64 arrays of shape (3,)."""

    origin: np.ndarray
    forward: np.ndarray
    right: np.ndarray
    up: np.ndarray
    focal_px: float
    width: int
    height: int

    @classmethod
    def for_image(cls, spec: CameraSpec, width: int, height: int) -> Camera:
        check_image_size(width, height)
        origin = np.asarray(spec.position, dtype=np.float64)
        forward = _unit(np.asarray(spec.look_at, dtype=np.float64) - origin)
        right = _unit(np.cross(forward, (0.0, 0.0, 1.0)))
        up = np.cross(right, forward)
        focal = min(width, height) / (2.0 * math.tan(math.radians(spec.fov_deg) / 2.0))
        camera = cls(origin, forward, right, up, focal, width, height)
        top_ray = camera.rays(np.array([0.5]), np.array([width / 2.0]))
        if top_ray[0, 0, 2] >= -1e-3:
            raise ValueError("Expected a camera whose top image row still looks down at the ground, but it sees the "
                             "horizon; lower the field of view or tilt the camera down")
        return camera

    def rays(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Unit ray directions (len(rows), len(cols), 3) float64 through image points (row, col) in pixels."""
        a = (np.asarray(cols, dtype=np.float64) - self.width / 2.0) / self.focal_px  # (C,)
        b = (np.asarray(rows, dtype=np.float64) - self.height / 2.0) / self.focal_px  # (R,)
        directions = (self.forward[None, None, :] + a[None, :, None] * self.right[None, None, :]
                      - b[:, None, None] * self.up[None, None, :])
        return directions / np.linalg.norm(directions, axis=-1, keepdims=True)

    def project(self, points: np.ndarray) -> np.ndarray:
        """World points (N, 3) -> image points (N, 2) as (col, row) in pixels (continuous)."""
        relative = np.asarray(points, dtype=np.float64) - self.origin
        depth = relative @ self.forward
        if np.any(depth <= 0):
            raise ValueError("Expected points in front of the camera, but found one behind it")
        cols = self.width / 2.0 + self.focal_px * (relative @ self.right) / depth
        rows = self.height / 2.0 - self.focal_px * (relative @ self.up) / depth
        return np.stack([cols, rows], axis=1)

    def pixel_box(self, points: np.ndarray, margin: int = 1) -> tuple[int, int, int, int] | None:
        """Pixel rectangle (x0, y0, x1, y1), ends exclusive, holding the projections of `points` (N, 3) grown by
        `margin` and clipped to the image; None when it falls outside the image."""
        projected = self.project(points)
        x0 = max(0, int(math.floor(projected[:, 0].min())) - margin)
        y0 = max(0, int(math.floor(projected[:, 1].min())) - margin)
        x1 = min(self.width, int(math.ceil(projected[:, 0].max())) + margin + 1)
        y1 = min(self.height, int(math.ceil(projected[:, 1].max())) + margin + 1)
        if x0 >= x1 or y0 >= y1:
            return None
        return x0, y0, x1, y1

    def ground_points(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Where each pixel centre's ray meets the ground: x (H, W), y (H, W) and the ground footprint of one
        pixel there in world units (H, W), all float64. The footprint band-limits the texture."""
        rows = np.arange(self.height) + 0.5
        cols = np.arange(self.width) + 0.5
        directions = self.rays(rows, cols)  # (H, W, 3)
        distance = -self.origin[2] / directions[..., 2]  # the camera is above the ground and every ray looks down
        x = self.origin[0] + distance * directions[..., 0]
        y = self.origin[1] + distance * directions[..., 1]
        grazing = np.maximum(-directions[..., 2], 0.05)  # sine of the angle between ray and ground
        footprint = distance / self.focal_px / grazing
        return x, y, footprint
