"""Server factory: the SemanticEdit service, the standard health service and server reflection on one port."""
from __future__ import annotations

import logging
import threading
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from semantic_edit.v1 import semantic_edit_pb2 as pb

from ..config import ServerConfig
from ..device import ComputeDevice, choose_device
from .auth import TokenInterceptor
from .handlers import semantic_edit_handler
from .jobs import JobQueue
from ..placement.predict import PositionPredictor
from .segmenter_slot import SegmenterSlot
from .servicer import SemanticEditServicer

log = logging.getLogger(__name__)
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["SemanticEdit"].full_name
STOP_SECONDS = 5  # stop() returns within this (the running edit notices its cancel at its next step)
SPARE_RPC_THREADS = 8  # for GetInfo, health checks and refusals while the queue is full


def message_size_options(max_message_bytes: int) -> list[tuple[str, int]]:
    return [("grpc.max_send_message_length", max_message_bytes),
            ("grpc.max_receive_message_length", max_message_bytes)]


class EditServer:
    """A started gRPC server and the job queue behind it. stop() refuses new edits, tells the waiting and running
    ones' clients that the server is shutting down (UNAVAILABLE, a sentence), stops the running edit and then
    serving: within STOP_SECONDS."""

    def __init__(self, grpc_server: grpc.Server, jobs: JobQueue):
        self.grpc_server = grpc_server
        self.jobs = jobs

    def stop(self, grace: float | None = None) -> threading.Event:
        self.jobs.close()
        stopped = self.grpc_server.stop(grace)  # grace: the time the handlers get to send those sentences
        self.jobs.join(timeout=max(0.0, STOP_SECONDS - (grace or 0)))
        return stopped


def create_server(config: ServerConfig, device: ComputeDevice | None = None) -> tuple[EditServer, int]:
    """Builds and starts the server; returns it with the port it bound (port 0 in `config` picks a free one).
    The segmentation model is loaded first; without its weights the server serves mask targets only."""
    device = device or choose_device(config.device)
    segmentation = SegmenterSlot.load(config, device)
    placement = PositionPredictor(device.torch_device)  # shipped in the repository: its absence is a broken install
    jobs = JobQueue(config.max_queued_jobs)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=config.max_queued_jobs + 1 + SPARE_RPC_THREADS,
                                   thread_name_prefix="rpc"),
        options=message_size_options(config.max_message_bytes),
        interceptors=[TokenInterceptor(config.token)] if config.token else None,
        # Beyond this, a call is refused with RESOURCE_EXHAUSTED before its message is read: bounded memory.
        maximum_concurrent_rpcs=min(config.max_concurrent_calls, config.max_queued_jobs + 1 + SPARE_RPC_THREADS))
    server.add_generic_rpc_handlers(
        (semantic_edit_handler(SemanticEditServicer(config, device, jobs, segmentation, placement)),))
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME), server)
    try:
        if config.uses_tls:
            credentials = grpc.ssl_server_credentials([(config.tls_key, config.tls_certificate)])
            port = server.add_secure_port(config.address, credentials)
        else:
            port = server.add_insecure_port(config.address)
    except RuntimeError:
        port = 0
    if port == 0:
        raise OSError(f"could not listen on {config.address}: is another server using that port? try --port")
    server.start()
    for service in ("", SERVICE_NAME):
        health_servicer.set(service, health_pb2.HealthCheckResponse.SERVING)
    log.info("serving on %s:%d (%s, %s), device %s (%s)", config.host, port, "TLS" if config.uses_tls else "plain text",
             "token required" if config.token else "no token", device.kind, device.name)
    return EditServer(server, jobs), port
