"""Which structure model to trust for this hole, measured on the photo itself.

    choose_extrapolation_share(image, known, hole, settings, device) -> float | None

Harmonic interpolation and frequency extrapolation each win on some photos by a wide margin (a star field against
a striped shirt, docs/BENCHMARKS.md), and no fixed mix is right for both. So, in SIMBIL's spirit of learning from
the one photo at hand: copies of the hole's own shape are cut out of known pixels beside it (up to three probes:
left, right, above, below, then the diagonals, each a hole's size plus a gap away), both models fill them as they
would the hole, each probe votes for the share of the extrapolation that reproduces its true pixels best, and the
median vote is the share used for the hole (a median: one probe that lands on other content does not decide). The
probes are filled at half the resolution the hole's structure is, with the extrapolation's support halved to span
the same part of the photo: the choice is as good (docs/BENCHMARKS.md) at a fraction of the cost. None when no
probe fits in the photo's known pixels (the caller keeps its default share).

image: (H, W, 3) uint8 RGB, the whole photo; known / hole: (H, W) bool. numpy -> tensor conversion happens here.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import torch

from .internal_fill import InternalFillSettings, structure_components, structure_scale

MAX_PROBES = 3  # a fourth moved the benchmark photos' mean hole error by under 0.1 %, at a third more cost
SHARES = np.linspace(0.0, 1.0, 9)  # the candidate extrapolation shares
PROBE_SCALE = 2  # probes are filled at 1 / (this x the hole's structure scale)
PROBE_GAP_PX = 32  # at the probes' scale: beyond the extrapolation's reach there (12 px); a 16 px gap chose worse
MIN_PROBE_SUPPORT = 16


def probe_offsets(known: np.ndarray, hole: np.ndarray, gap: int, limit: int = MAX_PROBES) -> list[tuple[int, int]]:
    """Up to `limit` (dy, dx) shifts that move the whole hole onto known pixels, a hole's size plus `gap` away in
    each direction (sides first, then diagonals), not overlapping one another."""
    ys, xs = np.nonzero(hole)
    if ys.size == 0:
        return []
    height, width = hole.shape
    step_y, step_x = int(ys.max() - ys.min() + 1 + gap), int(xs.max() - xs.min() + 1 + gap)
    directions = [(0, -1), (0, 1), (-1, 0), (1, 0), (-1, -1), (-1, 1), (1, -1), (1, 1)]
    offsets: list[tuple[int, int]] = []
    for dy, dx in directions:
        shift_y, shift_x = dy * step_y, dx * step_x
        rows, cols = ys + shift_y, xs + shift_x
        if rows.min() < 0 or cols.min() < 0 or rows.max() >= height or cols.max() >= width:
            continue
        if not known[rows, cols].all():
            continue
        offsets.append((shift_y, shift_x))  # shifts a hole's size plus a gap apart never overlap
        if len(offsets) == limit:
            break
    return offsets


def _crop(hole: np.ndarray, offsets: list[tuple[int, int]], margin: int) -> tuple[slice, slice]:
    ys, xs = np.nonzero(hole)
    top = min(ys.min() + dy for dy, _ in [(0, 0), *offsets]) - margin
    bottom = max(ys.max() + dy for dy, _ in [(0, 0), *offsets]) + margin + 1
    left = min(xs.min() + dx for _, dx in [(0, 0), *offsets]) - margin
    right = max(xs.max() + dx for _, dx in [(0, 0), *offsets]) + margin + 1
    height, width = hole.shape
    return slice(max(0, top), min(height, bottom)), slice(max(0, left), min(width, right))


def best_share(harmonic: torch.Tensor, extrapolated: torch.Tensor, truth: torch.Tensor,
               probe: torch.Tensor) -> float:
    """The share s of SHARES whose blend s * extrapolated + (1 - s) * harmonic has the lowest mean absolute error
    against `truth` over the `probe` pixels. Tensors (C, H, W); probe (H, W) bool."""
    h, e, t = (x[:, probe] for x in (harmonic, extrapolated, truth))
    shares = torch.tensor(SHARES, dtype=h.dtype, device=h.device)[:, None, None]
    errors = (shares * e + (1 - shares) * h - t).abs().mean(dim=(1, 2))
    return float(SHARES[int(torch.argmin(errors))])


def choose_extrapolation_share(image: np.ndarray, known: np.ndarray, hole: np.ndarray,
                               settings: InternalFillSettings, device: torch.device,
                               should_stop: Callable[[], bool] | None = None) -> float | None:
    """The extrapolation share that fills probes shaped like `hole`, cut from `known` pixels nearby, best."""
    scale = PROBE_SCALE * structure_scale(int(hole.sum()), settings.max_structure_pixels)
    gap = PROBE_GAP_PX * scale
    offsets = probe_offsets(known, hole, gap)
    if not offsets:
        return None
    rows, cols = _crop(hole, offsets, gap)
    labels = np.zeros(hole.shape, np.int32)  # 1.. = probe number
    ys, xs = np.nonzero(hole)
    for number, (dy, dx) in enumerate(offsets, start=1):
        labels[ys + dy, xs + dx] = number
    crop_labels = torch.from_numpy(labels[rows, cols]).to(device)
    # The hole counts as known here: it is a gap away from every probe, out of both models' reach, so filling it
    # too would only cost time.
    crop_known = torch.from_numpy((known | hole)[rows, cols] & (labels[rows, cols] == 0)).to(device)
    truth = torch.from_numpy(np.array(image[rows, cols, :3])).to(device).permute(2, 0, 1).float() / 255
    # The extrapolation's support shrinks with the scale, so that it spans as much of the photo as the hole's own.
    support = max(MIN_PROBE_SUPPORT, settings.extrapolation.support // PROBE_SCALE)
    both = replace(settings, extrapolation_share=0.5,  # any share strictly between 0 and 1 runs both models
                   extrapolation=replace(settings.extrapolation, support=support))
    harmonic, extrapolated = structure_components(truth, crop_known, scale, both, should_stop)
    votes = [best_share(harmonic, extrapolated, truth, crop_labels == number)
             for number in range(1, len(offsets) + 1)]
    return float(np.median(votes))
