"""The shadow an object casts on the ground beside it, found from the photo's own light: no model, no training.

    find_cast_shadow(image, object_mask, valid=None, settings=ShadowSettings()) -> (H, W) bool

A segmentation model (Mask R-CNN, the scene segmenter) returns the object and never its shadow, and removing the
object alone leaves the shadow on the ground. A cast shadow takes a share of the light away and leaves the
surface's colour: every channel of the ground is multiplied by the same factor below 1. So, in a window around the
object (the image smoothed below the ground's grain, worked at a reduced scale):
1. the shadow-free ground is estimated by harmonic interpolation over the object and the shadow found so far, from
   the window's other pixels (inpainting/harmonic.py: the smoothest continuation, which follows light pools and
   gradual shading);
2. a pixel is shadow-like where its brightness is below `weak_ratio` of that estimate with the estimate's
   chromaticity (within `chroma_tolerance`); a connected region of such pixels is the shadow when it touches the
   object (within `touch_share` of its size) and holds a core darker than `strong_ratio` (hysteresis, as in
   Canny's edges: the faint penumbra joins only through a clearly dark core);
3. steps 1-2 run `rounds` times: each round's estimate no longer sees the shadow found before it, so it is not
   darkened by it.
The mask comes back at full resolution: the ratio is taken again on the full-size smoothed image against the
upsampled estimate, inside the coarse shadow grown by one coarse pixel.

Darker regions of another colour (a dark object, a stain of another hue) fail the chromaticity test; a dark region
of the ground's own colour that touches the object passes it (a limit of any photometric rule). Nothing found is the
normal answer for an object without a visible shadow: an empty mask, and the removal is as it was.

image: (H, W, 3|4) uint8 RGB(A); object_mask, valid: (H, W) bool (valid: pixels that may count as ground, e.g. not
transparent). numpy -> tensor conversion happens here only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from ..inpainting.harmonic import harmonic_fill
from ..inpainting.patch_synthesis import gaussian_blur


@dataclass(frozen=True)
class ShadowSettings:
    """reach_share: the window reaches this share of the object's longer side beyond its box (a long shadow's
    length). work_side: the window is worked at most this many pixels on its longer side. smoothing_share: the
    image is smoothed with a Gaussian of this share of the object's size (below the ground's grain). weak_ratio /
    strong_ratio: brightness against the estimated ground below which a pixel is shadow-like / in a shadow's core.
    chroma_tolerance: largest difference of rg-chromaticity from the ground's. min_core_share: a shadow's core
    covers at least this share of the object's area. touch_share: a shadow starts within this share of the
    object's size from its mask. start_share: the first estimate of the ground ignores everything within this share
    of the object's size from it. penumbra_ratio, penumbra_share: the found shadow grows into pixels darker than
    this ratio up to this share of the object's size beyond it (the soft edge). rounds: estimate-and-threshold
    rounds. min_ground_brightness: confirmed_darker counts a core only where the ground's estimated mean channel
    (0..1) is at least this (on a near-black ground a shadow cannot be seen, and dark gaps between bright things,
    such as a night sky between stars, pass the ratio test)."""

    reach_share: float = 1.0
    work_side: int = 160
    smoothing_share: float = 0.05
    weak_ratio: float = 0.92
    strong_ratio: float = 0.8
    chroma_tolerance: float = 0.04
    min_core_share: float = 0.02
    touch_share: float = 0.05
    start_share: float = 0.75
    penumbra_ratio: float = 0.985
    penumbra_share: float = 0.1
    rounds: int = 3
    min_ground_brightness: float = 0.1
    harmonic_steps: int = 60


def _box(mask: np.ndarray, margin: int) -> tuple[slice, slice]:
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    height, width = mask.shape
    return (slice(max(0, rows[0] - margin), min(height, rows[-1] + 1 + margin)),
            slice(max(0, cols[0] - margin), min(width, cols[-1] + 1 + margin)))


def _compared(smoothed: torch.Tensor, ground: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(brightness, the ground's brightness, the largest rg-chromaticity difference) per pixel, (H, W) each."""
    eps = 1e-4
    brightness, ground_brightness = smoothed.sum(dim=0) + eps, ground.sum(dim=0) + eps
    chroma_off = (smoothed[:2] / brightness - ground[:2] / ground_brightness).abs().amax(dim=0)
    return brightness, ground_brightness, chroma_off


def shadow_like(smoothed: torch.Tensor, ground: torch.Tensor, ratio_limit: float,
                chroma_tolerance: float) -> np.ndarray:
    """(H, W) bool: pixels of `smoothed` (3, H, W) darker than `ratio_limit` x `ground`'s brightness with the
    ground's rg-chromaticity (within `chroma_tolerance`)."""
    brightness, ground_brightness, chroma_off = _compared(smoothed, ground)
    return ((brightness < ratio_limit * ground_brightness) & (chroma_off <= chroma_tolerance)).numpy()


def _outliers(smoothed: torch.Tensor, ground: torch.Tensor, settings: ShadowSettings) -> np.ndarray:
    """(H, W) bool: pixels unlike the estimated ground: another chromaticity, or brighter or darker by more than
    the strong ratio."""
    brightness, ground_brightness, chroma_off = _compared(smoothed, ground)
    ratio = brightness / ground_brightness
    unlike = (ratio < settings.strong_ratio) | (ratio > 1 / settings.strong_ratio)
    return (unlike | (chroma_off > settings.chroma_tolerance)).numpy()


def _regions_touching(weak: np.ndarray, strong: np.ndarray, near_object: np.ndarray, min_core: int) -> np.ndarray:
    """The connected regions of `weak` that meet `near_object` and hold at least `min_core` pixels of `strong`."""
    labels, count = ndimage.label(weak)
    if count == 0:
        return np.zeros_like(weak)
    touching = np.zeros(count + 1, bool)
    touching[np.unique(labels[near_object & weak])] = True
    core = np.bincount(labels[strong & weak].ravel(), minlength=count + 1) >= max(1, min_core)
    keep = touching & core
    keep[0] = False
    return keep[labels]


@dataclass
class _Window:
    """The object's neighbourhood, smoothed, at full size and at the working scale."""

    slices: tuple[slice, slice]
    size: float  # the object's longer side (px)
    scale: int  # full size / working size
    smoothed: torch.Tensor  # (3, h, w) in [0, 1]
    small: torch.Tensor  # (3, h / scale, w / scale)
    obj: np.ndarray  # (h, w) bool
    ground_ok: np.ndarray  # (h, w) bool: may count as ground (valid, not the object)
    small_object: np.ndarray  # the object grown by 2 px, at the working scale
    small_invalid: np.ndarray
    near: np.ndarray  # where a shadow may start, at the working scale

    def coarse(self, mask: np.ndarray, fill: bool) -> np.ndarray:
        """A full-size (h, w) mask at the working scale: a cell is set when any of its pixels is."""
        return _coarse(mask, self.scale, fill)

    def full_size(self, small: torch.Tensor) -> torch.Tensor:
        height, width = self.obj.shape
        return F.interpolate(small[None], scale_factor=self.scale, mode="bilinear",
                             align_corners=False)[0, :, :height, :width]

    def near_full(self, settings: ShadowSettings) -> np.ndarray:
        return ndimage.binary_dilation(ndimage.binary_dilation(self.obj, iterations=2),
                                       iterations=max(1, round(settings.touch_share * self.size)))


def _coarse(mask: np.ndarray, scale: int, fill: bool) -> np.ndarray:
    pad_h, pad_w = -mask.shape[0] % scale, -mask.shape[1] % scale
    padded = np.pad(mask, ((0, pad_h), (0, pad_w)), constant_values=fill)
    return padded.reshape(padded.shape[0] // scale, scale, padded.shape[1] // scale, scale).any(axis=(1, 3))


def _window(image: np.ndarray, object_mask: np.ndarray, valid: np.ndarray, settings: ShadowSettings) -> _Window:
    rows, cols = np.nonzero(object_mask)
    size = float(max(rows.max() - rows.min() + 1, cols.max() - cols.min() + 1))
    slices = _box(object_mask, max(8, round(settings.reach_share * size)))
    crop = torch.from_numpy(np.array(image[slices][..., :3])).permute(2, 0, 1).float() / 255
    obj, ground_ok = object_mask[slices], valid[slices] & ~object_mask[slices]
    _, height, width = crop.shape
    scale = max(1, math.ceil(max(height, width) / settings.work_side))
    smoothed = gaussian_blur(crop, max(0.5, settings.smoothing_share * size))
    pad_h, pad_w = -height % scale, -width % scale
    small = F.avg_pool2d(F.pad(smoothed[None], (0, pad_w, 0, pad_h), mode="replicate"), scale)[0]
    small_object = _coarse(ndimage.binary_dilation(obj, iterations=2), scale, False)
    near = ndimage.binary_dilation(small_object, iterations=max(1, round(settings.touch_share * size / scale)))
    return _Window(slices, size, scale, smoothed, small, obj, ground_ok, small_object,
                   _coarse(~(ground_ok | obj), scale, True), near)


def find_cast_shadow(image: np.ndarray, object_mask: np.ndarray, valid: np.ndarray | None = None,
                     settings: ShadowSettings = ShadowSettings()) -> np.ndarray:
    """(H, W) bool: the cast shadow of the object `object_mask` marks, outside it; empty when none is seen."""
    shadow = np.zeros(object_mask.shape, bool)
    if not object_mask.any():
        return shadow
    w = _window(image, object_mask, np.ones(object_mask.shape, bool) if valid is None else valid, settings)
    min_core = round(settings.min_core_share * w.obj.sum() / w.scale ** 2)
    # The first estimate sees only the window's rim (everything within `start_share` of the object's size is
    # unknown): a shadow beside the object cannot darken it. Later rounds see all but the shadow found.
    suspect = ndimage.binary_dilation(w.small_object,
                                      iterations=max(1, round(settings.start_share * w.size / w.scale)))
    found = np.zeros_like(w.small_object)
    ground = w.small
    for round_number in range(settings.rounds):
        if round_number == 0:
            unknown = suspect | w.small_invalid
        else:  # what the last estimate calls other things (other objects, other shadows) does not teach it
            unknown = w.small_object | ndimage.binary_dilation(found | _outliers(w.small, ground, settings),
                                                               iterations=2) | w.small_invalid
        if unknown.all():
            return shadow
        ground = harmonic_fill(w.small, torch.from_numpy(unknown), settings.harmonic_steps)
        weak = shadow_like(w.small, ground, settings.weak_ratio, settings.chroma_tolerance)
        weak &= ~w.small_object & ~w.small_invalid
        strong = shadow_like(w.small, ground, settings.strong_ratio, settings.chroma_tolerance)
        found = _regions_touching(weak, strong, w.near, min_core)
    if not found.any():
        return shadow
    # Full resolution: the same test against the upsampled ground, inside the coarse shadow grown by a cell.
    full_ground = w.full_size(ground)
    height, width = w.obj.shape
    allowed = np.kron(ndimage.binary_dilation(found, iterations=1),
                      np.ones((w.scale, w.scale), bool))[:height, :width]
    weak = shadow_like(w.smoothed, full_ground, settings.weak_ratio, settings.chroma_tolerance)
    weak &= allowed & w.ground_ok
    strong = shadow_like(w.smoothed, full_ground, settings.strong_ratio, settings.chroma_tolerance)
    near_full = w.near_full(settings)
    core = _regions_touching(weak, strong, near_full, round(settings.min_core_share * w.obj.sum()))
    if core.any() and settings.penumbra_share > 0:  # the soft edge fades on beyond the weak ratio
        faint = shadow_like(w.smoothed, full_ground, settings.penumbra_ratio, settings.chroma_tolerance)
        reach = ndimage.distance_transform_edt(~core) <= settings.penumbra_share * w.size
        core |= faint & w.ground_ok & reach
    shadow[w.slices] = core
    return shadow


def confirmed_darker(image: np.ndarray, object_mask: np.ndarray, proposed: np.ndarray, valid: np.ndarray,
                     settings: ShadowSettings = ShadowSettings()) -> np.ndarray:
    """The regions of a `proposed` shadow (H, W bool) the photo confirms, each kept whole or dropped: a connected
    region stays when it touches the object and holds a core of at least `min_core_share` of the object's area whose
    pixels are darker than `weak_ratio` of the ground estimated around the proposal (harmonic interpolation over
    the object and the proposal), with the ground's chromaticity, on a ground not near black. Its faint soft edge, lighter than that, stays with
    it. Empty when nothing is confirmed."""
    shadow = np.zeros(object_mask.shape, bool)
    if not proposed.any():
        return shadow
    w = _window(image, object_mask, valid, settings)
    region = proposed[w.slices] & w.ground_ok
    unknown = w.small_object | ndimage.binary_dilation(w.coarse(region, False), iterations=2) | w.small_invalid
    if unknown.all():
        return shadow
    ground = harmonic_fill(w.small, torch.from_numpy(unknown), settings.harmonic_steps)
    # a second estimate that no longer learns from what the first calls other things (other objects, shadows)
    unknown |= ndimage.binary_dilation(_outliers(w.small, ground, settings), iterations=2)
    if not unknown.all():
        ground = harmonic_fill(w.small, torch.from_numpy(unknown), settings.harmonic_steps)
    full_ground = w.full_size(ground)
    darker = shadow_like(w.smoothed, full_ground, settings.weak_ratio, settings.chroma_tolerance)
    darker &= (full_ground.mean(dim=0) >= settings.min_ground_brightness).numpy()  # a shadow on black is not seen
    shadow[w.slices] = _regions_touching(region, darker, w.near_full(settings),
                                         round(settings.min_core_share * w.obj.sum()))
    return shadow
