"""Replace and add (pipeline/replace.py, add.py, pasting.py) against the scene generator's ground truth: the source
object is cut from the generator's after-image, as a user would give it, and the edit must bring the before-image
closer to the after-image while leaving every other pixel alone."""
from __future__ import annotations

import numpy as np
import pytest

from inference_server.errors import InvalidInputError
from inference_server.pipeline.add import AddOptions, add_object
from inference_server.pipeline.options import RemoveOptions
from inference_server.pipeline.pasting import box_on_ground_line, source_cutout
from inference_server.pipeline.remove import apply_patch
from inference_server.pipeline.replace import ReplaceOptions, replace_object
from inference_server.placement.predict import PositionPredictor
from inference_server.placement.vocabulary import Triplet

from conftest import SCENE_SIZE as SIZE

FAST = RemoveOptions(quality="fast", iterations=20, dilation_px=2)
FAST_REPLACE = ReplaceOptions(remove=FAST)


def picture_of(rendered, index: int) -> np.ndarray:
    """The object as a user would give it: its box of the rendered image, RGBA, alpha = its mask."""
    mask = rendered.object_masks[index]
    x0, y0, x1, y1 = rendered.boxes[index]
    return np.dstack([rendered.image, mask.astype(np.uint8) * 255])[y0:y1, x0:x1]


def box01(box) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = (float(v) for v in box)
    return x0 / SIZE, y0 / SIZE, x1 / SIZE, y1 / SIZE


def roi_mae(image: np.ndarray, truth: np.ndarray, roi) -> float:
    x0, y0, x1, y1 = roi
    return float(np.abs(image[y0:y1, x0:x1].astype(float) - truth[y0:y1, x0:x1]).mean())


def test_the_box_keeps_the_aspect_and_stands_on_the_ground_line():
    x, y, width, height = box_on_ground_line((0.25, 0.5, 0.5, 0.75), (20, 10), (100, 100))
    assert (width, height) == (50, 25) and y + height == 75 and x + width / 2 == pytest.approx(37.5, abs=0.5)
    x, y, width, height = box_on_ground_line((0.25, 0.5, 0.5, 0.75), (20, 10), (100, 100), fit="inside")
    assert (width, height) == (25, 12) and y + height == 75 and x + width / 2 == pytest.approx(37.5, abs=0.5)
    assert box_on_ground_line((0.25, 0.5, 0.5, 0.75), (20, 10), (100, 100), keep_size=True)[2:] == (20, 10)


def test_the_source_is_its_alpha_or_its_mask_cropped_to_the_object():
    picture = np.zeros((10, 12, 4), np.uint8)
    picture[..., :3] = 200
    picture[2:6, 3:9, 3] = 255
    picture[2, 3, 3] = 128
    cutout = source_cutout(picture)
    assert cutout.size == (6, 4) and cutout.alpha[0, 0] == pytest.approx(128 / 255) and cutout.alpha[1:, 1:].min() == 1
    mask = np.zeros((10, 12), bool)
    mask[4:9, 1:5] = True
    assert source_cutout(picture[..., :3], mask).size == (4, 5)
    assert source_cutout(picture, mask).size == (2, 2)  # alpha and mask must both say "object"


@pytest.mark.parametrize("picture, mask, words", [
    (np.zeros((4, 4, 3), np.uint8), None, "no alpha channel and no mask"),
    (np.zeros((4, 4, 4), np.uint8), None, "the source object is empty"),
    (np.full((4, 4, 4), 255, np.uint8), np.ones((3, 4), bool), "the source mask is 4x3"),
])
def test_a_source_that_marks_no_object_is_refused(picture, mask, words):
    with pytest.raises(InvalidInputError, match=words):
        source_cutout(picture, mask)


def test_replace_brings_the_image_to_the_ground_truth_and_changes_nothing_else(replaced):
    before, after = replaced.before, replaced.after
    image = before.image.copy()
    result = replace_object(image, before.object_masks[0], source_cutout(picture_of(after, 0)), FAST_REPLACE)
    assert np.array_equal(image, before.image)  # the input is never modified
    out = apply_patch(image, result.region, result.patch)
    changed = np.zeros(image.shape[:2], bool)
    changed[result.region.slices] = result.hole_mask | result.placed_mask
    if result.placed_shadow_mask is not None:
        changed[result.region.slices] |= result.placed_shadow_mask
    assert np.array_equal(out[~changed], image[~changed])
    assert roi_mae(out, after.image, replaced.roi_box) < 0.5 * roi_mae(image, after.image, replaced.roi_box)

    placed = np.zeros(image.shape[:2], bool)
    placed[result.region.slices] = result.placed_mask
    rows, cols = np.flatnonzero(placed.any(axis=1)), np.flatnonzero(placed.any(axis=0))
    x0, y0, x1, y1 = before.boxes[0]
    assert rows[-1] + 1 == y1  # the same ground line
    assert x0 <= cols[0] and cols[-1] < x1 and y0 <= rows[0]  # inside the old box
    truth = after.object_masks[0]
    assert (placed & truth).sum() / (placed | truth).sum() > 0.6  # fitted inside the sphere's box: a bit small
    assert result.placement is None and result.candidates == []


def test_replace_fitted_to_the_width_keeps_the_footprint_and_the_ground_line(replaced):
    before, after = replaced.before, replaced.after
    picture = picture_of(after, 0)
    result = replace_object(before.image, before.object_masks[0], source_cutout(picture),
                            ReplaceOptions(remove=FAST, fit="width"))
    placed = np.zeros(before.image.shape[:2], bool)
    placed[result.region.slices] = result.placed_mask
    rows, cols = np.flatnonzero(placed.any(axis=1)), np.flatnonzero(placed.any(axis=0))
    x0, y0, x1, y1 = before.boxes[0]
    assert abs((cols[-1] + 1 - cols[0]) - (x1 - x0)) <= 1 and rows[-1] + 1 == y1
    height = (x1 - x0) * picture.shape[0] / picture.shape[1]
    assert abs((rows[-1] + 1 - rows[0]) - height) <= 1.5  # the aspect ratio kept


def test_an_unknown_fit_is_refused(replaced):
    with pytest.raises(InvalidInputError, match="unknown fit 'stretch': use one of inside, width, height"):
        replace_object(replaced.before.image, replaced.before.object_masks[0],
                       source_cutout(picture_of(replaced.after, 0)), ReplaceOptions(fit="stretch"))


def test_add_places_the_object_where_the_relation_holds_and_changes_nothing_else(added):
    before, after = added.before, added.after
    predictor = PositionPredictor()
    source = source_cutout(picture_of(after, -1))
    relation = Triplet("left of", before.classes[0], box01(before.boxes[0]))
    result = add_object(before.image, source, after.classes[-1], [relation], predictor, AddOptions(candidates=3))
    out = apply_patch(before.image, result.region, result.patch)
    placed = np.zeros(out.shape[:2], bool)
    placed[result.region.slices] = result.placed_mask
    assert np.array_equal(out[~placed], before.image[~placed])  # alpha 0 leaves pixels bit-identical
    cols = np.flatnonzero(placed.any(axis=0))
    assert (cols[0] + cols[-1] + 1) / 2 < (before.boxes[0, 0] + before.boxes[0, 2]) / 2
    assert result.placement.all_satisfied and len(result.candidates) == 3
    green = np.array([0, 255, 0]) @ out[placed].astype(float).mean(axis=0) - out[placed].astype(float).mean()
    assert green > 10  # the green cube's pixels came along
    assert result.object_mask is None and result.hole_mask is None and "place" in result.timings


@pytest.mark.parametrize("cast_shadow", [True, False])
def test_an_added_object_casts_a_shadow_like_its_references(added, cast_shadow):
    before, after = added.before, added.after
    relation = Triplet("left of", before.classes[0], box01(before.boxes[0]))
    result = add_object(before.image, source_cutout(picture_of(after, -1)), after.classes[-1], [relation],
                        PositionPredictor(), AddOptions(candidates=3, cast_shadow=cast_shadow),
                        reference_masks=[before.object_masks[0]])
    out = apply_patch(before.image, result.region, result.patch)
    placed = np.zeros(out.shape[:2], bool)
    placed[result.region.slices] = result.placed_mask
    if not cast_shadow:
        assert result.placed_shadow_mask is None
        assert np.array_equal(out[~placed], before.image[~placed])
        return
    shadow = np.zeros(out.shape[:2], bool)
    shadow[result.region.slices] = result.placed_shadow_mask
    assert np.array_equal(out[~(placed | shadow)], before.image[~(placed | shadow)])
    assert not (shadow & placed).any()
    ratio = out[shadow].astype(float).sum(axis=1) / (before.image[shadow].astype(float).sum(axis=1) + 1)
    assert ratio.max() <= 1.0 and np.median(ratio) < 0.95  # the ground only darkens, visibly
    rows = np.flatnonzero(placed.any(axis=1))
    shadow_rows = np.flatnonzero(shadow.any(axis=1))
    assert shadow_rows[-1] >= rows[-1] - 2  # the shadow lies on the ground the object stands on
    truth_shadow = after.shadow_masks[-1] & ~after.object_masks[-1]
    reference_shadow = before.shadow_masks[0] & ~before.object_masks[0]
    # the same light: the new shadow leaves its object on the side the reference's leaves its own
    offset = np.array(np.nonzero(shadow)).mean(axis=1) - np.array(np.nonzero(placed)).mean(axis=1)
    reference_offset = (np.array(np.nonzero(reference_shadow)).mean(axis=1)
                        - np.array(np.nonzero(before.object_masks[0])).mean(axis=1))
    assert np.dot(offset, reference_offset) > 0 and truth_shadow.any()


def test_add_with_keep_size_pastes_the_source_pixels_unchanged(added):
    before, after = added.before, added.after
    picture = picture_of(after, -1)
    relation = Triplet("left of", before.classes[0], box01(before.boxes[0]))
    result = add_object(before.image, source_cutout(picture), "", [relation], PositionPredictor(),
                        AddOptions(keep_size=True, candidates=1))
    opaque = picture[..., 3] == 255
    assert (result.region.width, result.region.height) == (picture.shape[1], picture.shape[0])  # inside the image
    assert np.array_equal(result.patch[opaque], picture[..., :3][opaque])
    assert np.array_equal(result.placed_mask, opaque)


@pytest.mark.parametrize("options, words", [
    (AddOptions(candidates=0), "candidates must be 1 to 16"),
    (AddOptions(candidates=2, candidate=3), "candidate 3 does not exist"),
])
def test_bad_add_options_are_refused(added, options, words):
    source = source_cutout(picture_of(added.after, -1))
    relation = Triplet("left of", "red cube", (0.4, 0.4, 0.6, 0.6))
    with pytest.raises(InvalidInputError, match=words):
        add_object(added.before.image, source, "", [relation], PositionPredictor(), options)
