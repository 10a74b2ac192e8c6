"""The SemanticEdit service's method handlers, with requests that fail to decode answered as the client's error.

grpcio's generated `add_SemanticEditServicer_to_server` decodes each request before the servicer sees it, and
answers bytes that are not the message with INTERNAL ("Exception deserializing request!"): the server's fault, to
the client. Here the handlers are built from the service's descriptor instead, with a decoder that hands the
servicer an `Undecodable` in place of the message; the servicer's method is then never called, and the client gets
INVALID_ARGUMENT with a sentence naming the method and the fix.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import grpc
from google.protobuf.message import DecodeError, Message

from semantic_edit.v1 import semantic_edit_pb2 as pb

SERVICE = pb.DESCRIPTOR.services_by_name["SemanticEdit"]


@dataclass(frozen=True)
class Undecodable:
    """What the decoder returns for bytes that are not a `message` (its name)."""

    message: str
    reason: str


def tolerant_decoder(message_type: type[Message]) -> Callable[[bytes], Message | Undecodable]:
    def decode(data: bytes) -> Message | Undecodable:
        try:
            return message_type.FromString(data)
        except (DecodeError, ValueError, RuntimeError) as error:
            return Undecodable(message_type.DESCRIPTOR.name, str(error) or type(error).__name__)
    return decode


def refusal(method: str, undecodable: Undecodable) -> str:
    return (f"the {method} request could not be read as a semantic_edit.v1.{undecodable.message} "
            f"({undecodable.reason[:80]}): build it from protos/semantic_edit/v1/semantic_edit.proto")


def _guarded(method: str, behaviour: Callable, streaming: bool) -> Callable:
    if streaming:
        def stream(request, context: grpc.ServicerContext):
            if isinstance(request, Undecodable):
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, refusal(method, request))
            yield from behaviour(request, context)
        return stream

    def unary(request, context: grpc.ServicerContext):
        if isinstance(request, Undecodable):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, refusal(method, request))
        return behaviour(request, context)
    return unary


def semantic_edit_handler(servicer: object) -> grpc.GenericRpcHandler:
    """The generic handler serving every method of the SemanticEdit service from `servicer`'s methods of the same
    names (unary requests; unary or server-streaming replies, as the .proto declares them)."""
    handlers = {}
    for method in SERVICE.methods:
        request_type = getattr(pb, method.input_type.name)
        response_type = getattr(pb, method.output_type.name)
        make = grpc.unary_stream_rpc_method_handler if method.server_streaming else grpc.unary_unary_rpc_method_handler
        handlers[method.name] = make(_guarded(method.name, getattr(servicer, method.name), method.server_streaming),
                                     request_deserializer=tolerant_decoder(request_type),
                                     response_serializer=response_type.SerializeToString)
    return grpc.method_handlers_generic_handler(SERVICE.full_name, handlers)
