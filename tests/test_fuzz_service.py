"""Whatever a client sends, the server answers with a status that is the client's (never INTERNAL or UNKNOWN) and
keeps serving: property-based fuzzing of a real loopback server (hypothesis, derandomized so CI runs the same
1,000+ requests every time).

Four kinds of input: raw random bytes to every method; a valid request truncated at a random byte; a valid request
with random bytes overwritten; and well-formed requests with extreme field values (sizes, seeds, NaN and infinite
numbers, unknown enum values, long strings) for every edit kind.
"""
from __future__ import annotations

import math

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from semantic_edit.v1 import semantic_edit_pb2 as pb
from synthetic_images import disc_scene

CALL_TIMEOUT = 20  # s; the requests that are valid run small edits (32 px, few iterations)
CLIENT_CODES = {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.OUT_OF_RANGE,
                grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.RESOURCE_EXHAUSTED}
METHODS = {"GetInfo": False, "Edit": True, "DetectObjects": False}
FUZZ = settings(max_examples=260, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
EXTREME_INTS = [0, 1, 2, 31, 2**31 - 1, 2**32 - 1]
EXTREME_FLOATS = [0.0, -1.0, 0.5, 1.0, 2.0, 1e308, -1e308, math.inf, -math.inf, math.nan]


@pytest.fixture(scope="module")
def channel(server_address):
    with grpc.insecure_channel(server_address) as open_channel:
        yield open_channel


def _valid_request() -> pb.EditRequest:
    image, mask, _ = disc_scene(32, radius=6)
    return pb.EditRequest(
        image=pb.Image(width=32, height=32, format=pb.PIXEL_FORMAT_RGB8, data=image.tobytes()),
        remove=pb.RemoveEdit(target=pb.Target(mask=pb.Mask(width=32, height=32, data=mask.astype(np.uint8).tobytes()))),
        options=pb.EditOptions(quality="fast", iterations=2))


VALID = _valid_request().SerializeToString()


def _call(channel: grpc.Channel, method: str, data: bytes) -> grpc.StatusCode:
    """Sends `data` as the request of `method`; returns the status code the call ended with."""
    path = f"/semantic_edit.v1.SemanticEdit/{method}"
    try:
        if METHODS[method]:
            for _ in channel.unary_stream(path)(data, timeout=CALL_TIMEOUT):
                pass
        else:
            channel.unary_unary(path)(data, timeout=CALL_TIMEOUT)
    except grpc.RpcError as error:
        return error.code()
    return grpc.StatusCode.OK


def _assert_clients_status(code: grpc.StatusCode) -> None:
    assert code in CLIENT_CODES, f"the server answered {code}: a request a client can send must never be its fault"


@FUZZ
@given(method=st.sampled_from(sorted(METHODS)), data=st.binary(max_size=600))
def test_random_bytes(channel, method, data):
    _assert_clients_status(_call(channel, method, data))


@FUZZ
@given(cut=st.integers(min_value=0, max_value=len(VALID) - 1))
def test_truncated_requests(channel, cut):
    _assert_clients_status(_call(channel, "Edit", VALID[:cut]))


@FUZZ
@given(changes=st.lists(st.tuples(st.integers(min_value=0, max_value=len(VALID) - 1),
                                  st.integers(min_value=0, max_value=255)), min_size=1, max_size=8))
def test_overwritten_bytes(channel, changes):
    data = bytearray(VALID)
    for position, value in changes:
        data[position] = value
    _assert_clients_status(_call(channel, "Edit", bytes(data)))


def _with_extremes(draw) -> pb.EditRequest:
    request = _valid_request()
    kind = draw(st.sampled_from(["remove", "move", "replace", "add", "recolor"]))
    target = pb.Target(mask=request.remove.target.mask)
    picture = pb.Image(width=draw(st.sampled_from([0, 1, 8, 2**32 - 1])), height=8, format=pb.PIXEL_FORMAT_RGBA8,
                       data=bytes(draw(st.sampled_from([0, 256, 8 * 8 * 4]))))
    source = pb.SourceObject(image=picture, object_class=draw(st.sampled_from(["", "cup", "y" * 5000])))
    reference = pb.Target(class_target=pb.ClassTarget(name=draw(st.sampled_from(["", "person", "\x00" * 64]))))
    if draw(st.booleans()):
        reference = pb.Target(mask=request.remove.target.mask)
    relation = pb.PlacementRelation(predicate=draw(st.sampled_from(["left of", "", "x" * 5000, "on"])),
                                    reference=reference)
    candidates = draw(st.sampled_from([0, 1, 16, 17, 2**32 - 1]))
    if kind == "move":
        request.move.CopyFrom(pb.MoveEdit(target=target, relations=[relation], candidates=candidates))
    elif kind == "replace":
        request.replace.CopyFrom(pb.ReplaceEdit(target=target, source=source, fit=draw(st.sampled_from([0, 1, 3, 99]))))
    elif kind == "add":
        request.add.CopyFrom(pb.AddEdit(source=source, relations=[relation], candidates=candidates))
    elif kind == "recolor":
        channel_value = draw(st.sampled_from([0, 255, 256, 2**32 - 1]))
        request.recolor.CopyFrom(pb.RecolorEdit(target=target, color=pb.Color(red=channel_value, green=0, blue=9),
                                                strength=draw(st.sampled_from(EXTREME_FLOATS))))
    options = request.options
    options.iterations = draw(st.sampled_from([0, 1, 2, 2**31 - 1]))
    options.seed = draw(st.sampled_from([0, 2**63, 2**64 - 1]))
    options.dilation_px = draw(st.sampled_from([-1, 0, 3, 2**31 - 1]))
    options.quality = draw(st.sampled_from(["fast", "", "best" * 4000]))
    options.fill = draw(st.sampled_from([0, 1, 2, 99]))
    options.guidance_weight = draw(st.sampled_from(EXTREME_FLOATS))
    options.texture = draw(st.sampled_from(EXTREME_FLOATS))
    image = request.image
    image.width = draw(st.sampled_from([32, 0, 2**32 - 1, 31]))
    image.format = draw(st.sampled_from([1, 2, 0, 77]))
    return request


@FUZZ
@given(data=st.data())
def test_extreme_field_values(channel, data):
    request = _with_extremes(data.draw)
    try:
        request_bytes = request.SerializeToString()
    except ValueError:  # a value the message cannot hold at all never reaches the server
        return
    _assert_clients_status(_call(channel, "Edit", request_bytes))


def test_the_server_is_healthy_after_the_fuzzing(channel):
    answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=CALL_TIMEOUT)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING
    assert _call(channel, "Edit", VALID) == grpc.StatusCode.OK
