"""torchvision's Mask R-CNN (ResNet-50 FPN v2, trained on COCO) as a Segmenter.

The architecture is built without any download (weights=None, weights_backbone=None) and loaded from a local file
(weights.py). Class names come from the weights enum's metadata, which is part of torchvision, not of the download.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torchvision.models.detection import MaskRCNN, MaskRCNN_ResNet50_FPN_V2_Weights, maskrcnn_resnet50_fpn_v2

from .segmenter import DEFAULT_SCORE_THRESHOLD
from .torchvision_maskrcnn import TorchvisionMaskRCNNSegmenter
from .weights import find_weights, load_weights

COCO_WEIGHTS = MaskRCNN_ResNet50_FPN_V2_Weights.COCO_V1  # url, hash (in the file name) and category names
WEIGHTS_FILE = "maskrcnn_resnet50_fpn_v2_coco.pth"  # in models/: the state dict of COCO_WEIGHTS
TITLE = "Mask R-CNN"
LABEL_NAMES: tuple[str, ...] = tuple(COCO_WEIGHTS.meta["categories"])  # 91 names, index = label id
UNNAMED_LABELS = frozenset({"__background__", "N/A"})  # the background and COCO's unused ids


@dataclass(frozen=True)
class MaskRCNNSettings:
    """How the network sees an image (torchvision's MaskRCNN arguments; defaults are COCO's).

    min_size, max_size: the image is scaled so its shorter side is `min_size` px, unless its longer side would then
        pass `max_size` px; boxes and masks come back at the input's size.
    proposals: region proposals kept per image after the RPN (per level before its NMS, then in all); fewer is
        faster and may miss small objects.
    max_detections: at most this many detections per image.
    """

    min_size: int = 800
    max_size: int = 1333
    proposals: int = 1000
    max_detections: int = 100

    def __post_init__(self) -> None:
        if not 1 <= self.min_size <= self.max_size:
            raise ValueError(
                f"Expected 1 <= min_size <= max_size, but found min_size={self.min_size}, max_size={self.max_size}")
        if self.proposals < 1 or self.max_detections < 1:
            raise ValueError(f"Expected proposals >= 1 and max_detections >= 1, but found {self.proposals} and "
                             f"{self.max_detections}")


def build_maskrcnn(settings: MaskRCNNSettings = MaskRCNNSettings()) -> MaskRCNN:
    """The untrained architecture whose state dict WEIGHTS_FILE holds (91 COCO labels), in train mode."""
    return maskrcnn_resnet50_fpn_v2(
        weights=None, weights_backbone=None, num_classes=len(LABEL_NAMES),
        min_size=settings.min_size, max_size=settings.max_size,
        rpn_pre_nms_top_n_test=settings.proposals, rpn_post_nms_top_n_test=settings.proposals,
        box_detections_per_img=settings.max_detections, box_score_thresh=DEFAULT_SCORE_THRESHOLD)


class MaskRCNNSegmenter(TorchvisionMaskRCNNSegmenter):
    """Mask R-CNN on `device`, loaded from `weights_path`, else from models_dir / WEIGHTS_FILE (default: the
    project's models/). detection_size, when given, replaces settings.min_size (max_size grows with it in COCO's
    ratio 1333:800). Raises ModelUnavailableError when the file is missing and WeightsFileError when it is not a
    checkpoint of this architecture; both name the file and the install flag."""

    name = "maskrcnn_resnet50_fpn_v2"

    def __init__(self, device: torch.device, *, weights_path: Path | None = None, models_dir: Path | None = None,
                 settings: MaskRCNNSettings = MaskRCNNSettings(), detection_size: int | None = None):
        if detection_size is not None:
            settings = replace(settings, min_size=detection_size, max_size=max(
                settings.max_size * detection_size // settings.min_size, detection_size))
        self.settings = settings
        self.weights_path = find_weights(WEIGHTS_FILE, explicit=weights_path, models_dir=models_dir, title=TITLE)
        self._use(load_weights(lambda: build_maskrcnn(settings), self.weights_path, title=TITLE), device)

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(name for name in LABEL_NAMES if name not in UNNAMED_LABELS)

    def _label_name(self, label: int) -> str | None:
        name = LABEL_NAMES[label]
        return None if name in UNNAMED_LABELS else name
