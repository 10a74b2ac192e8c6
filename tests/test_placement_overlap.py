"""Placements keep clear of the objects they would pass through: the overlap rule, the obstacles, the ranking."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from inference_server.pipeline.detect import TargetResolver
from inference_server.pipeline.edit_spec import EditModels, EditSpec, RelationSpec, TargetSpec, run_edit
from inference_server.pipeline.move import MoveOptions
from inference_server.pipeline.options import RemoveOptions
from inference_server.pipeline.pasting import PasteResult
from inference_server.placement.evaluation import EvalSample, score
from inference_server.placement.overlap import obstacles_of, overlap_share, overlaps_any
from inference_server.placement.predict import PositionPredictor
from inference_server.placement.vocabulary import PlacementRequest, Triplet
from inference_server.scene_graph.targets import TargetQuery
from inference_server.segmentation.detection import Detection
from inference_server.segmentation.segmenter import Segmenter

from synthetic_images import textured_background

CUBE = (0.4, 0.4, 0.6, 0.6)
TABLE = (0.1, 0.5, 0.3, 0.9)
LAMP = (0.7, 0.1, 0.8, 0.3)


def request(*triplets: tuple[str, tuple], size=(0.1, 0.12)) -> PlacementRequest:
    return PlacementRequest("red cylinder", tuple(Triplet(p, "thing", box) for p, box in triplets), size).validated()


def test_overlap_is_the_shared_area_over_the_smaller_box():
    assert overlap_share((0.0, 0.0, 0.2, 0.2), (0.1, 0.1, 0.5, 0.5)) == pytest.approx(0.01 / 0.04)
    assert overlap_share((0.0, 0.0, 0.2, 0.2), (0.2, 0.0, 0.4, 0.2)) == 0.0  # touching edges share nothing
    assert overlap_share((0.45, 0.45, 0.5, 0.5), CUBE) == pytest.approx(1.0)  # inside
    assert not overlaps_any((0.0, 0.0, 0.41, 0.41), [CUBE])  # a corner: 0.0001 of 0.1681 px^2
    assert overlaps_any((0.3, 0.3, 0.45, 0.45), [CUBE])


def test_contact_and_depth_references_are_no_obstacles():
    placed = request(("left of", CUBE), ("on", TABLE), ("behind", LAMP))
    assert obstacles_of(placed) == (CUBE,)
    assert obstacles_of(placed, others=[TABLE, (0.0, 0.0, 0.1, 0.1), CUBE]) == (CUBE, (0.0, 0.0, 0.1, 0.1))
    # a reference in a contact relation stays exempt when another relation names it too
    assert obstacles_of(request(("left of", CUBE), ("in front of", CUBE))) == ()


def test_the_best_placement_steps_around_an_object_it_would_cover():
    predictor = PositionPredictor()
    placed = request(("left of", CUBE))
    first = predictor.place(placed, seed=1)
    assert first.clear and first.all_satisfied and not overlaps_any(first.box, [CUBE])
    blocker = first.box  # another object stands exactly where the model would put the cylinder
    moved = predictor.place(placed, seed=1, others=[blocker])
    assert moved.clear and moved.all_satisfied
    assert not overlaps_any(moved.box, [blocker, CUBE])


def test_the_benchmark_counts_placements_on_other_objects():
    placed = request(("left of", CUBE), ("on", TABLE))
    sample = EvalSample(placed, (0.1, 0.35, 0.2, 0.5), others=(CUBE, TABLE, LAMP))
    on_the_lamp = (0.7, 0.1, 0.8, 0.3)
    on_the_table = (0.12, 0.4, 0.22, 0.55)  # covers the table: asked for ("on")
    assert score([sample, sample], [on_the_lamp, on_the_table])["overlapping"] == 0.5


class FixedSegmenter(Segmenter):
    """A stand-in detector: answers the given detections (the pipeline under test is the move, not the model)."""

    name = "test_fixed"

    def __init__(self, answer: list[Detection]):
        self.device, self.answer = torch.device("cpu"), answer

    @property
    def class_names(self) -> tuple[str, ...]:
        return ("cat", "dog", "vase")

    def _detect(self, image, score_threshold, mask_threshold):
        return list(self.answer)


def _box_mask(box: tuple[int, int, int, int], size: int) -> np.ndarray:
    mask = np.zeros((size, size), bool)
    mask[box[1]:box[3], box[0]:box[2]] = True
    return mask


def _move(detections: list[Detection], size: int) -> PasteResult:
    image = textured_background(size, size, seed=4)
    spec = EditSpec("move", image, MoveOptions(remove=RemoveOptions(quality="fast"), keep_size=True),
                    target=TargetSpec(query=TargetQuery(object_ids=(0,))),
                    relations=(RelationSpec("left of", TargetSpec(query=TargetQuery(object_ids=(1,)))),))
    return run_edit(spec, EditModels(FixedSegmenter(detections), PositionPredictor()))


def test_a_move_keeps_clear_of_the_other_objects_detection_found():
    size = 128
    cat, dog = (90, 90, 110, 112), (70, 40, 100, 80)  # move the cat left of the dog
    detections = [Detection("cat", 0.9, cat, _box_mask(cat, size)), Detection("dog", 0.8, dog, _box_mask(dog, size))]
    first = _move(detections, size).placement.box
    assert not overlaps_any(first, [tuple(v / size for v in dog)])  # the reference itself is kept clear of
    # a vase stands exactly where the cat went: the move now puts it elsewhere, still left of the dog
    vase = tuple(round(v * size) for v in first)
    result = _move(detections + [Detection("vase", 0.7, vase, _box_mask(vase, size))], size)
    assert result.placement.all_satisfied
    assert not overlaps_any(result.placement.box, [first])


def test_other_objects_are_the_detections_that_are_not_the_targets():
    size = 32
    boxes = [(0, 0, 8, 8), (10, 10, 20, 20), (22, 2, 30, 12)]
    resolver = TargetResolver(FixedSegmenter([Detection("cat", 0.9 - i / 10, b, _box_mask(b, size))
                                              for i, b in enumerate(boxes)]), np.zeros((size, size, 3), np.uint8))
    target = resolver.resolve(None, TargetQuery(object_ids=(1,)))
    assert resolver.boxes_apart_from([target.mask]) == [boxes[0], boxes[2]]
    nearly_the_first = _box_mask((0, 0, 8, 7), size)  # a reference drawn by hand, 7/8 of the first object
    assert resolver.boxes_apart_from([target.mask, nearly_the_first]) == [boxes[2]]
    assert TargetResolver(None, np.zeros((size, size, 3), np.uint8)).boxes_apart_from([]) == []  # nothing detected


def test_keep_clear_false_ranks_as_before_overlaps_were_known():
    predictor = PositionPredictor()
    placed = request(("left of", CUBE))
    first = predictor.place(placed, seed=1)
    blocked = predictor.candidates(placed, 1, seed=1, others=[first.box], keep_clear=False)[0]
    assert blocked.box == first.box and not blocked.clear  # the same box, now known to overlap
