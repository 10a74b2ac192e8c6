"""torchvision's Mask R-CNN (ResNet-50 FPN v2, trained on COCO) as a Segmenter.

The architecture is built without any download (weights=None, weights_backbone=None) and loaded from a local file
(weights.py). Class names come from the weights enum's metadata, which is part of torchvision, not of the download.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torchvision.models.detection import MaskRCNN, MaskRCNN_ResNet50_FPN_V2_Weights, maskrcnn_resnet50_fpn_v2

from .detection import Detection, box_from_corners
from .segmenter import DEFAULT_SCORE_THRESHOLD, Segmenter
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


class MaskRCNNSegmenter(Segmenter):
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
        self.device = torch.device(device)
        self.settings = settings
        self.weights_path = find_weights(WEIGHTS_FILE, explicit=weights_path, models_dir=models_dir, title=TITLE)
        model = load_weights(lambda: build_maskrcnn(settings), self.weights_path, title=TITLE)
        self._model = model.eval().to(self.device)
        self._lock = threading.Lock()  # detect() sets the score threshold on the model for the duration of a call

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(name for name in LABEL_NAMES if name not in UNNAMED_LABELS)

    def _detect(self, image: np.ndarray, score_threshold: float, mask_threshold: float) -> list[Detection]:
        height, width = image.shape[:2]
        pixels = torch.tensor(image, device=self.device).permute(2, 0, 1).float().div_(255)  # (3, H, W) in [0, 1]
        with self._lock, torch.inference_mode():
            self._model.roi_heads.score_thresh = score_threshold
            output = self._model([pixels])[0]
            boxes = output["boxes"].cpu().numpy()  # (N, 4) float32 (x0, y0, x1, y1), ends exclusive, input pixels
            labels = output["labels"].cpu().numpy()  # (N,) int64 indices into LABEL_NAMES
            scores = output["scores"].cpu().numpy()  # (N,) float32 in [0, 1]
            masks = (output["masks"][:, 0] > mask_threshold).cpu().numpy()  # (N, H, W) bool
        detections = []
        for box, label, score, mask in zip(boxes, labels, scores, masks):
            name = LABEL_NAMES[int(label)]
            if name in UNNAMED_LABELS or not mask.any():
                continue
            detections.append(Detection(class_name=name, score=min(max(float(score), 0.0), 1.0),
                                        box=box_from_corners(*map(float, box), width, height), mask=mask))
        return detections
