"""Recolouring: give the masked object a new hue and chroma in CIE LCh(ab), keeping its shading and highlights.

    recolor_object(image, object_mask, RecolorOptions(colour="#2a4bd7")) -> RecolorResult

image: (H, W, 3|4) uint8 RGB(A); object_mask: (H, W) bool, True = object. Colour conversions are scikit-image's
(sRGB, D65, 2 degree observer). The object's colour where fully lit is taken as the LIT_PERCENTILE (90th) percentile
of its pixels' lightness L_lit and chroma C_lit (robust to the top 10%; highlights have low chroma). Per pixel:
  L  kept (shading, highlights and texture stay where they were) when options.lightness = 0 (else below);
  h  set to the target colour's hue;
  C  = C_pixel * C_target / C_lit: highlights and dark shading, whose chroma is low, stay near white and dark,
       and the object's lit pixels get the target's chroma.
A grey object (median chroma C_med below GREY_CHROMA) has no chroma to scale; its pixels get C_target weighted by
how far they are from a highlight and from black: w = min(L / L_lit, (100 - L) / (100 - L_lit)) clipped to 0..1
(the two rules are mixed linearly for 0 < C_med < GREY_CHROMA, so the result does not jump).
options.lightness = 1 maps L piecewise linearly instead, 0 -> 0, L_lit -> L_target, 100 -> 100 (shading scales,
highlights stay white); values in between mix the two. A colour sRGB cannot show at that L and h gets the largest
chroma it can (max_srgb_chroma), so only C gives way. The result is blended with weight `strength` on the object
and a ramp over `edge_px` pixels outside it; every pixel further out is copied bit for bit, and an alpha channel
passes through unchanged. The result carries only the changed region; `remove.apply_patch` puts it back.
"""
from __future__ import annotations

import math
import re
import time
import warnings
from dataclasses import dataclass, field, replace

import numpy as np
from skimage.color import lab2lch, lab2rgb, lch2lab, rgb2lab  # CIE 1976 L*a*b* and LCh(ab), D65

from ..errors import InvalidInputError, quoted
from .masks import Region, bounding_region, composite, dilate, paste_alpha, validate_image_and_mask

STAGE_PREPARE = "prepare"
STAGE_RECOLOR = "recolor"
STAGE_COMPOSITE = "composite"

GREY_CHROMA = 6.0  # CIELAB chroma below which an object counts as grey (its hue is noise)
GAMUT_TOLERANCE = 0.5  # CIELAB units a colour may move in an sRGB round trip and still count as inside sRGB
GAMUT_GRID = 1001  # lightness values (0, 0.1, .., 100) at which sRGB's largest chroma is found
GAMUT_STEPS = 14  # bisection steps for it: to within MAX_CHROMA / 2**14, about 0.01
MAX_CHROMA = 160.0  # above any sRGB colour's CIELAB chroma (blue's is about 134)
LIT_PERCENTILE = 90  # the object's L and C at this percentile stand for its colour where fully lit
MAX_EDGE_PX = 64
DEFAULT_EDGE_PX = 1

# Colour names accepted besides (r, g, b) and '#rrggbb': CSS Color Module Level 4 values, sRGB 0..255.
COLOUR_NAMES: dict[str, tuple[int, int, int]] = {
    "black": (0, 0, 0),
    "white": (255, 255, 255),
    "gray": (128, 128, 128),
    "grey": (128, 128, 128),
    "red": (255, 0, 0),
    "orange": (255, 165, 0),
    "yellow": (255, 255, 0),
    "green": (0, 128, 0),
    "cyan": (0, 255, 255),
    "blue": (0, 0, 255),
    "purple": (128, 0, 128),
    "magenta": (255, 0, 255),
    "pink": (255, 192, 203),
    "brown": (165, 42, 42),
}
_HEX = re.compile(r"#([0-9a-fA-F]{6})")


def parse_colour(text: str) -> tuple[int, int, int]:
    """sRGB (r, g, b) 0..255 of a COLOUR_NAMES name (any case) or of '#rrggbb'; InvalidInputError otherwise."""
    name = text.strip().lower()
    if name in COLOUR_NAMES:
        return COLOUR_NAMES[name]
    match = _HEX.fullmatch(name)
    if match:
        value = int(match.group(1), 16)
        return (value >> 16) & 255, (value >> 8) & 255, value & 255
    if name.startswith("#"):
        raise InvalidInputError(f"{quoted(text)} is not a colour: write it as '#rrggbb' with six hex digits, e.g. #2a4bd7")
    known = ", ".join(COLOUR_NAMES)
    raise InvalidInputError(f"unknown colour name {quoted(text)}; use one of: {known}, or '#rrggbb'")


@dataclass(frozen=True)
class RecolorOptions:
    """Everything a recolour job needs besides the image and the mask.

    colour: the target colour, sRGB (r, g, b) integers 0..255, a COLOUR_NAMES name or '#rrggbb'.
    strength: 0..1, how far each object pixel moves to its recoloured value (1 = all the way, 0 = no change).
    edge_px: 0..64, pixels beyond the mask over which the recolour fades out (a soft edge for masks that stop short
        of the object's anti-aliased border); 0 changes the mask's pixels only.
    lightness: 0..1, how far the object's lightness moves to the target colour's. 1 (default) maps L piecewise
        linearly so that black stays black, white (highlights) stays white and the object's L_lit becomes the
        target's: a dark blue object painted yellow becomes a yellow one, with its shading. 0 keeps every pixel's L
        (the hue and chroma change only). On the synthetic scenes' ground truth, 1 has a third of the error of 0
        (docs/BENCHMARKS.md, recolor).
    """

    colour: tuple[int, int, int] | str = (255, 0, 0)
    strength: float = 1.0
    edge_px: int = DEFAULT_EDGE_PX
    lightness: float = 1.0

    def validated(self) -> RecolorOptions:
        """A copy with `colour` as an (r, g, b) tuple after checking every field; raises InvalidInputError with a
        sentence naming the field."""
        colour = parse_colour(self.colour) if isinstance(self.colour, str) else self.colour
        try:
            channels = tuple(colour)
        except TypeError:
            channels = ()
        if len(channels) != 3 or not all(
                isinstance(c, (int, np.integer)) and not isinstance(c, bool) and 0 <= c <= 255 for c in channels):
            raise InvalidInputError(
                f"the colour must be three integers 0..255 (r, g, b), a colour name or '#rrggbb'; got {self.colour!r}")
        if not math.isfinite(self.strength) or not 0.0 <= self.strength <= 1.0:
            raise InvalidInputError(f"strength must be a number between 0 and 1; got {self.strength}")
        if not math.isfinite(self.lightness) or not 0.0 <= self.lightness <= 1.0:
            raise InvalidInputError(f"lightness must be a number between 0 and 1; got {self.lightness}")
        if not isinstance(self.edge_px, (int, np.integer)) or not 0 <= self.edge_px <= MAX_EDGE_PX:
            raise InvalidInputError(f"edge width must be between 0 and {MAX_EDGE_PX} px; got {self.edge_px}")
        return replace(self, colour=tuple(int(c) for c in channels))


@dataclass
class RecolorResult:
    region: Region  # the changed part of the image: the mask's box grown by edge_px
    patch: np.ndarray  # (region.height, region.width, channels) uint8, the edited pixels of `region`
    object_mask: np.ndarray  # (region.height, region.width) bool
    edge_mask: np.ndarray  # (region.height, region.width) bool, the mask grown by edge_px: the pixels that may change
    target_lch: tuple[float, float, float]  # the target colour in CIE LCh(ab): L 0..100, C, h in radians
    object_chroma: float  # C_lit, the object's lit CIELAB chroma before the edit
    edge_px: int = 0  # the soft edge's width used
    timings: dict[str, float] = field(default_factory=dict)  # stage -> seconds
    object_ids: tuple[int, ...] = ()  # the detected objects the target named (pipeline/detect.py); () for a mask


def validate_recolor_input(image: np.ndarray, object_mask: np.ndarray) -> None:
    """Raises InvalidInputError with a sentence when the image/mask pair cannot be recoloured."""
    validate_image_and_mask(image, object_mask, verb="recolour",
                            whole_image_reason="the object's colour is judged against the rest")


def lab_to_srgb(lab: np.ndarray) -> np.ndarray:
    """skimage's lab2rgb, sRGB in [0, 1], without its warning about the colours outside sRGB that it clips."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return lab2rgb(lab)


def in_srgb_gamut(lab: np.ndarray) -> np.ndarray:
    """(N,) bool: whether each CIELAB colour (N, 3) survives the round trip through sRGB's [0, 1] cube."""
    return np.linalg.norm(rgb2lab(lab_to_srgb(lab)) - lab, axis=-1) <= GAMUT_TOLERANCE


def max_srgb_chroma(lightness: np.ndarray, hue: float) -> np.ndarray:
    """The largest CIELAB chroma sRGB shows at each lightness (any shape, 0..100) and hue (radians).

    Found by bisection on a grid of GAMUT_GRID lightness values and interpolated between them: every recoloured
    pixel has the same hue, so one table serves them all.
    """
    grid = np.linspace(0.0, 100.0, GAMUT_GRID)
    low, high = np.zeros_like(grid), np.full_like(grid, MAX_CHROMA)
    for _ in range(GAMUT_STEPS):
        middle = 0.5 * (low + high)
        inside = in_srgb_gamut(lch2lab(np.stack([grid, middle, np.full_like(grid, hue)], axis=-1)))
        low = np.where(inside, middle, low)
        high = np.where(inside, high, middle)
    return np.interp(lightness, grid, low)


def recolored_lch(lch: np.ndarray, object_lch: np.ndarray, target: np.ndarray,
                  lightness: float = 0.0) -> tuple[np.ndarray, float]:
    """LCh (N, 3) of pixels `lch` (N, 3) recoloured to `target` (L, C, h), and the object's lit chroma C_lit.

    object_lch (M, 3): the object's own pixels, for L_lit and C_lit (see the module docstring).
    lightness: 0..1, the share of the lightness change (RecolorOptions.lightness).
    """
    lit_lightness = float(np.clip(np.percentile(object_lch[:, 0], LIT_PERCENTILE), 1.0, 99.0))
    lit_chroma = float(np.percentile(object_lch[:, 1], LIT_PERCENTILE))
    old_lightness, chroma = lch[:, 0], lch[:, 1]
    below = old_lightness / lit_lightness  # 0 at black, 1 at L_lit
    above = (100.0 - old_lightness) / (100.0 - lit_lightness)  # 0 at white, 1 at L_lit
    # 1: scale the chroma; 0: grey, weigh C_target by lightness. The median, as a grey object's lit chroma comes from
    # its border pixels, which mix in the background's colour.
    colourful = min(1.0, float(np.median(object_lch[:, 1])) / GREY_CHROMA)
    scaled = chroma * (target[1] / max(lit_chroma, GREY_CHROMA))
    weighted = target[1] * np.clip(np.minimum(below, above), 0.0, 1.0)
    moved = np.where(old_lightness <= lit_lightness, below * target[0], 100.0 - above * (100.0 - target[0]))
    out = np.empty_like(lch)
    out[:, 0] = old_lightness + lightness * (moved - old_lightness)
    out[:, 1] = colourful * scaled + (1.0 - colourful) * weighted
    out[:, 2] = target[2]
    out[:, 1] = np.minimum(out[:, 1], max_srgb_chroma(out[:, 0], float(target[2])))
    return out, lit_chroma


def recolor_object(image: np.ndarray, object_mask: np.ndarray, options: RecolorOptions) -> RecolorResult:
    """Recolours the masked object; see the module docstring. Deterministic; numpy and scikit-image only."""
    validate_recolor_input(image, object_mask)
    options = options.validated()
    timings: dict[str, float] = {}

    started = time.perf_counter()
    edge = dilate(object_mask, options.edge_px)
    region = bounding_region(edge)
    box = region.slices
    crop, crop_object, crop_edge = image[box], object_mask[box], edge[box]
    alpha = paste_alpha(crop_object, crop_edge, feather_px=options.edge_px + 1) * np.float32(options.strength)
    touched = alpha > 0
    rgb = crop[..., :3][touched].astype(np.float64) / 255.0
    lch = lab2lch(rgb2lab(rgb))
    object_pixels = crop_object[touched]
    if crop.shape[2] == 4 and (crop[..., 3][crop_object] > 0).any():  # judge the object by its visible pixels
        object_pixels &= crop[..., 3][touched] > 0
    target = lab2lch(rgb2lab(np.asarray(options.colour, dtype=np.float64) / 255.0))
    timings[STAGE_PREPARE] = time.perf_counter() - started

    started = time.perf_counter()
    new_lch, object_chroma = (recolored_lch(lch, lch[object_pixels], target, options.lightness) if touched.any()
                              else (lch, 0.0))
    fill = np.zeros(crop.shape[:2] + (3,), dtype=np.float64)
    fill[touched] = lab_to_srgb(lch2lab(new_lch))
    timings[STAGE_RECOLOR] = time.perf_counter() - started

    started = time.perf_counter()
    patch = composite(crop, fill.astype(np.float32), alpha)
    timings[STAGE_COMPOSITE] = time.perf_counter() - started

    return RecolorResult(region=region, patch=patch, object_mask=crop_object.copy(), edge_mask=crop_edge.copy(),
                         target_lch=(float(target[0]), float(target[1]), float(target[2])),
                         object_chroma=object_chroma, edge_px=options.edge_px, timings=timings)
