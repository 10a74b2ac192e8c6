from __future__ import annotations

import grpc
import pytest

from inference_server.config import ServerConfig
from inference_server.device import choose_device
from inference_server.service.server import create_server, message_size_options
from semantic_edit.v1 import semantic_edit_pb2_grpc as pb_grpc

TEST_MAX_PIXELS = 128 * 128
TEST_MAX_QUEUED_JOBS = 2


@pytest.fixture(scope="module")
def server_address():
    """A real server on a free loopback port, CPU, with small limits so the limit checks are cheap to reach."""
    config = ServerConfig(port=0, device="cpu", max_pixels=TEST_MAX_PIXELS, max_queued_jobs=TEST_MAX_QUEUED_JOBS)
    server, port = create_server(config, choose_device("cpu"))
    yield f"127.0.0.1:{port}"
    server.stop(grace=None)


@pytest.fixture
def stub(server_address):
    channel = grpc.insecure_channel(server_address, options=message_size_options(64 * 2**20))
    yield pb_grpc.SemanticEditStub(channel)
    channel.close()
