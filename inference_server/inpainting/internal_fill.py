"""The default fill: structure from two models fitted to the photo's own pixels, texture from its own patches.

    fill_window(window, known, hole, settings, device) -> FillResult

1. Structure. Two predictors of what lies under the hole, each fitted to the window's known pixels only:
   harmonic interpolation (harmonic.py: the smoothest continuation, best on skies and walls) and
   frequency-selective extrapolation (frequency_extrapolation.py: a sparse Fourier model per block, which carries
   edges, stripes and shading across the hole). Each wins on some photos by a wide margin, so their weights are
   measured on the photo itself: structure_probe.py fills copies of the hole's shape cut from known pixels nearby
   and keeps the mix that reproduces them best (the caller passes it in as `extrapolation_share`; 0.5, an even
   mix, when nothing was measured). Holes larger than `max_structure_pixels` get their structure at a reduced scale
   (it holds no fine detail), upsampled back.
2. Texture. Patch synthesis at full resolution (patch_synthesis.py) rebuilds the hole from the window's own
   patches, keeping the structure's layout and shading (its content coarser than a tenth of the hole's depth), so
   detail never comes from an upscale.
   `texture` mixes it in: 0 = the structure alone (the lowest error, smooth), 1 = the synthesised detail in full
   (as sharp as the surroundings; more error where the detail cannot be predicted). The default, 0.75, is the
   least texture that reaches the removal benchmark's sharpness target (docs/BENCHMARKS.md).

Nothing here is trained: every model is fitted to this one photo, as SIMBIL's internal learning is.
numpy <-> tensor conversion happens in `fill_window` only.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import JobCancelledError
from .frequency_extrapolation import ExtrapolationSettings, extrapolate
from .harmonic import harmonic_fill
from .patch_synthesis import SynthesisSettings, build_pyramid, iteration_count, synthesize


@dataclass(frozen=True)
class InternalFillSettings:
    """extrapolation / synthesis: the two engines' settings. harmonic_steps: conjugate-gradient steps per pyramid
    level. extrapolation_share: the frequency extrapolation's weight in the structure (the rest is harmonic).
    probe_share: the caller measures extrapolation_share on probes (structure_probe.py) instead of using it as is.
    texture: 0..1, how much synthesised detail replaces the structure's own. max_structure_pixels: holes larger
    than this get their structure at a reduced scale. seed: PatchMatch's random search."""

    extrapolation: ExtrapolationSettings = field(default_factory=ExtrapolationSettings)
    synthesis: SynthesisSettings = field(default_factory=SynthesisSettings)
    harmonic_steps: int = 40
    extrapolation_share: float = 0.5
    probe_share: bool = True
    texture: float = 0.75
    max_structure_pixels: int = 16384
    seed: int = 0


@dataclass(frozen=True)
class FillResult:
    fill: np.ndarray  # (H, W, 3) float32 in [0, 1]; only the hole's pixels are meant to be used
    structure_scale: int  # 1 = structure at full resolution, k = at 1/k
    textured: bool  # False when no complete known patch was there to copy from


ProgressCallback = Callable[[int, int], None]  # (step, total)


def structure_scale(hole_pixels: int, max_pixels: int) -> int:
    """The downscale factor that brings the hole's area to at most `max_pixels` (1 when it already is)."""
    return max(1, math.ceil(math.sqrt(hole_pixels / max(1, max_pixels))))


def structure_components(image: torch.Tensor, known: torch.Tensor, scale: int, settings: InternalFillSettings,
                         should_stop: Callable[[], bool] | None = None
                         ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """(harmonic, extrapolated): every pixel of `image` (C, H, W) that is not `known` (H, W bool) filled by each
    structure model, fitted at 1/scale (area-averaged; a coarse pixel is known only if all of it is) and upsampled
    back. A model whose weight (settings.extrapolation_share) is zero is not run: None."""
    share = settings.extrapolation_share
    _, height, width = image.shape
    small, small_known = image, known
    if scale > 1:
        pad_h, pad_w = -height % scale, -width % scale
        small = F.avg_pool2d(F.pad(image[None], (0, pad_w, 0, pad_h), mode="replicate"), scale)[0]
        small_known = F.max_pool2d(F.pad((~known)[None, None].float(), (0, pad_w, 0, pad_h), value=1.0),
                                   scale)[0, 0] == 0
    harmonic = harmonic_fill(small, ~small_known, settings.harmonic_steps) if share < 1 else None
    extrapolated = extrapolate(small, small_known, settings.extrapolation, should_stop) if share > 0 else None

    def full_size(filled: torch.Tensor | None) -> torch.Tensor | None:
        if filled is None or scale == 1:
            return filled
        upsampled = F.interpolate(filled[None], scale_factor=scale, mode="bicubic", align_corners=False)[0]
        return torch.where(known, image, upsampled[:, :height, :width].clamp(0, 1))

    return full_size(harmonic), full_size(extrapolated)


def blend_structure(harmonic: torch.Tensor | None, extrapolated: torch.Tensor | None, share: float) -> torch.Tensor:
    """share * extrapolated + (1 - share) * harmonic, where either may be missing (its weight being zero)."""
    if harmonic is None:
        return extrapolated
    if extrapolated is None:
        return harmonic
    return share * extrapolated + (1 - share) * harmonic


def structure_fill(image: torch.Tensor, known: torch.Tensor, settings: InternalFillSettings,
                   should_stop: Callable[[], bool] | None = None) -> torch.Tensor:
    """Every pixel of `image` (C, H, W) that is not `known` (H, W bool) filled by the weighted mean of harmonic
    interpolation and frequency extrapolation, at full resolution."""
    return blend_structure(*structure_components(image, known, 1, settings, should_stop),
                           settings.extrapolation_share)


def fill_window(window: np.ndarray, known: np.ndarray, hole: np.ndarray, settings: InternalFillSettings,
                device: torch.device, *, progress: ProgressCallback | None = None,
                should_stop: Callable[[], bool] | None = None) -> FillResult:
    """Fills `hole` of `window` (H, W, 3) uint8 RGB from its `known` pixels (H, W bool, disjoint from the hole).

    Only the hole's pixels of the result are meant to be used. progress gets (step, total): step 1 is the
    structure, then one step per EM iteration of the texture; should_stop is polled throughout (True raises
    JobCancelledError).
    """
    report = progress or (lambda step, total: None)
    known, hole = np.array(known, dtype=bool), np.array(hole, dtype=bool)  # writable copies: torch shares them
    image = torch.from_numpy(np.array(window[..., :3])).to(device).permute(2, 0, 1).float() / 255
    scale = structure_scale(int(hole.sum()), settings.max_structure_pixels)
    structure = blend_structure(*structure_components(image, torch.from_numpy(known).to(device), scale, settings,
                                                      should_stop), settings.extrapolation_share)
    levels = build_pyramid(image, known, hole, settings.synthesis) if settings.texture > 0 else []
    total = 1 + iteration_count(levels, settings.synthesis)
    report(1, total)
    if should_stop is not None and should_stop():
        raise JobCancelledError("the job was cancelled by its client")
    fill, textured = structure, False
    if levels:
        generator = torch.Generator(device=device).manual_seed(settings.seed)
        synthesized = synthesize(image, known, hole, structure, settings.synthesis, generator, levels=levels,
                                 should_stop=should_stop, progress=lambda done, _: report(1 + done, total))
        if synthesized is not None:
            fill = settings.texture * synthesized + (1 - settings.texture) * structure
            textured = True
    out = fill.clamp(0, 1).permute(1, 2, 0).float().cpu().numpy()
    return FillResult(fill=out, structure_scale=scale, textured=textured)
