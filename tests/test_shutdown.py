"""Stopping the server: the running edit is stopped and the waiting ones are answered, each client with
UNAVAILABLE and a sentence saying the server is shutting down (not that it cancelled, not that it is busy)."""
from __future__ import annotations

import signal
import subprocess
import sys
import threading

import grpc
import numpy as np

from inference_server.config import ServerConfig
from inference_server.device import choose_device
from inference_server.service.server import STOP_SECONDS, create_server
from semantic_edit.v1 import semantic_edit_pb2 as pb
from semantic_edit.v1 import semantic_edit_pb2_grpc as pb_grpc
from synthetic_images import disc_scene

RPC_TIMEOUT = 120


def _request(size: int, iterations: int) -> pb.EditRequest:
    image, mask, _ = disc_scene(size, radius=size // 5)
    return pb.EditRequest(
        image=pb.Image(width=size, height=size, format=pb.PIXEL_FORMAT_RGB8, data=image.tobytes()),
        remove=pb.RemoveEdit(target=pb.Target(mask=pb.Mask(width=size, height=size,
                                                           data=mask.astype(np.uint8).tobytes()))),
        options=pb.EditOptions(quality="fast", iterations=iterations, fill=pb.FILL_METHOD_DIP))


class Client:
    """One Edit call read on its own thread: the stages it saw and the error it ended with."""

    def __init__(self, address: str, request: pb.EditRequest):
        self.channel = grpc.insecure_channel(address)
        self.call = pb_grpc.SemanticEditStub(self.channel).Edit(request, timeout=RPC_TIMEOUT)
        self.stages: list[str] = []
        self.error: grpc.RpcError | None = None
        self.saw = {stage: threading.Event() for stage in ("queued", "inpaint")}
        self.done = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for event in self.call:
                self.stages.append(event.progress.stage)
                if event.progress.stage in self.saw:
                    self.saw[event.progress.stage].set()
        except grpc.RpcError as error:
            self.error = error
        finally:
            self.done.set()


def test_stopping_the_server_answers_the_running_and_the_waiting_edit():
    server, port = create_server(ServerConfig(port=0, device="cpu", max_queued_jobs=2), choose_device("cpu"))
    address = f"127.0.0.1:{port}"
    running = Client(address, _request(64, 5000))  # minutes of DIP steps: still running when the server stops
    assert running.saw["inpaint"].wait(60), "the long edit never started"
    waiting = Client(address, _request(32, 2))
    assert waiting.saw["queued"].wait(30)

    stopped = server.stop(grace=2)
    assert stopped.wait(STOP_SECONDS + 5), "the server did not stop"
    for client, words in ((running, "this edit was stopped before it finished"),
                          (waiting, "before this edit started")):
        assert client.done.wait(10)
        assert client.error is not None and client.error.code() == grpc.StatusCode.UNAVAILABLE
        assert "the server is shutting down" in client.error.details() and words in client.error.details()
        assert "resend" in client.error.details()
        client.channel.close()
    assert "composite" not in waiting.stages  # it never ran


def test_sigterm_stops_serve_and_it_exits_cleanly():
    process = subprocess.Popen([sys.executable, "-m", "inference_server.cli", "serve", "--port", "0", "--device",
                                "cpu", "--threads", "1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = ""
        while "listening on" not in line:
            line = process.stdout.readline()
            assert line or process.poll() is None, "serve ended before it listened"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=STOP_SECONDS + 10) == 0
    finally:
        if process.poll() is None:
            process.kill()
