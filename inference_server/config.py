"""Server configuration: built once from the command line, frozen for the server's life."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PORT = 50051
DEFAULT_MAX_PIXELS = 50_000_000  # e.g. 8660 x 5773; a 6000 x 4000 photo fits
DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024 * 1024  # an RGBA image at DEFAULT_MAX_PIXELS is 200 MB
DEFAULT_MAX_QUEUED_JOBS = 4
DEFAULT_MAX_INFLIGHT_BYTES = 2048 * 1024 * 1024  # requests received or parsed at once: 8 of the largest messages
DEFAULT_SEGMENTER = "maskrcnn_resnet50_fpn_v2"  # segmentation/registry.py (not imported here: it loads torch)


@dataclass(frozen=True)
class ServerConfig:
    """host/port: where to listen (loopback by default; port 0 picks a free port).
    device: "auto" (CUDA when present, else CPU), "cuda" or "cpu".
    max_pixels: largest image accepted (width x height).
    max_message_bytes: gRPC message limit, both directions.
    max_queued_jobs: jobs that may wait behind the running one; more are refused with RESOURCE_EXHAUSTED.
    segmenter: the segmentation model's registry name (segmentation/registry.py), loaded once at start.
    weights: its weights file; None = the model's own place (models/ for Mask R-CNN). Missing weights leave the
        server serving mask targets, and class/object targets answer FAILED_PRECONDITION.
    detection_size: the shorter image side, in px, the segmenter looks at; None = the model's default (smaller is
        faster and misses more small objects).
    max_inflight_bytes: request bytes the server receives or parses at once; calls beyond
        max_inflight_bytes // max_message_bytes (at least 2) get RESOURCE_EXHAUSTED before their bytes are read.
    tls_certificate / tls_key: PEM bytes; with both the server speaks TLS only.
    token: every call but health checks must carry `authorization: Bearer <token>` (service/auth.py); None: open.
    """

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    device: str = "auto"
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    max_queued_jobs: int = DEFAULT_MAX_QUEUED_JOBS
    segmenter: str = DEFAULT_SEGMENTER
    weights: Path | None = None
    detection_size: int | None = None
    max_inflight_bytes: int = DEFAULT_MAX_INFLIGHT_BYTES
    tls_certificate: bytes | None = field(default=None, repr=False)
    tls_key: bytes | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)

    @property
    def max_concurrent_calls(self) -> int:
        """Calls served at once: as many of the largest messages as max_inflight_bytes holds, at least 2."""
        return max(2, self.max_inflight_bytes // self.max_message_bytes)

    @property
    def uses_tls(self) -> bool:
        return self.tls_certificate is not None and self.tls_key is not None

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"
