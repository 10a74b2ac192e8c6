"""The scene Mask R-CNN (segmentation/scene_maskrcnn.py), its training code (segmentation/scene_training.py) and
training script (training/train_scene_segmenter.py).

Checkpoints are made here from the untrained architecture (random weights, seeded) and written to tmp_path, so
detections are checked for form, not for quality (score and mask thresholds 0). The last test checks the model
shipped in weights/scene_segmenter/ on held-out scenes; it is skipped only when that file is absent (before the model
is trained). One thread; the whole file runs in well under a minute on one core.
"""
from __future__ import annotations

import importlib.util
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torchvision.ops.misc import FrozenBatchNorm2d

from inference_server.scenes import CLASSES
from inference_server.segmentation.detection import Detection
from inference_server.segmentation.errors import ModelUnavailableError, WeightsFileError
from inference_server.segmentation.registry import SEGMENTERS, load_segmenter
from inference_server.segmentation.scene_maskrcnn import (
    NAME, WEIGHTS_DIR, WEIGHTS_FILE, SceneMaskRCNNConfig, SceneMaskRCNNSegmenter, build_scene_maskrcnn, config_path,
    read_config, save_config)
from inference_server.segmentation.scene_training import (
    MIN_OBJECT_SHARE, TRAIN_SEED_BASE, SceneTrainingSet, collate, evaluate, evaluation_scene, learning_rate,
    match_detections, scene_target, train_step, visible_objects)

CPU = torch.device("cpu")
CONFIG = SceneMaskRCNNConfig()
MAX_BYTES = 30 * 10**6
TRAIN_SCRIPT = Path(__file__).resolve().parents[1] / "training" / "train_scene_segmenter.py"


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def untrained_dir(tmp_path_factory) -> Path:
    """A folder holding WEIGHTS_FILE (the untrained net, seed 0) and its config JSON."""
    folder = tmp_path_factory.mktemp("scene_weights")
    torch.manual_seed(0)
    torch.save(build_scene_maskrcnn(CONFIG).state_dict(), folder / WEIGHTS_FILE)
    save_config(CONFIG, config_path(folder / WEIGHTS_FILE))
    return folder


@pytest.fixture(scope="module")
def segmenter(untrained_dir) -> SceneMaskRCNNSegmenter:
    return load_segmenter(NAME, CPU, models_dir=untrained_dir)


@pytest.fixture(scope="module")
def scene():
    return evaluation_scene(3, 128)


def test_the_architecture_builds_without_downloads_and_fits_in_30_mb(monkeypatch):
    def no_download(*args, **kwargs):
        raise AssertionError("the scene Mask R-CNN must never download weights")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_download)
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    model = build_scene_maskrcnn(CONFIG)
    state = model.state_dict()
    assert sum(t.numel() * t.element_size() for t in state.values()) <= MAX_BYTES
    assert all(t.dtype == torch.float32 for t in state.values() if t.is_floating_point())
    labels = len(CLASSES) + 1  # + background
    assert model.roi_heads.box_predictor.cls_score.out_features == labels
    assert model.roi_heads.mask_predictor.mask_fcn_logits.out_channels == labels
    norms = [m for m in model.modules() if isinstance(m, (nn.BatchNorm2d, FrozenBatchNorm2d))]
    assert norms and all(type(m) is nn.BatchNorm2d for m in norms)  # trainable from scratch, not frozen
    assert all(p.requires_grad for p in model.parameters())


def test_the_config_round_trips_through_json_and_checks_itself(tmp_path):
    path = tmp_path / "net.json"
    save_config(CONFIG, path)
    assert json.loads(path.read_text())["architecture"] == NAME
    assert read_config(path) == CONFIG
    assert read_config(path).classes == CLASSES
    with pytest.raises(ValueError, match="one anchor size per FPN level"):
        SceneMaskRCNNConfig(anchor_sizes=(16, 32))
    with pytest.raises(ValueError, match="32 <= image_size <= max_size"):
        SceneMaskRCNNConfig(image_size=400)


@pytest.mark.parametrize("content", ["{not json", json.dumps({"architecture": "other"}),
                                     json.dumps({"architecture": NAME, "image_size": 160})])
def test_a_foreign_or_damaged_config_is_a_weights_file_error_naming_it(tmp_path, content):
    path = tmp_path / "net.json"
    path.write_text(content)
    with pytest.raises(WeightsFileError, match=rf"config {path} is not a config of this model"):
        read_config(path)


def test_a_checkpoint_in_the_folder_is_found_checked_and_loaded(segmenter, untrained_dir):
    assert isinstance(segmenter, SceneMaskRCNNSegmenter)
    assert SEGMENTERS[NAME] is SceneMaskRCNNSegmenter
    assert segmenter.weights_path == untrained_dir / WEIGHTS_FILE
    assert segmenter.config == CONFIG and segmenter.class_names == CLASSES
    saved = torch.load(untrained_dir / WEIGHTS_FILE, weights_only=True)
    loaded = segmenter._model.state_dict()
    assert saved.keys() == loaded.keys() and all(torch.equal(saved[k], loaded[k]) for k in saved)
    explicit = SceneMaskRCNNSegmenter(CPU, weights_path=untrained_dir / WEIGHTS_FILE, detection_size=128)
    assert explicit.config.image_size == 128 and explicit.config.max_size == 256
    assert explicit._model.transform.min_size == (128,)


def test_detections_on_a_rendered_scene_are_valid(segmenter, scene):
    detections = segmenter.detect(scene.image, score_threshold=0.0, mask_threshold=0.0)
    assert detections
    for detection in detections:
        assert isinstance(detection, Detection) and detection.class_name in CLASSES
        x0, y0, x1, y1 = detection.box
        assert 0 <= x0 < x1 <= 128 and 0 <= y0 < y1 <= 128
        assert detection.mask.shape == (128, 128) and detection.mask.any()
    assert [d.score for d in detections] == sorted((d.score for d in detections), reverse=True)
    again = segmenter.detect(scene.image, score_threshold=0.0, mask_threshold=0.0)
    assert again == detections and all(np.array_equal(a.mask, b.mask) for a, b in zip(again, detections))


def test_missing_files_name_the_path_and_the_fix(tmp_path, untrained_dir):
    with pytest.raises(ModelUnavailableError) as missing:
        SceneMaskRCNNSegmenter(CPU, models_dir=tmp_path)
    message = str(missing.value)
    assert str(tmp_path / WEIGHTS_FILE) in message and "train_scene_segmenter.py" in message
    assert "install.sh" not in message and not isinstance(missing.value, WeightsFileError)
    lonely = tmp_path / "lonely.pth"  # weights without their config JSON
    lonely.write_bytes((untrained_dir / WEIGHTS_FILE).read_bytes())
    with pytest.raises(ModelUnavailableError, match=rf"config {tmp_path / 'lonely.json'} .* does not exist"):
        SceneMaskRCNNSegmenter(CPU, weights_path=lonely)


@pytest.mark.parametrize("damage", ["junk", "truncated", "foreign", "other widths"])
def test_a_damaged_or_foreign_file_is_a_weights_file_error_naming_it(tmp_path, untrained_dir, damage):
    path = tmp_path / WEIGHTS_FILE
    whole = (untrained_dir / WEIGHTS_FILE).read_bytes()
    if damage == "junk":
        path.write_bytes(b"not a checkpoint")
    elif damage == "truncated":
        path.write_bytes(whole[: len(whole) // 2])
    elif damage == "foreign":
        torch.save({"features.0.weight": torch.zeros(8, 3, 3, 3)}, path)
    else:  # a net of other widths, under the default config
        torch.save(build_scene_maskrcnn(replace(CONFIG, fpn_channels=32)).state_dict(), path)
    save_config(CONFIG, config_path(path))
    with pytest.raises(WeightsFileError) as wrong:
        SceneMaskRCNNSegmenter(CPU, models_dir=tmp_path)
    message = str(wrong.value)
    assert str(path) in message and "train_scene_segmenter.py" in message and "install.sh" not in message
    if damage in ("foreign", "other widths"):
        assert "made for another architecture" in message


def test_training_samples_are_deterministic_mirrored_and_apart_from_evaluation():
    data = SceneTrainingSet(96, CLASSES, reuse=2)
    assert data.seed(0) == data.seed(1) == TRAIN_SEED_BASE and data.seed(2) == TRAIN_SEED_BASE + 1
    image, target = data[0]
    again, same = data[0]
    assert torch.equal(image, again) and all(torch.equal(target[k], same[k]) for k in target)
    assert image.shape == (3, 96, 96) and image.dtype == torch.float32 and 0 <= image.min() <= image.max() <= 1
    count = len(target["labels"])
    assert count >= 1 and target["boxes"].shape == (count, 4) and target["masks"].shape == (count, 96, 96)
    assert target["labels"].min() >= 1 and target["labels"].max() <= len(CLASSES)
    for box, mask in zip(target["boxes"], target["masks"]):  # each box is its mask's bounding box
        rows, cols = torch.nonzero(mask.any(1)).flatten(), torch.nonzero(mask.any(0)).flatten()
        assert box.tolist() == [cols[0], rows[0], cols[-1] + 1, rows[-1] + 1]
    mirrored_image, mirrored = data[1]  # same layout, new ground, mirrored left to right
    assert torch.equal(mirrored["masks"], target["masks"].flip(-1))
    assert torch.equal(mirrored["labels"], target["labels"])
    assert not torch.equal(mirrored_image, image.flip(-1))
    with pytest.raises(ValueError, match="evaluation seed"):
        evaluation_scene(TRAIN_SEED_BASE, 96)


def test_objects_too_small_to_see_are_left_out(scene):
    masks = scene.object_masks.copy()
    masks[0] = False
    masks[0, 10, 10:13] = True  # 3 px < 128 * 128 / 1600
    tiny = replace(scene, object_masks=masks)
    assert 0 not in visible_objects(tiny) and len(visible_objects(tiny)) == len(visible_objects(scene)) - 1
    assert 3 < MIN_OBJECT_SHARE * 128 * 128
    _, target = scene_target(tiny, CLASSES)
    assert len(target["labels"]) == len(visible_objects(tiny))


def test_one_training_step_returns_finite_losses_and_moves_the_weights():
    torch.manual_seed(0)
    model = build_scene_maskrcnn(CONFIG)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    images, targets = collate([SceneTrainingSet(96, CLASSES)[i] for i in (0, 2)])
    before = model.roi_heads.box_predictor.cls_score.weight.detach().clone()
    losses = train_step(model, optimizer, images, targets)
    assert set(losses) == {"loss", "loss_classifier", "loss_box_reg", "loss_mask", "loss_objectness",
                           "loss_rpn_box_reg"}
    assert all(math.isfinite(value) for value in losses.values())
    assert losses["loss"] == pytest.approx(sum(v for k, v in losses.items() if k != "loss"), rel=1e-5)
    assert not torch.equal(before, model.roi_heads.box_predictor.cls_score.weight)


def test_the_learning_rate_warms_up_then_decays():
    rates = [learning_rate(step, 100, 1e-3, 10) for step in range(100)]
    assert rates[0] == pytest.approx(1e-5) and rates[10] == pytest.approx(1e-3) and rates[-1] == pytest.approx(1e-5)
    assert rates[:11] == sorted(rates[:11]) and rates[10:] == sorted(rates[10:], reverse=True)


def test_matching_needs_the_class_and_half_the_mask():
    masks = np.zeros((2, 8, 8), bool)
    masks[0, :4, :4] = True
    masks[1, 4:, 4:] = True
    half = masks[0].copy()
    half[:, 2:] = False  # IoU 0.5 with object 0
    detections = [Detection("red cube", 0.9, (0, 0, 2, 4), half), Detection("blue sphere", 0.8, (4, 4, 8, 8), masks[1])]
    assert match_detections(detections, masks, ["red cube", "red cube"]) == [(0, 0, 0.5)]
    assert match_detections(detections, masks, ["red cube", "red cube"], same_class=False) == [(0, 0, 0.5),
                                                                                               (1, 1, 1.0)]
    assert match_detections(detections, masks, ["gray cube", "blue sphere"]) == [(1, 1, 1.0)]


def test_the_training_script_checkpoints_resumes_and_writes_a_loadable_model(tmp_path):
    spec = importlib.util.spec_from_file_location("train_scene_segmenter", TRAIN_SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    common = ["--out", str(tmp_path), "--steps", "2", "--batch", "1", "--workers", "0", "--threads", "1",
              "--log-every", "1", "--eval-scenes", "1", "--eval-size", "128"]
    assert script.main(common + ["--stop-at", "1"]) == 0
    checkpoint = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert checkpoint["step"] == 1 and not (tmp_path / "metrics.json").exists()
    assert script.main(common + ["--resume"]) == 0
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=True)["step"] == 2
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["scenes"] == 1 and metrics["steps"] == 2 and 0 <= metrics["recall"] <= 1
    assert SceneMaskRCNNSegmenter(CPU, models_dir=tmp_path).config == CONFIG


@pytest.mark.skipif(not (WEIGHTS_DIR / WEIGHTS_FILE).is_file(),
                    reason=f"no trained model at {WEIGHTS_DIR / WEIGHTS_FILE} yet (training/README.md)")
def test_the_shipped_model_finds_the_objects_of_held_out_scenes():
    """Runs whenever weights/scene_segmenter/scene_maskrcnn_mobilenet_v3.pth exists; skipped only without it."""
    segmenter = load_segmenter(NAME, CPU)
    assert segmenter.weights_path == WEIGHTS_DIR / WEIGHTS_FILE
    metrics = evaluate(segmenter, range(5), 256)  # seeds 0..4: never trained on
    assert metrics["objects"] >= 10
    assert metrics["recall"] >= 0.75 and metrics["precision"] >= 0.75  # right class, mask IoU >= 0.5
    assert metrics["mean_mask_iou"] >= 0.7
