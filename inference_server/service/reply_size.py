"""The largest answer an edit can send, known before any work: a request whose answer could not be sent is refused
up front with the fix, instead of running the whole edit and failing at the end.

    largest = largest_result_bytes(spec)     # bytes of the EditResult in the worst case
    problem = reply_too_large(spec, limit)   # a sentence, or None

An EditResult carries the changed region's pixels in the request's format and each mask as one byte per pixel of
that region; the region is at most the whole image. The masks an edit can return (pipeline/edit_spec.result_masks):
remove object, hole, shadow; move and replace also placed and placed shadow; add placed and placed shadow; recolor
object and edge. Placements, timings and the message framing fit in REPLY_OVERHEAD_BYTES.
"""
from __future__ import annotations

import math

from ..pipeline.edit_spec import EditSpec

MASKS_PER_EDIT = {"remove": 3, "move": 5, "replace": 5, "add": 2, "recolor": 2}
REPLY_OVERHEAD_BYTES = 64 * 1024
MB = 2 ** 20


def largest_result_bytes(spec: EditSpec) -> int:
    """The EditResult's size for `spec` when the edit changes the whole image and returns every mask it can."""
    height, width, channels = spec.image.shape
    return width * height * (channels + MASKS_PER_EDIT[spec.kind]) + REPLY_OVERHEAD_BYTES


def reply_too_large(spec: EditSpec, max_message_bytes: int) -> str | None:
    """A sentence naming the fix when the answer to `spec` could exceed `max_message_bytes`; None when it fits."""
    largest = largest_result_bytes(spec)
    if largest <= max_message_bytes:
        return None
    height, width, channels = spec.image.shape
    per_pixel = channels + MASKS_PER_EDIT[spec.kind]
    fitting_pixels = max(0, (max_message_bytes - REPLY_OVERHEAD_BYTES) // per_pixel)
    return (f"the answer to this {spec.kind} of a {width}x{height} image can reach {math.ceil(largest / MB)} MB, "
            f"over the server's message limit of {max_message_bytes // MB} MB; send a smaller image (at most "
            f"{fitting_pixels / 1e6:.1f} megapixels) or start the server with --max-message-mb "
            f"{math.ceil(largest / MB)}")
