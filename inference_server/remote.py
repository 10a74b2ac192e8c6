"""A gRPC client of a running server, for the command line (`--server HOST:PORT`, `--tls-ca FILE`,
`--token-file FILE`)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import numpy as np

from semantic_edit.v1 import semantic_edit_pb2 as pb
from semantic_edit.v1 import semantic_edit_pb2_grpc as pb_grpc

from .credentials import read_pem, read_token
from .errors import InvalidInputError, SemanticEditError
from .pipeline.detect import DetectedScene, DetectionSettings
from .pipeline.edit_spec import EditResultOf, EditSpec
from .scene_graph.relations import RelationOptions
from .segmentation.errors import ModelUnavailableError, NotFoundError
from .service.convert import image_to_proto, result_from_proto
from .service.convert_edits import edit_request_to_proto
from .service.convert_scene import detection_settings_to_proto, relation_options_to_proto, scene_from_proto
from .service.server import message_size_options

INFO_TIMEOUT_SECONDS = 10
# The client takes whatever the server sends (gRPC's largest message): the server enforces its own --max-message-mb,
# and checks that an answer fits before it starts.
CLIENT_MAX_MESSAGE_BYTES = 2047 * 2 ** 20
EDIT_TIMEOUT_SECONDS = 3600


class RemoteError(SemanticEditError):
    """The server could not be reached or refused the edit; carries a sentence for the user."""


@dataclass(frozen=True)
class Connection:
    """Where the server is and how to talk to it. tls_ca: PEM of the certificate authority that signed the
    server's certificate (TLS; None: plain text). token: sent as `authorization: Bearer <token>` on every call."""

    address: str
    tls_ca: bytes | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token}"),) if self.token else ()


def connection(address: str, tls_ca: Path | None = None, token_file: Path | None = None) -> Connection:
    """A Connection from the command line's options; raises InvalidInputError when a file is wrong."""
    return Connection(address, read_pem(tls_ca, "certificate authority") if tls_ca else None,
                      read_token(token_file) if token_file else None)


def _connection(server: Connection | str) -> Connection:
    return server if isinstance(server, Connection) else Connection(server)


def _explain(error: grpc.RpcError, address: str) -> SemanticEditError:
    code, details = error.code(), error.details()
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return RemoteError(f"the server at {address} refused this client: {details}")
    if code == grpc.StatusCode.UNAVAILABLE:
        return RemoteError(f"no Semantic Edit server answers at {address}; start one with "
                           f"`semantic-edit serve --port {address.rsplit(':', 1)[-1]}` ({details})")
    if code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.OUT_OF_RANGE):
        return InvalidInputError(details)
    if code == grpc.StatusCode.NOT_FOUND:
        return NotFoundError(details)
    if code == grpc.StatusCode.FAILED_PRECONDITION:
        return ModelUnavailableError(f"the server at {address} cannot find objects: {details}")
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return RemoteError(f"the server at {address} took longer than {EDIT_TIMEOUT_SECONDS} s; try quality 'fast'")
    return RemoteError(f"the server at {address} answered {code.name}: {details}")


def _channel(server: Connection) -> grpc.Channel:
    options = message_size_options(CLIENT_MAX_MESSAGE_BYTES)
    if server.tls_ca is not None:
        return grpc.secure_channel(server.address, grpc.ssl_channel_credentials(root_certificates=server.tls_ca),
                                   options=options)
    return grpc.insecure_channel(server.address, options=options)


def get_info(server: Connection | str) -> pb.ServerInfo:
    server = _connection(server)
    with _channel(server) as channel:
        try:
            return pb_grpc.SemanticEditStub(channel).GetInfo(pb.GetInfoRequest(), timeout=INFO_TIMEOUT_SECONDS,
                                                             metadata=server.metadata)
        except grpc.RpcError as error:
            raise _explain(error, server.address) from None


def detect_remotely(server: Connection | str, image: np.ndarray, settings: DetectionSettings,
                    relation_options: RelationOptions) -> DetectedScene:
    """The scene graph the server finds in `image`."""
    server = _connection(server)
    request = pb.DetectRequest(image=image_to_proto(image), detection=detection_settings_to_proto(settings),
                               relations=relation_options_to_proto(relation_options))
    with _channel(server) as channel:
        try:
            graph = pb_grpc.SemanticEditStub(channel).DetectObjects(request, timeout=EDIT_TIMEOUT_SECONDS,
                                                                    metadata=server.metadata)
        except grpc.RpcError as error:
            raise _explain(error, server.address) from None
    return scene_from_proto(graph, image.shape[1], image.shape[0])


def edit_remotely(server: Connection | str, spec: EditSpec,
                  progress: Callable[[str, int, int, str], None] | None = None) -> EditResultOf:
    """Sends one edit to the server and returns its result; progress events go to `progress`.
    Targets given as queries are resolved by the server with their detection settings."""
    server = _connection(server)
    request = edit_request_to_proto(spec)
    with _channel(server) as channel:
        try:
            for event in pb_grpc.SemanticEditStub(channel).Edit(request, timeout=EDIT_TIMEOUT_SECONDS,
                                                                metadata=server.metadata):
                if event.HasField("result"):
                    return result_from_proto(event.result, (spec.image.shape[1], spec.image.shape[0]))
                if progress is not None:
                    p = event.progress
                    progress(p.stage, p.step, p.total, p.message)
        except grpc.RpcError as error:
            raise _explain(error, server.address) from None
    raise RemoteError(f"the server at {server.address} ended the edit without a result")
