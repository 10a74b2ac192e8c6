"""Shared fixtures. The server's modules are imported inside the fixtures that need them, so the tests that need no
server (tests/test_cuda.py on a GPU machine, say) also run where the gRPC code is not generated."""
from __future__ import annotations

import pytest

from inference_server.device import choose_device

TEST_MAX_PIXELS = 128 * 128
TEST_MAX_QUEUED_JOBS = 2


@pytest.fixture(scope="module")
def server_address():
    """A real server on a free loopback port, CPU, with small limits so the limit checks are cheap to reach."""
    from inference_server.config import ServerConfig
    from inference_server.service.server import create_server

    config = ServerConfig(port=0, device="cpu", max_pixels=TEST_MAX_PIXELS, max_queued_jobs=TEST_MAX_QUEUED_JOBS)
    server, port = create_server(config, choose_device("cpu"))
    yield f"127.0.0.1:{port}"
    server.stop(grace=None)


@pytest.fixture
def stub(server_address):
    import grpc

    from inference_server.service.server import message_size_options
    from semantic_edit.v1 import semantic_edit_pb2_grpc as pb_grpc

    channel = grpc.insecure_channel(server_address, options=message_size_options(64 * 2**20))
    yield pb_grpc.SemanticEditStub(channel)
    channel.close()


DETECTION_SIZE = 64  # the rigged checkpoint's servers look at images this small: a detection takes about a second


@pytest.fixture(scope="session")
def rigged_weights(tmp_path_factory):
    """A Mask R-CNN checkpoint with a known answer (segmentation_checkpoints.py), written once per test run."""
    from segmentation_checkpoints import write_rigged_checkpoint

    return write_rigged_checkpoint(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def detection_server_address(rigged_weights):
    """A real server with the rigged segmentation model loaded, CPU, small limits."""
    from inference_server.config import ServerConfig
    from inference_server.service.server import create_server

    config = ServerConfig(port=0, device="cpu", max_pixels=TEST_MAX_PIXELS, weights=rigged_weights,
                          detection_size=DETECTION_SIZE)
    server, port = create_server(config, choose_device("cpu"))
    yield f"127.0.0.1:{port}"
    server.stop(grace=None)


SCENE_SIZE = 96


@pytest.fixture(scope="session")
def two_object_scene():
    """A synthetic scene at SCENE_SIZE px, the first from seed 7 whose objects 0 (to edit) and 1 (a reference) are
    clearly visible and at least 10 px wide."""
    from inference_server.scenes import random_scene, render_scene

    for seed in range(7, 60):
        rendered = render_scene(random_scene(seed, num_objects=(3, 4)), SCENE_SIZE, SCENE_SIZE)
        if rendered.visible_fraction[:2].min() > 0.9 and (rendered.boxes[:2, 2] - rendered.boxes[:2, 0]).min() >= 10:
            return rendered
    raise RuntimeError("no scene with two clear objects")


@pytest.fixture(scope="session")
def replaced():
    """The generator's ground truth of a yellow cube replacing a clearly visible sphere (same size, same place) at
    SCENE_SIZE px."""
    from inference_server.scenes import edit_replace, random_scene, render_edit

    for seed in range(3, 60):
        spec = random_scene(seed, num_objects=(2, 3))
        if spec.objects[0].shape != "sphere":
            continue
        pair = render_edit(edit_replace(spec, 0, shape="cube", colour="yellow"), SCENE_SIZE, SCENE_SIZE)
        if pair.before.visible_fraction[0] > 0.95 and pair.after.visible_fraction[0] > 0.95 and \
                pair.before.boxes[0, 2] - pair.before.boxes[0, 0] >= 12:
            return pair
    raise RuntimeError("no scene with a clear sphere")


@pytest.fixture(scope="session")
def added():
    """The generator's ground truth of a small green cube added left of a scene's object 0, at SCENE_SIZE px."""
    from inference_server.scenes import LayoutError, edit_add, random_scene, render_edit
    from inference_server.scenes.scene_spec import SIZES, SceneObject

    for seed in range(3, 60):
        spec = random_scene(seed, num_objects=(2, 3))
        try:
            edit = edit_add(spec, SceneObject("cube", "green", "matte", SIZES["small"]), [("left of", 0)],
                            seed=seed)
        except LayoutError:
            continue
        pair = render_edit(edit, SCENE_SIZE, SCENE_SIZE)
        if pair.after.visible_fraction[-1] > 0.95 and pair.after.boxes[-1, 2] - pair.after.boxes[-1, 0] >= 8:
            return pair
    raise RuntimeError("no scene to add to")
