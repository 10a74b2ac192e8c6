"""Segmenters by name: a plain dict, so another model is one `register_segmenter` away."""
from __future__ import annotations

from typing import Any

import torch

from ..errors import InvalidInputError
from .maskrcnn import MaskRCNNSegmenter
from .scene_maskrcnn import SceneMaskRCNNSegmenter
from .segmenter import Segmenter

SEGMENTERS: dict[str, type[Segmenter]] = {}


def register_segmenter(segmenter: type[Segmenter]) -> type[Segmenter]:
    """Adds a Segmenter subclass under its `name` (usable as a class decorator)."""
    if segmenter.name in SEGMENTERS and SEGMENTERS[segmenter.name] is not segmenter:
        raise ValueError(f"Expected a new segmenter name, but '{segmenter.name}' is already registered")
    SEGMENTERS[segmenter.name] = segmenter
    return segmenter


register_segmenter(MaskRCNNSegmenter)
register_segmenter(SceneMaskRCNNSegmenter)


def segmenter_class(name: str) -> type[Segmenter]:
    """The registered class called `name`; an unknown name raises InvalidInputError listing the available ones."""
    if name not in SEGMENTERS:
        raise InvalidInputError(
            f"unknown segmentation model '{name}'; available: {', '.join(sorted(SEGMENTERS))}")
    return SEGMENTERS[name]


def load_segmenter(name: str, device: torch.device, **options: Any) -> Segmenter:
    """The segmenter `name` on `device`, built with keyword options. Every segmenter takes weights_path (None = its
    own place) and detection_size (the shorter side in px it scales images to; None = its default); others are its
    own (e.g. models_dir, settings for Mask R-CNN). Raises what its constructor raises (ModelUnavailableError without
    weights)."""
    return segmenter_class(name)(device, **options)
