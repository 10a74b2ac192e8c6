""""Remove the red cube" end to end with real detections: a server running the shipped scene segmenter
(weights/scene_segmenter/, trained by training/train_scene_segmenter.py) removes an object named by its class from a
held-out synthetic scene, and the result is compared with the generator's ground truth (the scene rendered without it).
"""
from __future__ import annotations

import grpc
import numpy as np
import pytest

from conftest import TEST_MAX_PIXELS
from inference_server.config import ServerConfig
from inference_server.scenes import edit_remove, random_scene, render_edit
from inference_server.segmentation.scene_maskrcnn import NAME
from inference_server.service.server import create_server
from semantic_edit.v1 import semantic_edit_pb2 as pb
from semantic_edit.v1 import semantic_edit_pb2_grpc as pb_grpc
from test_service import run_edit

SIZE = 128
SEEDS = range(40, 80)  # evaluation seeds (the training set starts at 1_000_000)


@pytest.fixture(scope="module")
def stub():
    server, port = create_server(ServerConfig(port=0, device="cpu", max_pixels=TEST_MAX_PIXELS, segmenter=NAME))
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    yield pb_grpc.SemanticEditStub(channel)
    channel.close()
    server.stop(grace=None)


def scene_with_a_unique_clear_object(seed_range):
    """The first held-out scene with an object whose class occurs once, mostly visible and at least 14 px wide."""
    for seed in seed_range:
        spec = random_scene(seed, num_objects=(3, 5))
        for index in range(len(spec.objects)):
            pair = render_edit(edit_remove(spec, index), SIZE, SIZE)
            scene = pair.before
            width = scene.boxes[index, 2] - scene.boxes[index, 0]
            if scene.classes.count(scene.classes[index]) == 1 and scene.visible_fraction[index] > 0.9 and width >= 14:
                return seed, index, pair
    raise RuntimeError("no suitable scene in the seed range")


def proto_image(image: np.ndarray) -> pb.Image:
    return pb.Image(width=image.shape[1], height=image.shape[0], format=pb.PIXEL_FORMAT_RGB8, data=image.tobytes())


def test_the_server_reports_the_scene_classes(stub):
    segmentation = next(m for m in stub.GetInfo(pb.GetInfoRequest()).models if m.task == "segmentation")
    assert segmentation.available and segmentation.name == NAME
    assert len(segmentation.classes) == 24 and "red cube" in segmentation.classes


def test_detect_finds_the_scenes_objects(stub):
    _, _, pair = scene_with_a_unique_clear_object(SEEDS)
    scene = pair.before
    graph = stub.DetectObjects(pb.DetectRequest(image=proto_image(scene.image)), timeout=60)
    found = sorted(o.class_name for o in graph.objects)
    clear = sorted(scene.classes[i] for i in range(len(scene.classes)) if scene.visible_fraction[i] > 0.9)
    assert set(clear) <= set(found), (found, clear)


def test_remove_by_class_name_matches_the_ground_truth(stub):
    seed, index, pair = scene_with_a_unique_clear_object(SEEDS)
    before, after = pair.before.image, pair.after.image
    name = pair.before.classes[index]
    request = pb.EditRequest(image=proto_image(before),
                             remove=pb.RemoveEdit(target=pb.Target(class_target=pb.ClassTarget(name=name))),
                             options=pb.EditOptions(quality="fast", iterations=120))
    _, result = run_edit(stub, request)
    assert len(result.object_ids) == 1

    r = result.region
    object_mask = np.zeros((SIZE, SIZE), bool)
    found = next(m for m in result.masks if m.name == "object")
    object_mask[r.y:r.y + r.height, r.x:r.x + r.width] = np.frombuffer(found.data, np.uint8).reshape(
        r.height, r.width) == 255
    truth = pair.before.object_masks[index]
    iou = (object_mask & truth).sum() / (object_mask | truth).sum()
    assert iou > 0.6, f"scene {seed}: the '{name}' found overlaps the true one by IoU {iou:.2f}"

    edited = before.copy()
    edited[r.y:r.y + r.height, r.x:r.x + r.width] = np.frombuffer(result.patch.data, np.uint8).reshape(
        r.height, r.width, 3)
    error_before = np.abs(before.astype(float) - after)[truth].mean()
    error_after = np.abs(edited.astype(float) - after)[truth].mean()
    assert error_after < 0.5 * error_before, (seed, name, error_before, error_after)
