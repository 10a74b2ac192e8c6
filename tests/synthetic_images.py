"""Small test images with a known background: a coloured disc over a texture."""
from __future__ import annotations

import numpy as np

DISC_COLOUR = (220, 30, 40)


def textured_background(height: int, width: int, seed: int = 0) -> np.ndarray:
    """(H, W, 3) uint8: smooth colour waves plus grain, never flat."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:height, :width]
    waves = np.stack([120 + 40 * np.sin(xx / 5.0), 150 + 30 * np.cos(yy / 7.0), 90 + 20 * np.sin((xx + yy) / 6.0)], -1)
    return np.clip(waves + rng.normal(0, 6, waves.shape), 0, 255).astype(np.uint8)


def disc_mask(height: int, width: int, cx: float, cy: float, radius: float) -> np.ndarray:
    yy, xx = np.mgrid[:height, :width]
    return (xx - cx) ** 2 + (yy - cy) ** 2 < radius**2


def disc_scene(size: int = 64, radius: float = 12, seed: int = 0):
    """Returns (image with the disc, disc mask, background without the disc)."""
    background = textured_background(size, size, seed)
    mask = disc_mask(size, size, size / 2, size / 2 - 2, radius)
    image = background.copy()
    image[mask] = DISC_COLOUR
    return image, mask, background
