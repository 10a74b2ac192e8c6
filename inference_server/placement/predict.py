"""Where to put an object: the shipped position model, one or several ranked candidate boxes.

    predictor = PositionPredictor()                       # weights/position_model/position_lstm.pth + .json
    request = PlacementRequest("red cube", (Triplet("left of", "blue sphere", (0.5, 0.4, 0.62, 0.55)),),
                               target_size=(0.1, 0.12))
    best = predictor.place(request)                       # a Placement: box in 0..1, which relations hold
    options = predictor.candidates(request, 4)            # 4 distinct plausible placements, best first

Candidates (SIMBIL appendix B, diverse outputs): the point head's box (SIMBIL's estimate), each mixture component's
mean, and `samples` boxes drawn from the mixture head's probability map (seeded: the same request and seed give the
same boxes), all clipped to 0..1. They are ranked by how many requested relations they satisfy (satisfaction.py),
then clear before overlapping (overlap.py: a box covering a reference, or another object the caller names, reads
as the two passing through each other), then by their probability under the mixture; then picked greedily so that each centre lies at least
`min_separation` from those picked before (halved until enough are found), so every candidate is a different
place. The first candidate is what `place` returns.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import InvalidInputError
from ..segmentation.errors import ModelUnavailableError
from ..segmentation.weights import INSTALL_FIX, config_path, find_weights, load_weights
from .position_model import (NAME, POSITION_FIX, TITLE, PositionLSTM, PositionModelConfig, PositionOutput,
                             box_to_cwh, clip_boxes, cwh_to_box, encode, mixture_log_density,
                             read_config)
from .overlap import obstacles_of, overlaps_any
from .satisfaction import DEFAULT_IMAGE_SIZE, satisfied
from .vocabulary import Box01, PlacementRequest

WEIGHTS_DIR = Path(__file__).resolve().parents[2] / "weights" / "position_model"  # shipped in the repository
WEIGHTS_FILE = f"{NAME}.pth"  # state dict, fp32; its config is WEIGHTS_FILE with the suffix .json
MAX_CANDIDATES = 16
DEFAULT_SAMPLES = 64
DEFAULT_SEPARATION = 0.06  # 15 px at 256
MIN_SIDE = 1.0 / 256  # sampled boxes are at least this wide and high


@dataclass(frozen=True)
class Placement:
    """box: (x0, y0, x1, y1) in 0..1. satisfied: per requested triplet, whether it holds at this box.
    log_density: log p of the box's (cx, cy, w, h) under the mixture head. source: "point" (the point head),
    "component" (a mixture mean) or "sample" (drawn from the mixture). clear: whether the box keeps clear of every
    obstacle (overlap.py)."""

    box: Box01
    satisfied: tuple[bool, ...]
    log_density: float
    source: str
    clear: bool = True

    @property
    def all_satisfied(self) -> bool:
        return all(self.satisfied)


def _with_position_fix(error: ModelUnavailableError) -> ModelUnavailableError:
    """The same error with the fix that suits this model: its weights ship in the repository."""
    return type(error)(str(error).replace(INSTALL_FIX, POSITION_FIX))


class PositionPredictor:
    """The position model on `device`, from `weights_path` (default: the repository's weights/position_model/)
    and the config JSON beside it. Raises ModelUnavailableError when a file is missing and WeightsFileError when
    one is damaged or describes another architecture; each names the file."""

    def __init__(self, device: torch.device | str = "cpu", *, weights_path: Path | None = None):
        self.device = torch.device(device)
        try:
            self.weights_path = find_weights(WEIGHTS_FILE, explicit=weights_path, models_dir=WEIGHTS_DIR, title=TITLE)
            config = read_config(config_path(self.weights_path))
            model = load_weights(lambda: PositionLSTM(config), self.weights_path, title=TITLE)
        except ModelUnavailableError as error:
            raise _with_position_fix(error) from error.__cause__
        self.config: PositionModelConfig = config
        self._model = model.eval().to(self.device)

    @classmethod
    def from_model(cls, model: PositionLSTM) -> PositionPredictor:
        """A predictor around a model in memory (training scripts)."""
        predictor = cls.__new__(cls)
        predictor.device, predictor.weights_path = next(model.parameters()).device, None
        predictor.config, predictor._model = model.config, model.eval()
        return predictor

    @torch.no_grad()
    def _run(self, requests: list[PlacementRequest]) -> PositionOutput:
        return self._model(encode(requests, self.config).to(self.device))

    def point_boxes(self, requests: list[PlacementRequest]) -> list[Box01]:
        """The point head's box (SIMBIL's estimate) for each request, clipped to 0..1."""
        requests = [request.validated() for request in requests]
        boxes = clip_boxes(self._run(requests).point).cpu().tolist()
        return [tuple(box) for box in boxes]

    def place(self, request: PlacementRequest, *, seed: int = 0, image_size: tuple[int, int] = DEFAULT_IMAGE_SIZE,
              others: Sequence[Box01] = ()) -> Placement:
        """The best-ranked candidate."""
        return self.candidates(request, 1, seed=seed, image_size=image_size, others=others)[0]

    @torch.no_grad()
    def candidates(self, request: PlacementRequest, count: int = 4, *, seed: int = 0,
                   samples: int = DEFAULT_SAMPLES, min_separation: float = DEFAULT_SEPARATION,
                   image_size: tuple[int, int] = DEFAULT_IMAGE_SIZE,
                   others: Sequence[Box01] = (), keep_clear: bool = True) -> list[Placement]:
        """Up to `count` (1..MAX_CANDIDATES) distinct placements, best first (module docstring). others: boxes of
        further objects in the image (besides the references) that the placement should not cover. keep_clear
        False ranks without regard to overlaps (as before overlap.py; for comparison)."""
        if not isinstance(count, int) or not 1 <= count <= MAX_CANDIDATES:
            raise InvalidInputError(f"the number of placements must be a whole number from 1 to {MAX_CANDIDATES}; "
                                    f"got {count}")
        request = request.validated()
        output = self._run([request])
        generator = torch.Generator().manual_seed(seed)
        k = self.config.components
        chosen = torch.multinomial(torch.softmax(output.logits[0].cpu(), -1), samples, replacement=True,
                                   generator=generator)
        noise = torch.randn(samples, 4, generator=generator)
        drawn = output.means[0].cpu()[chosen] + noise * output.sigmas[0].cpu()[chosen]
        cwh = torch.cat([box_to_cwh(output.point.cpu()), output.means[0].cpu(), drawn])
        cwh = torch.cat([cwh[:, :2].clamp(0.0, 1.0), cwh[:, 2:].clamp(MIN_SIDE, 1.0)], dim=1)
        boxes = clip_boxes(cwh_to_box(cwh))
        density = mixture_log_density(output, box_to_cwh(boxes).to(self.device)[None])[0].cpu()
        sources = ["point"] + ["component"] * k + ["sample"] * samples
        obstacles = obstacles_of(request, others)
        pool = [Placement(tuple(box), satisfied(tuple(box), request, image_size=image_size), float(d), source,
                          not overlaps_any(tuple(box), obstacles))
                for box, d, source in zip(boxes.tolist(), density.tolist(), sources)]
        pool.sort(key=lambda p: (-sum(p.satisfied), keep_clear and not p.clear, -p.log_density))
        return _spread(pool, count, min_separation)


def _centre(box: Box01) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def _spread(ranked: list[Placement], count: int, separation: float) -> list[Placement]:
    """Greedily the best-ranked placements whose centres lie `separation` apart, halving it until enough."""
    picked: list[Placement] = []
    while len(picked) < count and separation > 1e-4:
        for placement in ranked:
            if len(picked) == count:
                break
            centre = _centre(placement.box)
            if all(placement.box != p.box and math.dist(centre, _centre(p.box)) >= separation for p in picked):
                picked.append(placement)
        separation /= 2
    picked.sort(key=lambda p: ranked.index(p))
    return picked
