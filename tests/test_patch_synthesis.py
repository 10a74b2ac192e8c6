"""The texture half of the default fill: PatchMatch, voting, the guided pyramid, and the whole fill."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import ndimage

from inference_server.inpainting.internal_fill import InternalFillSettings, fill_window
from inference_server.inpainting.patch_match import (SearchSpace, nearest_valid_map, patch_distance, patch_offsets,
                                                     random_field, search, valid_sources)
from inference_server.inpainting.patch_synthesis import (SynthesisSettings, gaussian_blur, keep_guide_structure,
                                                         synthesize, vote, vote_best)
from inference_server.pipeline.options import RemoveOptions
from inference_server.pipeline.remove import apply_patch, remove_object


def _disc(height: int, width: int, cy: float, cx: float, radius: float) -> np.ndarray:
    rows, cols = np.mgrid[0:height, 0:width]
    return (rows - cy) ** 2 + (cols - cx) ** 2 <= radius ** 2


def _space(pixels: np.ndarray, known: np.ndarray, queries: np.ndarray, radius: int) -> SearchSpace:
    """A search space over an unpadded (H, W, C) image (the tests keep queries away from the border)."""
    height, width, channels = pixels.shape
    rows, cols = np.nonzero(queries)
    return SearchSpace(
        pixels=torch.from_numpy(pixels.reshape(-1, channels).astype(np.float32)), height=height, width=width,
        radius=radius, offsets=patch_offsets(radius, width, torch.device("cpu")),
        nearest_valid=torch.from_numpy(nearest_valid_map(valid_sources(known, radius))),
        box=(int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1),
        query_rows=torch.from_numpy(rows.astype(np.int64)), query_cols=torch.from_numpy(cols.astype(np.int64)))


def test_patch_distance_is_the_mean_squared_difference_of_the_two_patches():
    rng = np.random.default_rng(0)
    pixels = rng.random((9, 10, 3)).astype(np.float32)
    flat = torch.from_numpy(pixels.reshape(-1, 3))
    offsets = patch_offsets(1, 10, torch.device("cpu"))
    query, source = 4 * 10 + 4, 6 * 10 + 7  # (4, 4) and (6, 7)
    queries = flat[query + offsets][None]  # (1, 9, 3)
    expected = ((pixels[3:6, 3:6] - pixels[5:8, 6:9]) ** 2).mean()
    got = patch_distance(queries, flat, torch.tensor([source]), offsets)
    assert got.item() == pytest.approx(float(expected), rel=1e-6)


def test_valid_sources_are_centres_of_wholly_known_patches_and_snap_finds_the_nearest():
    known = np.ones((9, 9), bool)
    known[4, 4] = False
    valid = valid_sources(known, 1)
    assert not valid[3:6, 3:6].any() and valid[2, 2] and valid[6, 6]
    assert not valid[0].any() and not valid[:, 0].any()  # patches there would leave the frame
    nearest = nearest_valid_map(valid)
    assert divmod(int(nearest[4 * 9 + 4]), 9) in {(2, 4), (4, 2), (6, 4), (4, 6)}


def test_search_finds_exact_copies_in_a_periodic_texture():
    rng = np.random.default_rng(1)
    tile = rng.random((6, 6, 3)).astype(np.float32)
    pixels = np.tile(tile, (8, 8, 1))  # 48 x 48, period 6: every patch has exact copies elsewhere
    hole = _disc(48, 48, 24, 24, 5)
    known = ~hole
    queries = ndimage.binary_dilation(hole, np.ones((5, 5), bool))
    space = _space(pixels, known, queries, radius=2)  # the hole still shows the truth: queries are exact patterns
    generator = torch.Generator().manual_seed(0)
    match, cost = search(space, random_field(space, generator), rounds=4, search_radius=48, generator=generator)
    assert float(torch.quantile(cost, 0.9)) < 1e-10
    # every match is a real copy: same phase of the period
    rows, cols = torch.div(match, 48, rounding_mode="floor"), match % 48
    assert bool(((rows - space.query_rows) % 6 == 0).float().mean() > 0.9)
    assert bool(((cols - space.query_cols) % 6 == 0).float().mean() > 0.9)


def test_vote_averages_by_match_quality_and_vote_best_takes_the_closest_patch():
    # Two queries, radius 1, one pixel of the hole covered by both; sources are flat patches of value 0.2 and 0.8.
    pixels = np.zeros((9, 12, 1), np.float32)
    pixels[1:4, 1:4] = 0.2
    pixels[5:8, 1:4] = 0.8
    known = np.ones((9, 12), bool)
    hole = np.zeros((9, 12), bool)
    hole[4, 7] = True
    queries = np.zeros((9, 12), bool)
    queries[4, 6] = queries[4, 8] = True
    space = _space(pixels, known, queries, radius=1)
    match = torch.tensor([2 * 12 + 2, 6 * 12 + 2])  # the 0.2 patch for the left query, 0.8 for the right one
    hole_flat = torch.from_numpy(hole.reshape(-1))
    cost = torch.tensor([0.0, 1.0])
    sigma = float(torch.quantile(torch.tensor([0.0, 1.0]), 0.75))  # the vote's sigma: 75th percentile of d
    w_right = math.exp(-(1.0 / sigma) ** 2 / 2)
    voted = vote(space, match, cost, hole_flat).reshape(9, 12)
    assert voted[4, 7].item() == pytest.approx((0.2 * 1.0 + 0.8 * w_right) / (1.0 + w_right), rel=1e-5)
    assert voted[4, 6].item() == 0.0  # not in the hole: unchanged
    best = vote_best(space, match, cost, hole_flat).reshape(9, 12)
    assert best[4, 7].item() == pytest.approx(0.2)


def test_keep_guide_structure_takes_the_guides_low_frequencies_and_keeps_the_detail():
    rng = np.random.default_rng(2)
    detail = torch.from_numpy(rng.normal(0, 0.05, (3, 64, 64)).astype(np.float32))
    current = 0.3 + detail
    guide = torch.full((3, 64, 64), 0.6)
    hole = torch.zeros(64, 64, dtype=torch.bool)
    hole[16:48, 16:48] = True
    out = keep_guide_structure(current, guide, hole, sigma=2.0)
    inner = (slice(None), slice(24, 40), slice(24, 40))
    assert abs(float(gaussian_blur(out, 2.0)[inner].mean()) - 0.6) < 0.01  # the guide's level
    high = out - gaussian_blur(out, 2.0)
    assert float((high[inner] - (detail - gaussian_blur(detail, 2.0))[inner]).abs().mean()) < 0.01
    assert torch.equal(out[:, ~hole], current[:, ~hole])


def _fill(image: np.ndarray, hole: np.ndarray, texture: float, **synthesis) -> np.ndarray:
    settings = InternalFillSettings(texture=texture, synthesis=SynthesisSettings(**synthesis))
    return fill_window(image, ~hole, hole, settings, torch.device("cpu")).fill


@pytest.mark.parametrize("texture", [0.0, 0.5, 1.0])
def test_a_flat_background_is_filled_with_its_colour(texture):
    """The 'sky' failure (a dark ellipse with a light halo in a plain sky) can never come back."""
    image = np.empty((96, 128, 3), np.uint8)
    image[:] = (92, 160, 220)
    hole = _disc(96, 128, 48, 60, 22)
    image[hole] = (20, 20, 20)  # the object
    fill = _fill(image, hole, texture)
    assert np.abs(fill[hole] * 255 - np.array([92, 160, 220])).max() < 1.0


def _texture(height: int, width: int, seed: int) -> np.ndarray:
    """A stationary grainy texture (smoothed noise), (H, W, 3) uint8."""
    rng = np.random.default_rng(seed)
    noise = ndimage.gaussian_filter(rng.normal(0, 1, (height, width, 3)), (1.2, 1.2, 0))
    return np.clip(128 + 40 * noise / noise.std(), 0, 255).astype(np.uint8)


def _gradient_energy(image: np.ndarray, mask: np.ndarray) -> float:
    grey = image.astype(np.float64).mean(axis=2)
    return float(np.hypot(ndimage.sobel(grey, 0), ndimage.sobel(grey, 1))[mask].mean())


def test_textured_fill_is_as_detailed_as_its_surroundings_and_texture_0_is_smooth():
    image = _texture(96, 96, seed=3)
    hole = _disc(96, 96, 48, 48, 16)
    ring = _disc(96, 96, 48, 48, 30) & ~_disc(96, 96, 48, 48, 20)
    surroundings = _gradient_energy(image, ring)
    textured = image.copy()
    textured[hole] = np.round(_fill(image, hole, 1.0)[hole] * 255).astype(np.uint8)
    smooth = image.copy()
    smooth[hole] = np.round(_fill(image, hole, 0.0)[hole] * 255).astype(np.uint8)
    inner = _disc(96, 96, 48, 48, 12)  # away from the seam
    assert 0.6 < _gradient_energy(textured, inner) / surroundings < 1.4
    assert _gradient_energy(smooth, inner) / surroundings < 0.5


def test_synthesis_rebuilds_a_periodic_texture_in_phase():
    rng = np.random.default_rng(4)
    tile = (rng.random((8, 8, 3)) * 255).astype(np.uint8)
    image = np.tile(tile, (10, 10, 1))  # 80 x 80
    hole = _disc(80, 80, 40, 40, 9)
    damaged = image.copy()
    damaged[hole] = 0
    tensor = torch.from_numpy(damaged).permute(2, 0, 1).float() / 255
    guide = tensor.clone()
    guide[:, torch.from_numpy(hole)] = 0.5
    out = synthesize(tensor, ~hole, hole, guide, SynthesisSettings(guide_sigma=0.0, guide_depth_share=0.0, coarse_iterations=8),
                     torch.Generator().manual_seed(0))
    error = np.abs(out.permute(1, 2, 0).numpy()[hole] * 255 - image[hole]).mean()
    assert error < 10  # the texture's own spread is ~64 levels: only copies in phase get this close


def test_synthesis_returns_none_without_a_complete_known_patch():
    image = torch.rand(3, 10, 10)
    hole = np.zeros((10, 10), bool)
    hole[::3, :] = True  # no 7x7 patch is free of hole pixels
    assert synthesize(image, ~hole, hole, image, SynthesisSettings(), torch.Generator()) is None


def test_removal_by_synthesis_changes_only_the_hole_and_repeats_itself():
    image = _texture(80, 100, seed=5)
    mask = _disc(80, 100, 40, 50, 12)
    options = RemoveOptions(quality="fast", dilation_px=3, seed=7)
    first = remove_object(image, mask, options)
    second = remove_object(image, mask, options)
    out = apply_patch(image, first.region, first.patch)
    hole = np.zeros_like(mask)
    hole[first.region.slices] = first.hole_mask
    assert np.array_equal(out[~hole], image[~hole])
    assert not np.array_equal(out[mask], image[mask])
    assert np.array_equal(first.patch, second.patch)  # same seed, same device: same pixels
