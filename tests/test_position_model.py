"""The position model (inference_server/placement): vocabulary, satisfaction rules, rule baseline, the net, and the
shipped weights on held-out synthetic layouts."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from inference_server.errors import InvalidInputError
from inference_server.placement.evaluation import evaluation_samples, score
from inference_server.placement.position_model import (PositionLSTM, PositionModelConfig, clip_boxes, encode,
                                                       position_loss)
from inference_server.placement.predict import WEIGHTS_DIR, WEIGHTS_FILE, PositionPredictor
from inference_server.placement.rules import rule_placement
from inference_server.placement.satisfaction import predicates_between, relation_holds, satisfied
from inference_server.placement.training_data import scene_layouts
from inference_server.placement.vocabulary import (CLASSES, PREDICATES, UNKNOWN, PlacementRequest, Triplet,
                                                   check_predicate, class_index)
from inference_server.segmentation.errors import ModelUnavailableError, WeightsFileError

SHIPPED = WEIGHTS_DIR / WEIGHTS_FILE
REFERENCE = (0.4, 0.4, 0.55, 0.6)  # a box in the middle of the image


def request(*triplets, size=None, target="red cube") -> PlacementRequest:
    return PlacementRequest(target, tuple(Triplet(p, "blue sphere", box, subject) for p, box, subject in triplets),
                            size).validated()


@pytest.fixture(scope="module")
def predictor() -> PositionPredictor:
    return PositionPredictor()


@pytest.fixture(scope="module")
def held_out() -> list:
    return evaluation_samples(scene_layouts(range(12)), size_known=True)  # seeds 0..11: training starts at 2e6


# vocabulary


def test_vocabulary_has_clevr_and_natural_predicates():
    assert set(PREDICATES) == {"left of", "right of", "above", "below", "in front of", "behind", "next to", "near",
                               "on", "under"}
    assert check_predicate(" Left-Of ") == "left of"
    assert check_predicate("in_front_of") == "in front of"


def test_unknown_predicate_names_every_known_one():
    with pytest.raises(InvalidInputError) as caught:
        check_predicate("inside")
    message = str(caught.value)
    assert "'inside'" in message
    assert all(predicate in message for predicate in PREDICATES)
    with pytest.raises(InvalidInputError, match="inside"):
        request(("inside", REFERENCE, True))


def test_classes_are_the_scene_classes_plus_unknown():
    assert len(CLASSES) == 25 and CLASSES[-1] == UNKNOWN
    assert CLASSES[class_index(" Red  Cube")] == "red cube"
    assert CLASSES[class_index("grey sphere")] == "gray sphere"
    assert CLASSES[class_index("dog")] == UNKNOWN


def test_requests_are_checked():
    with pytest.raises(InvalidInputError, match="at least one relation"):
        PlacementRequest("cube", ()).validated()
    with pytest.raises(InvalidInputError, match="0 <= x0 < x1 <= 1"):
        request(("left of", (0.5, 0.4, 0.2, 0.6), True))
    with pytest.raises(InvalidInputError, match="at most 5"):
        request(*[("left of", REFERENCE, True)] * 6)
    with pytest.raises(InvalidInputError, match="target size"):
        request(("left of", REFERENCE, True), size=(0.0, 2.0))


# satisfaction and the rule baseline


def test_satisfaction_on_hand_made_boxes():
    left = (0.22, 0.42, 0.36, 0.6)  # beside the reference, a 10 px gap at 256, same bottom edge
    assert predicates_between(left, REFERENCE) == {"left of", "near", "next to"}
    assert relation_holds(REFERENCE, "right of", left)
    assert not relation_holds(left, "right of", REFERENCE)
    cup = (0.44, 0.33, 0.5, 0.45)  # bottom edge in the top half of the reference, top above it
    assert relation_holds(cup, "on", REFERENCE) and not relation_holds(cup, "under", REFERENCE)
    dog = (0.42, 0.5, 0.52, 0.6)
    assert relation_holds(dog, "under", REFERENCE) and not relation_holds(dog, "on", REFERENCE)
    far = (0.9, 0.05, 0.95, 0.1)
    assert predicates_between(far, REFERENCE) == {"right of", "above", "behind"}
    mixed = request(("left of", REFERENCE, True), ("right of", REFERENCE, False))
    assert satisfied(left, mixed) == (True, True)


@pytest.mark.parametrize("predicate", PREDICATES)
@pytest.mark.parametrize("target_is_subject", [True, False])
@pytest.mark.parametrize("size", [None, (0.1, 0.1), (0.3, 0.25)])
def test_rule_baseline_satisfies_one_relation(predicate, target_is_subject, size):
    placed = request((predicate, REFERENCE, target_is_subject), size=size)
    box = rule_placement(placed)
    assert 0 <= box[0] < box[2] <= 1 and 0 <= box[1] < box[3] <= 1
    if size is not None:
        assert box[2] - box[0] == pytest.approx(size[0]) and box[3] - box[1] == pytest.approx(size[1])
    assert satisfied(box, placed) == (True,)


def test_rule_baseline_intersects_relations():
    other = (0.7, 0.45, 0.8, 0.6)
    placed = request(("right of", REFERENCE, True), ("left of", other, True), ("near", other, True))
    assert all(satisfied(rule_placement(placed), placed))


# the net


def test_net_output_is_clipped_to_the_image():
    torch.manual_seed(0)
    model = PositionLSTM(PositionModelConfig()).eval()
    with torch.no_grad():
        model.point_head[-1].bias.copy_(torch.tensor([-3.0, 2.0, 5.0, -1.0]))  # raw output far outside 0..1
        batch = encode([request(("left of", REFERENCE, True)), request(("on", REFERENCE, False), size=(0.1, 0.1))],
                       model.config)
        raw = model(batch).point
        boxes = clip_boxes(raw)
    assert (raw < 0).any() and (raw > 1).any()
    assert boxes.min() >= 0 and boxes.max() <= 1
    assert (boxes[:, 0] <= boxes[:, 2]).all() and (boxes[:, 1] <= boxes[:, 3]).all()


def test_a_training_step_reduces_the_loss():
    torch.manual_seed(0)
    model = PositionLSTM(PositionModelConfig(hidden=16, head_hidden=16, components=2))
    requests = [request(("left of", REFERENCE, True)), request(("below", REFERENCE, True), ("near", REFERENCE, False),
                                                               size=(0.1, 0.12))]
    batch = encode(requests, model.config)
    truth = torch.tensor([[0.2, 0.45, 0.3, 0.6], [0.45, 0.65, 0.55, 0.77]])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(20):
        loss, _, _ = position_loss(model(batch), truth)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.5 * abs(losses[0])


# the shipped model


def test_shipped_weights_are_small_tensors_only():
    assert SHIPPED.stat().st_size < 5 * 2**20
    state = torch.load(SHIPPED, map_location="cpu", weights_only=True)
    assert all(isinstance(value, torch.Tensor) for value in state.values())
    assert SHIPPED.with_suffix(".json").is_file()


def test_shipped_model_beats_the_rules_on_held_out_layouts(predictor, held_out):
    requests = [sample.request for sample in held_out]
    model = score(held_out, [predictor.place(r, seed=i).box for i, r in enumerate(requests)])
    point = score(held_out, predictor.point_boxes(requests))
    rules = score(held_out, [rule_placement(r) for r in requests])
    assert len(held_out) >= 40
    assert model["all_satisfied"] >= rules["all_satisfied"] + 0.08  # measured: ~0.99 vs ~0.84 on seeds 0..299
    assert model["all_satisfied"] >= 0.9
    assert point["mae_box_px"] < rules["mae_box_px"] - 5  # measured: ~22 vs ~33 px
    assert model["mae_box_px"] < rules["mae_box_px"] - 5


def test_several_candidates_are_distinct_plausible_boxes(predictor):
    placed = request(("left of", (0.5, 0.4, 0.62, 0.55), True), size=(0.1, 0.12))
    candidates = predictor.candidates(placed, 5, seed=3)
    assert len(candidates) == 5
    boxes = [c.box for c in candidates]
    assert len(set(boxes)) == 5
    centres = np.array([((b[0] + b[2]) / 2, (b[1] + b[3]) / 2) for b in boxes])
    distances = [np.hypot(*(centres[i] - centres[j])) for i in range(5) for j in range(i)]
    assert min(distances) > 0.01  # at least ~2.5 px apart at 256
    for box in boxes:
        assert 0 <= box[0] <= box[2] <= 1 and 0 <= box[1] <= box[3] <= 1
    assert all(c.all_satisfied for c in candidates)
    ranking = [(sum(c.satisfied), c.clear, c.log_density) for c in candidates]
    assert ranking == sorted(ranking, reverse=True)
    assert predictor.candidates(placed, 5, seed=3) == candidates  # seeded
    assert predictor.place(placed, seed=3) == candidates[0]
    with pytest.raises(InvalidInputError, match="number of placements"):
        predictor.candidates(placed, 0)


def test_unknown_class_names_still_place(predictor):
    placed = PlacementRequest("dog", (Triplet("under", "dining table", (0.3, 0.4, 0.7, 0.7)),)).validated()
    assert predictor.place(placed).box != ()


def test_damaged_weights_give_a_clear_error(tmp_path):
    damaged = tmp_path / WEIGHTS_FILE
    damaged.write_bytes(b"not a checkpoint")
    shutil.copy(SHIPPED.with_suffix(".json"), damaged.with_suffix(".json"))
    with pytest.raises(WeightsFileError, match="damaged") as caught:
        PositionPredictor(weights_path=damaged)
    assert str(damaged) in str(caught.value) and "train_position_model" in str(caught.value)

    other = tmp_path / "other" / WEIGHTS_FILE
    other.parent.mkdir()
    torch.save(PositionLSTM(PositionModelConfig(hidden=8)).state_dict(), other)
    shutil.copy(SHIPPED.with_suffix(".json"), other.with_suffix(".json"))
    with pytest.raises(WeightsFileError, match="another architecture"):
        PositionPredictor(weights_path=other)

    lonely = tmp_path / "lonely" / WEIGHTS_FILE
    lonely.parent.mkdir()
    shutil.copy(SHIPPED, lonely)
    with pytest.raises(ModelUnavailableError, match="config"):
        PositionPredictor(weights_path=lonely)
    with pytest.raises(ModelUnavailableError, match="does not exist"):
        PositionPredictor(weights_path=tmp_path / "missing.pth")
