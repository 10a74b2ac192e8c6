"""The ground's colour before objects and shadows: procedural textures evaluated at ground coordinates.

Every texture is band-limited by the pixel's ground footprint (detail finer than two pixels fades to its mean), so
far-away ground does not alias and a scene looks the same at 64 and at 2048 px apart from sharpness.
"""
from __future__ import annotations

import math

import numpy as np

from .scene_spec import BackgroundSpec

LATTICE_SIDE = 64  # value-noise lattices repeat every 64 cells
SPOT_FLOOR = 0.72  # brightness far from the light pool; 1.0 at its centre


def _smoothstep(edge0: float | np.ndarray, edge1: float | np.ndarray, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _value_noise(x: np.ndarray, y: np.ndarray, lattice: np.ndarray) -> np.ndarray:
    """Smooth noise in [0, 1] at lattice coordinates (x, y): lattice values blended with a quintic fade."""
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = x - x0, y - y0
    fx = fx * fx * fx * (fx * (fx * 6.0 - 15.0) + 10.0)
    fy = fy * fy * fy * (fy * (fy * 6.0 - 15.0) + 10.0)
    wrap = LATTICE_SIDE - 1  # LATTICE_SIDE is a power of two
    i0 = x0.astype(np.int64) & wrap
    j0 = (y0.astype(np.int64) & wrap) * LATTICE_SIDE
    i1 = (i0 + 1) & wrap
    j1 = (j0 + LATTICE_SIDE) & (wrap * LATTICE_SIDE + wrap)
    flat = lattice.ravel()
    top = flat[j0 + i0] * (1.0 - fx) + flat[j0 + i1] * fx
    bottom = flat[j1 + i0] * (1.0 - fx) + flat[j1 + i1] * fx
    return top * (1.0 - fy) + bottom * fy


def _band_limit(feature_size: float, footprint: np.ndarray) -> np.ndarray:
    """Weight of a detail of `feature_size` world units: 1 when it spans many pixels, 0 below ~2 pixels."""
    return 1.0 - _smoothstep(0.25, 0.5, footprint / feature_size)


def _fbm(x: np.ndarray, y: np.ndarray, footprint: np.ndarray, base_size: float, octaves: int,
         lattices: np.ndarray) -> np.ndarray:
    """Fractal noise around 0 (roughly -0.5 .. 0.5): `octaves` layers, each half the size and amplitude."""
    total = np.zeros_like(x)
    amplitude, size = 0.5, base_size
    for octave in range(octaves):
        weight = _band_limit(size, footprint)
        offset = 17.31 * octave
        total += amplitude * weight * (_value_noise(x / size + offset, y / size - offset, lattices[octave]) - 0.5)
        amplitude *= 0.55
        size *= 0.5
    return total


def _rotated(x: np.ndarray, y: np.ndarray, angle_deg: float) -> tuple[np.ndarray, np.ndarray]:
    c, s = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
    return c * x + s * y, -s * x + c * y


def ground_colour(spec: BackgroundSpec, x: np.ndarray, y: np.ndarray, footprint: np.ndarray) -> np.ndarray:
    """RGB in [0, 1], (H, W, 3) float64, of the bare ground at ground points (x, y) with pixel footprints."""
    rng = np.random.default_rng(spec.texture_seed)
    lattices = rng.random((8, LATTICE_SIDE, LATTICE_SIDE))
    first = np.asarray(spec.colours[0], dtype=np.float64) / 255.0
    second = np.asarray(spec.colours[1], dtype=np.float64) / 255.0
    grain = _fbm(x, y, footprint, 0.12, 3, lattices[5:8])  # fine grit, everywhere

    if spec.kind == "noise":
        blotches = _fbm(x, y, footprint, spec.scale, 5, lattices[:5])
        mix = np.clip(0.5 + 1.6 * blotches, 0.0, 1.0)[..., None]
        colour = first * (1.0 - mix) + second * mix
        colour = colour * (1.0 + 0.35 * grain[..., None])
    elif spec.kind == "tiles":
        u, v = _rotated(x, y, spec.angle_deg)
        u, v = u / spec.scale, v / spec.scale
        column, row = np.floor(u), np.floor(v)
        # one tint per tile, read from a lattice cell; fades to the mean where tiles shrink below a few pixels
        tint = lattices[0][row.astype(np.int64) % LATTICE_SIDE, column.astype(np.int64) % LATTICE_SIDE] - 0.5
        tile_pixels = footprint / spec.scale
        tint = tint * (1.0 - _smoothstep(0.08, 0.25, tile_pixels))
        mix = np.clip(0.5 + 1.2 * tint, 0.0, 1.0)[..., None]
        colour = first * (1.0 - mix) + second * mix
        # grout lines: dark bands at tile edges, anti-aliased over one pixel, averaged out where they get thin
        edge = np.minimum(np.minimum(u - column, column + 1.0 - u), np.minimum(v - row, row + 1.0 - v))
        half_width = 0.035
        line = 1.0 - _smoothstep(half_width - 0.5 * tile_pixels, half_width + 0.5 * tile_pixels, edge)
        line_mean = 4.0 * half_width
        far = _smoothstep(0.04, 0.12, tile_pixels)
        line = line * (1.0 - far) + line_mean * far
        colour = colour * (1.0 - 0.45 * line[..., None])
        mottling = _fbm(x, y, footprint, 0.6 * spec.scale, 4, lattices[1:5])
        colour = colour * (1.0 + 0.25 * mottling[..., None] + 0.3 * grain[..., None])
    else:  # gradient
        u, _ = _rotated(x, y, spec.angle_deg)
        position = _smoothstep(-2.0 * spec.scale, 2.0 * spec.scale, u)
        wobble = _fbm(x, y, footprint, 1.5 * spec.scale, 4, lattices[:4])
        mix = np.clip(position + 0.35 * wobble, 0.0, 1.0)[..., None]
        colour = first * (1.0 - mix) + second * mix
        colour = colour * (1.0 + 0.2 * grain[..., None])

    spot_distance = np.hypot(x - spec.spot[0], y - spec.spot[1]) / spec.spot_radius
    light_pool = SPOT_FLOOR + (1.0 - SPOT_FLOOR) * np.exp(-2.0 * spot_distance**2)
    return np.clip(colour * light_pool[..., None], 0.0, 1.0)
