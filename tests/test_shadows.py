"""Shadow-aware removal: the cast shadow beside an object is found, removed with it, and nothing else is."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from inference_server.pipeline.masks import Region, dilate
from inference_server.pipeline.options import RemoveOptions
from inference_server.pipeline.remove import apply_patch, remove_object
from inference_server.pipeline.shadow_transfer import carry_shadow, cast, shadow_darkening
from inference_server.scenes.layout import random_scene
from inference_server.scenes.renderer import render_scene
from inference_server.segmentation import shadows
from inference_server.segmentation.cast_shadow import confirmed_darker, find_cast_shadow
from inference_server.segmentation.shadow_net import ShadowNetConfig, ShadowUNet, net_input, shadow_window
from synthetic_images import disc_mask

SIZE = 96
GROUND = np.array([150.0, 135.0, 110.0])  # a sandy ground


def ground(seed: int = 0) -> np.ndarray:
    """(SIZE, SIZE, 3) float: a gentle light gradient with grain."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:SIZE, :SIZE]
    light = 0.9 + 0.2 * xx / SIZE
    return GROUND * light[..., None] + rng.normal(0, 4, (SIZE, SIZE, 3))


def object_and_shadow(darkness: float = 0.5, shadow_colour: np.ndarray | None = None):
    """(image uint8, object mask, true shadow mask): a blue disc standing on the ground, its shadow an ellipse to
    its lower right that multiplies the ground by `darkness` (or, with `shadow_colour`, a stain of that colour)."""
    surface = ground()
    obj = disc_mask(SIZE, SIZE, 40, 40, 12)
    yy, xx = np.mgrid[:SIZE, :SIZE]
    shadow = (((xx - 52) / 15.0) ** 2 + ((yy - 49) / 9.0) ** 2 < 1) & ~obj
    if shadow_colour is None:
        surface[shadow] *= darkness
    else:
        surface[shadow] = shadow_colour
    surface[obj] = (40, 60, 200)
    return np.clip(np.rint(surface), 0, 255).astype(np.uint8), obj, shadow


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def test_the_rule_finds_a_shadow_that_darkens_the_ground_beside_the_object():
    image, obj, shadow = object_and_shadow()
    found = find_cast_shadow(image, obj)
    assert (found & shadow).sum() > 0.9 * shadow.sum()
    assert not (found & ~dilate(shadow, 3)).any()  # the soft-edge allowance reaches at most 3 px past a hard edge
    assert not (found & obj).any()


def test_the_rule_finds_nothing_without_a_shadow():
    image, obj, _ = object_and_shadow(darkness=1.0)
    assert not find_cast_shadow(image, obj).any()


def test_a_dark_region_of_another_colour_is_not_a_shadow():
    image, obj, _ = object_and_shadow(shadow_colour=np.array([30.0, 80.0, 30.0]))  # a dark green stain
    assert not find_cast_shadow(image, obj).any()


def test_a_dark_region_apart_from_the_object_is_not_its_shadow():
    image, obj, _ = object_and_shadow(darkness=1.0)
    far = disc_mask(SIZE, SIZE, 80, 82, 9)  # another object's shadow, across the ground
    image[far] = np.rint(image[far] * 0.5).astype(np.uint8)
    assert not find_cast_shadow(image, obj).any()


def test_a_proposal_is_kept_only_where_the_photo_confirms_it():
    image, obj, shadow = object_and_shadow()
    yy, xx = np.mgrid[:SIZE, :SIZE]
    proposal = (shadow | ((xx < 26) & (yy > 30) & (yy < 50))) & ~obj  # the shadow and lit ground to the left
    confirmed = confirmed_darker(image, obj, proposal, np.ones(obj.shape, bool))
    assert iou(confirmed, shadow) > 0.8
    assert not confirmed[:, :26].any()


def test_removal_takes_the_shadow_too_and_reports_it():
    image, obj, shadow = object_and_shadow()
    truth = np.clip(np.rint(ground()), 0, 255).astype(np.uint8)
    result = remove_object(image, obj, RemoveOptions(quality="fast", dilation_px=0),
                           shadow_finder=lambda *args: find_cast_shadow(args[0], args[1], args[2]))
    edited = apply_patch(image, result.region, result.patch)
    lit_error = np.abs(edited[shadow].astype(float) - truth[shadow]).mean(axis=1)
    left_error = np.abs(image[shadow].astype(float) - truth[shadow]).mean(axis=1)
    assert np.median(lit_error) < 0.2 * np.median(left_error)  # the shadow's pixels are ground again
    assert lit_error.mean() < 0.3 * left_error.mean()  # its hard rim, smoothed where found, the least so
    assert result.shadow_mask is not None
    full_shadow = np.zeros_like(obj)
    full_shadow[result.region.slices] = result.shadow_mask
    assert (full_shadow & shadow).sum() > 0.9 * shadow.sum() and not (full_shadow & ~dilate(shadow, 3)).any()
    hole = np.zeros_like(obj)
    hole[result.region.slices] = result.hole_mask
    assert np.array_equal(edited[~hole], image[~hole])  # nothing outside the hole changes


def test_keep_shadow_removes_the_object_alone():
    image, obj, shadow = object_and_shadow()
    called = []
    result = remove_object(image, obj, RemoveOptions(quality="fast", dilation_px=0, keep_shadow=True),
                           shadow_finder=lambda *args: called.append(1))
    edited = apply_patch(image, result.region, result.patch)
    assert not called and result.shadow_mask is None
    assert np.array_equal(edited[shadow], image[shadow])


def test_the_net_sees_the_window_around_the_object():
    _, obj, _ = object_and_shadow()
    rows, cols = shadow_window(obj, 1.0)
    assert (rows.start, rows.stop, cols.start, cols.stop) == (6, 75, 6, 75)  # the disc spans 29..51: 23 px + 23 a side
    image = np.zeros((SIZE, SIZE, 3), np.uint8)
    x = net_input(image, obj, (rows, cols), 32)
    assert x.shape == (4, 32, 32)
    assert torch.allclose(x[:3], torch.full((3, 32, 32), -0.5))
    assert x[3].max() == 1.0 and x[3, 0, 0] == 0.0  # the object's share of each cell; corners are ground
    net = ShadowUNet(ShadowNetConfig(side=32, widths=(4, 8)))
    assert net(x[None]).shape == (1, 1, 32, 32)


@pytest.fixture(scope="module")
def shipped():
    if shadows.shipped_net("cpu") is None:
        pytest.fail(f"the shadow segmenter's weights are missing from {shadows.WEIGHTS_DIR}")
    return shadows.shipped_net("cpu")


@pytest.mark.parametrize("seed", [2, 3, 5])
def test_the_shipped_finder_finds_generator_shadows(shipped, seed):
    spec = random_scene(seed)  # held out: the net trains on seeds from 3,000,000
    scene = render_scene(spec, 256, 256)
    index = seed % len(spec.objects)
    obj = scene.object_masks[index]
    truth = scene.shadow_masks[index] & ~obj
    found = shadows.find_shadow(scene.image, obj, np.ones(obj.shape, bool))
    assert iou(found, truth) > 0.5


@pytest.mark.parametrize("seed", [2, 3, 5, 7])
def test_the_shipped_finder_adds_nothing_without_shadows(shipped, seed):
    spec = random_scene(seed)
    scene = render_scene(spec, 256, 256, shadows=False)
    assert not scene.shadow_masks.any()
    obj = scene.object_masks[seed % len(spec.objects)]
    found = shadows.find_shadow(scene.image, obj, np.ones(obj.shape, bool))
    assert found.sum() <= 0.01 * obj.sum()


def test_an_unknown_finder_is_refused():
    image, obj, _ = object_and_shadow()
    with pytest.raises(ValueError, match="finder"):
        shadows.find_with("guess", image, obj, np.ones(obj.shape, bool))


def test_the_darkening_is_what_the_shadow_takes_away():
    filled = np.full((20, 20, 3), 200, np.uint8)
    original = filled.copy()
    shadow = np.zeros((20, 20), bool)
    shadow[5:15, 5:15] = True
    original[shadow] = 100
    darkening = shadow_darkening(original, filled, shadow)
    assert darkening[10, 10] == pytest.approx(1 - 301 / 601, abs=1e-3)  # (3 x 100 + 1) / (3 x 200 + 1)
    assert darkening[0, 0] == 0 and darkening[19, 19] == 0  # nothing beyond the shadow's edge (2 px)


def test_the_carried_shadow_moves_and_scales_with_the_object():
    darkening = np.zeros((100, 100), np.float32)
    darkening[40:50, 50:60] = 0.5  # a shadow to the right of an object standing at (row 50, col 40)
    old_box = Region(30, 30, 20, 20)  # bottom centre (50, 40)
    # the map covers rows 30..59, cols 40..69 of a 100 x 100 image; twice as tall, bottom centre (100, 30)
    region, carried = carry_shadow(darkening[30:60, 40:70], Region(40, 30, 30, 30), old_box, (10, 60, 40, 40),
                                   (100, 100))
    full = np.zeros((100, 100), np.float32)
    full[region.slices] = carried
    # The shadow started 10 px right of the foot and 10 px above the ground line; now 20 and 20, and twice as big.
    rows, cols = np.nonzero(full > 0.2)  # bilinear: the edge ramps over one output pixel
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (80, 99, 50, 69)
    assert full.max() == pytest.approx(0.5)


def test_a_carried_shadow_off_the_image_is_nothing():
    darkening = np.zeros((50, 50), np.float32)
    darkening[10:20, 30:40] = 0.5
    region, carried = carry_shadow(darkening, Region(0, 0, 50, 50), Region(10, 10, 10, 10), (-200, -200, 10, 10),
                                   (50, 50))
    assert region.width * region.height == 0 and carried.size == 0


def test_a_cast_shadow_dims_every_channel_alike_and_keeps_alpha():
    image = np.full((4, 4, 4), (200, 100, 50, 255), np.uint8)
    darkening = np.zeros((4, 4), np.float32)
    darkening[1, 1] = 0.5
    out = cast(image, darkening)
    assert tuple(out[1, 1]) == (100, 50, 25, 255)
    assert np.array_equal(np.delete(out.reshape(-1, 4), 5, axis=0), np.delete(image.reshape(-1, 4), 5, axis=0))
