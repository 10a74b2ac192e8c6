"""Bearer-token authentication for every RPC but health checks: a server interceptor.

    server = grpc.server(executor, interceptors=[TokenInterceptor(token)])

A call must carry the metadata `authorization: Bearer <token>`; the comparison takes constant time
(hmac.compare_digest). A call without it, or with another token, ends with UNAUTHENTICATED and a sentence before its
request is even decoded, and no job runs. The standard health service stays open, so load balancers and `grpcurl`
health probes need no token.
"""
from __future__ import annotations

import hmac

import grpc

EXEMPT_PREFIXES = ("/grpc.health.v1.Health/",)
REFUSAL = ("this server needs its token: give it with --token-file FILE (the CLI), or in the plug-in's connection "
           "settings")


def _deny(request, context: grpc.ServicerContext):
    context.abort(grpc.StatusCode.UNAUTHENTICATED, REFUSAL)


class TokenInterceptor(grpc.ServerInterceptor):
    def __init__(self, token: str):
        self._expected = f"Bearer {token}".encode()

    def _allowed(self, metadata) -> bool:
        given = next((value for key, value in metadata or () if key == "authorization"), "")
        given = given.encode() if isinstance(given, str) else bytes(given)
        return hmac.compare_digest(given, self._expected)

    def intercept_service(self, continuation, handler_call_details):
        if handler_call_details.method.startswith(EXEMPT_PREFIXES) or \
                self._allowed(handler_call_details.invocation_metadata):
            return continuation(handler_call_details)
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        # The same kind of handler, answering UNAUTHENTICATED; raw bytes in (nothing is decoded), nothing out.
        if handler.request_streaming and handler.response_streaming:
            return grpc.stream_stream_rpc_method_handler(_deny)
        if handler.request_streaming:
            return grpc.stream_unary_rpc_method_handler(_deny)
        if handler.response_streaming:
            return grpc.unary_stream_rpc_method_handler(_deny)
        return grpc.unary_unary_rpc_method_handler(_deny)
