"""Cut-out and paste (pipeline/paste.py): soft edges, scaling without fringes, exact copies where alpha is 0."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from inference_server.errors import InvalidInputError
from inference_server.pipeline.paste import Cutout, cut_out, paste
from inference_server.pipeline.remove import apply_patch
from synthetic_images import disc_mask, textured_background

RED = np.array([220, 30, 40], np.uint8)


def red_disc_on_white(size: int = 40, radius: float = 12.0):
    image = np.full((size, size, 3), 255, np.uint8)
    mask = disc_mask(size, size, size / 2, size / 2, radius)
    image[mask] = RED
    return image, mask


def test_alpha_is_one_inside_half_on_the_border_and_zero_outside():
    image, mask = red_disc_on_white()
    cutout = cut_out(image, mask, edge_px=1)
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    crop = mask[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    assert cutout.size == (crop.shape[1], crop.shape[0])
    assert np.all(cutout.alpha[~crop] == 0)
    padded = np.pad(crop, 1)  # the box's outside counts as outside
    deep = ndimage.binary_erosion(padded, np.ones((3, 3), bool))[1:-1, 1:-1]  # no outside pixel among 8 neighbours
    border = crop & ~ndimage.binary_erosion(padded)[1:-1, 1:-1]  # an outside pixel among the 4 neighbours
    assert np.all(cutout.alpha[deep] == 1)
    assert border.any() and np.allclose(cutout.alpha[border], 0.5)
    assert np.all((cutout.alpha[crop] >= 0.5) & (cutout.alpha[crop] <= 1))
    assert np.all(cut_out(image, mask, edge_px=0).alpha[crop] == 1)


def test_pasting_back_in_place_changes_only_the_objects_edge():
    image = textured_background(40, 40, seed=2)
    mask = disc_mask(40, 40, 20, 20, 9)
    cutout = cut_out(image, mask, edge_px=1)
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    region, patch = paste(image, cutout, int(cols[0]), int(rows[0]))
    out = apply_patch(image, region, patch)
    assert np.array_equal(out[~mask], image[~mask])  # alpha 0: bit-identical
    assert np.abs(out.astype(int) - image).max() <= 1  # pasting the same pixels over themselves: rounding only


def test_scaling_on_premultiplied_colour_leaves_no_white_fringe():
    image, mask = red_disc_on_white(48, 16)
    cutout = cut_out(image, mask, edge_px=1)
    half = cutout.resized(16, 16)
    seen = half.alpha > 0.05
    # every visible pixel keeps the object's colour: the white behind the disc does not bleed in
    assert np.abs(half.rgb[seen] * 255 - RED).max() < 3
    # scaling straight colour (what leaves SIMBIL's white edges) would have pinkened the edge
    # scaling straight colour (what leaves SIMBIL's white edges) pinkens the edge: the white behind bleeds in
    from PIL import Image

    straight = Image.fromarray((cutout.rgb * 255).astype(np.uint8)).resize((16, 16), Image.Resampling.LANCZOS)
    naive = np.asarray(straight).astype(float)
    assert np.abs(naive[seen] - RED).max() > 40
    pasted_region, pasted = paste(np.full((30, 30, 3), 0, np.uint8), half, 7, 7)
    dark = apply_patch(np.full((30, 30, 3), 0, np.uint8), pasted_region, pasted)
    assert dark[..., 1].max() <= RED[1] + 2  # on black: no light rim around the red disc


def test_a_paste_partly_outside_is_clipped_and_wholly_outside_is_an_error():
    image = textured_background(30, 30, seed=1)
    cutout = Cutout(np.ones((10, 12, 3), np.float32), np.ones((10, 12), np.float32))
    region, patch = paste(image, cutout, -4, 25)
    assert tuple(region) == (0, 25, 8, 5)
    assert np.all(patch == 255)
    with pytest.raises(InvalidInputError, match="lies outside the 30x30 image"):
        paste(image, cutout, 40, 0)
    with pytest.raises(InvalidInputError, match="at least 1x1"):
        cutout.resized(0, 5)
    with pytest.raises(InvalidInputError, match="mask is empty"):
        cut_out(image, np.zeros((30, 30), bool))


def test_rgba_alpha_multiplies_and_passes_through():
    image, mask = red_disc_on_white(32, 10)
    rgba = np.dstack([image, np.full((32, 32), 128, np.uint8)])
    cutout = cut_out(rgba, mask, edge_px=0)
    assert np.allclose(cutout.alpha[cutout.alpha > 0], 128 / 255)
    target = np.dstack([textured_background(32, 32), np.full((32, 32), 77, np.uint8)])
    region, patch = paste(target, cutout, 3, 3)
    assert np.all(patch[..., 3] == 77)
