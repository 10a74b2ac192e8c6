"""What every segmenter built on torchvision's MaskRCNN shares: running it on one image and reading its output."""
from __future__ import annotations

import abc
import threading

import numpy as np
import torch
from torchvision.models.detection import MaskRCNN

from .detection import Detection, box_from_corners
from .segmenter import Segmenter


class TorchvisionMaskRCNNSegmenter(Segmenter):
    """A Segmenter around a torchvision MaskRCNN. A subclass builds and loads the network, then calls
    `_use(model, device)`, and says which class each label id is (`_label_name`)."""

    def _use(self, model: MaskRCNN, device: torch.device) -> None:
        self.device = torch.device(device)
        self._model = model.eval().to(self.device)
        self._lock = threading.Lock()  # detect() sets the score threshold on the model for the duration of a call

    @abc.abstractmethod
    def _label_name(self, label: int) -> str | None:
        """The class name of label id `label`, or None for a label that is not reported (background, unused)."""

    def _detect(self, image: np.ndarray, score_threshold: float, mask_threshold: float) -> list[Detection]:
        height, width = image.shape[:2]
        pixels = torch.tensor(image, device=self.device).permute(2, 0, 1).float().div_(255)  # (3, H, W) in [0, 1]
        with self._lock, torch.inference_mode():
            self._model.roi_heads.score_thresh = score_threshold
            output = self._model([pixels])[0]
            boxes = output["boxes"].cpu().numpy()  # (N, 4) float32 (x0, y0, x1, y1), ends exclusive, input pixels
            labels = output["labels"].cpu().numpy()  # (N,) int64 label ids
            scores = output["scores"].cpu().numpy()  # (N,) float32 in [0, 1]
            masks = (output["masks"][:, 0] > mask_threshold).cpu().numpy()  # (N, H, W) bool
        detections = []
        for box, label, score, mask in zip(boxes, labels, scores, masks):
            name = self._label_name(int(label))
            if name is None or not mask.any():
                continue
            detections.append(Detection(class_name=name, score=min(max(float(score), 0.0), 1.0),
                                        box=box_from_corners(*map(float, box), width, height), mask=mask))
        return detections
