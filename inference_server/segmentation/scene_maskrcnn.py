"""A light Mask R-CNN for the synthetic scenes (inference_server.scenes): MobileNetV3-Large FPN, 24 classes.

    segmenter = load_segmenter("scene_maskrcnn_mobilenet_v3", torch.device("cpu"))   # registry.py
    detections = segmenter.detect(scene.image)       # class names from scenes.CLASSES, e.g. "red cube"

The network is torchvision's MaskRCNN, built with weights=None (nothing is ever downloaded) and trained from scratch
by training/train_scene_segmenter.py. Its hyper-parameters are a SceneMaskRCNNConfig, saved as JSON beside the
weights (`<name>.json` next to `<name>.pth`), so the two files together describe the net. The weights ship in the
repository under weights/scene_segmenter/.

Normalisation: the backbone uses plain BatchNorm2d (batch statistics in train mode, running statistics in eval mode),
not torchvision's detection default FrozenBatchNorm2d, whose fixed statistics only suit a pretrained backbone; at
batch 4 of 160x160 scenes each BatchNorm sees at least 4 x 5 x 5 values per channel. FPN and heads have no
normalisation (as in torchvision's Mask R-CNN v1).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

import torch
from torch import nn
from torchvision.models import mobilenet_v3_large
from torchvision.models.detection import MaskRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

from ..scenes import CLASSES
from .errors import ModelUnavailableError
from .segmenter import DEFAULT_SCORE_THRESHOLD
from .torchvision_maskrcnn import TorchvisionMaskRCNNSegmenter
from .weights import INSTALL_FIX, ArchitectureConfig, config_path, find_weights, load_weights

NAME = "scene_maskrcnn_mobilenet_v3"
TITLE = "scene Mask R-CNN"
WEIGHTS_DIR = Path(__file__).resolve().parents[2] / "weights" / "scene_segmenter"  # shipped in the repository
WEIGHTS_FILE = f"{NAME}.pth"  # state dict, fp32; its config is WEIGHTS_FILE with the suffix .json
SCENE_FIX = ("restore the shipped file with `git checkout -- weights/scene_segmenter`, or train one with "
             "training/train_scene_segmenter.py (see training/README.md)")
ROI_POOL_SIZE = 7  # torchvision's box RoIAlign output side; the box head's input is fpn_channels x 7 x 7


@dataclass(frozen=True)
class SceneMaskRCNNConfig(ArchitectureConfig):
    """The architecture and its fixed settings. Fields marked (state) change the state dict's shapes; the others
    only how the net runs.

    classes: the class names, label i + 1 = classes[i] (label 0 is the background). (state)
    image_size, max_size: the model's own transform scales every image so its shorter side is image_size px, unless
        the longer side would then pass max_size px. A scene looks the same at any resolution, so objects always
        reach the net at the same pixel size (about 12 to 60 px at 160); 160 keeps training and inference fast,
        256 and 512 px scenes are scaled down, 128 px scenes up. Boxes and masks come back at the input's size.
    width_mult, reduced_tail: MobileNetV3-Large's width multiplier and halved last stage (torchvision). (state)
    feature_blocks: indices into MobileNetV3-Large's `features` whose outputs feed the FPN: 6 = stride 8 (40 ch),
        12 = stride 16 (112 ch), 16 = stride 32 (480 ch with reduced_tail); a max-pooled level (stride 64) is
        added on top. (state)
    fpn_channels: channels of every FPN level, RPN head and RoI features. (state)
    anchor_sizes: anchor side in px (at image_size) for each FPN level including the pooled one, aspect ratios
        0.5, 1 and 2 at each.
    box_representation: width of the box head's two fully connected layers. (state)
    mask_layers: channels of the mask head's 3x3 convolutions, one entry per layer. (state)
    rpn_batch, box_batch: anchors and proposals sampled per image for the training losses.
    proposals_train, proposals_test: proposals kept per image after the RPN's NMS (each level keeps twice as many
        before it).
    max_detections: at most this many detections per image.
    """

    architecture: ClassVar[str] = NAME

    classes: tuple[str, ...] = CLASSES
    image_size: int = 160
    max_size: int = 320
    width_mult: float = 1.0
    reduced_tail: bool = True
    feature_blocks: tuple[int, ...] = (6, 12, 16)
    fpn_channels: int = 64
    anchor_sizes: tuple[int, ...] = (16, 32, 64, 128)
    box_representation: int = 256
    mask_layers: tuple[int, ...] = (64, 64, 64, 64)
    rpn_batch: int = 128
    box_batch: int = 64
    proposals_train: int = 300
    proposals_test: int = 100
    max_detections: int = 50

    def __post_init__(self) -> None:
        if not self.classes or len(set(self.classes)) != len(self.classes):
            raise ValueError(f"Expected distinct class names, but found {self.classes}")
        if not 32 <= self.image_size <= self.max_size:
            raise ValueError(f"Expected 32 <= image_size <= max_size, but found image_size={self.image_size}, "
                             f"max_size={self.max_size}")
        if len(self.anchor_sizes) != len(self.feature_blocks) + 1:
            raise ValueError(f"Expected one anchor size per FPN level ({len(self.feature_blocks) + 1}: the feature "
                             f"blocks and the pooled level), but found {self.anchor_sizes}")
        if not self.mask_layers or min(self.mask_layers + (self.fpn_channels, self.box_representation)) < 1:
            raise ValueError(f"Expected positive widths, but found fpn_channels={self.fpn_channels}, "
                             f"box_representation={self.box_representation}, mask_layers={self.mask_layers}")



def save_config(config: SceneMaskRCNNConfig, path: Path) -> None:
    Path(path).write_text(config.to_json(), encoding="utf-8")


def read_config(path: Path) -> SceneMaskRCNNConfig:
    """The config saved in `path`. Raises ModelUnavailableError when it is missing, WeightsFileError when it is not
    a config of this architecture; both name the file."""
    return SceneMaskRCNNConfig.read(path, title=TITLE, fix=SCENE_FIX)


def build_scene_maskrcnn(config: SceneMaskRCNNConfig = SceneMaskRCNNConfig()) -> MaskRCNN:
    """The untrained network (random weights, nothing downloaded), in train mode."""
    features = mobilenet_v3_large(weights=None, norm_layer=nn.BatchNorm2d, width_mult=config.width_mult,
                                  reduced_tail=config.reduced_tail).features
    backbone = BackboneWithFPN(
        features, return_layers={str(block): str(level) for level, block in enumerate(config.feature_blocks)},
        in_channels_list=[features[block].out_channels for block in config.feature_blocks],
        out_channels=config.fpn_channels, extra_blocks=LastLevelMaxPool())
    anchors = AnchorGenerator(tuple((size,) for size in config.anchor_sizes),
                              ((0.5, 1.0, 2.0),) * len(config.anchor_sizes))
    labels = len(config.classes) + 1  # + background
    return MaskRCNN(
        backbone, num_classes=None, min_size=config.image_size, max_size=config.max_size,
        rpn_anchor_generator=anchors, rpn_batch_size_per_image=config.rpn_batch,
        rpn_pre_nms_top_n_train=2 * config.proposals_train, rpn_post_nms_top_n_train=config.proposals_train,
        rpn_pre_nms_top_n_test=2 * config.proposals_test, rpn_post_nms_top_n_test=config.proposals_test,
        box_head=TwoMLPHead(config.fpn_channels * ROI_POOL_SIZE**2, config.box_representation),
        box_predictor=FastRCNNPredictor(config.box_representation, labels),
        box_batch_size_per_image=config.box_batch, box_detections_per_img=config.max_detections,
        box_score_thresh=DEFAULT_SCORE_THRESHOLD,
        mask_head=MaskRCNNHeads(config.fpn_channels, list(config.mask_layers), dilation=1),
        mask_predictor=MaskRCNNPredictor(config.mask_layers[-1], config.mask_layers[-1], labels))


def _with_scene_fix(error: ModelUnavailableError) -> ModelUnavailableError:
    """The same error with the fix that suits this model: its weights ship in the repository, install.sh does not
    fetch them."""
    return type(error)(str(error).replace(INSTALL_FIX, SCENE_FIX))


class SceneMaskRCNNSegmenter(TorchvisionMaskRCNNSegmenter):
    """The scene Mask R-CNN on `device`, loaded from `weights_path`, else from models_dir / WEIGHTS_FILE (default:
    the repository's weights/scene_segmenter/), with the config JSON beside the file unless `config` is given.
    detection_size, when given, replaces the config's image_size (max_size keeps its ratio to it); the net was
    trained at image_size, so other sizes see objects at other scales. Raises ModelUnavailableError when a file is
    missing and WeightsFileError when one is damaged or describes another architecture; each names the file."""

    name = NAME

    def __init__(self, device: torch.device, *, weights_path: Path | None = None, models_dir: Path | None = None,
                 config: SceneMaskRCNNConfig | None = None, detection_size: int | None = None):
        try:
            self.weights_path = find_weights(WEIGHTS_FILE, explicit=weights_path,
                                             models_dir=models_dir or WEIGHTS_DIR, title=TITLE)
            config = config or read_config(config_path(self.weights_path))
            if detection_size is not None:
                config = replace(config, image_size=detection_size, max_size=max(
                    config.max_size * detection_size // config.image_size, detection_size))
            self.config = config
            model = load_weights(lambda: build_scene_maskrcnn(config), self.weights_path, title=TITLE)
        except ModelUnavailableError as error:
            raise _with_scene_fix(error) from error.__cause__
        self._use(model, device)

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.config.classes

    def _label_name(self, label: int) -> str | None:
        return self.config.classes[label - 1] if label >= 1 else None  # 0 is the background
