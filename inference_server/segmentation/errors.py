"""Domain errors of segmentation and targeting; each carries the sentence the user reads (see ..errors)."""
from __future__ import annotations

from ..errors import SemanticEditError


class ModelUnavailableError(SemanticEditError):
    """A model cannot be used: its weights are missing, unreadable or of another architecture. Maps to
    FAILED_PRECONDITION; selection and mask targets keep working."""


class WeightsFileError(ModelUnavailableError):
    """A weights file exists but is not a usable checkpoint for the model (corrupt, not a state dict, or made for
    another architecture). The sentence names the file and how to replace it."""


class NotFoundError(SemanticEditError):
    """The target names a class the model knows, but no such object was found in this image. The sentence lists
    what was found. Maps to NOT_FOUND."""
