"""Per-job options for removal and the quality presets that fill in what a request leaves unset."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from enum import Enum

from ..errors import InvalidInputError, quoted
from ..inpainting.dip_network import SkipNetConfig
from ..inpainting.frequency_extrapolation import ExtrapolationSettings
from ..inpainting.internal_fill import InternalFillSettings
from ..inpainting.patch_synthesis import SynthesisSettings


class FillMethod(str, Enum):
    """How the hole is filled (inpainting/)."""

    SYNTHESIS = "synthesis"  # structure from harmonic + frequency extrapolation, texture from the photo's patches
    DIP = "dip"  # SIMBIL's background-guided Deep Image Prior (the paper's method)


class GuidanceMode(str, Enum):
    """How SIMBIL's guidance term (eq. 5) compares the hole with its background."""

    WHOLE_HOLE = "whole_hole"  # one mean colour for the whole hole (SIMBIL on CLEVR)
    PER_ROW = "per_row"  # one mean colour per image row (SIMBIL on Visual Genome, appendix A.3)


class GuidanceStatistic(str, Enum):
    """How the background's colour B of SIMBIL eq. 5 is taken from the pixels around the hole."""

    MEDIAN = "median"  # robust to neighbouring objects in the band (default)
    MEAN = "mean"  # the paper's average


@dataclass(frozen=True)
class QualityPreset:
    """What a quality name stands for, for each fill method.

    synthesis: the default fill's settings (its texture and seed are the job's).
    network: the DIP's skip encoder-decoder's size.
    iterations: Adam steps at most.
    min_iterations: steps always run before the early stop may end the fit.
    max_fit_side: the context window is downscaled so that its longer side is at most this many pixels for the fit
        (the fill is upscaled back); this bounds the cost for large holes.
    early_stop: stop when the loss has stopped improving (relative gain below `early_stop_tolerance` per
        `early_stop_interval` steps, twice in a row).
    """

    name: str
    synthesis: InternalFillSettings
    network: SkipNetConfig
    iterations: int
    min_iterations: int
    max_fit_side: int
    early_stop: bool = True
    early_stop_interval: int = 50
    early_stop_tolerance: float = 0.005


PRESETS: dict[str, QualityPreset] = {
    preset.name: preset
    for preset in (
        QualityPreset("fast", InternalFillSettings(
            extrapolation=ExtrapolationSettings(support=32, max_steps=100, min_steps=20, damping=0.5),
            synthesis=SynthesisSettings(coarse_iterations=4, fine_iterations=1, search_rounds=1)),
            SkipNetConfig(channels=32), iterations=300, min_iterations=100, max_fit_side=96),
        QualityPreset("balanced", InternalFillSettings(),
                      SkipNetConfig(channels=64), iterations=800, min_iterations=200, max_fit_side=160),
        QualityPreset("best", InternalFillSettings(
            extrapolation=ExtrapolationSettings(max_steps=600),
            synthesis=SynthesisSettings(coarse_iterations=8, fine_iterations=3, search_rounds=3)),
            SkipNetConfig(channels=128), iterations=2000, min_iterations=500, max_fit_side=256),
    )
}
DEFAULT_PRESET = "balanced"
DEFAULT_FILL = FillMethod.SYNTHESIS
REPLACE_FITS = ("inside", "width", "height")  # how replace sizes the new object (replace.py)
MAX_DILATION_PX = 256
MAX_ITERATIONS = 20000
MAX_GUIDANCE_WEIGHT = 100.0


@dataclass(frozen=True)
class RemoveOptions:
    """Everything a removal job needs besides the image and the mask.

    dilation_px: pixels the hole reaches beyond the object, 0..256; None = automatic: remove_object grows the mask
        by 8 % of the object's size (for masks the segmentation model found); run_edit uses a mask target as drawn
        (edit_spec.drawn_mask_options).
    quality: a PRESETS name.
    fill: the fill method (synthesis by default; dip is SIMBIL's background-guided DIP).
    texture: synthesis only, 0..1: how much detail synthesised from the photo's patches replaces the smooth
        structure fill (0 = smooth, the lowest error; 1 = textured like the surroundings). None: the preset's.
    keep_shadow: remove the object alone. False (the default): the object's cast shadow, found beside it
        (segmentation/shadows.py), is removed with it.
    structure_mix: synthesis only, 0..1: the frequency extrapolation's share of the structure (0 = harmonic
        interpolation alone). None (the default): measured on probes cut from the photo (structure_probe.py).
    iterations: overrides the preset's step count: the DIP's optimisation steps (and no early stop), or the
        synthesis' EM iterations per pyramid level. None keeps the preset's.
    seed: seeds the DIP's weights and noise, and the synthesis' random search; same seed + same device => same pixels.
    guidance_weight: dip only: lambda of SIMBIL eq. 5, 0..100 (0 = plain DIP data term). The paper uses 0.1.
    guidance_mode: whole hole or row by row.
    guidance_statistic: the background colour as the median (default) or the mean (the paper) of its pixels.
    learning_rate: Adam's step size.
    context_window: True fits only a window around the hole; False fits the whole image (the paper's setting,
        kept for benchmarks).
    max_fit_side: overrides the preset's fit resolution cap; None keeps the preset's, 0 disables the cap.
    network: overrides the preset's network; None keeps the preset's.
    """

    dilation_px: int | None = None
    quality: str = DEFAULT_PRESET
    fill: FillMethod = DEFAULT_FILL
    texture: float | None = None
    structure_mix: float | None = None
    keep_shadow: bool = False
    iterations: int | None = None
    seed: int = 0
    guidance_weight: float = 0.1
    guidance_mode: GuidanceMode = GuidanceMode.WHOLE_HOLE
    guidance_statistic: GuidanceStatistic = GuidanceStatistic.MEDIAN
    learning_rate: float = 0.01
    context_window: bool = True
    max_fit_side: int | None = None
    network: SkipNetConfig | None = field(default=None)

    def validated(self) -> RemoveOptions:
        """Returns self after checking every field; raises InvalidInputError with a sentence naming the field."""
        if self.quality not in PRESETS:
            known = ", ".join(PRESETS)
            raise InvalidInputError(f"unknown quality preset {quoted(self.quality)}; use one of: {known}")
        if self.dilation_px is not None and not 0 <= self.dilation_px <= MAX_DILATION_PX:
            raise InvalidInputError(
                f"dilation must be between 0 and {MAX_DILATION_PX} px, or -1 for automatic; got {self.dilation_px}")
        if self.iterations is not None and not 1 <= self.iterations <= MAX_ITERATIONS:
            raise InvalidInputError(f"iterations must be between 1 and {MAX_ITERATIONS}; got {self.iterations}")
        if self.seed < 0:
            raise InvalidInputError(f"seed must be 0 or more; got {self.seed}")
        if not isinstance(self.fill, FillMethod):
            known = ", ".join(method.value for method in FillMethod)
            raise InvalidInputError(f"unknown fill method {quoted(self.fill)}; use one of: {known}")
        for name, value in (("texture", self.texture), ("structure mix", self.structure_mix)):
            if value is not None and not (math.isfinite(value) and 0 <= value <= 1):
                raise InvalidInputError(f"{name} must be a number between 0 and 1; got {value}")
        for name, value, high in (("guidance weight", self.guidance_weight, MAX_GUIDANCE_WEIGHT),
                                  ("learning rate", self.learning_rate, 1.0)):
            if not math.isfinite(value) or value < 0 or value > high:
                raise InvalidInputError(f"{name} must be a number between 0 and {high:g}; got {value}")
        if self.learning_rate == 0:
            raise InvalidInputError("learning rate must be above 0")
        if self.max_fit_side is not None and self.max_fit_side != 0 and self.max_fit_side < 32:
            raise InvalidInputError(f"max fit side must be 0 (no cap) or at least 32 px; got {self.max_fit_side}")
        return self

    @property
    def preset(self) -> QualityPreset:
        return PRESETS[self.quality]

    def resolved_preset(self) -> QualityPreset:
        """The preset with this job's overrides applied (iterations, texture, structure mix, seed, fit size,
        network)."""
        preset = self.preset
        synthesis = replace(preset.synthesis, seed=self.seed)
        if self.texture is not None:
            synthesis = replace(synthesis, texture=self.texture)
        if self.structure_mix is not None:
            synthesis = replace(synthesis, extrapolation_share=self.structure_mix, probe_share=False)
        if self.iterations is not None:
            synthesis = replace(synthesis, synthesis=replace(synthesis.synthesis, coarse_iterations=self.iterations,
                                                             fine_iterations=self.iterations))
        preset = replace(preset, synthesis=synthesis)
        if self.iterations is not None:
            preset = replace(preset, iterations=self.iterations, min_iterations=self.iterations, early_stop=False)
        if self.max_fit_side is not None:
            preset = replace(preset, max_fit_side=self.max_fit_side)
        if self.network is not None:
            preset = replace(preset, network=self.network)
        return preset
