"""Texture for the hole: coarse-to-fine patch synthesis from the window's own pixels, guided by a structure fill.

    synthesize(image, known, hole, guide, settings, generator) -> (C, H, W)

Wexler et al.'s completion as an EM loop per pyramid level: (E) PatchMatch finds, for every patch overlapping the
hole, the most similar patch made only of known pixels (patch_match.py); (M) every hole pixel becomes the weighted
mean of what the overlapping matches put there, a match weighing exp(-d^2 / 2 sigma^2) with d its patch difference
and sigma the 75th percentile of d. The guide (the structure fill, internal_fill.py) seeds the coarsest level, and
at every level the hole's content coarser than a fixed scale of the photo (a tenth of the hole's depth, at least
2 px) is reset to the guide's before each search: the layout and shading stay the guide's, the patches supply the
texture below that scale, and they are chosen to match the layout. Each finer level starts from the coarser matches
doubled and votes with them at once, and the finest level takes every pixel from its closest-matching patch, so the
result is made of full-resolution source pixels: detail comes from the photo itself, never from upscaling a fit.

Tensors: images (C, H, W) float in [0, 1]; masks (H, W) bool numpy. numpy is used only in the per-level setup
(distance transforms); the loops stay on the tensors' device without host syncs.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from ..errors import JobCancelledError
from .patch_match import (FINE_PROPAGATION_JUMPS, PROPAGATION_JUMPS, SearchSpace, gather_patches, nearest_valid_map,
                          patch_offsets, random_field, search, snap, valid_sources)

WEIGHT_PERCENTILE = 0.75  # sigma of the vote weights: this quantile of the matches' patch differences


@dataclass(frozen=True)
class SynthesisSettings:
    """patch_size: side of the patches, odd. coarse_iterations / fine_iterations: EM iterations at the coarsest level
    / at every finer one. search_rounds: PatchMatch rounds per EM iteration. coarsest_hole_depth: the pyramid goes
    down until no hole pixel is farther than this from a known pixel (px), min_level_side: or until the window's
    shorter side would drop below this. fine_search_radius: random-search radius at the finer levels (their
    matches come from the coarser level). guide_sigma, guide_depth_share: the hole keeps the guide's content at
    scales above sigma = max(guide_sigma, guide_depth_share x the hole's depth) px of the photo (its layout and
    shading); the patches supply everything finer. textured_start: copy random patches in before the coarsest
    search. sharp_final_vote: at the finest level every pixel takes the closest-matching patch's value instead of
    the weighted mean (no averaging blur)."""

    patch_size: int = 7
    coarse_iterations: int = 6
    fine_iterations: int = 2
    search_rounds: int = 2
    coarsest_hole_depth: float = 4.0
    min_level_side: int = 24
    fine_search_radius: int = 8
    guide_sigma: float = 2.0
    guide_depth_share: float = 0.1
    textured_start: bool = True
    sharp_final_vote: bool = True


@dataclass
class Level:
    image: torch.Tensor  # (C, H, W)
    known: np.ndarray  # (H, W) bool, sources may use these pixels
    hole: np.ndarray  # (H, W) bool, pixels to fill


def _downsample(level: Level) -> Level:
    """Half size (rounded up). A coarse pixel is hole if any of its 2x2 is, known only if all of it is."""
    _, height, width = level.image.shape
    pad_h, pad_w = height % 2, width % 2
    image = F.avg_pool2d(F.pad(level.image[None], (0, pad_w, 0, pad_h), mode="replicate"), 2)[0]
    known = np.pad(level.known, ((0, pad_h), (0, pad_w)), constant_values=False)
    hole = np.pad(level.hole, ((0, pad_h), (0, pad_w)), constant_values=False)
    known = known.reshape(known.shape[0] // 2, 2, known.shape[1] // 2, 2).all(axis=(1, 3))
    hole = hole.reshape(hole.shape[0] // 2, 2, hole.shape[1] // 2, 2).any(axis=(1, 3))
    return Level(image, known & ~hole, hole)


def hole_depth(hole: np.ndarray) -> float:
    """The largest distance from a hole pixel to the nearest pixel outside the hole (px)."""
    return float(ndimage.distance_transform_edt(np.pad(hole, 1)).max())


def build_pyramid(image: torch.Tensor, known: np.ndarray, hole: np.ndarray,
                  settings: SynthesisSettings) -> list[Level]:
    """Levels from finest (index 0) to coarsest; empty when the finest level has no complete known patch."""
    radius = settings.patch_size // 2
    levels = [Level(image, known & ~hole, hole)]
    if not valid_sources(np.pad(levels[0].known, radius), radius).any():
        return []
    while hole_depth(levels[-1].hole) > settings.coarsest_hole_depth:
        coarser = _downsample(levels[-1])
        if min(coarser.hole.shape) < max(settings.min_level_side, 4 * radius + 2):
            break
        if not valid_sources(np.pad(coarser.known, radius), radius).any():
            break
        levels.append(coarser)
    return levels


def iteration_count(levels: list[Level], settings: SynthesisSettings) -> int:
    """EM iterations synthesize runs over `levels` (0 when there are none)."""
    return settings.coarse_iterations + settings.fine_iterations * (len(levels) - 1) if levels else 0


def _frame(pixels: torch.Tensor, radius: int) -> torch.Tensor:
    """(C, H, W) -> the padded frame's flat pixels (Hp * Wp, C), channels last."""
    padded = F.pad(pixels[None], (radius,) * 4, mode="replicate")[0]
    return padded.permute(1, 2, 0).reshape(-1, pixels.shape[0]).contiguous()


def _unframe(space: SearchSpace, frame: torch.Tensor) -> torch.Tensor:
    r = space.radius
    grid = frame.reshape(space.height, space.width, frame.shape[1])[r:space.height - r, r:space.width - r]
    return grid.permute(2, 0, 1).contiguous()


def _search_space(level: Level, pixels: torch.Tensor, radius: int) -> SearchSpace:
    """The padded frame of one level. pixels: (C, H, W) the level's current image."""
    _, height, width = pixels.shape
    known = np.pad(level.known, radius, constant_values=False)
    hole = np.pad(level.hole, radius, constant_values=False)
    side = 2 * radius + 1
    queries = ndimage.binary_dilation(hole, structure=np.ones((side, side), bool))
    queries[:radius, :] = queries[-radius:, :] = False  # centres stay inside the image, patches inside the frame
    queries[:, :radius] = queries[:, -radius:] = False
    rows, cols = np.nonzero(queries)
    device = pixels.device
    frame_w = width + 2 * radius
    return SearchSpace(
        pixels=_frame(pixels, radius), height=height + 2 * radius, width=frame_w, radius=radius,
        offsets=patch_offsets(radius, frame_w, device),
        nearest_valid=torch.from_numpy(nearest_valid_map(valid_sources(known, radius))).to(device),
        box=(int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1),
        query_rows=torch.from_numpy(rows.astype(np.int64)).to(device),
        query_cols=torch.from_numpy(cols.astype(np.int64)).to(device))


def vote_best(space: SearchSpace, match: torch.Tensor, cost: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """Like `vote`, but every hole pixel takes the value of the single closest-matching patch covering it, not a
    mean: no blur from averaging, so the finest grain of the copied texture survives."""
    patches = gather_patches(space.pixels, match, space.offsets)  # (N, P*P, C)
    y0, x0, y1, x1 = space.box
    r, channels = space.radius, space.pixels.shape[1]
    box_h, box_w = y1 - y0, x1 - x0
    best_cost = torch.full((box_h + 2 * r, box_w + 2 * r), float("inf"), device=match.device, dtype=cost.dtype)
    best = torch.zeros((box_h + 2 * r, box_w + 2 * r, channels), device=match.device, dtype=patches.dtype)
    layer_cost = torch.full((box_h, box_w), float("inf"), device=match.device, dtype=cost.dtype)
    layer = torch.zeros((box_h, box_w, channels), device=match.device, dtype=patches.dtype)
    rows, cols = space.query_rows - y0, space.query_cols - x0
    layer_cost[rows, cols] = cost
    side = 2 * r + 1
    for index in range(side * side):
        dy, dx = divmod(index, side)
        layer[rows, cols] = patches[:, index]
        window_cost, window = best_cost[dy:dy + box_h, dx:dx + box_w], best[dy:dy + box_h, dx:dx + box_w]
        better = layer_cost < window_cost
        window_cost.copy_(torch.where(better, layer_cost, window_cost))  # where(), not masked assignment: no sync
        window.copy_(torch.where(better[..., None], layer, window))
    frame = space.pixels.reshape(space.height, space.width, channels).clone()
    region = frame[y0 - r:y1 + r, x0 - r:x1 + r]
    inside = hole.reshape(space.height, space.width)[y0 - r:y1 + r, x0 - r:x1 + r] & torch.isfinite(best_cost)
    region.copy_(torch.where(inside[..., None], best, region))
    return frame.reshape(-1, channels)


def vote(space: SearchSpace, match: torch.Tensor, cost: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """The M step: every hole pixel of the query box as the weighted mean of the matched patches covering it.

    match, cost: (N,) per query. hole: (Hp * Wp,) bool. Returns the frame's pixels (Hp * Wp, C), hole replaced.
    The sum runs offset by offset over dense slices of the box (no scatter-add), so it is deterministic on a GPU.
    """
    distance = cost.clamp(min=0).sqrt()
    sigma = torch.quantile(distance, WEIGHT_PERCENTILE).clamp(min=1e-3)
    weight = torch.exp(-(distance / sigma) ** 2 / 2)  # (N,)
    patches = gather_patches(space.pixels, match, space.offsets) * weight[:, None, None]  # (N, P*P, C)
    y0, x0, y1, x1 = space.box
    r, channels = space.radius, space.pixels.shape[1]
    box_h, box_w = y1 - y0, x1 - x0
    total = torch.zeros((box_h + 2 * r, box_w + 2 * r, channels + 1), device=match.device, dtype=patches.dtype)
    layer = torch.zeros((box_h, box_w, channels + 1), device=match.device, dtype=patches.dtype)
    rows, cols = space.query_rows - y0, space.query_cols - x0
    layer[rows, cols, channels] = weight
    side = 2 * r + 1
    for index in range(side * side):  # total[i, j] sums the votes for frame pixel (y0 - r + i, x0 - r + j)
        dy, dx = divmod(index, side)
        layer[rows, cols, :channels] = patches[:, index]
        total[dy:dy + box_h, dx:dx + box_w] += layer
    frame = space.pixels.reshape(space.height, space.width, channels).clone()
    region = frame[y0 - r:y1 + r, x0 - r:x1 + r]
    votes = total[..., :channels] / total[..., channels:].clamp(min=1e-8)
    inside = hole.reshape(space.height, space.width)[y0 - r:y1 + r, x0 - r:x1 + r] & (total[..., channels] > 0)
    region.copy_(torch.where(inside[..., None], votes, region))  # where(), not masked assignment: no host sync
    return frame.reshape(-1, channels)


def _inherited_matches(coarse: SearchSpace, coarse_match: torch.Tensor, fine: SearchSpace) -> torch.Tensor:
    """A fine query's first match: its coarse pixel's match, doubled, plus the query's position in its 2x2 cell."""
    r_c, r_f = coarse.radius, fine.radius
    y, x = fine.query_rows - r_f, fine.query_cols - r_f  # image coordinates at the fine level
    match_rows = torch.full((coarse.height * coarse.width,), -1, dtype=torch.long, device=coarse_match.device)
    match_cols = match_rows.clone()
    match_rows[coarse.query_flat] = torch.div(coarse_match, coarse.width, rounding_mode="floor") - r_c
    match_cols[coarse.query_flat] = coarse_match % coarse.width - r_c
    cy = (torch.div(y, 2, rounding_mode="floor") + r_c).clamp(0, coarse.height - 1)
    cx = (torch.div(x, 2, rounding_mode="floor") + r_c).clamp(0, coarse.width - 1)
    source_rows, source_cols = match_rows[cy * coarse.width + cx], match_cols[cy * coarse.width + cx]
    candidate = snap(fine, 2 * source_rows + y % 2 + r_f, 2 * source_cols + x % 2 + r_f)
    return torch.where(source_rows >= 0, candidate, snap(fine, fine.query_rows, fine.query_cols))


def gaussian_blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """(C, H, W) blurred with a Gaussian of `sigma` px, separably, borders replicated."""
    radius = max(1, math.ceil(3 * sigma))
    steps = torch.arange(-radius, radius + 1, device=image.device, dtype=image.dtype)
    kernel = torch.exp(-steps ** 2 / (2 * sigma ** 2))
    kernel = kernel / kernel.sum()
    channels = image.shape[0]
    out = F.pad(image[None], (radius, radius, 0, 0), mode="replicate")
    out = F.conv2d(out, kernel.view(1, 1, 1, -1).expand(channels, 1, 1, -1), groups=channels)
    out = F.pad(out, (0, 0, radius, radius), mode="replicate")
    return F.conv2d(out, kernel.view(1, 1, -1, 1).expand(channels, 1, -1, 1), groups=channels)[0]


def keep_guide_structure(current: torch.Tensor, guide: torch.Tensor, hole: torch.Tensor,
                         sigma: float) -> torch.Tensor:
    """In the hole, `current`'s frequencies below `sigma` px replaced by `guide`'s; elsewhere `current`."""
    if sigma <= 0:
        return current
    projected = current - gaussian_blur(current, sigma) + gaussian_blur(guide, sigma)
    return torch.where(hole, projected.clamp(0, 1), current)


def synthesize(image: torch.Tensor, known: np.ndarray, hole: np.ndarray, guide: torch.Tensor,
               settings: SynthesisSettings, generator: torch.Generator, *,
               should_stop: Callable[[], bool] | None = None,
               progress: Callable[[int, int], None] | None = None,
               levels: list[Level] | None = None) -> torch.Tensor | None:
    """The hole of `image` (C, H, W) rebuilt from its `known` pixels (H, W bool), following `guide` (C, H, W).

    Returns (C, H, W) with pixels outside the hole unchanged, or None when the window holds no complete known
    patch to copy from. should_stop is polled at every EM iteration (True raises JobCancelledError); progress gets
    (EM iterations done, EM iterations in all) after each. levels: build_pyramid's answer, when the caller built
    it already (to know the iteration count up front).
    """
    levels = build_pyramid(image, known, hole, settings) if levels is None else levels
    if not levels:
        return None
    total = iteration_count(levels, settings)
    done = 0
    sigma_full = max(settings.guide_sigma, settings.guide_depth_share * hole_depth(hole))
    radius = settings.patch_size // 2
    previous: tuple[SearchSpace, torch.Tensor] | None = None
    current = guide
    for depth in range(len(levels) - 1, -1, -1):
        level = levels[depth]
        level_hole = torch.from_numpy(level.hole).to(image.device)
        level_guide = F.interpolate(guide[None], size=level.image.shape[-2:], mode="area")[0] \
            if guide.shape[-2:] != level.image.shape[-2:] else guide
        level_guide = torch.where(level_hole, level_guide, level.image)
        sigma = sigma_full / 2 ** depth  # the same scale in the photo at every level
        sigma = sigma if sigma >= 0.5 else 0.0  # below half a pixel the level is the patches' alone
        if previous is None:
            start = level_guide
        else:  # the coarser result, upsampled, as this level's first estimate of the hole
            upsampled = F.interpolate(current[None], size=level.image.shape[-2:], mode="bilinear",
                                      align_corners=False)[0]
            start = torch.where(level_hole, upsampled, level.image)
        space = _search_space(level, start, radius)
        hole_frame = torch.from_numpy(np.pad(level.hole, radius).reshape(-1)).to(image.device)
        if previous is None:
            match = random_field(space, generator)
            search_radius, iterations = max(space.height, space.width), settings.coarse_iterations
            jumps = PROPAGATION_JUMPS
            if settings.textured_start:  # copy textured patches in before the first search: a search against
                # the smooth guide alone would favour flat patches and lose the texture for good
                space.pixels = vote(space, match, torch.zeros(match.shape, device=match.device), hole_frame)
        else:
            match = _inherited_matches(previous[0], previous[1], space)
            search_radius, iterations = settings.fine_search_radius, settings.fine_iterations
            jumps = FINE_PROPAGATION_JUMPS
            # Vote once with the inherited matches before searching: they carry the coarser level's choices at full
            # detail, where a search against the blurred upsampled estimate would favour flat patches.
            space.pixels = vote(space, match, torch.zeros(match.shape, device=match.device), hole_frame)
        for _ in range(iterations):
            if should_stop is not None and should_stop():
                raise JobCancelledError("the job was cancelled by its client")
            pixels = keep_guide_structure(_unframe(space, space.pixels), level_guide, level_hole, sigma)
            space.pixels = _frame(pixels, radius)
            match, cost = search(space, match, settings.search_rounds, search_radius, generator, jumps)
            space.pixels = vote(space, match, cost, hole_frame)
            done += 1
            if progress is not None:
                progress(done, total)
        if depth == 0 and settings.sharp_final_vote:
            space.pixels = vote_best(space, match, cost, hole_frame)
        current = keep_guide_structure(_unframe(space, space.pixels), level_guide, level_hole, sigma)
        previous = (space, match)
    return current
