"""A real server on a loopback port: removal, progress, errors, the queue bound, and cancellation."""
from __future__ import annotations

import threading
import time

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from conftest import TEST_MAX_PIXELS, TEST_MAX_QUEUED_JOBS
from inference_server.pipeline.masks import bounding_region, dilate
from semantic_edit.v1 import semantic_edit_pb2 as pb
from semantic_edit.v1 import semantic_edit_pb2_grpc as pb_grpc
from synthetic_images import DISC_COLOUR, disc_scene

RPC_TIMEOUT = 120


def remove_request(image: np.ndarray, mask: np.ndarray, **options) -> pb.EditRequest:
    height, width, channels = image.shape
    fmt = pb.PIXEL_FORMAT_RGBA8 if channels == 4 else pb.PIXEL_FORMAT_RGB8
    return pb.EditRequest(
        image=pb.Image(width=width, height=height, format=fmt, data=image.tobytes()),
        remove=pb.RemoveEdit(target=pb.Target(mask=pb.Mask(width=width, height=height,
                                                           data=mask.astype(np.uint8).tobytes()))),
        options=pb.EditOptions(**{"quality": "fast", "iterations": 3, **options}))


def run_edit(stub, request) -> tuple[list[pb.Progress], pb.EditResult]:
    progress, results = [], []
    for event in stub.Edit(request, timeout=RPC_TIMEOUT):
        (results if event.HasField("result") else progress).append(
            event.result if event.HasField("result") else event.progress)
    assert len(results) == 1, "the stream must end with exactly one result"
    return progress, results[0]


def test_remove_fills_the_hole_with_background(stub):
    image, mask, background = disc_scene(64, radius=12)
    progress, result = run_edit(stub, remove_request(image, mask, iterations=60, dilation_px=2))

    r = result.region
    hole = dilate(mask, 2)
    box = bounding_region(hole)
    assert (r.x, r.y, r.width, r.height) == tuple(box)
    assert result.dilation_px == 2 and result.iterations == 60
    patch = np.frombuffer(result.patch.data, np.uint8).reshape(r.height, r.width, 3)
    full = image.copy()
    full[box.slices] = patch
    assert np.array_equal(full[~hole], image[~hole])
    filled = full[mask].astype(float).mean(axis=0)
    to_background = np.linalg.norm(filled - background[mask].astype(float).mean(axis=0))
    to_disc = np.linalg.norm(filled - np.array(DISC_COLOUR, float))
    assert to_background < 0.2 * to_disc, (filled, to_background, to_disc)

    masks = {m.name: np.frombuffer(m.data, np.uint8).reshape(m.region.height, m.region.width) for m in result.masks}
    assert np.array_equal(masks["object"] == 255, mask[box.slices])
    assert np.array_equal(masks["hole"] == 255, hole[box.slices])
    assert {t.stage for t in result.timings} == {"prepare", "inpaint", "composite"}


@pytest.mark.parametrize("keep_shadow", [False, True])
def test_remove_takes_the_cast_shadow_unless_asked_to_keep_it(stub, keep_shadow):
    from inference_server.scenes.layout import random_scene
    from inference_server.scenes.renderer import render_scene

    spec = random_scene(5)
    scene = render_scene(spec, 128, 128)
    mask = scene.object_masks[0]
    shadow = scene.shadow_masks[0] & ~mask
    _, result = run_edit(stub, remove_request(scene.image, mask, keep_shadow=keep_shadow))
    r = result.region
    masks = {m.name: np.frombuffer(m.data, np.uint8).reshape(r.height, r.width) == 255 for m in result.masks}
    full = scene.image.copy()
    full[r.y:r.y + r.height, r.x:r.x + r.width] = np.frombuffer(result.patch.data, np.uint8).reshape(r.height,
                                                                                                  r.width, 3)
    if keep_shadow:
        assert set(masks) == {"object", "hole"}
        assert np.array_equal(full[shadow], scene.image[shadow])  # the shadow is left as it was
    else:
        assert set(masks) == {"object", "hole", "shadow"}
        found = np.zeros(mask.shape, bool)
        found[r.y:r.y + r.height, r.x:r.x + r.width] = masks["shadow"]
        assert (found & shadow).sum() > 0.7 * shadow.sum()
        assert full[shadow].astype(float).mean() > scene.image[shadow].astype(float).mean() + 10  # lit again


@pytest.mark.parametrize("fill", [pb.FILL_METHOD_SYNTHESIS, pb.FILL_METHOD_DIP])
def test_progress_events_arrive_in_order(stub, fill):
    image, mask, _ = disc_scene(64)
    progress, _ = run_edit(stub, remove_request(image, mask, iterations=5, fill=fill))
    stages = [p.stage for p in progress]
    assert stages[0] == "queued"
    order = ["queued", "prepare", "inpaint", "composite"]
    assert [s for i, s in enumerate(stages) if i == 0 or stages[i - 1] != s] == order
    inpaint = [p for p in progress if p.stage == "inpaint"]
    steps, totals = [p.step for p in inpaint], {p.total for p in inpaint}
    assert steps == sorted(steps) and len(totals) == 1 and steps[-1] == totals.pop()
    if fill == pb.FILL_METHOD_DIP:
        assert steps[-1] == 5  # one step per DIP iteration
    else:
        assert steps[-1] > 5  # the structure, then 5 EM iterations per pyramid level


def test_rgba_alpha_comes_back_unchanged(stub):
    image, mask, _ = disc_scene(64)
    alpha = np.full((64, 64, 1), 200, np.uint8)
    alpha[:, :8] = 0
    rgba = np.concatenate([image, alpha], axis=2)
    _, result = run_edit(stub, remove_request(rgba, mask))
    assert result.patch.format == pb.PIXEL_FORMAT_RGBA8
    r = result.region
    patch = np.frombuffer(result.patch.data, np.uint8).reshape(r.height, r.width, 4)
    assert np.array_equal(patch[..., 3], rgba[r.y:r.y + r.height, r.x:r.x + r.width, 3])


def test_same_seed_same_pixels_other_seed_other_pixels(stub):
    image, mask, _ = disc_scene(64)
    patches = [run_edit(stub, remove_request(image, mask, seed=seed))[1].patch.data for seed in (7, 7, 8)]
    assert patches[0] == patches[1]
    assert patches[0] != patches[2]


def _bad_requests():
    image, mask, _ = disc_scene(32, radius=6)
    good = remove_request(image, mask)

    def changed(edit):
        request = pb.EditRequest()
        request.CopyFrom(good)
        edit(request)
        return request

    big = np.zeros((TEST_MAX_PIXELS // 100 + 1, 100, 3), np.uint8)
    big_mask = np.zeros(big.shape[:2], bool)
    big_mask[5, 5] = True
    return {
        "byte count": (changed(lambda r: setattr(r.image, "data", r.image.data[:-1])), "bytes but a 32x32 RGB8"),
        "zero size": (changed(lambda r: setattr(r.image, "width", 0)), "at least 1 px"),
        "over the limit": (remove_request(big, big_mask), "over this server's limit"),
        "mask size": (changed(lambda r: setattr(r.remove.target.mask, "width", 31)),
                      "the mask is 31x32 but the image is 32x32"),
        "mask bytes": (changed(lambda r: setattr(r.remove.target.mask, "data", b"\x01" * 5)), "one byte per pixel"),
        "empty mask": (changed(lambda r: setattr(r.remove.target.mask, "data", bytes(32 * 32))), "mask is empty"),
        "whole image": (changed(lambda r: setattr(r.remove.target.mask, "data", b"\xff" * 32 * 32)),
                        "covers the whole image"),
        "NaN weight": (changed(lambda r: setattr(r.options, "guidance_weight", float("nan"))), "guidance weight"),
        "negative weight": (changed(lambda r: setattr(r.options, "guidance_weight", -1.0)), "guidance weight"),
        "negative dilation": (changed(lambda r: setattr(r.options, "dilation_px", -5)), "dilation must be"),
        "huge dilation": (changed(lambda r: setattr(r.options, "dilation_px", 9999)), "dilation must be"),
        "too many iterations": (changed(lambda r: setattr(r.options, "iterations", 10**6)), "iterations must be"),
        "unknown preset": (changed(lambda r: setattr(r.options, "quality", "ultra")),
                           "unknown quality preset 'ultra'; use one of: fast, balanced, best"),
        "unknown format": (changed(lambda r: setattr(r.image, "format", 9)), "unknown pixel format"),
        "unknown guidance mode": (changed(lambda r: setattr(r.options, "guidance_mode", 7)), "unknown guidance mode"),
        "unknown guidance statistic": (changed(lambda r: setattr(r.options, "guidance_statistic", 9)),
                                       "unknown guidance statistic"),
        "no edit": (pb.EditRequest(image=good.image), "names no edit"),
        "no target": (changed(lambda r: r.remove.target.ClearField("mask")), "needs a target"),
    }


@pytest.mark.parametrize("case", list(_bad_requests()))
def test_bad_input_is_invalid_argument_with_a_sentence(stub, case):
    request, phrase = _bad_requests()[case]
    with pytest.raises(grpc.RpcError) as caught:
        run_edit(stub, request)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert phrase in caught.value.details()


def test_server_still_serves_after_bad_input(stub):
    for request, _ in _bad_requests().values():
        with pytest.raises(grpc.RpcError):
            run_edit(stub, request)
    image, mask, _ = disc_scene(32, radius=6)
    _, result = run_edit(stub, remove_request(image, mask))
    assert result.region.width > 0
    assert stub.GetInfo(pb.GetInfoRequest(), timeout=10).version


def test_get_info_health_and_reflection(server_address, stub):
    info = stub.GetInfo(pb.GetInfoRequest(), timeout=10)
    assert info.device.kind == "cpu" and info.device.name
    assert list(info.edits) == ["remove", "move", "replace", "add", "recolor"]
    assert list(info.quality_presets) == ["fast", "balanced", "best"]
    assert info.limits.max_pixels == TEST_MAX_PIXELS
    assert info.limits.max_queued_jobs == TEST_MAX_QUEUED_JOBS
    with grpc.insecure_channel(server_address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "semantic_edit.v1.SemanticEdit"):
            status = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10).status
            assert status == health_pb2.HealthCheckResponse.SERVING
        reflect = reflection_pb2_grpc.ServerReflectionStub(channel)
        answer = next(reflect.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
                                                   timeout=10))
        names = {s.name for s in answer.list_services_response.service}
        assert {"semantic_edit.v1.SemanticEdit", "grpc.health.v1.Health"} <= names


def _start_long_job(server_address):
    """Starts a long removal on its own channel; returns (channel, call, event set once the fit runs)."""
    image, mask, _ = disc_scene(64)
    channel = grpc.insecure_channel(server_address)
    call = pb_grpc.SemanticEditStub(channel).Edit(remove_request(image, mask, iterations=5000), timeout=RPC_TIMEOUT)
    fitting = threading.Event()

    def read():
        try:
            for event in call:
                if event.progress.stage == "inpaint":
                    fitting.set()
        except grpc.RpcError:
            pass

    threading.Thread(target=read, daemon=True).start()
    return channel, call, fitting


def test_a_disconnected_client_frees_the_worker_within_a_second(server_address, stub):
    channel, _, fitting = _start_long_job(server_address)
    assert fitting.wait(60), "the long job never started fitting"
    channel.close()  # the client goes away mid-job
    gone = time.monotonic()
    image, mask, _ = disc_scene(32, radius=6)
    started_at = None
    for event in stub.Edit(remove_request(image, mask), timeout=RPC_TIMEOUT):
        if started_at is None and event.progress.stage == "prepare":
            started_at = time.monotonic()
    assert started_at is not None
    assert started_at - gone < 1.0, f"the next job started {started_at - gone:.2f} s after the disconnect"


def test_a_full_queue_answers_resource_exhausted_then_recovers(server_address, stub):
    jobs = [_start_long_job(server_address)]
    assert jobs[0][2].wait(60)
    image, mask, _ = disc_scene(32, radius=6)
    waiting = []
    for _ in range(TEST_MAX_QUEUED_JOBS):  # fill the queue behind the running job
        channel = grpc.insecure_channel(server_address)
        call = pb_grpc.SemanticEditStub(channel).Edit(remove_request(image, mask), timeout=RPC_TIMEOUT)
        assert next(call).progress.stage == "queued"
        waiting.append((channel, call))
    with pytest.raises(grpc.RpcError) as caught:
        run_edit(stub, remove_request(image, mask))
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "try again" in caught.value.details()
    for channel, call in waiting:
        call.cancel()
        channel.close()
    jobs[0][0].close()
    _, result = run_edit(stub, remove_request(image, mask))  # the server recovers
    assert result.region.width > 0


@pytest.mark.parametrize("fill", [pb.FILL_METHOD_SYNTHESIS, pb.FILL_METHOD_DIP])
def test_the_largest_seed_a_request_can_carry_works(stub, fill):
    image, mask, _ = disc_scene(32, radius=6)
    progress, result = run_edit(stub, remove_request(image, mask, seed=2 ** 64 - 1, fill=fill, iterations=2))
    assert result.region.width > 0 and progress[-1].stage == "composite"


@pytest.mark.parametrize("method, streaming", [("Edit", True), ("GetInfo", False), ("DetectObjects", False)])
@pytest.mark.parametrize("data", [b"\xff\xff\xff", b"\x0a\x05ab", bytes(range(256))])
def test_bytes_that_are_no_request_are_the_clients_error(server_address, method, streaming, data):
    with grpc.insecure_channel(server_address) as channel:
        path = f"/semantic_edit.v1.SemanticEdit/{method}"
        call = channel.unary_stream(path) if streaming else channel.unary_unary(path)
        with pytest.raises(grpc.RpcError) as refused:
            answer = call(data, timeout=RPC_TIMEOUT)
            if streaming:
                list(answer)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert f"the {method} request could not be read" in refused.value.details()
        assert "semantic_edit.proto" in refused.value.details()
        info = pb_grpc.SemanticEditStub(channel).GetInfo(pb.GetInfoRequest(), timeout=RPC_TIMEOUT)
        assert "remove" in info.edits  # still serving


def test_a_huge_quality_name_is_cut_in_the_error(stub):
    image, mask, _ = disc_scene(32, radius=6)
    with pytest.raises(grpc.RpcError) as refused:
        run_edit(stub, remove_request(image, mask, quality="x" * 100_000))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "unknown quality preset 'xxxx" in refused.value.details()
    assert "(100,000 characters)" in refused.value.details() and len(refused.value.details()) < 300


@pytest.mark.parametrize("field", ["fill", "guidance_mode", "guidance_statistic"])
def test_an_unknown_enum_value_is_refused_with_a_sentence(stub, field):
    image, mask, _ = disc_scene(32, radius=6)
    with pytest.raises(grpc.RpcError) as refused:
        run_edit(stub, remove_request(image, mask, **{field: 99}))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "99" in refused.value.details()


def test_an_unknown_pixel_format_is_refused_with_a_sentence(stub):
    image, mask, _ = disc_scene(32, radius=6)
    request = remove_request(image, mask)
    request.image.format = 77
    with pytest.raises(grpc.RpcError) as refused:
        run_edit(stub, request)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_get_info_names_no_folder_of_the_server(stub):
    from pathlib import Path

    from inference_server.service.servicer import without_folders

    info = stub.GetInfo(pb.GetInfoRequest(), timeout=RPC_TIMEOUT)
    repository = str(Path(__file__).resolve().parents[1])
    for model in info.models:
        assert repository not in model.detail and str(Path.home()) not in model.detail, model.detail
    assert "position_lstm.pth" in [m.detail for m in info.models if m.name == "position-lstm"][0]
    shadow = [m for m in info.models if m.name == "shadow-unet"][0]
    assert shadow.available and "shadow_unet.pth" in shadow.detail and "/" not in shadow.detail  # no paths told
    assert without_folders("weights /srv/models/x.pth missing; run ./install.sh and/or --weights C:\\m\\y.pth") == \
        "weights x.pth missing; run ./install.sh and/or --weights y.pth"


def test_largest_reply_is_the_image_and_every_mask_at_full_size():
    from inference_server.pipeline.edit_spec import EditSpec, TargetSpec
    from inference_server.pipeline.move import MoveOptions
    from inference_server.pipeline.options import RemoveOptions
    from inference_server.service.reply_size import REPLY_OVERHEAD_BYTES, largest_result_bytes

    rgba = np.zeros((50, 100, 4), np.uint8)
    mask = np.zeros((50, 100), bool)
    assert largest_result_bytes(EditSpec("remove", rgba, RemoveOptions(), target=TargetSpec(mask=mask))) == \
        5000 * (4 + 3) + REPLY_OVERHEAD_BYTES  # RGBA patch + object, hole, shadow
    assert largest_result_bytes(EditSpec("move", rgba[..., :3], MoveOptions(), target=TargetSpec(mask=mask))) == \
        5000 * (3 + 5) + REPLY_OVERHEAD_BYTES  # + placed and placed shadow


def test_an_answer_too_large_to_send_is_refused_before_any_work():
    from inference_server.config import ServerConfig
    from inference_server.device import choose_device
    from inference_server.service.server import create_server, message_size_options

    config = ServerConfig(port=0, device="cpu", max_pixels=400 * 400, max_message_bytes=2 ** 20)
    server, port = create_server(config, choose_device("cpu"))
    channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=message_size_options(2 ** 20))
    try:
        small = pb_grpc.SemanticEditStub(channel)
        image = np.full((400, 400, 3), 120, np.uint8)
        mask = np.zeros((400, 400), bool)
        mask[150:200, 150:200] = True
        reference = np.zeros((400, 400), bool)
        reference[150:200, 300:350] = True
        target = pb.Target(mask=pb.Mask(width=400, height=400, data=mask.astype(np.uint8).tobytes()))
        move = pb.MoveEdit(target=target, relations=[pb.PlacementRelation(
            predicate="left of", reference=pb.Target(mask=pb.Mask(width=400, height=400,
                                                                 data=reference.astype(np.uint8).tobytes())))])
        request = pb.EditRequest(image=pb.Image(width=400, height=400, format=pb.PIXEL_FORMAT_RGB8,
                                                data=image.tobytes()), move=move)
        started = time.perf_counter()
        with pytest.raises(grpc.RpcError) as refused:
            list(small.Edit(request, timeout=RPC_TIMEOUT))
        assert refused.value.code() == grpc.StatusCode.OUT_OF_RANGE
        assert "--max-message-mb 2" in refused.value.details() and "1 MB" in refused.value.details()
        assert "at most 0.1 megapixels" in refused.value.details()  # (1 MiB - 64 KiB) / 8 bytes a pixel
        assert time.perf_counter() - started < 5  # refused up front, not after the edit
        _, result = run_edit(small, remove_request(image[:64, :64], np.eye(64, dtype=bool)))
        assert result.region.width > 0  # an answer that fits is served by the same server
    finally:
        channel.close()
        server.stop(grace=None)


def test_calls_beyond_the_in_flight_budget_are_refused_before_they_are_read():
    from inference_server.config import ServerConfig
    from inference_server.device import choose_device
    from inference_server.service.server import create_server, message_size_options

    config = ServerConfig(port=0, device="cpu", max_pixels=64 * 64, max_message_bytes=2 ** 20,
                          max_inflight_bytes=2 * 2 ** 20)  # room for two of the largest messages at once
    assert config.max_concurrent_calls == 2
    server, port = create_server(config, choose_device("cpu"))
    channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=message_size_options(2 ** 20))
    try:
        busy = pb_grpc.SemanticEditStub(channel)
        image, mask, _ = disc_scene(64, radius=10)
        slow = remove_request(image, mask, fill=pb.FILL_METHOD_DIP, iterations=20000)
        streams = [busy.Edit(slow, timeout=RPC_TIMEOUT) for _ in range(2)]
        for stream in streams:
            next(stream)  # both calls are in: queued / running
        with pytest.raises(grpc.RpcError) as refused:
            busy.GetInfo(pb.GetInfoRequest(), timeout=RPC_TIMEOUT)
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        for stream in streams:
            stream.cancel()
        deadline = time.monotonic() + 30
        while True:  # the slots free up once the cancelled calls end
            try:
                assert busy.GetInfo(pb.GetInfoRequest(), timeout=RPC_TIMEOUT).edits
                break
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and time.monotonic() < deadline
                time.sleep(0.2)
    finally:
        channel.close()
        server.stop(grace=None)
