"""Removal benchmark: our presets against classical inpainting, plain DIP and GIMP's Heal Selection, on real use.

Run from the repository root with the benchmark extras installed (requirements-bench.txt):

    .venv/bin/python -m tests.benchmarks.removal_benchmark --dataset photos --holes-per-photo 3 \
        --json benchmark-results/removal-photos.json --save-images benchmark-results/removal-photos
    .venv/bin/python -m tests.benchmarks.removal_benchmark --dataset scenes --sizes 512 2048 --count 5
    .venv/bin/python -m tests.benchmarks.removal_benchmark --dataset large
    .venv/bin/python -m tests.benchmarks.removal_benchmark --dataset timing --repeats 3 --methods ours-balanced
    .venv/bin/python -m tests.benchmarks.removal_benchmark --report a.json b.json   # tables of saved runs, merged

Datasets (all methods get exactly the same image and mask; the mask is never dilated for them)
  photos: the colour photos scikit-image ships offline (astronaut 512x512, coffee 600x400, chelsea 451x300, rocket
      640x427, hubble_deep_field 1000x872, immunohistochemistry 512x512, retina 1411x1411) at their native
      resolution: no crop, no resize. The photo is its own ground truth. Each hole is an object-like blob: the union
      of 3-6 jittered ellipses (centres scattered about an anchor, random axes and angles), scaled so that its area
      is a fraction drawn uniformly from 1-4 % of the image, kept HOLE_MARGIN_PX from the border. --holes-per-photo
      N seeds per photo, deterministic from (photo, seed). Seed 0 is anchored automatically at the photo's smoothest
      spot (the lowest mean gradient under the hole's own shape; areas that are dead flat, such as retina's black
      corners and clipped highlights, left out); when no place is smooth enough for that hole, the same shape is
      tried smaller, down to 1 %. The other seeds go anywhere at random. --hand-picked adds holes at given spots
      (the default two: the astronaut's grey wall and the rocket's sky). A case is tagged "smooth" when the truth's
      mean gradient magnitude in the hole (mean_gradient: skimage's sobel of rgb2gray, grey 0..1) is below
      SMOOTH_GRADIENT = 0.01 (a ramp of 1.8 grey levels per px, or pixel noise of sigma 3.3 grey levels, gives
      0.01; the rocket's sky is ~0.002, the astronaut's wall ~0.006), else "texture".
  scenes: CLEVR-like scenes from inference_server.scenes at --sizes (default 512 and 2048). One mostly visible
      object per scene is removed; the mask is its visible mask plus its shadow mask minus other objects' pixels
      (--mask object leaves the shadow in; --mask detected gives the object as the shipped scene segmenter finds it,
      as when a user names it by class, and makes the RoI the true object's box grown by 8 px, where a missed rim
      shows); the truth is the generator's render without the object.
  large: --count scenes (default 1) at --large-size (default 4000x3000) on the generator's ground texture
      (--large-ground), the removed object resized to about --large-object-px (default 300) px wide; mask and truth
      as for scenes. The scene renderer caps sides at 2048 px; the benchmark lifts that cap while it renders.
  timing: the speed targets' two cases: a 2 % hole in the 512x512 astronaut photo, and the large case; with
      --repeats N every method runs N times per case, and the table gives the fastest and the median run.

Methods (a registry: METHODS and ours_variants(); an unknown name lists the known ones)
  telea, navier-stokes: cv2.inpaint, radius 3.
  fsr-fast, fsr-best: cv2.xphoto.inpaint with INPAINT_FSR_FAST / INPAINT_FSR_BEST, on BGR (as documented).
  shift-map: cv2.xphoto.inpaint with INPAINT_SHIFTMAP, on 8-bit CIELab (as documented).
      The xphoto mask is 8-bit with nonzero = KNOWN pixels. The colour round trips (FSR converts internally) move
      pixels outside the hole by a grey level; the xphoto wrappers keep their fill inside the hole only, as
      cv2.inpaint does.
  plain-dip: Deep Image Prior in the project's pipeline without SIMBIL's additions: fill dip, the smallest preset's
      network, guidance 0, no dilation, the context window fitted at full resolution (no fit-size cap), 300 steps
      (plain_dip_options()).
  gimp-heal: GIMP 3's Heal Selection (resynthesizer) inside a real GIMP, every case of the run in one batch
      (tests/benchmarks/gimp_heal_selection.py); skipped with the reason printed when it cannot run.
  ours-<preset>: a removal as the server runs it for a mask target (run_edit: the mask used as drawn), at every
      preset in inference_server.pipeline.options.PRESETS (read at run time), seed 0, the other defaults.
  Variants of the default preset (ours_variants()): ours-texture-<T> (0, 0.25, 0.5, 1: the texture control),
      ours-even-mix (the structure an even mix of its two models, not measured on probes; texture as the default),
      ours-dip (fill dip at the smallest preset: SIMBIL's background-guided DIP with the median, the previous
      default), ours-auto-dilation (the mask grown by 8 % of its size, as for a mask the segmentation model found).

Metrics per case (result against truth)
  hole MAE (0..255, over the given mask's pixels and channels), RoI SSIM (x100; the mask's bounding box grown to at
  least 7x7; skimage structural_similarity, channel_axis=2, data_range=255), hole PSNR (dB, capped at 99),
  sharpness (mean Sobel gradient magnitude of the luminance in the hole, result over truth: 1 = as sharp as the
  truth, below ~0.5 = a smear), pixels changed outside the given mask, seconds (wall time). Also MAE over the whole
  image and the RoI, and SSIM over the whole image (only up to WHOLE_IMAGE_SSIM_MAX_PX pixels; NaN above).

Reports (markdown on stdout; --json also writes settings, every row and the summaries)
  per dataset (scenes: per size too) a row per method: mean hole MAE, mean RoI SSIM, mean hole PSNR, median
  sharpness, mean changed-outside px, mean seconds; the --reference method's (default ours-<DEFAULT_PRESET>)
  wins/losses against each other method per case; on photos the smooth-case check (the reference's hole MAE over
  the best baseline's per smooth case); the targets as a checklist.
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import math
import platform
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image
from scipy import ndimage
from skimage import color as skimage_color
from skimage import data as skimage_data
from skimage import filters as skimage_filters
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from inference_server.pipeline.options import DEFAULT_PRESET, PRESETS, FillMethod, RemoveOptions
from inference_server.pipeline.edit_spec import EditModels, EditSpec, TargetSpec, run_edit
from inference_server.pipeline.remove import apply_patch, remove_object
from inference_server.scenes import edit_remove, layout_problem, random_scene, render_edit, render_scene

SSIM_WINDOW = 7  # structural_similarity's default win_size
PSNR_CAP_DB = 99.0  # reported when the hole is reproduced exactly (infinite PSNR)
TARGET_CHECK_SIDE = 128  # the removed object is chosen on a render of this size, the same for every size
DETECTED_ROI_GROWTH_PX = 8  # --mask detected: the RoI is the true object's box grown by this
WHOLE_IMAGE_SSIM_MAX_PX = 2048 * 2048  # whole-image SSIM above this is slow and says little: NaN instead

DATASETS = ("photos", "scenes", "large", "timing")
TIMING_PHOTO, TIMING_HOLE_SHARE = "astronaut", 0.02  # timing: a 2 % hole in a 512x512 photo, then the large case
PHOTO_NAMES: tuple[str, ...] = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field",
                                "immunohistochemistry", "retina")
HOLE_FRACTION = (0.01, 0.04)  # hole area as a share of the image area
HOLE_ELLIPSES = (3, 6)  # ellipses per hole, inclusive
HOLE_MARGIN_PX = 8  # the hole stays this far from the image border, so every side has context
SMOOTH_GRADIENT = 0.01  # mean_gradient of the truth in the hole below this: a "smooth" case (sky, walls)
DEAD_FLAT_GRADIENT = 0.001  # the smooth spot avoids areas at least DEAD_FLAT_SIDE px wide with gradients below this
DEAD_FLAT_SIDE = 15
# Hand-picked holes (photo, x, y, share): the anchor (the centre of the hole's box) as fractions of the width and
# height, the area as a share of the image (None: drawn from HOLE_FRACTION); shapes drawn like the others.
HandPicked = tuple[str, float, float, "float | None"]
HAND_PICKED_HOLES: tuple[HandPicked, ...] = (
    ("astronaut", 0.66, 0.12, 0.012),  # the grey wall between head and shuttle (a larger hole reaches the hair)
    ("rocket", 0.25, 0.30, None),  # the evening sky
)

LARGE_SIZE = (4000, 3000)
LARGE_OBJECT_PX = 300
LARGE_PREVIEW_SIDE = 800  # the removed object is sized on renders with this longer side


@dataclass(frozen=True)
class Case:
    """One image with one hole.

    image, truth: (H, W, 3) uint8, the input and the expected result. mask: (H, W) bool, the pixels to fill.
    size: the image's longer side, px. roi: (x0, y0, x1, y1), ends exclusive. kind: what the hole is (a class
    name; for photos "smooth" or "texture"). placement: how the hole was placed (photos), or a note.
    """

    dataset: str
    name: str
    size: int
    kind: str
    image: np.ndarray
    mask: np.ndarray
    truth: np.ndarray
    roi: tuple[int, int, int, int]
    placement: str = ""


def bounding_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


# ---- the synthetic scene sets ------------------------------------------------------------------------------------

def removal_hole(object_masks: np.ndarray, shadow_masks: np.ndarray, target: int, with_shadow: bool) -> np.ndarray:
    """The mask a user would draw: the object, plus (with_shadow) its shadow where no other object shows.

    The generator's shadow mask also holds the edge pixels of neighbours that stand in the shadow (their
    anti-aliased rim mixes in shadowed ground); a segmentation mask would not, so those stay outside the hole and the
    small change there counts as error for every method alike.
    """
    hole = object_masks[target].copy()
    if with_shadow:
        others = np.delete(object_masks, target, axis=0).any(axis=0)
        hole |= shadow_masks[target] & ~others
    return hole


def _pick_target(spec, seed: int) -> int:
    """A mostly visible object of the scene, drawn by the seed (the same at every size)."""
    check = render_scene(spec, TARGET_CHECK_SIDE, TARGET_CHECK_SIDE)
    candidates = np.flatnonzero(check.visible_fraction >= 0.9)
    return int(np.random.default_rng(seed).choice(candidates if candidates.size else len(spec.objects)))


def detected_mask(image: np.ndarray, truth_mask: np.ndarray, segmenter) -> np.ndarray | None:
    """The segmenter's detection overlapping `truth_mask` most (intersection over union), or None."""
    best, best_iou = None, 0.0
    for detection in segmenter.detect(image):
        iou = (detection.mask & truth_mask).sum() / max(1, (detection.mask | truth_mask).sum())
        if iou > best_iou:
            best, best_iou = detection.mask, iou
    return best


def scene_cases(sizes: list[int], count: int, first_seed: int, with_shadow: bool,
                segmenter=None) -> list[Case]:
    """`count` scenes at every size; in each, one mostly visible object (drawn by the seed) is removed.

    With a `segmenter` (--mask detected) every method gets the object's mask as the segmenter finds it, as a user
    naming the object by class would; the RoI is then the true object's box grown by DETECTED_ROI_GROWTH_PX, where a
    missed rim would show."""
    cases = []
    for offset in range(count):
        seed = first_seed + offset
        spec = random_scene(seed, num_objects=(3, 6))
        target = _pick_target(spec, seed)
        edit = edit_remove(spec, target)
        for size in sizes:
            pair = render_edit(edit, size, size)
            mask = removal_hole(pair.before.object_masks, pair.before.shadow_masks, target, with_shadow)
            roi = bounding_box(mask)
            if segmenter is not None:
                found = detected_mask(pair.before.image, pair.before.object_masks[target], segmenter)
                if found is None:
                    print(f"scenes: scene {seed} at {size} px: the segmenter missed the object; left out",
                          file=sys.stderr)
                    continue
                x0, y0, x1, y1 = roi
                grow = DETECTED_ROI_GROWTH_PX
                roi = max(0, x0 - grow), max(0, y0 - grow), min(size, x1 + grow), min(size, y1 + grow)
                mask = found
            cases.append(Case("scenes", f"scene {seed}", size, spec.objects[target].class_name, pair.before.image,
                              mask, pair.after.image, roi))
    return cases


@contextmanager
def scene_side_limit(side: int) -> Iterator[None]:
    """Lets the scene renderer draw sides up to `side` px while inside (its camera caps them at 2048)."""
    from inference_server.scenes import camera

    previous = camera.MAX_SIDE
    camera.MAX_SIDE = max(previous, side)
    try:
        yield
    finally:
        camera.MAX_SIDE = previous


def _object_width_px(spec, target: int, width: int, height: int) -> float:
    """The target's on-screen width at width x height, measured on a render with LARGE_PREVIEW_SIDE longer side."""
    scale = LARGE_PREVIEW_SIDE / max(width, height)
    preview_w, preview_h = max(64, round(width * scale)), max(64, round(height * scale))
    box = render_scene(spec, preview_w, preview_h, supersample=2).boxes[target]
    return float(box[2] - box[0]) * min(width, height) / min(preview_w, preview_h)


def sized_scene(seed: int, object_px: int, width: int, height: int, ground: str) -> tuple[object, int] | None:
    """random_scene(seed) on `ground`, with its removed object (as scene_cases picks it) resized to be about
    `object_px` px wide at width x height; None when the resized object breaks the layout rules."""
    spec = random_scene(seed, num_objects=(3, 6), background_kind=ground)
    target = _pick_target(spec, seed)
    for _ in range(3):
        obj = spec.objects[target]
        measured = _object_width_px(spec, target, width, height)
        if abs(measured - object_px) <= 0.02 * object_px:
            break
        objects = list(spec.objects)
        objects[target] = dataclasses.replace(obj, size=obj.size * object_px / measured)
        spec = spec.with_objects(objects)
    return (spec, target) if layout_problem(spec) is None else None


def large_cases(count: int, first_seed: int, size: tuple[int, int], object_px: int, ground: str,
                with_shadow: bool) -> list[Case]:
    """`count` scenes at size (width, height), each with its removed object about object_px px wide."""
    width, height = size
    cases, seed = [], first_seed
    with scene_side_limit(max(width, height)):
        while len(cases) < count:
            found = sized_scene(seed, object_px, width, height, ground)
            if found is None:
                print(f"large: scene {seed} breaks the layout rules with its object resized; next seed",
                      file=sys.stderr)
                seed += 1
                continue
            spec, target = found
            started = time.perf_counter()
            pair = render_edit(edit_remove(spec, target), width, height)
            mask = removal_hole(pair.before.object_masks, pair.before.shadow_masks, target, with_shadow)
            box = pair.before.boxes[target]
            note = (f"object {int(box[2] - box[0])}x{int(box[3] - box[1])} px, rendered in "
                    f"{time.perf_counter() - started:.0f} s (before and after)")
            print(f"large: scene {seed} {width}x{height}: {note}", file=sys.stderr, flush=True)
            cases.append(Case("large", f"scene {seed}", max(width, height), spec.objects[target].class_name,
                              pair.before.image, mask, pair.after.image, bounding_box(mask), note))
            seed += 1
    return cases


# ---- photos shipped with scikit-image, with object-like holes -------------------------------------------------

def load_photo(name: str) -> np.ndarray:
    """skimage.data.<name>() at its native resolution: (H, W, 3) uint8."""
    pixels = getattr(skimage_data, name)()
    if pixels.ndim != 3:
        raise ValueError(f"Expected a colour photo, but skimage.data.{name} is grey")
    return np.ascontiguousarray(pixels[..., :3]).astype(np.uint8)


def gradient_magnitude(image: np.ndarray) -> np.ndarray:
    """skimage's Sobel gradient magnitude of the luminance (rgb2gray, 0..1): (H, W) float64."""
    return skimage_filters.sobel(skimage_color.rgb2gray(image))


def mean_gradient(image: np.ndarray, mask: np.ndarray) -> float:
    """The mean of gradient_magnitude(image) over the mask's pixels, 0 for a flat image.

    Computed on the mask's bounding box grown by 2 px (clipped to the image): the same values as on the whole image
    (the 3x3 kernel sees only real neighbours, and the image's own border where the box meets it), much faster on
    large images."""
    height, width = mask.shape
    x0, y0, x1, y1 = bounding_box(mask)
    x0, y0, x1, y1 = max(0, x0 - 2), max(0, y0 - 2), min(width, x1 + 2), min(height, y1 + 2)
    return float(gradient_magnitude(image[y0:y1, x0:x1])[mask[y0:y1, x0:x1]].mean())


@dataclass(frozen=True)
class Ellipse:
    """Centre (dx, dy) relative to the anchor, semi-axes a >= b, turned by angle (radians); px."""

    dx: float
    dy: float
    a: float
    b: float
    angle: float


def _draw_ellipses(ellipses: list[Ellipse], scale: float) -> np.ndarray:
    """The union of the ellipses scaled by `scale` about the anchor: (h, w) bool, cropped to its pixels."""
    extents = []
    for e in ellipses:
        half_x = math.hypot(e.a * math.cos(e.angle), e.b * math.sin(e.angle))
        half_y = math.hypot(e.a * math.sin(e.angle), e.b * math.cos(e.angle))
        extents.append((e.dx - half_x, e.dy - half_y, e.dx + half_x, e.dy + half_y))
    left = math.floor(scale * min(x for x, _, _, _ in extents)) - 1
    top = math.floor(scale * min(y for _, y, _, _ in extents)) - 1
    right = math.ceil(scale * max(x for _, _, x, _ in extents)) + 1
    bottom = math.ceil(scale * max(y for _, _, _, y in extents)) + 1
    x, y = np.meshgrid(np.arange(left, right + 1, dtype=np.float64), np.arange(top, bottom + 1, dtype=np.float64))
    shape = np.zeros(x.shape, dtype=bool)
    for e in ellipses:
        ox, oy = x - scale * e.dx, y - scale * e.dy
        u = ox * math.cos(e.angle) + oy * math.sin(e.angle)
        v = -ox * math.sin(e.angle) + oy * math.cos(e.angle)
        shape |= (u / (scale * e.a)) ** 2 + (v / (scale * e.b)) ** 2 <= 1.0
    rows, cols = np.flatnonzero(shape.any(axis=1)), np.flatnonzero(shape.any(axis=0))
    return shape[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def jittered_ellipses(rng: np.random.Generator) -> list[Ellipse]:
    """3-6 ellipses scattered about the anchor, sized for a union of roughly unit area (draw_hole rescales)."""
    radius = math.sqrt(1.0 / math.pi)
    ellipses = []
    for _ in range(int(rng.integers(HOLE_ELLIPSES[0], HOLE_ELLIPSES[1] + 1))):
        dx, dy = rng.normal(0.0, 0.45 * radius, size=2)
        a = radius * rng.uniform(0.3, 0.75)
        ellipses.append(Ellipse(float(dx), float(dy), a, a * rng.uniform(0.35, 1.0), float(rng.uniform(0, math.pi))))
    return ellipses


def draw_hole(ellipses: list[Ellipse], area_px: float) -> np.ndarray | None:
    """The ellipses' union scaled to `area_px` pixels (within 2 %): (h, w) bool cropped to its pixels; None when
    it does not come out as one connected blob."""
    scale = math.sqrt(area_px)
    for _ in range(6):  # the area grows with the square of the scale; a few steps absorb the pixel grid
        shape = _draw_ellipses(ellipses, scale)
        drawn = int(shape.sum())
        if abs(drawn - area_px) <= 0.01 * area_px:
            break
        scale *= math.sqrt(area_px / max(drawn, 1))
    if abs(drawn - area_px) > 0.02 * area_px or ndimage.label(shape)[1] != 1:
        return None
    return shape


def hole_shape(rng: np.random.Generator, area_px: float) -> tuple[list[Ellipse], np.ndarray]:
    """An object-like blob of about `area_px` pixels, one connected union of 3-6 jittered ellipses: the ellipses
    (to redraw it at another area) and the drawn shape, (h, w) bool cropped to its pixels."""
    for _ in range(100):
        ellipses = jittered_ellipses(rng)
        shape = draw_hole(ellipses, area_px)
        if shape is not None:
            return ellipses, shape
    raise RuntimeError(f"could not draw a connected hole of {area_px:.0f} px")


def shape_anchor(shape: np.ndarray) -> tuple[int, int]:
    """The point of a shape that is placed: (col, row) of the centre of its box."""
    return shape.shape[1] // 2, shape.shape[0] // 2


def _anchor_range(shape: np.ndarray, anchor: tuple[int, int], width: int, height: int
                  ) -> tuple[int, int, int, int]:
    """(x_min, y_min, x_max, y_max), inclusive: where the anchor may go so the shape keeps HOLE_MARGIN_PX inside."""
    h, w = shape.shape
    ax, ay = anchor
    x_min, y_min = HOLE_MARGIN_PX + ax, HOLE_MARGIN_PX + ay
    x_max, y_max = width - HOLE_MARGIN_PX - (w - ax), height - HOLE_MARGIN_PX - (h - ay)
    if x_min > x_max or y_min > y_max:
        raise ValueError(f"a {w}x{h} hole does not fit in a {width}x{height} image")
    return x_min, y_min, x_max, y_max


def _placed(shape: np.ndarray, anchor: tuple[int, int], at: tuple[int, int], width: int, height: int) -> np.ndarray:
    mask = np.zeros((height, width), dtype=bool)
    x0, y0 = at[0] - anchor[0], at[1] - anchor[1]
    mask[y0:y0 + shape.shape[0], x0:x0 + shape.shape[1]] = shape
    return mask


def smoothest_anchor(image: np.ndarray, shape: np.ndarray) -> tuple[tuple[int, int], float]:
    """Where the shape's anchor goes so that the image's mean gradient under the shape is lowest, and that mean.
    Places where more than 5 % of the pixels under the shape are dead flat are left out: a hole there is trivial
    for every method. Dead flat: inside a DEAD_FLAT_SIDE square whose pixels all have a gradient below
    DEAD_FLAT_GRADIENT (retina's black corners, clipped highlights; not the rocket's dithered sky)."""
    height, width = image.shape[:2]
    anchor = shape_anchor(shape)
    x_min, y_min, x_max, y_max = _anchor_range(shape, anchor, width, height)
    kernel = (shape / shape.sum()).astype(np.float32)
    gradient = gradient_magnitude(image).astype(np.float32)

    def under_shape(values: np.ndarray) -> np.ndarray:
        mean = cv2.filter2D(values, -1, kernel, anchor=anchor, borderType=cv2.BORDER_REFLECT)
        return mean[y_min:y_max + 1, x_min:x_max + 1].astype(np.float64)

    energy = under_shape(gradient)
    square = np.ones((DEAD_FLAT_SIDE, DEAD_FLAT_SIDE), dtype=np.uint8)
    dead_flat = cv2.morphologyEx((gradient < DEAD_FLAT_GRADIENT).astype(np.uint8), cv2.MORPH_OPEN, square)
    energy[under_shape(dead_flat.astype(np.float32)) > 0.05] = np.inf
    if not np.isfinite(energy).any():
        energy = under_shape(gradient)
    row, col = np.unravel_index(int(np.argmin(energy)), energy.shape)
    return (x_min + int(col), y_min + int(row)), float(energy[row, col])


def photo_hole(image: np.ndarray, rng: np.random.Generator, placement: str,
               spot: tuple[float, float] | None = None, share: float | None = None) -> np.ndarray:
    """A hole for `image`: (H, W) bool, its area a share of the image drawn from HOLE_FRACTION (or `share`).

    placement: "random" (anywhere), "hand-picked" (at `spot`, fractions of width and height, moved inside the
    margins if needed) or "smooth spot" (smoothest_anchor; when even the smoothest place is not smooth, the same
    shape is tried smaller, down to the smallest share, and the smoothest of the last size is kept)."""
    height, width = image.shape[:2]
    low, high = HOLE_FRACTION
    fraction = float(np.clip(rng.uniform(low, high), 1.02 * low, 0.98 * high))  # the drawing is within 2 %
    fraction = fraction if share is None else share
    ellipses, shape = hole_shape(rng, fraction * width * height)
    anchor = shape_anchor(shape)
    x_min, y_min, x_max, y_max = _anchor_range(shape, anchor, width, height)
    if placement == "random":
        at = int(rng.integers(x_min, x_max + 1)), int(rng.integers(y_min, y_max + 1))
    elif placement == "hand-picked":
        at = (int(np.clip(round(spot[0] * width), x_min, x_max)), int(np.clip(round(spot[1] * height), y_min, y_max)))
    elif placement == "smooth spot":
        at, energy = smoothest_anchor(image, shape)
        for smaller in np.geomspace(fraction, 1.02 * low, 6)[1:]:
            if energy < SMOOTH_GRADIENT:
                break
            redrawn = draw_hole(ellipses, smaller * width * height)
            if redrawn is not None:
                shape = redrawn
                at, energy = smoothest_anchor(image, shape)
        anchor = shape_anchor(shape)
    else:
        raise ValueError(f"Expected a placement among random, smooth spot, hand-picked, but found '{placement}'")
    return _placed(shape, anchor, at, width, height)


def hole_rng(photo: str, *key: int) -> np.random.Generator:
    """The generator of one hole: the same (photo, key) always draws the same hole."""
    return np.random.default_rng([zlib.crc32(photo.encode()), *key])


def smoothness(truth: np.ndarray, mask: np.ndarray, threshold: float | None = None) -> str:
    """"smooth" when the truth's mean gradient in the hole is below the threshold (SMOOTH_GRADIENT), else
    "texture"."""
    return "smooth" if mean_gradient(truth, mask) < (threshold or SMOOTH_GRADIENT) else "texture"


def photo_case(name: str, image: np.ndarray, mask: np.ndarray, label: str, placement: str,
               smooth_gradient: float | None) -> Case:
    return Case("photos", f"{name} {label}", max(image.shape[:2]), smoothness(image, mask, smooth_gradient), image,
                mask, image, bounding_box(mask), placement)


def photo_cases(names: list[str], holes_per_photo: int, hand_picked: list[HandPicked] = (),
                smooth_gradient: float | None = None) -> list[Case]:
    """Seed 0 of every photo at its smoothest spot, seeds 1.. at random, then the hand-picked holes."""
    cases = []
    for name in names:
        image = load_photo(name)
        for seed in range(holes_per_photo):
            placement = "smooth spot" if seed == 0 else "random"
            mask = photo_hole(image, hole_rng(name, seed), placement)
            cases.append(photo_case(name, image, mask, f"#{seed}", placement, smooth_gradient))
    for name, x, y, share in hand_picked:
        image = load_photo(name)
        rng = hole_rng(name, 1000, round(x * 1e4), round(y * 1e4))
        mask = photo_hole(image, rng, "hand-picked", (x, y), share)
        cases.append(photo_case(name, image, mask, f"@{x:g},{y:g}", "hand-picked", smooth_gradient))
    return cases


def parse_spot(text: str) -> HandPicked:
    """'photo:x,y[:share]' (x, y fractions of width and height; share of the image area) -> (photo, x, y, share)."""
    try:
        name, xy, *rest = text.split(":")
        x, y = (float(v) for v in xy.split(","))
        share = float(rest[0]) if rest else None
        if len(rest) > 1:
            raise ValueError(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected PHOTO:X,Y[:SHARE], X and Y fractions of the width and height, "
                                         f"SHARE of the area, got '{text}'")
    if name not in PHOTO_NAMES or not (0 <= x <= 1 and 0 <= y <= 1) or not (share is None or 0 < share < 0.5):
        raise argparse.ArgumentTypeError(f"expected a photo among {', '.join(PHOTO_NAMES)}, X, Y in 0..1 and SHARE "
                                         f"below 0.5, got '{text}'")
    return name, x, y, share


# ---- methods ---------------------------------------------------------------------------------------------------

CaseRunner = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, int]]  # (image, mask) -> (result, DIP steps)
# [(image, mask), ...] -> [(result, seconds), ...]: every case of a run at once (gimp-heal)
BatchRunner = Callable[[list[tuple[np.ndarray, np.ndarray]]], list[tuple[np.ndarray, float]]]


@dataclass(frozen=True)
class Method:
    """A method of the run: exactly one of run (per case) and batch (all cases at once). family: "baseline" or
    "ours" (the smooth-case check compares the reference with the best baseline)."""

    family: str
    run: CaseRunner | None = None
    batch: BatchRunner | None = None


class Unavailable(Exception):
    """A method that cannot run here; the message says why."""


def opencv_method(flag: int) -> CaseRunner:
    """cv2.inpaint with radius 3 (flag: cv2.INPAINT_TELEA or cv2.INPAINT_NS)."""
    def run(image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, int]:
        return cv2.inpaint(image, mask.astype(np.uint8) * 255, 3, flag), 0
    return run


def xphoto_method(algorithm: int) -> CaseRunner:
    """cv2.xphoto.inpaint: FSR on BGR, shift-map on 8-bit CIELab (what OpenCV documents for each). xphoto's mask
    marks the KNOWN pixels (nonzero); only the filled pixels are kept (the colour round trips move others by 1)."""
    lab = algorithm == cv2.xphoto.INPAINT_SHIFTMAP
    forward, back = (cv2.COLOR_RGB2Lab, cv2.COLOR_Lab2RGB) if lab else (cv2.COLOR_RGB2BGR, cv2.COLOR_BGR2RGB)

    def run(image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, int]:
        source = cv2.cvtColor(image, forward)
        filled = np.zeros_like(source)
        cv2.xphoto.inpaint(source, np.where(mask, 0, 255).astype(np.uint8), filled, algorithm)
        return np.where(mask[..., None], cv2.cvtColor(filled, back), image), 0
    return run


def pipeline_method(options: RemoveOptions, device: torch.device) -> CaseRunner:
    """A removal as the server runs one for a mask target (run_edit: the mask is used as drawn unless the options
    set a dilation)."""
    def run(image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, int]:
        spec = EditSpec("remove", image, options, target=TargetSpec(mask=mask))
        result = run_edit(spec, EditModels(segmenter=None, predictor=None, device=device))
        return apply_patch(image, result.region, result.patch), result.iterations
    return run


def detected_mask_method(options: RemoveOptions, device: torch.device) -> CaseRunner:
    """A removal as run for a mask the segmentation model found: remove_object's automatic dilation."""
    def run(image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, int]:
        result = remove_object(image, mask, options, device=device)
        return apply_patch(image, result.region, result.patch), result.iterations
    return run


def remove_options(**wanted) -> RemoveOptions:
    return RemoveOptions(**wanted).validated()


def smallest_preset() -> str:
    """The cheapest preset: fewest network channels, then fewest steps (its order in PRESETS when unknown)."""
    def cost(name: str) -> tuple[float, float]:
        preset = PRESETS[name]
        channels = getattr(getattr(preset, "network", None), "channels", math.inf)
        return channels, getattr(preset, "iterations", math.inf)
    return min(PRESETS, key=cost)


def default_preset() -> str:
    return DEFAULT_PRESET


def plain_dip_options() -> RemoveOptions:
    """Plain DIP in the project's pipeline: no guidance, no dilation, full-resolution fit of the context window."""
    return remove_options(fill=FillMethod.DIP, quality=smallest_preset(), guidance_weight=0.0, dilation_px=0,
                          max_fit_side=0, iterations=300, seed=0)


def ours_variants() -> dict[str, RemoveOptions]:
    """Extra "ours" variants (ablations of the default preset), name -> options."""
    preset = default_preset()
    return {
        # the texture control from smooth (0: the structure alone) to the patches' detail in full (1)
        **{f"ours-texture-{amount:g}": remove_options(quality=preset, texture=amount, seed=0)
           for amount in (0.0, 0.25, 0.5, 1.0)},
        # the structure's two models mixed evenly instead of as the probes measure (structure_probe.py)
        "ours-even-mix": remove_options(quality=preset, structure_mix=0.5, seed=0),
        # SIMBIL's background-guided DIP (median guidance, dilation) at the cheapest preset: the previous default
        "ours-dip": remove_options(fill=FillMethod.DIP, quality=smallest_preset(), seed=0),
    }


def gimp_heal_module():
    """tests/benchmarks/gimp_heal_selection.py, imported when gimp-heal is asked for. Raises Unavailable."""
    name = f"{__package__}.gimp_heal_selection" if __package__ else "gimp_heal_selection"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name == name:
            raise Unavailable(f"{name.replace('.', '/')}.py is missing") from error
        raise Unavailable(f"importing {name} failed: {error}") from error


def gimp_heal_method(root: Path | None) -> Method:
    module = gimp_heal_module()
    reason = module.heal_selection_available(root)
    if reason is not None:
        raise Unavailable(reason)
    return Method("baseline", batch=lambda cases: module.heal_selection(cases, root=root))


def method_factories(device: torch.device, gimp_root: Path | None) -> dict[str, Callable[[], Method]]:
    """Every known method, built on demand (name -> factory that may raise Unavailable)."""
    factories: dict[str, Callable[[], Method]] = {
        "telea": lambda: Method("baseline", opencv_method(cv2.INPAINT_TELEA)),
        "navier-stokes": lambda: Method("baseline", opencv_method(cv2.INPAINT_NS)),
        "fsr-fast": lambda: Method("baseline", xphoto_method(cv2.xphoto.INPAINT_FSR_FAST)),
        "fsr-best": lambda: Method("baseline", xphoto_method(cv2.xphoto.INPAINT_FSR_BEST)),
        "shift-map": lambda: Method("baseline", xphoto_method(cv2.xphoto.INPAINT_SHIFTMAP)),
        "plain-dip": lambda: Method("baseline", pipeline_method(plain_dip_options(), device)),
        "gimp-heal": lambda: gimp_heal_method(gimp_root),
    }
    for preset in PRESETS:
        factories[f"ours-{preset}"] = (
            lambda preset=preset: Method("ours", pipeline_method(remove_options(quality=preset, seed=0), device)))
    for name, options in ours_variants().items():
        factories[name] = lambda options=options: Method("ours", pipeline_method(options, device))
    # the dilation a mask found by the segmentation model gets (8 % of the object's size): remove_object's own rule
    factories["ours-auto-dilation"] = lambda: Method("ours", detected_mask_method(
        remove_options(quality=default_preset(), seed=0), device))
    return factories


def default_method_names() -> list[str]:
    return ["telea", "navier-stokes", "fsr-fast", "fsr-best", "shift-map", "plain-dip", "gimp-heal",
            *(f"ours-{preset}" for preset in PRESETS), *ours_variants(), "ours-auto-dilation"]


def build_methods(names: list[str], device: torch.device, gimp_root: Path | None = None
                  ) -> tuple[dict[str, Method], dict[str, str]]:
    """The named methods, and {name: why} for those that cannot run here. An unknown name exits, listing all."""
    factories = method_factories(device, gimp_root)
    unknown = [name for name in names if name not in factories]
    if unknown:
        raise SystemExit(f"unknown method(s) {', '.join(unknown)}; use some of: {', '.join(factories)}")
    methods, skipped = {}, {}
    for name in dict.fromkeys(names):
        try:
            methods[name] = factories[name]()
        except Unavailable as reason:
            skipped[name] = str(reason)
            print(f"{name} skipped: {reason}", file=sys.stderr, flush=True)
    return methods, skipped


# ---- metrics ---------------------------------------------------------------------------------------------------

def _grown_to(box: tuple[int, int, int, int], minimum: int, height: int, width: int) -> tuple[int, int, int, int]:
    """`box` widened about its centre so each side is at least `minimum` pixels, kept inside the image."""
    def widen(low: int, high: int, limit: int) -> tuple[int, int]:
        missing = minimum - (high - low)
        if missing <= 0:
            return low, high
        start = min(max(0, low - missing // 2), limit - minimum)
        return start, start + minimum

    x0, y0, x1, y1 = box
    (x0, x1), (y0, y1) = widen(x0, x1, width), widen(y0, y1, height)
    return x0, y0, x1, y1


def _ssim(a: np.ndarray, b: np.ndarray) -> float:
    return 100.0 * float(structural_similarity(a, b, channel_axis=2, data_range=255, win_size=SSIM_WINDOW))


def score(result: np.ndarray, case: Case) -> dict[str, float]:
    """SIMBIL's metrics of `result` against the case's ground truth (whole-image SSIM: NaN on very large images)."""
    truth = case.truth
    height, width = truth.shape[:2]
    error = np.abs(result.astype(np.float64) - truth.astype(np.float64))
    x0, y0, x1, y1 = case.roi
    sx0, sy0, sx1, sy1 = _grown_to(case.roi, SSIM_WINDOW, height, width)
    psnr = float(peak_signal_noise_ratio(truth[case.mask], result[case.mask], data_range=255)) \
        if (truth[case.mask] != result[case.mask]).any() else math.inf
    return {
        "mae": float(error.mean()),
        "ssim": _ssim(result, truth) if height * width <= WHOLE_IMAGE_SSIM_MAX_PX else math.nan,
        "roi_mae": float(error[y0:y1, x0:x1].mean()),
        "roi_ssim": _ssim(result[sy0:sy1, sx0:sx1], truth[sy0:sy1, sx0:sx1]),
        "hole_psnr": min(psnr, PSNR_CAP_DB),
    }


def sharpness(result: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> float:
    """mean_gradient of the result over the truth's, in the hole: 1 = as sharp as the truth, below ~0.5 a smear.
    NaN when the truth is flat there."""
    reference = mean_gradient(truth, mask)
    return mean_gradient(result, mask) / reference if reference > 1e-9 else math.nan


def hole_scores(result: np.ndarray, case: Case) -> dict[str, float]:
    """The benchmark's own metrics: hole MAE, sharpness and pixels changed outside the given mask."""
    inside = np.abs(result[case.mask].astype(np.float64) - case.truth[case.mask].astype(np.float64))
    return {"hole_mae": float(inside.mean()),
            "sharpness": sharpness(result, case.truth, case.mask),
            "changed_outside_mask_px": int(((result != case.image).any(axis=2) & ~case.mask).sum())}


# ---- running -------------------------------------------------------------------------------------------------

def warm_up(device: torch.device) -> None:
    """One tiny fit, so that torch's one-time start-up cost is not billed to the first case."""
    image = np.zeros((64, 64, 3), dtype=np.uint8)
    mask = np.zeros((64, 64), dtype=bool)
    mask[28:36, 28:36] = True
    remove_object(image, mask, RemoveOptions(quality=smallest_preset(), iterations=2), device=device)


def crop_box(mask: np.ndarray, growth: float = 0.5) -> tuple[int, int, int, int]:
    """The mask's bounding box grown by `growth` of its width and height (half on each side), inside the image."""
    height, width = mask.shape
    x0, y0, x1, y1 = bounding_box(mask)
    dx, dy = math.ceil((x1 - x0) * growth / 2), math.ceil((y1 - y0) * growth / 2)
    return max(0, x0 - dx), max(0, y0 - dy), min(width, x1 + dx), min(height, y1 + dy)


def _labelled(panel: np.ndarray, label: str) -> np.ndarray:
    bar = np.full((18, panel.shape[1], 3), 255, dtype=np.uint8)
    cv2.putText(bar, label, (3, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([bar, panel], axis=0)


def crop_strip(case: Case, outputs: dict[str, np.ndarray]) -> np.ndarray:
    """Input with the hole in magenta, truth, then each method's result, cropped around the hole."""
    x0, y0, x1, y1 = crop_box(case.mask)
    holed = case.image.copy()
    holed[case.mask] = (255, 0, 255)
    panels = [("input", holed), ("truth", case.truth), *outputs.items()]
    gap = np.full((y1 - y0 + 18, 4, 3), 255, dtype=np.uint8)
    parts = []
    for label, image in panels:
        parts += [_labelled(np.ascontiguousarray(image[y0:y1, x0:x1]), label), gap]
    return np.concatenate(parts[:-1], axis=1)


def case_row(case: Case, name: str, family: str, result: np.ndarray, seconds: float, iterations: int) -> dict:
    height, width = case.mask.shape
    return {"dataset": case.dataset, "case": case.name, "size": case.size, "width": width, "height": height,
            "kind": case.kind, "placement": case.placement, "hole_px": int(case.mask.sum()),
            "hole_share": float(case.mask.mean()), "truth_gradient": mean_gradient(case.truth, case.mask),
            "roi": list(case.roi), "method": name, "family": family, "seconds": seconds, "iterations": iterations,
            **hole_scores(result, case), **score(result, case)}


def run_cases(cases: list[Case], methods: dict[str, Method], save_dir: Path | None,
              skipped: dict[str, str] | None = None, repeats: int = 1) -> list[dict]:
    """Every method on every case: a row each. Batch methods run first, all cases in one call; one that fails is
    dropped from the run and its error goes into `skipped` (and stderr). Other methods run `repeats` times per
    case: "seconds" is the fastest run, "seconds_median" the median."""
    batched: dict[str, list[tuple[np.ndarray, float]]] = {}
    methods = dict(methods)
    for name, method in list(methods.items()):
        if method.batch is not None:
            print(f"{name}: {len(cases)} cases in one batch", file=sys.stderr, flush=True)
            started = time.perf_counter()
            try:
                batched[name] = method.batch([(case.image, case.mask) for case in cases])
            except Exception as error:  # noqa: BLE001 - reported, and the other methods still run
                print(f"{name} failed, left out: {error}", file=sys.stderr, flush=True)
                if skipped is not None:
                    skipped[name] = f"failed: {error}"
                del methods[name]
                continue
            print(f"{name}: batch done in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    rows = []
    for number, case in enumerate(cases, 1):
        outputs = {}
        for name, method in methods.items():
            if method.batch is not None:
                result, seconds = batched[name][number - 1]
                iterations = 0
            else:
                times = []
                for _ in range(max(1, repeats)):
                    started = time.perf_counter()
                    result, iterations = method.run(case.image, case.mask)
                    times.append(time.perf_counter() - started)
                seconds = min(times)
            rows.append(case_row(case, name, method.family, result, seconds, iterations))
            rows[-1]["seconds_median"] = float(np.median(times)) if method.batch is None else seconds
            if save_dir is not None:
                outputs[name] = result
            print(f"[{number}/{len(cases)}] {case.dataset} {case.name} ({case.kind}, {rows[-1]['hole_px']} px): "
                  f"{name} {seconds:.2f}s hole MAE {rows[-1]['hole_mae']:.2f} sharpness {rows[-1]['sharpness']:.2f}",
                  file=sys.stderr, flush=True)
        if save_dir is not None:
            slug = f"{case.dataset}-{case.size}-{case.name}".replace(" ", "_").replace("#", "").replace("@", "at")
            Image.fromarray(crop_strip(case, outputs)).save(save_dir / f"{slug}.png")
    return rows


# ---- tables (plain functions of the rows) -------------------------------------------------------------------------

def case_key(row: dict) -> tuple:
    return row["dataset"], row["case"], row["size"]


def _grouped(rows: list[dict], key: Callable[[dict], object]) -> dict[object, list[dict]]:
    groups: dict[object, list[dict]] = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    return groups


def _nan_stat(values: list[float], stat: Callable) -> float:
    finite = [v for v in values if v is not None and not math.isnan(v)]
    return float(stat(finite)) if finite else math.nan


def method_summary(rows: list[dict]) -> list[dict]:
    """One entry per method (first-seen order): cases, mean hole MAE, mean RoI SSIM, mean hole PSNR, median
    sharpness, mean changed-outside px, mean seconds, mean DIP steps, and the means of the SIMBIL metrics."""
    summary = []
    for method, members in _grouped(rows, lambda row: row["method"]).items():
        entry = {"method": method, "family": members[0].get("family", ""), "cases": len(members),
                 "sharpness_median": _nan_stat([m["sharpness"] for m in members], np.median)}
        for key in ("hole_mae", "roi_ssim", "hole_psnr", "changed_outside_mask_px", "seconds", "iterations",
                    "mae", "ssim", "roi_mae"):
            entry[key] = _nan_stat([m.get(key, math.nan) for m in members], np.mean)
        summary.append(entry)
    return summary


def _cell(value: float, digits: int) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def markdown_summary(summary: list[dict], title: str) -> str:
    lines = [f"**{title}**\n",
             "| method | cases | hole MAE ↓ | RoI SSIM ×100 ↑ | hole PSNR ↑ | sharpness (median) | changed outside px "
             "| s / case |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for e in summary:
        cells = [str(e["cases"]), _cell(e["hole_mae"], 2), _cell(e["roi_ssim"], 2), _cell(e["hole_psnr"], 2),
                 _cell(e["sharpness_median"], 2), _cell(e["changed_outside_mask_px"], 0),
                 _cell(e["seconds"], 2 if e["seconds"] < 10 else 1)]
        lines.append(f"| {e['method']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def win_loss(rows: list[dict], reference: str) -> list[dict]:
    """The reference method against every other method, case by case (cases both ran): wins/losses/ties on hole
    MAE (lower wins) and on RoI SSIM (higher wins), and the shares of wins."""
    by_case = _grouped(rows, case_key)
    others = [m for m in dict.fromkeys(row["method"] for row in rows) if m != reference]
    table = []
    for other in others:
        counts = dict.fromkeys(("mae_wins", "mae_losses", "mae_ties", "ssim_wins", "ssim_losses", "ssim_ties"), 0)
        paired = 0
        for members in by_case.values():
            mine = {row["method"]: row for row in members}
            if reference not in mine or other not in mine:
                continue
            paired += 1
            ours, theirs = mine[reference], mine[other]
            for metric, sign in (("mae", -1), ("ssim", 1)):
                key = "hole_mae" if metric == "mae" else "roi_ssim"
                difference = sign * (ours[key] - theirs[key])
                outcome = "wins" if difference > 0 else "losses" if difference < 0 else "ties"
                counts[f"{metric}_{outcome}"] += 1
        table.append({"reference": reference, "method": other, "cases": paired, **counts,
                      "mae_win_share": counts["mae_wins"] / paired if paired else math.nan,
                      "ssim_win_share": counts["ssim_wins"] / paired if paired else math.nan})
    return table


def markdown_win_loss(table: list[dict], title: str) -> str:
    lines = [f"**{title}**\n",
             "| against | cases | hole MAE: wins / losses / ties | share won | RoI SSIM: wins / losses / ties "
             "| share won |",
             "|---|---:|---:|---:|---:|---:|"]
    for e in table:
        lines.append(f"| {e['method']} | {e['cases']} | {e['mae_wins']} / {e['mae_losses']} / {e['mae_ties']} | "
                     f"{_cell(100 * e['mae_win_share'], 0)} % | {e['ssim_wins']} / {e['ssim_losses']} / "
                     f"{e['ssim_ties']} | {_cell(100 * e['ssim_win_share'], 0)} % |")
    return "\n".join(lines) + "\n"


def smooth_check(rows: list[dict], reference: str) -> dict:
    """Per smooth case: the reference's hole MAE over the best baseline's (the lowest among family "baseline");
    and the worst ratio. Cases without the reference or without a baseline are left out."""
    cases = []
    for key, members in _grouped([r for r in rows if r["kind"] == "smooth"], case_key).items():
        mine = [r for r in members if r["method"] == reference]
        baselines = [r for r in members if r.get("family") == "baseline" and r["method"] != reference]
        if not mine or not baselines:
            continue
        best = min(baselines, key=lambda r: r["hole_mae"])
        ratio = mine[0]["hole_mae"] / best["hole_mae"] if best["hole_mae"] > 0 else math.inf
        cases.append({"case": key[1], "hole_px": mine[0]["hole_px"], "truth_gradient": mine[0]["truth_gradient"],
                      "reference_hole_mae": mine[0]["hole_mae"], "best_baseline": best["method"],
                      "best_baseline_hole_mae": best["hole_mae"], "ratio": ratio})
    worst = max(cases, key=lambda c: c["ratio"]) if cases else None
    return {"reference": reference, "cases": cases, "worst_ratio": worst["ratio"] if worst else math.nan,
            "worst_case": worst["case"] if worst else None}


def markdown_smooth_check(check: dict) -> str:
    lines = [f"**Smooth cases: {check['reference']}'s hole MAE over the best baseline's** (worst ratio "
             f"{_cell(check['worst_ratio'], 2)}, {check['worst_case']})\n",
             f"| case | hole px | truth gradient | {check['reference']} hole MAE | best baseline | its hole MAE "
             "| ratio |",
             "|---|---:|---:|---:|---|---:|---:|"]
    for c in check["cases"]:
        lines.append(f"| {c['case']} | {c['hole_px']} | {c['truth_gradient']:.4f} | {c['reference_hole_mae']:.2f} | "
                     f"{c['best_baseline']} | {c['best_baseline_hole_mae']:.2f} | {_cell(c['ratio'], 2)} |")
    return "\n".join(lines) + "\n"


def target_checks(rows: list[dict], reference: str, dataset: str) -> list[tuple[str, bool]]:
    """The issue's targets for `dataset` that these rows can decide: (statement, holds)."""
    summary = {e["method"]: e for e in method_summary(rows)}
    if reference not in summary:
        return []
    mine = summary[reference]
    checks = []
    if dataset == "photos":
        shares = {e["method"]: e for e in win_loss(rows, reference)}
        for name, e in summary.items():
            if e["family"] != "baseline" or name == reference:
                continue
            checks.append((f"mean hole MAE {mine['hole_mae']:.2f} < {name}'s {e['hole_mae']:.2f}",
                           mine["hole_mae"] < e["hole_mae"]))
            checks.append((f"mean RoI SSIM {mine['roi_ssim']:.2f} > {name}'s {e['roi_ssim']:.2f}",
                           mine["roi_ssim"] > e["roi_ssim"]))
            s = shares[name]
            checks.append((f"wins >= 60 % of cases against {name}: hole MAE {100 * s['mae_win_share']:.0f} %, "
                           f"RoI SSIM {100 * s['ssim_win_share']:.0f} %",
                           s["mae_win_share"] >= 0.6 and s["ssim_win_share"] >= 0.6))
        median = mine["sharpness_median"]
        checks.append((f"median sharpness {median:.2f} in 0.6-1.3", 0.6 <= median <= 1.3))
        smooth = smooth_check(rows, reference)
        if smooth["cases"]:
            checks.append((f"smooth cases: worst hole MAE ratio to the best baseline {smooth['worst_ratio']:.2f} "
                           f"<= 1.5 ({smooth['worst_case']})", smooth["worst_ratio"] <= 1.5))
    elif dataset == "large":
        for row in rows:
            if row["method"] == reference:
                checks.append((f"sharpness {row['sharpness']:.2f} >= 0.75 on {row['case']} "
                               f"({row['width']}x{row['height']})", row["sharpness"] >= 0.75))
    return checks


def dataset_report(rows: list[dict], dataset: str, reference: str) -> tuple[str, dict]:
    """Markdown and JSON-ready summaries for one dataset's rows."""
    mine = [row for row in rows if row["dataset"] == dataset]
    if dataset == "timing":
        return markdown_timing(mine), {"timing": mine}
    parts, summaries = [], {}
    cases = len({case_key(row) for row in mine})
    summaries["methods"] = method_summary(mine)
    parts.append(markdown_summary(summaries["methods"], f"{dataset}: {cases} cases"))
    if dataset == "photos":
        for kind in ("smooth", "texture"):
            subset = [row for row in mine if row["kind"] == kind]
            if subset:
                summaries[f"methods_{kind}"] = method_summary(subset)
                count = len({case_key(row) for row in subset})
                parts.append(markdown_summary(summaries[f"methods_{kind}"], f"photos, {kind} cases only: {count}"))
    sizes = list(dict.fromkeys(row["size"] for row in mine))
    if dataset == "scenes" and len(sizes) > 1:
        for size in sizes:
            subset = [row for row in mine if row["size"] == size]
            summaries[f"methods_{size}"] = method_summary(subset)
            parts.append(markdown_summary(summaries[f"methods_{size}"], f"scenes at {size}x{size}"))
    if any(row["method"] == reference for row in mine):
        summaries["win_loss"] = win_loss(mine, reference)
        parts.append(markdown_win_loss(summaries["win_loss"], f"{dataset}: {reference} against each method"))
        if dataset == "photos":
            summaries["smooth_check"] = smooth_check(mine, reference)
            parts.append(markdown_smooth_check(summaries["smooth_check"]))
        checks = target_checks(mine, reference, dataset)
        summaries["targets"] = [{"target": text, "holds": holds} for text, holds in checks]
        if checks:
            parts.append(f"**Targets ({dataset}, {reference})**\n")
            parts.append("\n".join(f"- [{'x' if holds else ' '}] {text}" for text, holds in checks) + "\n")
    else:
        parts.append(f"(reference {reference} is not in this run: no win/loss table, no targets)\n")
    return "\n".join(parts), summaries


def markdown_timing(rows: list[dict]) -> str:
    """One line per case and method: the fastest and the median wall time of the repeats."""
    lines = ["**timing** (seconds per removal, wall time)\n", "| case | image | hole px | method | fastest s | median s "
             "| hole MAE | sharpness |", "|---|---|---:|---|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(f"| {row['case']} | {row['width']}x{row['height']} | {row['hole_px']} | {row['method']} | "
                     f"{row['seconds']:.2f} | {row.get('seconds_median', row['seconds']):.2f} | "
                     f"{row['hole_mae']:.2f} | {_cell(row['sharpness'], 2)} |")
    return "\n".join(lines) + "\n"


def cases_report(rows: list[dict]) -> str:
    """One line per case: the hole and what lies under it."""
    lines = ["| dataset | case | size | kind | placement | hole px | hole % | truth gradient |",
             "|---|---|---|---|---|---:|---:|---:|"]
    for key, members in _grouped(rows, case_key).items():
        r = members[0]
        lines.append(f"| {r['dataset']} | {r['case']} | {r['width']}x{r['height']} | {r['kind']} | "
                     f"{r['placement']} | {r['hole_px']} | {100 * r['hole_share']:.2f} | {r['truth_gradient']:.4f} |")
    return "\n".join(lines) + "\n"


# ---- command line ----------------------------------------------------------------------------------------------

def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--dataset", nargs="+", choices=DATASETS, default=["photos"])
    parser.add_argument("--photos", nargs="+", choices=PHOTO_NAMES, default=list(PHOTO_NAMES), metavar="PHOTO",
                        help=f"photos: which photos (default all: {', '.join(PHOTO_NAMES)})")
    parser.add_argument("--holes-per-photo", type=int, default=3,
                        help="photos: seeds per photo (seed 0 at the smoothest spot, the others at random)")
    parser.add_argument("--hand-picked", nargs="*", type=parse_spot, metavar="PHOTO:X,Y[:SHARE]",
                        default=list(HAND_PICKED_HOLES),
                        help="photos: extra holes centred at X, Y (fractions of width and height), SHARE of the "
                             "image's area (default: drawn from 1-4 %%); default: "
                             + " ".join(f"{n}:{x:g},{y:g}" + (f":{a:g}" if a else "")
                                        for n, x, y, a in HAND_PICKED_HOLES)
                             + "; none: --hand-picked with no value")
    parser.add_argument("--smooth-gradient", type=float, default=SMOOTH_GRADIENT,
                        help="photos: a case is smooth when the truth's mean gradient in the hole is below this")
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 2048], help="scenes: square image sides, px")
    parser.add_argument("--count", type=int, help="scenes per size (default 5), or large scenes (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="scenes, large: first scene seed")
    parser.add_argument("--mask", choices=("object+shadow", "object", "detected"), default="object+shadow",
                        help="scenes, large: what the mask given to the methods covers; detected (scenes): the "
                             "object as the shipped scene segmenter finds it")
    parser.add_argument("--large-size", type=int, nargs=2, default=list(LARGE_SIZE), metavar=("WIDTH", "HEIGHT"),
                        help="large: the image size, px")
    parser.add_argument("--large-object-px", type=int, default=LARGE_OBJECT_PX,
                        help="large: the removed object's width, px")
    parser.add_argument("--large-ground", choices=("noise", "tiles", "gradient"), default="noise",
                        help="large: the generator's ground texture")
    parser.add_argument("--methods", nargs="+", default=default_method_names(), metavar="METHOD",
                        help=f"default: {' '.join(default_method_names())}")
    parser.add_argument("--reference", default=f"ours-{default_preset()}",
                        help="the method the win/loss table and the targets are about")
    parser.add_argument("--gimp-root", type=Path, help="gimp-heal: the GIMP build to use (the helper's default)")
    parser.add_argument("--device", default="cpu", help="torch device for the DIP methods, e.g. cpu or cuda")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    parser.add_argument("--json", type=Path, help="write settings, every case's rows and the summaries here")
    parser.add_argument("--save-images", type=Path, help="write one PNG per case here: input with the hole, truth, "
                                                         "each method, cropped to the hole's box grown by 50 %%")
    parser.add_argument("--repeats", type=int, default=1,
                        help="run each (non-batch) method this many times per case: seconds = the fastest run")
    parser.add_argument("--report", type=Path, nargs="+", metavar="JSON",
                        help="run nothing: print the tables of saved --json runs, their rows merged")
    return parser.parse_args(argv)


def build_cases(args: argparse.Namespace) -> list[Case]:
    cases = []
    with_shadow = args.mask == "object+shadow"
    for dataset in args.dataset:
        started = time.perf_counter()
        if dataset == "photos":
            cases += photo_cases(args.photos, args.holes_per_photo, args.hand_picked, args.smooth_gradient)
        elif dataset == "scenes":
            segmenter = None
            if args.mask == "detected":
                from inference_server.segmentation.registry import load_segmenter
                segmenter = load_segmenter("scene_maskrcnn_mobilenet_v3", torch.device("cpu"))
            cases += scene_cases(args.sizes, args.count or 5, args.seed, with_shadow, segmenter)
        elif dataset == "large":
            cases += large_cases(args.count or 1, args.seed, tuple(args.large_size), args.large_object_px,
                                 args.large_ground, with_shadow)
        else:
            cases += timing_cases(args, with_shadow)
        print(f"{dataset}: cases built in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    return cases


def timing_cases(args: argparse.Namespace, with_shadow: bool) -> list[Case]:
    """The speed targets' two cases: a 2 % hole in the 512x512 astronaut photo, and one large scene."""
    image = load_photo(TIMING_PHOTO)
    mask = photo_hole(image, hole_rng(TIMING_PHOTO, 2000), "random", share=TIMING_HOLE_SHARE)
    photo = dataclasses.replace(photo_case(TIMING_PHOTO, image, mask, "2 %", "random", args.smooth_gradient),
                                dataset="timing")
    large = large_cases(1, args.seed, tuple(args.large_size), args.large_object_px, args.large_ground, with_shadow)
    return [photo, *(dataclasses.replace(case, dataset="timing") for case in large)]


def print_report(rows: list[dict], reference: str, skipped: dict[str, str]) -> dict:
    summaries = {}
    for name, reason in skipped.items():
        print(f"**{name} did not run**: {reason}\n")
    print(cases_report(rows))
    for dataset in dict.fromkeys(row["dataset"] for row in rows):
        text, summaries[dataset] = dataset_report(rows, dataset, reference)
        print(text)
    return summaries


def main(argv: list[str] | None = None) -> None:
    args = parse_arguments(argv)
    if args.report:
        rows, skipped = [], {}
        for path in args.report:
            saved = json.loads(path.read_text())
            rows += saved["cases"]
            skipped.update(saved["settings"].get("skipped", {}))
        print_report(rows, args.reference, skipped)
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    methods, skipped = build_methods(args.methods, device, args.gimp_root)
    started = time.perf_counter()
    cases = build_cases(args)
    build_seconds = time.perf_counter() - started
    if args.save_images:
        args.save_images.mkdir(parents=True, exist_ok=True)
    if any(method.family == "ours" or name == "plain-dip" for name, method in methods.items()):
        warm_up(device)
    started = time.perf_counter()
    rows = run_cases(cases, methods, args.save_images, skipped, args.repeats)
    total = time.perf_counter() - started
    mask_note = ("photos: object-like holes over known background; scenes/large: "
                 + {"object+shadow": "the removed object's visible mask plus its shadow mask, minus other objects' "
                                     "pixels",
                    "object": "the removed object's visible mask only",
                    "detected": "the removed object as the scene segmenter finds it (its shadow stays)"}[args.mask])
    print(f"Device {device}, {torch.get_num_threads()} torch thread(s); cases built in {build_seconds:.0f} s; methods "
          f"ran {total / 60:.1f} min. Masks: {mask_note}.\n")
    summaries = print_report(rows, args.reference, skipped)
    if args.json:
        settings = {
            "command": " ".join(["python -m tests.benchmarks.removal_benchmark", *(argv or sys.argv[1:])]),
            "datasets": args.dataset, "photos": args.photos, "holes_per_photo": args.holes_per_photo,
            "hand_picked": args.hand_picked, "sizes": args.sizes, "count": args.count, "seed": args.seed,
            "mask": mask_note, "large_size": args.large_size, "large_object_px": args.large_object_px,
            "large_ground": args.large_ground, "methods": list(methods), "skipped": skipped,
            "reference": args.reference, "smooth_gradient": args.smooth_gradient, "hole_fraction": HOLE_FRACTION,
            "plain_dip_options": repr(plain_dip_options()) if "plain-dip" in methods else None,
            "device": str(device), "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
            "opencv": cv2.__version__, "python": platform.python_version(),
            "machine": platform.processor() or platform.machine(), "cases_build_seconds": build_seconds,
            "total_seconds": total,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"settings": settings, "summary": summaries, "cases": rows}, indent=1))


if __name__ == "__main__":
    main()
