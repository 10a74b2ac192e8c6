"""A Mask R-CNN checkpoint whose answer is known, written by the tests (no COCO weights on test machines).

The architecture is torchvision's ResNet-50 FPN v2 with random weights (seed 0), except the class and mask heads:
every proposal is a 'person' at PERSON_SCORE and a 'dog' / 'N/A' at DOG_SCORE; person masks are sure (the whole
box), dog masks faint (probability 0.27, under the default mask threshold). Boxes are the RPN's proposals.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from inference_server.segmentation.maskrcnn import LABEL_NAMES, WEIGHTS_FILE, MaskRCNNSettings, build_maskrcnn

PERSON_SCORE = 1 / (1 + 2 * np.exp(-1.0))  # softmax of logits (10, 9, 9, -10, ...): person, dog, N/A
DOG_SCORE = np.exp(-1.0) * PERSON_SCORE
SMALL_SETTINGS = MaskRCNNSettings(min_size=64, max_size=128, proposals=20, max_detections=100)


def rigged_state_dict() -> dict[str, torch.Tensor]:
    """The state dict described in the module docstring (deterministic: seeded)."""
    torch.manual_seed(0)
    model = build_maskrcnn()
    person, dog, unnamed = (LABEL_NAMES.index(name) for name in ("person", "dog", "N/A"))
    predictor = model.roi_heads.box_predictor
    mask_logits = model.roi_heads.mask_predictor.mask_fcn_logits
    with torch.no_grad():
        predictor.cls_score.weight.zero_()
        predictor.cls_score.bias.fill_(-10)
        predictor.cls_score.bias[[person, dog, unnamed]] = torch.tensor([10.0, 9.0, 9.0])
        predictor.bbox_pred.weight.zero_()  # boxes = the proposals
        predictor.bbox_pred.bias.zero_()
        mask_logits.weight.zero_()
        mask_logits.bias.fill_(-10)
        mask_logits.bias[[person, dog, unnamed]] = torch.tensor([10.0, -1.0, 10.0])  # dog: probability 0.27
    return model.state_dict()


def write_rigged_checkpoint(folder: Path) -> Path:
    """Saves rigged_state_dict() as folder / WEIGHTS_FILE (the name the server looks for) and returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / WEIGHTS_FILE
    torch.save(rigged_state_dict(), path)
    return path
