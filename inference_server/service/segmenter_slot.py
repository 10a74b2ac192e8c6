"""The server's segmentation model: loaded once when the server starts, or the reason it could not be.

Without weights the server still serves (mask targets need no model); what needs the model gets the stored
ModelUnavailableError, whose sentence names the install flag (FAILED_PRECONDITION).
"""
from __future__ import annotations

import logging

from ..config import ServerConfig
from ..device import ComputeDevice
from ..segmentation.errors import ModelUnavailableError
from ..segmentation.segmenter import Segmenter

log = logging.getLogger(__name__)


class SegmenterSlot:
    """name: the registry name; segmenter: the loaded model, or None with `error` saying why."""

    def __init__(self, name: str, segmenter: Segmenter | None, error: ModelUnavailableError | None = None):
        self.name = name
        self.segmenter = segmenter
        self.error = error

    @classmethod
    def load(cls, config: ServerConfig, device: ComputeDevice) -> SegmenterSlot:
        from ..segmentation.registry import load_segmenter, segmenter_class

        segmenter_class(config.segmenter)  # an unknown name is the caller's mistake: raise, listing the known ones
        try:
            segmenter = load_segmenter(config.segmenter, device.torch_device, weights_path=config.weights,
                                       detection_size=config.detection_size)
        except ModelUnavailableError as error:
            log.warning("segmentation is unavailable: %s", error)
            return cls(config.segmenter, None, error)
        log.info("segmentation model %s loaded (%d classes)", config.segmenter, len(segmenter.class_names))
        return cls(config.segmenter, segmenter)

    @property
    def available(self) -> bool:
        return self.segmenter is not None

    def require(self) -> Segmenter:
        """The segmenter; raises the stored ModelUnavailableError when there is none."""
        if self.segmenter is None:
            raise self.error or ModelUnavailableError(f"the segmentation model {self.name} is not loaded")
        return self.segmenter
