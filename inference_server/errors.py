"""Domain errors. Each carries the sentence the user reads; the service maps them to gRPC status codes once."""
from __future__ import annotations


class SemanticEditError(Exception):
    """Base class: str(error) is a complete sentence saying what is wrong and how to fix it."""


class InvalidInputError(SemanticEditError):
    """The request itself is wrong (sizes, masks, options). Maps to INVALID_ARGUMENT."""


class JobCancelledError(SemanticEditError):
    """The client went away or cancelled; the job stopped. Maps to CANCELLED."""


class QueueFullError(SemanticEditError):
    """Too many jobs are waiting. Maps to RESOURCE_EXHAUSTED."""


class ServerShuttingDownError(SemanticEditError):
    """The server is stopping: the job was stopped or never started. Maps to UNAVAILABLE."""


class DeviceUnavailableError(SemanticEditError):
    """The requested compute device does not exist on this machine."""


QUOTE_LIMIT = 40  # characters of a client's text echoed in an error sentence


def quoted(text: object, limit: int = QUOTE_LIMIT) -> str:
    """`text` in single quotes for an error sentence, cut to `limit` characters: a client's text can be any size,
    and the sentence travels in gRPC metadata, which has a small size limit."""
    text = str(text)
    if len(text) <= limit:
        return f"'{text}'"
    return f"'{text[:limit]}...' ({len(text):,} characters)"
