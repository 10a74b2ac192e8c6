"""Edits by object: DetectObjects, and Edit targets by id, class, class + hint box and hint box, on a real server.

The server loads a checkpoint written by the test (segmentation_checkpoints.py: every proposal is a 'person' at a
known score, masks fill their box), at detection size 64. What it answers through the API is compared with what the
same model answers in-process, and the targets with independent rules (left to right, IoU). A second server has no
weights: class targets answer FAILED_PRECONDITION and mask targets keep working.
"""
from __future__ import annotations

from pathlib import Path

import grpc
import numpy as np
import pytest
import torch

from conftest import DETECTION_SIZE, TEST_MAX_PIXELS
from inference_server.config import ServerConfig
from inference_server.pipeline.detect import DetectionSettings, detect_objects
from inference_server.pipeline.masks import dilate
from inference_server.scene_graph.relations import extract_relations
from inference_server.segmentation.registry import load_segmenter
from inference_server.service.server import create_server
from segmentation_checkpoints import PERSON_SCORE
from semantic_edit.v1 import semantic_edit_pb2 as pb
from semantic_edit.v1 import semantic_edit_pb2_grpc as pb_grpc
from synthetic_images import textured_background
from test_service import remove_request, run_edit

MAX_OBJECTS = 4
HEIGHT, WIDTH = 60, 72
RPC_TIMEOUT = 120
MISSING_WEIGHTS = Path("/nonexistent/semantic-edit-test/weights.pth")


@pytest.fixture(scope="module")
def stub(detection_server_address):
    channel = grpc.insecure_channel(detection_server_address)
    yield pb_grpc.SemanticEditStub(channel)
    channel.close()


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return textured_background(HEIGHT, WIDTH, seed=5)


@pytest.fixture(scope="module")
def local_detections(rigged_weights, image):
    """What the same model answers in this process, with the options the API calls use."""
    segmenter = load_segmenter("maskrcnn_resnet50_fpn_v2", torch.device("cpu"), weights_path=rigged_weights,
                               detection_size=DETECTION_SIZE)
    return detect_objects(segmenter, image, DetectionSettings(max_objects=MAX_OBJECTS))


@pytest.fixture(scope="module")
def graph(stub, image) -> pb.SceneGraph:
    return stub.DetectObjects(detect_request(image), timeout=RPC_TIMEOUT)


def proto_image(image: np.ndarray) -> pb.Image:
    return pb.Image(width=image.shape[1], height=image.shape[0], format=pb.PIXEL_FORMAT_RGB8, data=image.tobytes())


def detect_request(image: np.ndarray, **detection) -> pb.DetectRequest:
    return pb.DetectRequest(image=proto_image(image),
                            detection=pb.DetectionOptions(**{"max_objects": MAX_OBJECTS, **detection}))


def edit_request(image: np.ndarray, target: pb.Target, **options) -> pb.EditRequest:
    if not target.HasField("detection"):
        target.detection.CopyFrom(pb.DetectionOptions(max_objects=MAX_OBJECTS))
    return pb.EditRequest(image=proto_image(image), remove=pb.RemoveEdit(target=target),
                          options=pb.EditOptions(**{"quality": "fast", "iterations": 3, "dilation_px": 1, **options}))


def full_mask(region_mask: pb.RegionMask) -> np.ndarray:
    mask = np.zeros((HEIGHT, WIDTH), bool)
    r = region_mask.region
    mask[r.y:r.y + r.height, r.x:r.x + r.width] = (
        np.frombuffer(region_mask.data, np.uint8).reshape(r.height, r.width) == 255)
    return mask


def box_of(obj: pb.DetectedObject) -> tuple[int, int, int, int]:
    return obj.box.x, obj.box.y, obj.box.x + obj.box.width, obj.box.y + obj.box.height


def left_to_right(objects) -> list[int]:
    return [o.id for o in sorted(objects, key=lambda o: (o.box.x + o.box.width / 2, o.box.y + o.box.height / 2,
                                                         -o.score, o.id))]


def assert_result_is_the_objects_removal(result: pb.EditResult, image: np.ndarray, object_mask: np.ndarray):
    masks = {m.name: full_mask(m) for m in result.masks}
    assert np.array_equal(masks["object"], object_mask)
    r = result.region
    edited = image.copy()
    edited[r.y:r.y + r.height, r.x:r.x + r.width] = np.frombuffer(result.patch.data, np.uint8).reshape(
        r.height, r.width, 3)
    hole = dilate(object_mask, result.dilation_px)
    assert np.array_equal(edited[~hole], image[~hole])
    assert not np.array_equal(edited[object_mask], image[object_mask])


def test_get_info_lists_the_segmentation_model_and_its_classes(stub):
    models = {m.task: m for m in stub.GetInfo(pb.GetInfoRequest()).models}
    segmentation = models["segmentation"]
    assert segmentation.available and segmentation.name == "maskrcnn_resnet50_fpn_v2"
    assert len(segmentation.classes) == 80 and "person" in segmentation.classes and "N/A" not in segmentation.classes


def test_detect_answers_what_the_model_finds_with_masks_instances_and_relations(graph, local_detections):
    assert graph.model == "maskrcnn_resnet50_fpn_v2" and graph.seconds > 0
    assert len(graph.objects) == len(local_detections) == MAX_OBJECTS
    for i, (obj, detection) in enumerate(zip(graph.objects, local_detections)):
        assert obj.id == i and obj.class_name == detection.class_name == "person"
        assert obj.score == pytest.approx(PERSON_SCORE, abs=1e-5)
        assert box_of(obj) == detection.box
        assert obj.mask.name == "object" and np.array_equal(full_mask(obj.mask), detection.mask)
    # instance numbers count the persons from the left, from 1
    assert [graph.objects[i].instance for i in left_to_right(graph.objects)] == [1, 2, 3, 4]
    relations = [(r.subject_id, r.predicate, r.reference_id) for r in graph.relations]
    assert relations == [(r.subject, r.predicate, r.reference) for r in extract_relations(local_detections)]
    assert relations, "four overlapping boxes must have relations"
    assert all(r.subject_id != r.reference_id for r in graph.relations)


def test_detect_is_deterministic_and_max_objects_keeps_the_best(stub, image, graph):
    again = stub.DetectObjects(detect_request(image), timeout=RPC_TIMEOUT)
    assert [(box_of(o), o.class_name, o.mask.data) for o in again.objects] == \
        [(box_of(o), o.class_name, o.mask.data) for o in graph.objects]
    fewer = stub.DetectObjects(detect_request(image, max_objects=2), timeout=RPC_TIMEOUT)
    assert [box_of(o) for o in fewer.objects] == [box_of(o) for o in graph.objects[:2]]


def test_remove_by_class_and_instance_takes_the_nth_from_the_left(stub, image, graph):
    second = left_to_right(graph.objects)[1]
    progress, result = run_edit(stub, edit_request(image, pb.Target(class_target=pb.ClassTarget(name="Person:2"))))
    assert list(result.object_ids) == [second]
    assert_result_is_the_objects_removal(result, image, full_mask(graph.objects[second].mask))
    stages = [p.stage for p in progress]
    assert stages.index("detect") < stages.index("prepare") < stages.index("inpaint")


def test_remove_by_class_alone_takes_every_instance(stub, image, graph):
    _, result = run_edit(stub, edit_request(image, pb.Target(class_target=pb.ClassTarget(name="person"))))
    assert list(result.object_ids) == [0, 1, 2, 3]
    union = np.logical_or.reduce([full_mask(o.mask) for o in graph.objects])
    assert_result_is_the_objects_removal(result, image, union)


def test_remove_by_object_ids_takes_their_union(stub, image, graph):
    _, result = run_edit(stub, edit_request(image, pb.Target(object_ids=pb.ObjectIds(ids=[3, 1]))))
    assert list(result.object_ids) == [1, 3]
    assert_result_is_the_objects_removal(result, image, full_mask(graph.objects[1].mask) | full_mask(graph.objects[3].mask))


@pytest.mark.parametrize("with_class", [False, True])
def test_a_hint_box_takes_the_object_it_overlaps_most(stub, image, graph, with_class):
    chosen = graph.objects[2]
    hint = pb.Region(x=chosen.box.x, y=chosen.box.y, width=chosen.box.width, height=chosen.box.height)  # IoU 1
    target = (pb.Target(class_target=pb.ClassTarget(name="person", hint_box=hint)) if with_class
              else pb.Target(hint_box=hint))
    _, result = run_edit(stub, edit_request(image, target))
    assert list(result.object_ids) == [2]
    assert_result_is_the_objects_removal(result, image, full_mask(chosen.mask))


@pytest.mark.parametrize("target, code, words", [
    (pb.Target(class_target=pb.ClassTarget(name="unicorn")), grpc.StatusCode.INVALID_ARGUMENT,
     ["does not know the class 'unicorn'", "person", "zebra"]),
    (pb.Target(class_target=pb.ClassTarget(name="cat")), grpc.StatusCode.NOT_FOUND, ["no 'cat' found", "found: person"]),
    (pb.Target(class_target=pb.ClassTarget(name="person:9")), grpc.StatusCode.INVALID_ARGUMENT,
     ["number 9", "4 'person' were found"]),
    (pb.Target(class_target=pb.ClassTarget(name="  ")), grpc.StatusCode.INVALID_ARGUMENT, ["class_target.name is empty"]),
    (pb.Target(object_ids=pb.ObjectIds(ids=[7])), grpc.StatusCode.INVALID_ARGUMENT, ["no object 7", "ids 0 to 3"]),
    (pb.Target(object_ids=pb.ObjectIds()), grpc.StatusCode.INVALID_ARGUMENT, ["object_ids is empty"]),
    (pb.Target(hint_box=pb.Region(x=5, y=5, width=0, height=4)), grpc.StatusCode.INVALID_ARGUMENT, ["0x4"]),
    (pb.Target(hint_box=pb.Region(x=500, y=500, width=9, height=9)), grpc.StatusCode.NOT_FOUND,
     ["no detected object overlaps"]),
    (pb.Target(class_target=pb.ClassTarget(name="person"), detection=pb.DetectionOptions(score_threshold=1.5)),
     grpc.StatusCode.INVALID_ARGUMENT, ["score threshold must be between 0 and 1"]),
    (pb.Target(class_target=pb.ClassTarget(name="person"), detection=pb.DetectionOptions(mask_threshold=float("nan"))),
     grpc.StatusCode.INVALID_ARGUMENT, ["mask threshold"]),
    (pb.Target(), grpc.StatusCode.INVALID_ARGUMENT, ["needs a target"]),
])
def test_bad_targets_get_a_status_and_a_sentence_and_the_server_keeps_serving(stub, image, target, code, words):
    with pytest.raises(grpc.RpcError) as raised:
        run_edit(stub, edit_request(image, target))
    assert raised.value.code() == code, raised.value.details()
    for word in words:
        assert word in raised.value.details()
    assert stub.GetInfo(pb.GetInfoRequest(), timeout=10).version


def test_bad_detect_options_are_invalid_argument(stub, image):
    for request in (detect_request(image, score_threshold=-0.1),
                    pb.DetectRequest(image=proto_image(image), relations=pb.RelationOptions(near_gap=-1)),
                    pb.DetectRequest(image=proto_image(image), relations=pb.RelationOptions(on_band=0)),
                    pb.DetectRequest(image=pb.Image(width=4, height=4, format=pb.PIXEL_FORMAT_RGB8, data=b"x"))):
        with pytest.raises(grpc.RpcError) as raised:
            stub.DetectObjects(request, timeout=RPC_TIMEOUT)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT, raised.value.details()


def test_without_weights_objects_are_a_failed_precondition_and_masks_still_work(stub, image):
    server, port = create_server(ServerConfig(port=0, device="cpu", max_pixels=TEST_MAX_PIXELS,
                                              weights=MISSING_WEIGHTS))
    try:
        plain = pb_grpc.SemanticEditStub(grpc.insecure_channel(f"127.0.0.1:{port}"))
        segmentation = next(m for m in plain.GetInfo(pb.GetInfoRequest()).models if m.task == "segmentation")
        assert not segmentation.available and "--weights" in segmentation.detail and not segmentation.classes
        for call in (lambda: plain.DetectObjects(detect_request(image), timeout=RPC_TIMEOUT),
                     lambda: run_edit(plain, edit_request(image, pb.Target(class_target=pb.ClassTarget(name="person"))))):
            with pytest.raises(grpc.RpcError) as raised:
                call()
            assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert "./install.sh --weights FILE" in raised.value.details()
        mask = np.zeros((HEIGHT, WIDTH), bool)
        mask[20:30, 20:34] = True
        _, result = run_edit(plain, remove_request(image, mask))
        assert (result.region.width, result.region.height) > (0, 0)
    finally:
        server.stop(grace=None)

