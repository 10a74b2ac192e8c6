"""SIMBIL's position model (section 3.2): an LSTM over the target's triplets, fully connected heads, the box out.

Each triplet t (vocabulary.Triplet) becomes, as in SIMBIL eq. 1, x_t = concat{V_s, V_o, V_p, b_ref, I} plus the
target's size: V_s and V_o the subject's and object's class embeddings (one of them is the target's), V_p the
predicate's embedding, b_ref the reference object's box (x0, y0, x1, y1 in 0..1), I = 1 when the target is the
triplet's subject, 0 when it is the object; then (w, h, known): the target's size in 0..1 when the request gives
it (a move), else (0, 0, 0) (an added object). The LSTM reads the triplets in order (eq. 2); its last hidden state
h_T feeds two fully connected heads:

    point head     the target box (x0, y0, x1, y1), trained with mean squared error (SIMBIL's loss); read through
                   clip_boxes (clipped to 0..1, "we crop the final output to range 0~1")
    mixture head   a mixture of K Gaussians over the box's (centre x, centre y, width, height), diagonal, trained
                   by negative log-likelihood: the "probability map" of SIMBIL appendix B (diverse outputs), from
                   which predict.py draws several plausible placements

The architecture is a PositionModelConfig, saved as JSON beside the weights (`<name>.json` next to `<name>.pth`).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import ClassVar

import torch
from torch import nn

from ..segmentation.weights import ArchitectureConfig
from .vocabulary import CLASSES, PREDICATES, PlacementRequest, class_index

NAME = "position_lstm"
TITLE = "position model"
POSITION_FIX = ("restore the shipped file with `git checkout -- weights/position_model`, or train one with "
                "training/train_position_model.py (see training/README.md)")


@dataclass(frozen=True)
class PositionModelConfig(ArchitectureConfig):
    """The architecture. Fields marked (state) change the state dict's shapes.

    predicates, classes: the vocabularies, embedding row i = name i. (state)
    class_dim, predicate_dim: embedding widths. (state)
    hidden: the LSTM's hidden width (one layer). (state)
    head_hidden: width of each head's hidden fully connected layer. (state)
    components: K, the mixture head's Gaussians. (state)
    min_sigma: the smallest standard deviation of a Gaussian, in 0..1 image units (1/256 ~ a pixel at 256).
    max_triplets: the most triplets per request the model was trained on (SIMBIL A.2: 5).
    mean_box: the training set's mean target box; not used by the net (the evaluation's sanity floor).
    """

    architecture: ClassVar[str] = NAME

    predicates: tuple[str, ...] = PREDICATES
    classes: tuple[str, ...] = CLASSES
    class_dim: int = 8
    predicate_dim: int = 8
    hidden: int = 96
    head_hidden: int = 96
    components: int = 8
    min_sigma: float = 0.004
    max_triplets: int = 5
    mean_box: tuple[float, float, float, float] = (0.4, 0.4, 0.6, 0.6)

    def __post_init__(self) -> None:
        if not self.predicates or not self.classes:
            raise ValueError("Expected non-empty predicate and class vocabularies")
        if min(self.class_dim, self.predicate_dim, self.hidden, self.head_hidden, self.components,
               self.max_triplets) < 1:
            raise ValueError(f"Expected positive widths and counts, but found {self}")
        if not 0 < self.min_sigma < 1:
            raise ValueError(f"Expected 0 < min_sigma < 1, but found {self.min_sigma}")

    @property
    def input_width(self) -> int:
        return 2 * self.class_dim + self.predicate_dim + 4 + 1 + 3



def read_config(path: Path) -> PositionModelConfig:
    """The config saved in `path`. Raises ModelUnavailableError when it is missing, WeightsFileError when it is not
    a config of this model; both name the file."""
    return PositionModelConfig.read(path, title=TITLE, fix=POSITION_FIX)


@dataclass(frozen=True)
class TripletBatch:
    """B requests padded to T triplets. subject, predicate, object: (B, T) int64 vocabulary indices;
    reference_box: (B, T, 4) float32; indicator: (B, T) float32, 1 = the target is the subject; target_size:
    (B, 3) float32 (w, h, known); lengths: (B,) int64, each 1..T (steps past a request's length are padding)."""

    subject: torch.Tensor
    predicate: torch.Tensor
    object: torch.Tensor
    reference_box: torch.Tensor
    indicator: torch.Tensor
    target_size: torch.Tensor
    lengths: torch.Tensor

    def to(self, device: torch.device) -> TripletBatch:
        return TripletBatch(*(getattr(self, f.name).to(device) for f in fields(self)))

    def __len__(self) -> int:
        return int(self.lengths.shape[0])


def encode(requests: Sequence[PlacementRequest], config: PositionModelConfig) -> TripletBatch:
    """The requests (validated: known predicates, 0..1 boxes) as the net's input."""
    count, steps = len(requests), max(len(r.triplets) for r in requests)
    subject = torch.zeros(count, steps, dtype=torch.int64)
    obj = torch.zeros(count, steps, dtype=torch.int64)
    predicate = torch.zeros(count, steps, dtype=torch.int64)
    box = torch.zeros(count, steps, 4)
    indicator = torch.zeros(count, steps)
    size = torch.zeros(count, 3)
    lengths = torch.zeros(count, dtype=torch.int64)
    predicate_index = {name: i for i, name in enumerate(config.predicates)}
    for b, request in enumerate(requests):
        target = class_index(request.target_class)
        lengths[b] = len(request.triplets)
        if request.target_size is not None:
            size[b] = torch.tensor([request.target_size[0], request.target_size[1], 1.0])
        for t, triplet in enumerate(request.triplets):
            reference = class_index(triplet.reference_class)
            subject[b, t], obj[b, t] = (target, reference) if triplet.target_is_subject else (reference, target)
            predicate[b, t] = predicate_index[triplet.predicate]
            box[b, t] = torch.tensor(triplet.reference_box)
            indicator[b, t] = 1.0 if triplet.target_is_subject else 0.0
    return TripletBatch(subject, predicate, obj, box, indicator, size, lengths)


@dataclass(frozen=True)
class PositionOutput:
    """point: (B, 4) the point head's raw box (x0, y0, x1, y1), not clipped (clip_boxes reads it); logits: (B, K)
    mixture weights before softmax; means, sigmas: (B, K, 4) per Gaussian over (cx, cy, w, h)."""

    point: torch.Tensor
    logits: torch.Tensor
    means: torch.Tensor
    sigmas: torch.Tensor


def clip_boxes(boxes: torch.Tensor) -> torch.Tensor:
    """(..., 4) boxes clipped to 0..1, with x0 <= x1 and y0 <= y1 (a swapped pair is put in order)."""
    boxes = boxes.clamp(0.0, 1.0)
    x0, x1 = torch.minimum(boxes[..., 0], boxes[..., 2]), torch.maximum(boxes[..., 0], boxes[..., 2])
    y0, y1 = torch.minimum(boxes[..., 1], boxes[..., 3]), torch.maximum(boxes[..., 1], boxes[..., 3])
    return torch.stack([x0, y0, x1, y1], dim=-1)


def box_to_cwh(boxes: torch.Tensor) -> torch.Tensor:
    """(..., 4) (x0, y0, x1, y1) -> (cx, cy, w, h)."""
    return torch.stack([(boxes[..., 0] + boxes[..., 2]) / 2, (boxes[..., 1] + boxes[..., 3]) / 2,
                        boxes[..., 2] - boxes[..., 0], boxes[..., 3] - boxes[..., 1]], dim=-1)


def cwh_to_box(cwh: torch.Tensor) -> torch.Tensor:
    """(..., 4) (cx, cy, w, h) -> (x0, y0, x1, y1)."""
    half_w, half_h = cwh[..., 2] / 2, cwh[..., 3] / 2
    return torch.stack([cwh[..., 0] - half_w, cwh[..., 1] - half_h, cwh[..., 0] + half_w, cwh[..., 1] + half_h],
                       dim=-1)


class PositionLSTM(nn.Module):
    """The net of the module docstring; forward(batch) -> PositionOutput."""

    def __init__(self, config: PositionModelConfig = PositionModelConfig()):
        super().__init__()
        self.config = config
        self.class_embedding = nn.Embedding(len(config.classes), config.class_dim)
        self.predicate_embedding = nn.Embedding(len(config.predicates), config.predicate_dim)
        self.lstm = nn.LSTM(config.input_width, config.hidden, batch_first=True)
        self.point_head = nn.Sequential(nn.Linear(config.hidden, config.head_hidden), nn.ReLU(),
                                        nn.Linear(config.head_hidden, 4))
        self.mixture_head = nn.Sequential(nn.Linear(config.hidden, config.head_hidden), nn.ReLU(),
                                          nn.Linear(config.head_hidden, config.components * 9))

    def forward(self, batch: TripletBatch) -> PositionOutput:
        steps = batch.subject.shape[1]
        x = torch.cat([self.class_embedding(batch.subject), self.class_embedding(batch.object),
                       self.predicate_embedding(batch.predicate), batch.reference_box, batch.indicator[..., None],
                       batch.target_size[:, None, :].expand(-1, steps, -1)], dim=-1)
        hidden, _ = self.lstm(x)  # (B, T, H); padding comes after each request's triplets, so h_T is at length-1
        last = hidden[torch.arange(len(batch), device=hidden.device), batch.lengths - 1]
        k = self.config.components
        mixture = self.mixture_head(last)
        logits, means, spread = mixture[:, :k], mixture[:, k:5 * k], mixture[:, 5 * k:]
        sigmas = self.config.min_sigma + nn.functional.softplus(spread - 3.0)  # starts near 0.05
        return PositionOutput(self.point_head(last) + 0.5, logits, means.view(-1, k, 4) + 0.5,
                              sigmas.view(-1, k, 4))


def mixture_log_density(output: PositionOutput, cwh: torch.Tensor) -> torch.Tensor:
    """log p(cwh) under each request's mixture: cwh (B, 4) -> (B,), or (B, S, 4) -> (B, S)."""
    squeeze = cwh.dim() == 2
    points = cwh[:, None, :] if squeeze else cwh  # (B, S, 4)
    diff = (points[:, :, None, :] - output.means[:, None]) / output.sigmas[:, None]  # (B, S, K, 4)
    log_normal = (-0.5 * diff.square() - output.sigmas[:, None].log() - 0.5 * math.log(2 * math.pi)).sum(-1)
    log_weights = torch.log_softmax(output.logits, dim=-1)[:, None]  # (B, 1, K)
    density = torch.logsumexp(log_weights + log_normal, dim=-1)
    return density[:, 0] if squeeze else density


def position_loss(output: PositionOutput, boxes: torch.Tensor, *,
                  nll_weight: float = 0.01) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(total, mse, nll) for true boxes (B, 4) in 0..1: the point head's mean squared error (SIMBIL) plus
    nll_weight x the mixture's mean negative log-likelihood of the true (cx, cy, w, h)."""
    mse = (output.point - boxes).square().mean()
    nll = -mixture_log_density(output, box_to_cwh(boxes)).mean()
    return mse + nll_weight * nll, mse, nll
