"""A gRPC client of a running server, for the command line (`--server HOST:PORT`)."""
from __future__ import annotations

from collections.abc import Callable

import grpc
import numpy as np

from semantic_edit.v1 import semantic_edit_pb2 as pb
from semantic_edit.v1 import semantic_edit_pb2_grpc as pb_grpc

from .config import DEFAULT_MAX_MESSAGE_BYTES
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
EDIT_TIMEOUT_SECONDS = 3600


class RemoteError(SemanticEditError):
    """The server could not be reached or refused the edit; carries a sentence for the user."""


def _explain(error: grpc.RpcError, address: str) -> SemanticEditError:
    code, details = error.code(), error.details()
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


def _channel(address: str) -> grpc.Channel:
    return grpc.insecure_channel(address, options=message_size_options(DEFAULT_MAX_MESSAGE_BYTES))


def get_info(address: str) -> pb.ServerInfo:
    with _channel(address) as channel:
        try:
            return pb_grpc.SemanticEditStub(channel).GetInfo(pb.GetInfoRequest(), timeout=INFO_TIMEOUT_SECONDS)
        except grpc.RpcError as error:
            raise _explain(error, address) from None


def detect_remotely(address: str, image: np.ndarray, settings: DetectionSettings,
                    relation_options: RelationOptions) -> DetectedScene:
    """The scene graph the server at `address` finds in `image`."""
    request = pb.DetectRequest(image=image_to_proto(image), detection=detection_settings_to_proto(settings),
                               relations=relation_options_to_proto(relation_options))
    with _channel(address) as channel:
        try:
            graph = pb_grpc.SemanticEditStub(channel).DetectObjects(request, timeout=EDIT_TIMEOUT_SECONDS)
        except grpc.RpcError as error:
            raise _explain(error, address) from None
    return scene_from_proto(graph, image.shape[1], image.shape[0])


def edit_remotely(address: str, spec: EditSpec,
                  progress: Callable[[str, int, int, str], None] | None = None) -> EditResultOf:
    """Sends one edit to the server at `address` and returns its result; progress events go to `progress`.
    Targets given as queries are resolved by the server with their detection settings."""
    request = edit_request_to_proto(spec)
    with _channel(address) as channel:
        try:
            for event in pb_grpc.SemanticEditStub(channel).Edit(request, timeout=EDIT_TIMEOUT_SECONDS):
                if event.HasField("result"):
                    return result_from_proto(event.result, (spec.image.shape[1], spec.image.shape[0]))
                if progress is not None:
                    p = event.progress
                    progress(p.stage, p.step, p.total, p.message)
        except grpc.RpcError as error:
            raise _explain(error, address) from None
    raise RemoteError(f"the server at {address} ended the edit without a result")
