"""The segmenter interface: each model writes `_detect`; the shared `detect` validates the input and sorts."""
from __future__ import annotations

import abc
from typing import ClassVar

import numpy as np

from ..errors import InvalidInputError
from .detection import Detection, detection_order

DEFAULT_SCORE_THRESHOLD = 0.5
DEFAULT_MASK_THRESHOLD = 0.5


class Segmenter(abc.ABC):
    """A model that finds object instances in an RGB image.

    name: the registry key (see registry.py). class_names: every class a Detection can carry, in the model's label
    order, without placeholders such as '__background__'. A subclass's constructor takes the device first, then
    its own keyword options (`cls(device, **options)`, see registry.py); numpy <-> tensor conversion happens inside
    the subclass, nowhere else.
    """

    name: ClassVar[str]

    @property
    @abc.abstractmethod
    def class_names(self) -> tuple[str, ...]:
        ...

    def detect(self, image: np.ndarray, *, score_threshold: float = DEFAULT_SCORE_THRESHOLD,
               mask_threshold: float = DEFAULT_MASK_THRESHOLD) -> list[Detection]:
        """The objects in `image`, highest score first (ties: box (x0, y0, x1, y1), then class name).

        image: (H, W, 3) uint8 RGB; an alpha channel (H, W, 4) is ignored. score_threshold in [0, 1]: detections
        scoring above it are kept. mask_threshold in [0, 1): mask pixels whose probability is above it are the
        object; a detection whose mask is then empty is dropped (nothing to edit). The same image and thresholds
        give the same detections on the same device.
        """
        if image.ndim != 3 or image.shape[2] not in (3, 4) or image.dtype != np.uint8:
            raise InvalidInputError(f"the image must be 8-bit RGB or RGBA; got shape {image.shape} of {image.dtype}")
        if image.shape[0] == 0 or image.shape[1] == 0:
            raise InvalidInputError(f"the image is {image.shape[1]}x{image.shape[0]}: it needs at least 1x1 pixels")
        if not 0.0 <= score_threshold <= 1.0:
            raise InvalidInputError(f"the score threshold must be between 0 and 1; got {score_threshold}")
        if not 0.0 <= mask_threshold < 1.0:
            raise InvalidInputError(f"the mask threshold must be at least 0 and below 1; got {mask_threshold}")
        detections = self._detect(np.ascontiguousarray(image[..., :3]), score_threshold, mask_threshold)
        return sorted(detections, key=detection_order)

    @abc.abstractmethod
    def _detect(self, image: np.ndarray, score_threshold: float, mask_threshold: float) -> list[Detection]:
        """Detections of a validated (H, W, 3) uint8 image, in any order, each with a non-empty mask."""
