"""Segmentation weights and the segmenter: found, checked and loaded from a local file; clear errors otherwise.

The checkpoint is made here (segmentation_checkpoints.py): Mask R-CNN's architecture with random weights, except that
its class and mask heads are set so the answer is known (every proposal is a 'person' at 0.58 and a 'dog' / 'N/A' at
0.21; person masks are sure, dog masks faint). Images are 64x96, seen by the network at that size, so the whole file
runs in seconds.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from inference_server.errors import InvalidInputError
from inference_server.segmentation.detection import Detection, box_from_corners
from inference_server.segmentation.errors import ModelUnavailableError, WeightsFileError
from inference_server.segmentation.fetch_weights import has_valid_weights, install_weights_file, main
from inference_server.segmentation.maskrcnn import (
    WEIGHTS_FILE, MaskRCNNSegmenter, build_maskrcnn)
from inference_server.segmentation.registry import (
    SEGMENTERS, load_segmenter, register_segmenter, segmenter_class)
from inference_server.segmentation.segmenter import Segmenter
from inference_server.segmentation.weights import check_state_dict, find_weights, read_state_dict
from segmentation_checkpoints import PERSON_SCORE, SMALL_SETTINGS, rigged_state_dict

SMALL = SMALL_SETTINGS
CPU = torch.device("cpu")


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def state_dict() -> dict[str, torch.Tensor]:
    return rigged_state_dict()


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory, state_dict):
    folder = tmp_path_factory.mktemp("models")
    torch.save(state_dict, folder / WEIGHTS_FILE)
    return folder


@pytest.fixture(scope="module")
def segmenter(models_dir) -> Segmenter:
    return load_segmenter("maskrcnn_resnet50_fpn_v2", CPU, models_dir=models_dir, settings=SMALL)


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (64, 96, 3), dtype=np.uint8)


def tight_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def test_weights_in_the_models_folder_are_found_loaded_and_detect_end_to_end(segmenter, models_dir, image):
    assert isinstance(segmenter, MaskRCNNSegmenter)
    assert segmenter.weights_path == models_dir / WEIGHTS_FILE
    detections = segmenter.detect(image, score_threshold=0.1, mask_threshold=0.5)
    assert len(detections) >= 3
    for detection in detections:
        assert isinstance(detection, Detection)
        assert detection.class_name == "person"  # the loaded heads, not random ones; dogs' masks are empty at 0.5
        assert detection.score == pytest.approx(PERSON_SCORE, abs=1e-5)
        x0, y0, x1, y1 = detection.box
        assert all(isinstance(value, int) for value in detection.box)
        assert 0 <= x0 < x1 <= 96 and 0 <= y0 < y1 <= 64
        assert detection.mask.shape == (64, 96) and detection.mask.dtype == np.bool_
        mx0, my0, mx1, my1 = tight_box(detection.mask)  # a sure mask fills its box, give or take the paste's edge
        assert mx0 >= x0 - 2 and my0 >= y0 - 2 and mx1 <= x1 + 2 and my1 <= y1 + 2
        assert detection.mask.sum() >= 0.8 * (x1 - x0) * (y1 - y0)
    # equal scores: sorted by box
    assert [d.box for d in detections] == sorted(d.box for d in detections)


def test_detect_sorts_by_score_and_applies_both_thresholds(segmenter, image):
    both = segmenter.detect(image, score_threshold=0.1, mask_threshold=0.2)
    names = [d.class_name for d in both]
    assert "dog" in names and "N/A" not in names and "__background__" not in names  # placeholders never leak
    assert names == sorted(names, key=lambda name: name != "person")  # persons (0.58) before dogs (0.21)
    assert [d.score for d in both] == sorted((d.score for d in both), reverse=True)
    persons_only = segmenter.detect(image, score_threshold=0.3, mask_threshold=0.2)
    assert {d.class_name for d in persons_only} == {"person"}
    assert [d.box for d in persons_only] == [d.box for d in both if d.class_name == "person"]
    assert segmenter.detect(image, score_threshold=0.6) == []


def test_detect_is_deterministic(segmenter, image):
    first = segmenter.detect(image, score_threshold=0.1, mask_threshold=0.2)
    second = segmenter.detect(image, score_threshold=0.1, mask_threshold=0.2)
    assert first == second  # class, score and box, in order
    assert all(np.array_equal(a.mask, b.mask) for a, b in zip(first, second))


def test_class_names_are_the_coco_names_without_placeholders(segmenter):
    names = segmenter.class_names
    assert len(names) == 80 and len(set(names)) == 80
    assert names[:3] == ("person", "bicycle", "car") and "toothbrush" in names
    assert "N/A" not in names and "__background__" not in names


def test_detect_rejects_bad_images_and_thresholds(segmenter, image):
    with pytest.raises(InvalidInputError, match="8-bit RGB or RGBA; got shape"):
        segmenter.detect(image.astype(np.float32))
    with pytest.raises(InvalidInputError, match="8-bit RGB or RGBA"):
        segmenter.detect(image[..., 0])
    with pytest.raises(InvalidInputError, match="score threshold must be between 0 and 1; got 1.5"):
        segmenter.detect(image, score_threshold=1.5)
    with pytest.raises(InvalidInputError, match="mask threshold must be at least 0 and below 1; got 1.0"):
        segmenter.detect(image, mask_threshold=1.0)


def test_missing_weights_name_the_file_and_the_install_flag(tmp_path):
    with pytest.raises(ModelUnavailableError) as missing:
        MaskRCNNSegmenter(CPU, models_dir=tmp_path)  # fails before building the network
    message = str(missing.value)
    assert str(tmp_path / WEIGHTS_FILE) in message
    assert "./install.sh --weights FILE" in message and "fetch" in message
    assert not isinstance(missing.value, WeightsFileError)
    with pytest.raises(ModelUnavailableError, match=r"weights file .*elsewhere\.pth does not exist"):
        find_weights(WEIGHTS_FILE, explicit=tmp_path / "elsewhere.pth", title="Mask R-CNN")


def test_explicit_path_wins_over_the_models_folder(tmp_path, models_dir):
    explicit = tmp_path / "mine.pth"
    explicit.write_bytes(b"x")
    assert find_weights(WEIGHTS_FILE, explicit=explicit, models_dir=models_dir) == explicit
    assert find_weights(WEIGHTS_FILE, models_dir=models_dir) == models_dir / WEIGHTS_FILE


@pytest.mark.parametrize("content", [b"not a checkpoint at all", b"", b"PK\x03\x04 truncated zip"])
def test_a_corrupt_file_is_a_clear_error_naming_the_file(tmp_path, content):
    path = tmp_path / WEIGHTS_FILE
    path.write_bytes(content)
    with pytest.raises(WeightsFileError) as corrupt:
        read_state_dict(path, title="Mask R-CNN")
    message = str(corrupt.value)
    assert str(path) in message and "not a PyTorch checkpoint or is damaged" in message
    assert "./install.sh --weights FILE" in message


def test_a_truncated_checkpoint_is_refused_by_the_segmenter(tmp_path, models_dir):
    whole = (models_dir / WEIGHTS_FILE).read_bytes()
    (tmp_path / WEIGHTS_FILE).write_bytes(whole[: len(whole) // 2])
    with pytest.raises(WeightsFileError, match="is not a PyTorch checkpoint or is damaged"):
        MaskRCNNSegmenter(CPU, models_dir=tmp_path, settings=SMALL)


class Payload:
    """Not a tensor: weights_only loading must refuse to rebuild it."""


def test_a_pickled_object_is_never_unpickled(tmp_path):
    path = tmp_path / "payload.pth"
    torch.save({"backbone.body.conv1.weight": Payload()}, path)
    with pytest.raises(WeightsFileError, match="payload.pth is not a PyTorch checkpoint"):
        read_state_dict(path)


def test_something_other_than_a_state_dict_is_refused(tmp_path):
    path = tmp_path / "list.pth"
    torch.save([torch.zeros(1)], path)
    with pytest.raises(WeightsFileError, match=r"list\.pth holds a list, not a state dict of tensors"):
        read_state_dict(path)


def test_another_architecture_names_the_file_and_what_differs(tmp_path):
    path = tmp_path / WEIGHTS_FILE
    torch.save({"features.0.weight": torch.zeros(8, 3, 3, 3)}, path)
    with pytest.raises(WeightsFileError) as wrong:
        MaskRCNNSegmenter(CPU, models_dir=tmp_path, settings=SMALL)
    message = str(wrong.value)
    assert str(path) in message and "made for another architecture" in message
    assert "1 unexpected (features.0.weight)" in message
    assert f"{len(build_maskrcnn().state_dict())} missing" in message
    assert "./install.sh --weights FILE" in message


def test_state_dict_check_reports_missing_unexpected_and_shapes(state_dict, tmp_path):
    check_state_dict(state_dict, state_dict, tmp_path / "ok.pth")  # the same architecture passes
    other = dict(state_dict)
    del other["rpn.head.conv.0.0.weight"]
    other["extra.weight"] = torch.zeros(1)
    other["roi_heads.box_predictor.cls_score.weight"] = torch.zeros(2, 1024)  # a 2-class head
    other["roi_heads.box_predictor.cls_score.bias"] = torch.zeros(2)
    with pytest.raises(WeightsFileError) as wrong:
        check_state_dict(other, state_dict, tmp_path / "two-classes.pth", title="Mask R-CNN")
    message = str(wrong.value)
    assert "two-classes.pth" in message
    assert "1 missing (rpn.head.conv.0.0.weight)" in message
    assert "1 unexpected (extra.weight)" in message
    assert "2 of another shape" in message
    assert "roi_heads.box_predictor.cls_score.bias is (2,), expected (91,)" in message


def test_install_weights_file_checks_then_copies(tmp_path, models_dir, capsys):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"junk")
    out = tmp_path / "models"
    assert main(["--from", str(bad), "--out", str(out)]) == 1
    assert "bad.pth is not a PyTorch checkpoint" in capsys.readouterr().err
    assert not (out / WEIGHTS_FILE).exists()
    assert not has_valid_weights(out)
    target = install_weights_file(models_dir / WEIGHTS_FILE, out)
    assert target == out / WEIGHTS_FILE
    assert target.read_bytes() == (models_dir / WEIGHTS_FILE).read_bytes()
    assert has_valid_weights(out)
    assert sorted(path.name for path in out.iterdir()) == [WEIGHTS_FILE]  # no staging file left behind


def test_registry_unknown_name_lists_the_available_ones():
    assert segmenter_class("maskrcnn_resnet50_fpn_v2") is MaskRCNNSegmenter
    with pytest.raises(InvalidInputError) as unknown:
        segmenter_class("sam")
    assert str(unknown.value) == ("unknown segmentation model 'sam'; available: maskrcnn_resnet50_fpn_v2, "
                                  "scene_maskrcnn_mobilenet_v3")


class ListSegmenter(Segmenter):
    """A fake model answering fixed detections in a scrambled order, recording what it was given."""

    name = "test_list"

    def __init__(self, device: torch.device, *, answer: list[Detection]):
        self.device, self.answer, self.seen = device, answer, []

    @property
    def class_names(self) -> tuple[str, ...]:
        return ("cat", "dog")

    def _detect(self, image, score_threshold, mask_threshold):
        self.seen.append((image.shape, score_threshold, mask_threshold))
        return list(self.answer)


def test_a_registered_segmenter_is_loaded_by_name_and_its_answer_sorted():
    mask = np.ones((4, 6), bool)
    answer = [Detection("dog", 0.5, (2, 0, 4, 4), mask), Detection("cat", 0.9, (0, 0, 2, 2), mask),
              Detection("cat", 0.5, (1, 0, 4, 4), mask), Detection("cat", 0.5, (2, 0, 4, 4), mask)]
    register_segmenter(ListSegmenter)
    try:
        with pytest.raises(ValueError, match="'test_list' is already registered"):
            register_segmenter(type("Other", (ListSegmenter,), {}))
        segmenter = load_segmenter("test_list", CPU, answer=answer)
        assert isinstance(segmenter, ListSegmenter) and segmenter.device == CPU
        detections = segmenter.detect(np.zeros((4, 6, 4), np.uint8), score_threshold=0.25, mask_threshold=0.75)
    finally:
        del SEGMENTERS["test_list"]
    assert segmenter.seen == [((4, 6, 3), 0.25, 0.75)]  # alpha dropped, thresholds passed through
    assert [(d.class_name, d.score, d.box) for d in detections] == [
        ("cat", 0.9, (0, 0, 2, 2)), ("cat", 0.5, (1, 0, 4, 4)), ("cat", 0.5, (2, 0, 4, 4)), ("dog", 0.5, (2, 0, 4, 4))]


def test_detection_checks_its_box_and_mask():
    mask = np.zeros((4, 6), bool)
    with pytest.raises(ValueError, match="0 <= x0 < x1 <= 6"):
        Detection("cat", 0.5, (3, 0, 3, 2), mask)
    with pytest.raises(ValueError, match="0 <= y0 < y1 <= 4"):
        Detection("cat", 0.5, (0, 0, 2, 5), mask)
    with pytest.raises(ValueError, match="bool mask"):
        Detection("cat", 0.5, (0, 0, 2, 2), mask.astype(np.uint8))


def test_box_from_corners_covers_touched_pixels_and_stays_inside():
    assert box_from_corners(1.2, 2.0, 3.5, 4.0, 10, 10) == (1, 2, 4, 4)
    assert box_from_corners(-3.0, -1.0, 12.7, 10.2, 10, 8) == (0, 0, 10, 8)
    assert box_from_corners(9.6, 7.9, 9.8, 7.95, 10, 8) == (9, 7, 10, 8)  # a sliver keeps one pixel


def test_the_servers_default_segmenter_is_registered():
    from inference_server.config import DEFAULT_SEGMENTER

    assert segmenter_class(DEFAULT_SEGMENTER) is MaskRCNNSegmenter
