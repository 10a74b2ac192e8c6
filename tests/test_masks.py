"""Dilation, the paste edge and compositing: nothing outside the dilated hole may change, alpha passes through."""
from __future__ import annotations

import numpy as np
import pytest

from inference_server.errors import InvalidInputError
from inference_server.pipeline.masks import (
    Region, auto_dilation_px, bounding_region, composite, dilate, paste_alpha)
from inference_server.pipeline.options import RemoveOptions
from inference_server.pipeline.remove import apply_patch, remove_object
from synthetic_images import disc_mask, disc_scene

FAST = RemoveOptions(quality="fast", iterations=4)


def test_dilate_is_a_euclidean_disc():
    mask = np.zeros((21, 21), bool)
    mask[10, 10] = True
    grown = dilate(mask, 3)
    yy, xx = np.mgrid[:21, :21]
    assert np.array_equal(grown, (yy - 10) ** 2 + (xx - 10) ** 2 <= 9)
    assert np.array_equal(dilate(mask, 0), mask)


def test_dilate_at_the_border_stays_inside_the_image():
    mask = np.zeros((10, 10), bool)
    mask[0, 0] = True
    assert dilate(mask, 2).sum() == 6  # (0,0) (0,1) (0,2) (1,0) (1,1) (2,0)


def test_auto_dilation_grows_with_the_object():
    small = auto_dilation_px(disc_mask(200, 200, 100, 100, 10))
    medium = auto_dilation_px(disc_mask(200, 200, 100, 100, 40))
    large = auto_dilation_px(disc_mask(400, 400, 200, 200, 150))
    assert 2 <= small < medium < large <= 48
    assert medium == 6  # 80 px wide disc: 8% of its diameter


def test_paste_alpha_is_zero_outside_one_on_object_and_ramps_between():
    obj = disc_mask(40, 40, 20, 20, 8)
    hole = dilate(obj, 4)
    alpha = paste_alpha(obj, hole, feather_px=4)
    assert np.all(alpha[~hole] == 0)
    assert np.all(alpha[obj] == 1)
    band = hole & ~obj
    assert 0 < alpha[band].min() < 1
    # the edge pixels of a hole whose box is the whole array still ramp (the crop's border is the outside)
    assert alpha[hole].min() <= 0.25


def test_composite_copies_untouched_pixels_bit_for_bit_and_keeps_alpha():
    rng = np.random.default_rng(0)
    original = rng.integers(0, 256, (16, 16, 4), dtype=np.uint8)
    alpha = np.zeros((16, 16), np.float32)
    alpha[4:8, 4:8] = 1.0
    alpha[8, 4:8] = 0.5
    fill = np.zeros((16, 16, 3), np.float32)
    out = composite(original, fill, alpha)
    assert np.array_equal(out[alpha == 0], original[alpha == 0])
    assert np.array_equal(out[..., 3], original[..., 3])
    assert np.all(out[4:8, 4:8, :3] == 0)
    expected_half = np.rint(original[8, 4:8, :3] * 0.5)
    assert np.array_equal(out[8, 4:8, :3], expected_half.astype(np.uint8))


@pytest.mark.parametrize("channels", [3, 4])
def test_remove_changes_nothing_outside_the_dilated_hole(channels):
    image, mask, _ = disc_scene(48, radius=8)
    if channels == 4:
        alpha = np.tile(np.arange(48, dtype=np.uint8)[None, :] * 5 + 10, (48, 1))
        image = np.dstack([image, alpha])
    result = remove_object(image, mask, RemoveOptions(quality="fast", iterations=4, dilation_px=3))
    full = apply_patch(image, result.region, result.patch)
    hole = dilate(mask, 3)
    assert np.array_equal(full[~hole], image[~hole])
    assert not np.array_equal(full[mask], image[mask])
    assert result.region == bounding_region(hole)
    assert np.array_equal(result.hole_mask, hole[result.region.slices])
    assert np.array_equal(result.object_mask, mask[result.region.slices])
    if channels == 4:
        assert np.array_equal(full[..., 3], image[..., 3])


def test_remove_of_an_object_touching_the_border():
    image, _, _ = disc_scene(40)
    mask = disc_mask(40, 40, 0, 20, 7)
    result = remove_object(image, mask, FAST)
    assert result.region.x == 0
    full = apply_patch(image, result.region, result.patch)
    assert np.array_equal(full[~dilate(mask, result.dilation_px)], image[~dilate(mask, result.dilation_px)])


@pytest.mark.parametrize("mask_case, phrase", [
    ("empty", "mask is empty"), ("full", "covers the whole image"), ("size", "the mask is 10x12 but the image is 32x32"),
])
def test_remove_rejects_unusable_masks(mask_case, phrase):
    image, _, _ = disc_scene(32, radius=5)
    mask = {"empty": np.zeros((32, 32), bool), "full": np.ones((32, 32), bool),
            "size": np.ones((12, 10), bool)}[mask_case]
    with pytest.raises(InvalidInputError, match=phrase):
        remove_object(image, mask, FAST)


def test_a_hole_that_swallows_every_visible_pixel_is_refused():
    image, _, _ = disc_scene(32)
    mask = np.zeros((32, 32), bool)
    mask[16, 16] = True
    with pytest.raises(InvalidInputError, match="nothing is left to learn the background from"):
        remove_object(image, mask, RemoveOptions(dilation_px=60, iterations=1))


def test_region_slices_and_growth():
    region = Region(2, 3, 4, 5)
    assert region.grown(10, 20, 8) == Region(0, 0, 8, 18)
    grid = np.arange(100).reshape(10, 10)
    assert grid[region.slices].shape == (5, 4)


def test_at_least_widens_inside_the_image():
    assert Region(0, 5, 10, 40).at_least(64, 100, 50) == Region(0, 0, 50, 64)
    assert Region(90, 90, 10, 10).at_least(64, 100, 100) == Region(36, 36, 64, 64)
    assert Region(10, 10, 80, 80).at_least(64, 100, 100) == Region(10, 10, 80, 80)
