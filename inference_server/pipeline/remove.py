"""Object removal: find the object's cast shadow, dilate the mask, fill the hole from a window around it, paste
inside the hole.

The fill is the synthesis of inpainting/internal_fill.py by default (structure from harmonic interpolation and
frequency extrapolation, texture from the window's own patches), or SIMBIL's background-guided DIP (fill=dip).

    remove_object(image, object_mask, options, device=...) -> RemoveResult

image: (H, W, 3|4) uint8 RGB(A); object_mask: (H, W) bool, True = object. The result carries only the changed
region (the hole's bounding box) and the masks cropped to it; `apply_patch` puts it back into a full image.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from ..errors import InvalidInputError
from ..inpainting.background_guided_dip import FitSettings, fit_window
from ..inpainting.internal_fill import fill_window
from ..inpainting.structure_probe import choose_extrapolation_share
from ..segmentation.shadows import find_shadow
from .masks import (Region, auto_dilation_px, bounding_region, composite, dilate, paste_alpha,
                    validate_image_and_mask)
from .options import FillMethod, QualityPreset, RemoveOptions

# Stage names, as reported in progress events and timings.
STAGE_QUEUED = "queued"
STAGE_PREPARE = "prepare"
STAGE_INPAINT = "inpaint"
STAGE_COMPOSITE = "composite"

MIN_CONTEXT_MARGIN_PX = 16  # dip: the DIP is fitted to this window
CONTEXT_MARGIN_SHARE = 0.35  # context on each side of the hole, as a share of the hole's longer side
SYNTHESIS_MIN_MARGIN_PX = 32  # synthesis: the frequency extrapolation's support reaches 28 px beyond a block
SYNTHESIS_MARGIN_SHARE = 0.5  # ... and the patches are copied from this much context
SHADOW_EDGE_PX = 1  # a found shadow is grown by this much (or the dilation, if larger): 1 px scored best of 0-4
GUIDANCE_MARGIN_SHARE = 0.15  # background band for B, as a share of the hole's longer side
MIN_GUIDANCE_MARGIN_PX = 4

ProgressReport = Callable[[str, int, int, str], None]  # (stage, step, total, message)
ShadowFinder = Callable[[np.ndarray, np.ndarray, np.ndarray, torch.device | None], np.ndarray]


@dataclass
class RemoveResult:
    region: Region  # the changed part of the image
    patch: np.ndarray  # (region.height, region.width, channels) uint8, the edited pixels of `region`
    object_mask: np.ndarray  # (region.height, region.width) bool
    hole_mask: np.ndarray  # (region.height, region.width) bool, the dilated hole
    dilation_px: int
    iterations: int
    timings: dict[str, float] = field(default_factory=dict)  # stage -> seconds
    object_ids: tuple[int, ...] = ()  # the detected objects the target named (pipeline/detect.py); () for a mask
    shadow_mask: np.ndarray | None = None  # (region.height, region.width) bool, the cast shadow removed with it


def validate_remove_input(image: np.ndarray, object_mask: np.ndarray) -> None:
    """Raises InvalidInputError with a sentence when the image/mask pair cannot be edited."""
    validate_image_and_mask(image, object_mask, verb="remove",
                            whole_image_reason="nothing is left to learn the background from")


def known_background(image: np.ndarray) -> np.ndarray:
    """Pixels that can teach the background: all of them, except fully transparent ones in RGBA images."""
    if image.shape[2] == 4:
        return image[..., 3] > 0
    return np.ones(image.shape[:2], dtype=bool)


def remove_object(image: np.ndarray, object_mask: np.ndarray, options: RemoveOptions, *,
                  device: torch.device | None = None, progress: ProgressReport | None = None,
                  should_stop: Callable[[], bool] | None = None,
                  shadow_finder: ShadowFinder = find_shadow) -> RemoveResult:
    """Removes the masked object and, unless options.keep_shadow, the cast shadow `shadow_finder` finds beside
    it (image, object mask, pixels that may count as ground, device -> (H, W) bool)."""
    validate_remove_input(image, object_mask)
    options = options.validated()
    preset = options.resolved_preset()
    device = device or torch.device("cpu")
    report = progress or (lambda stage, step, total, message: None)
    timings: dict[str, float] = {}
    height, width = object_mask.shape

    started = time.perf_counter()
    report(STAGE_PREPARE, 0, 1, "Preparing the hole")
    radius = auto_dilation_px(object_mask) if options.dilation_px is None else options.dilation_px
    valid = known_background(image)
    shadow = np.zeros_like(object_mask) if options.keep_shadow else shadow_finder(image, object_mask, valid, device)
    shadow &= ~object_mask
    hole = dilate(object_mask, radius)
    if shadow.any():  # its soft edge fades on a little beyond what was found
        hole |= dilate(shadow, max(radius, SHADOW_EDGE_PX))
    if not (valid & ~hole).any():
        raise InvalidInputError(
            f"the hole (the mask grown by {radius} px) covers every visible pixel: nothing is left to learn the "
            "background from; use a smaller dilation or a smaller mask")
    hole_box = bounding_region(hole)
    long_side = max(hole_box.width, hole_box.height)
    if options.context_window:
        if options.fill == FillMethod.DIP:
            margin = max(MIN_CONTEXT_MARGIN_PX, round(CONTEXT_MARGIN_SHARE * long_side))
        else:
            margin = max(SYNTHESIS_MIN_MARGIN_PX, round(SYNTHESIS_MARGIN_SHARE * long_side))
        window = hole_box.grown(margin, height, width).at_least(preset.network.min_input_side, height, width)
    else:
        window = Region(0, 0, width, height)
    guidance_box = hole_box.grown(max(MIN_GUIDANCE_MARGIN_PX, round(GUIDANCE_MARGIN_SHARE * long_side)), height, width)
    guidance_area = np.zeros_like(hole)
    guidance_area[guidance_box.slices] = True
    known = valid & ~hole
    background = known & guidance_area
    if not background.any():  # a hole whose nearby band is all transparent: use any known pixel of the window
        background = known
    report(STAGE_PREPARE, 1, 1, "Preparing the hole")
    timings[STAGE_PREPARE] = time.perf_counter() - started

    started = time.perf_counter()
    win = window.slices

    def on_step(step: int, total: int) -> None:
        report(STAGE_INPAINT, step, total, f"Filling the hole (step {step} of {total})")

    if options.fill == FillMethod.DIP:
        fill, iterations = _fill_by_dip(image[win], known[win], hole[win], background[win], options, preset, device,
                                        on_step, should_stop)
    else:
        settings = preset.synthesis
        if settings.probe_share:
            share = choose_extrapolation_share(image, known, hole, settings, device, should_stop)
            settings = settings if share is None else replace(settings, extrapolation_share=share)
        result = fill_window(image[win], known[win], hole[win], settings, device, progress=on_step,
                             should_stop=should_stop)
        fill = result.fill
        iterations = preset.synthesis.synthesis.fine_iterations if result.textured else 0
    timings[STAGE_INPAINT] = time.perf_counter() - started

    started = time.perf_counter()
    report(STAGE_COMPOSITE, 0, 1, "Pasting the fill into the hole")
    inner = hole_box.relative_to(window)  # the hole's box inside the window
    box = hole_box.slices
    alpha = paste_alpha(object_mask[box] | shadow[box], hole[box], feather_px=max(1, radius))
    patch = composite(image[box], fill[inner.slices], alpha)
    report(STAGE_COMPOSITE, 1, 1, "Pasting the fill into the hole")
    timings[STAGE_COMPOSITE] = time.perf_counter() - started

    return RemoveResult(region=hole_box, patch=patch, object_mask=object_mask[box].copy(), hole_mask=hole[box].copy(),
                        dilation_px=radius, iterations=iterations, timings=timings,
                        shadow_mask=shadow[box].copy() if shadow.any() else None)


def _fill_by_dip(window: np.ndarray, known: np.ndarray, hole: np.ndarray, background: np.ndarray,
                 options: RemoveOptions, preset: QualityPreset, device: torch.device,
                 on_step: Callable[[int, int], None],
                 should_stop: Callable[[], bool] | None) -> tuple[np.ndarray, int]:
    """SIMBIL's background-guided DIP fitted to the window: (fill (H, W, 3) float in [0, 1], steps run)."""
    settings = FitSettings(
        network=preset.network, iterations=preset.iterations, min_iterations=preset.min_iterations,
        learning_rate=options.learning_rate, guidance_weight=options.guidance_weight,
        guidance_mode=options.guidance_mode.value, guidance_statistic=options.guidance_statistic.value,
        seed=options.seed, max_fit_side=preset.max_fit_side,
        early_stop=preset.early_stop, early_stop_interval=preset.early_stop_interval,
        early_stop_tolerance=preset.early_stop_tolerance)
    fit = fit_window(window, known, hole, background, settings, device, progress=on_step, should_stop=should_stop)
    return fit.fill, fit.iterations


def apply_patch(image: np.ndarray, region: Region, patch: np.ndarray) -> np.ndarray:
    """A copy of `image` with `patch` written over `region`."""
    out = image.copy()
    out[region.slices] = patch
    return out
