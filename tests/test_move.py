"""Moving an object (pipeline/move.py) on a synthetic scene: it leaves its old place, lands where the relation holds,
keeps its colours, and nothing else changes."""
from __future__ import annotations

import numpy as np
import pytest

from inference_server.errors import InvalidInputError
from inference_server.pipeline.move import MoveOptions, move_object
from inference_server.pipeline.options import RemoveOptions
from inference_server.placement.predict import PositionPredictor
from inference_server.placement.vocabulary import Triplet

from conftest import SCENE_SIZE as SIZE

FAST = RemoveOptions(quality="fast", iterations=20, dilation_px=2)



@pytest.fixture
def scene(two_object_scene):
    return two_object_scene

@pytest.fixture(scope="module")
def predictor():
    return PositionPredictor()


def box01(box) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = (float(v) for v in box)
    return x0 / SIZE, y0 / SIZE, x1 / SIZE, y1 / SIZE


@pytest.mark.parametrize("predicate", ["left of", "right of"])
def test_the_object_moves_where_the_relation_holds_and_nothing_else_changes(scene, predictor, predicate):
    image, mask = scene.image, scene.object_masks[0]
    reference = Triplet(predicate, scene.classes[1], box01(scene.boxes[1]))
    result = move_object(image, mask, scene.classes[0], [reference], predictor, MoveOptions(remove=FAST))
    r = result.region
    out = image.copy()
    out[r.slices] = result.patch
    changed = np.zeros(mask.shape, bool)
    assert result.shadow_mask is not None and result.placed_shadow_mask is not None  # the scene has shadows
    changed[r.slices] = result.hole_mask | result.placed_mask | result.placed_shadow_mask
    assert np.array_equal(out[~changed], image[~changed])

    placed = np.zeros(mask.shape, bool)
    placed[r.slices] = result.placed_mask
    cols = np.flatnonzero(placed.any(axis=0))
    centre, reference_centre = (cols[0] + cols[-1] + 1) / 2, (scene.boxes[1, 0] + scene.boxes[1, 2]) / 2
    assert (centre < reference_centre) if predicate == "left of" else (centre > reference_centre)
    assert result.placement.all_satisfied and len(result.candidates) == 4

    colour = image[mask].astype(float).mean(axis=0)
    assert np.linalg.norm(out[placed].astype(float).mean(axis=0) - colour) < 25  # the object's colours came along
    left_behind = mask & ~placed
    assert np.linalg.norm(out[left_behind].astype(float).mean(axis=0) - colour) > 40  # and left the old place
    assert set(result.timings) >= {"place", "prepare", "inpaint", "composite", "paste"}


def test_keep_size_pastes_at_the_objects_own_size(scene, predictor):
    image, mask = scene.image, scene.object_masks[0]
    reference = Triplet("left of", scene.classes[1], box01(scene.boxes[1]))
    result = move_object(image, mask, scene.classes[0], [reference], predictor,
                         MoveOptions(remove=FAST, keep_size=True, edge_px=0))
    rows, cols = np.flatnonzero(result.placed_mask.any(axis=1)), np.flatnonzero(result.placed_mask.any(axis=0))
    x0, y0, x1, y1 = scene.boxes[0]
    if 0 < cols[0] and cols[-1] < result.region.width - 1:  # not clipped by the image's edge
        assert (cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1) == (x1 - x0, y1 - y0)


@pytest.mark.parametrize("options, words", [
    (MoveOptions(candidates=0), "candidates must be 1 to 16"),
    (MoveOptions(candidates=2, candidate=2), "candidate 2 does not exist"),
    (MoveOptions(edge_px=-1), "edge must be 0 to 64"),
    (MoveOptions(remove=RemoveOptions(quality="ultra")), "ultra"),
])
def test_bad_options_are_refused(scene, predictor, options, words):
    with pytest.raises(InvalidInputError, match=words):
        move_object(scene.image, scene.object_masks[0], scene.classes[0],
                    [Triplet("left of", scene.classes[1], box01(scene.boxes[1]))], predictor, options)


def test_an_unknown_predicate_lists_the_known_ones(scene, predictor):
    with pytest.raises(InvalidInputError, match="left of"):
        move_object(scene.image, scene.object_masks[0], scene.classes[0],
                    [Triplet("beside-ish", scene.classes[1], box01(scene.boxes[1]))], predictor,
                    MoveOptions(remove=FAST))
