"""Frequency-selective extrapolation: each block of the hole continued by a sparse Fourier model of its surroundings.

    extrapolate(image, known, settings) -> (C, H, W)

Seiler and Kaup's frequency-selective extrapolation, run for many blocks at once. The hole is cut into
`block` x `block` blocks; each is fitted on a `support` x `support` area around it. A model of a few 2-D Fourier
basis functions is grown greedily: at each step the basis function that best explains the weighted residual (with
weights decaying as rho^distance from the block's centre, zero on unknown pixels, and a mild preference for low
frequencies) is added with a damped coefficient, and the residual's spectrum is updated in closed form (the weights'
spectrum, shifted). Edges, stripes and shading that cross the hole's border are carried into it, which harmonic
interpolation cannot do. Blocks are filled from the border inwards, in waves (the blocks with the fewest unfilled
neighbours first, all of a wave at once), and filled pixels count with half weight for later blocks. The number of
steps per block grows with the contrast of its known pixels.

Tensors: image (C, H, W) float in [0, 1]; known (H, W) bool, on one device. One host sync per wave, none per step.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..errors import JobCancelledError


@dataclass(frozen=True)
class ExtrapolationSettings:
    """block: side of the blocks filled at once (px). support: side of the area each model is fitted on (px, the
    FFT size). max_steps / min_steps: basis functions added per block at most / at least (pairs count once).
    steps_per_contrast: steps per unit of the known pixels' standard deviation (0..1 scale). damping: the share of
    each coefficient added per step (small: closer to an orthogonal fit). rho: weight decay per px from the block's
    centre. filled_weight: the weight of pixels filled by earlier waves."""

    block: int = 8
    support: int = 64
    max_steps: int = 400
    min_steps: int = 50
    steps_per_contrast: float = 1000.0
    damping: float = 0.2
    rho: float = 0.8
    filled_weight: float = 0.5


def _frequency_preference(size: int, device: torch.device) -> torch.Tensor:
    """(size * size,) 1 at DC falling linearly to 0 at the highest frequency: low frequencies are chosen first."""
    index = torch.arange(size, device=device)
    folded = torch.minimum(index, size - index).float()
    radius = torch.sqrt(folded[:, None] ** 2 + folded[None, :] ** 2)
    return (1 - radius * math.sqrt(2) / size).reshape(-1)


def _fit_blocks(support: torch.Tensor, weights: torch.Tensor, steps: torch.Tensor, most_steps: int,
                settings: ExtrapolationSettings) -> torch.Tensor:
    """Sparse Fourier models of B supports. support: (B, S, S) values; weights: (B, S, S); steps: (B,) long, the
    steps of each block; most_steps: their maximum (a Python int, so the loop itself never waits for the device).

    Returns the models evaluated on the support, (B, S, S).
    """
    batch, size, _ = support.shape
    device = support.device
    energy = weights.sum(dim=(1, 2)).clamp(min=1e-8)  # W(0): the total weight
    # The weighted mean is taken out first and added back at the end: the damped greedy steps would otherwise
    # approach a flat area's level only geometrically and leave it a shade too dark.
    level = (support * weights).sum(dim=(1, 2)) / energy  # (B,)
    support = support - level[:, None, None]
    residual = torch.fft.fft2(support * weights).reshape(batch, -1)  # (B, S*S) weighted residual's spectrum
    model = torch.zeros_like(residual)
    preference = _frequency_preference(size, device) ** 2  # compared with |R|^2: the same choice, no square root
    # W(k - k0) for every k is one S x S window of W tiled 2 x 2, starting at (S - row0, S - col0): one index add.
    tiled = torch.fft.fft2(weights).repeat(1, 2, 2).reshape(batch, -1)  # (B, 4*S*S)
    window = (torch.arange(size, device=device)[:, None] * 2 * size + torch.arange(size, device=device)).reshape(-1)
    batch_index = torch.arange(batch, device=device)
    scale = float(size * size)
    for step in range(most_steps):
        active = (steps > step).to(residual.real.dtype)  # blocks that still add basis functions
        chosen = torch.argmax(torch.view_as_real(residual).square().sum(-1) * preference, dim=1)  # (B,)
        coefficient = settings.damping * residual[batch_index, chosen] / energy * active
        row, col = chosen // size, chosen % size
        mirror_row, mirror_col = (-row) % size, (-col) % size  # the conjugate frequency: models stay real
        mirror = mirror_row * size + mirror_col
        mirror_coefficient = torch.where(mirror == chosen, torch.zeros_like(coefficient), coefficient.conj())
        model[batch_index, chosen] += scale * coefficient
        model[batch_index, mirror] += scale * mirror_coefficient
        start = (size - row) * 2 * size + (size - col)
        mirror_start = (size - mirror_row) * 2 * size + (size - mirror_col)
        residual = residual - coefficient[:, None] * torch.gather(tiled, 1, start[:, None] + window[None]) \
            - mirror_coefficient[:, None] * torch.gather(tiled, 1, mirror_start[:, None] + window[None])
    return torch.fft.ifft2(model.reshape(batch, size, size)).real + level[:, None, None]


def extrapolate(image: torch.Tensor, known: torch.Tensor, settings: ExtrapolationSettings = ExtrapolationSettings(),
                should_stop: Callable[[], bool] | None = None) -> torch.Tensor:
    """`image` (C, H, W) with every pixel that is not `known` (H, W) filled; known pixels are returned unchanged.

    should_stop is polled once per wave; when it returns True this raises JobCancelledError.
    """
    channels, height, width = image.shape
    device = image.device
    block, size = settings.block, settings.support
    border = (size - block) // 2
    blocks_y, blocks_x = math.ceil(height / block), math.ceil(width / block)
    frame_h, frame_w = blocks_y * block + 2 * border, blocks_x * block + 2 * border
    values = torch.zeros((channels, frame_h, frame_w), device=device, dtype=image.dtype)
    values[:, border:border + height, border:border + width] = image
    weight = torch.zeros((frame_h, frame_w), device=device, dtype=image.dtype)
    weight[border:border + height, border:border + width] = known.to(image.dtype)
    missing = torch.zeros((blocks_y * block, blocks_x * block), dtype=torch.bool, device=device)
    missing[:height, :width] = ~known
    todo = missing.reshape(blocks_y, block, blocks_x, block).any(dim=3).any(dim=1)  # (blocks_y, blocks_x)

    span = torch.arange(size, device=device)
    centre = span.to(image.dtype) + 0.5 - (border + block / 2)
    decay = settings.rho ** torch.sqrt(centre[:, None] ** 2 + centre[None, :] ** 2)  # (S, S)
    inner = torch.arange(block, device=device)
    neighbours = torch.ones((1, 1, 3, 3), device=device)
    while bool(todo.any()):
        if should_stop is not None and should_stop():
            raise JobCancelledError("the job was cancelled by its client")
        pending = todo.to(image.dtype)[None, None]
        unfilled_around = F.conv2d(F.pad(pending, (1, 1, 1, 1)), neighbours)[0, 0] - pending[0, 0]
        unfilled_around = torch.where(todo, unfilled_around, torch.full_like(unfilled_around, 99.0))
        wave = todo & (unfilled_around <= unfilled_around.min())
        block_rows, block_cols = torch.nonzero(wave, as_tuple=True)  # (B,)
        rows = (block_rows * block)[:, None] + span[None]  # (B, S) frame rows of each support
        cols = (block_cols * block)[:, None] + span[None]
        support = values[:, rows[:, :, None], cols[:, None, :]]  # (C, B, S, S)
        support_weight = weight[rows[:, :, None], cols[:, None, :]]  # (B, S, S)
        sampled = (support_weight > 0).to(image.dtype)
        count = sampled.sum(dim=(1, 2)).clamp(min=1)
        luma = support.mean(dim=0)
        mean = (luma * sampled).sum(dim=(1, 2)) / count
        contrast = torch.sqrt((((luma - mean[:, None, None]) ** 2) * sampled).sum(dim=(1, 2)) / count)
        steps = (settings.steps_per_contrast * contrast).round().clamp(settings.min_steps, settings.max_steps).long()
        batch = block_rows.numel()
        fitted = _fit_blocks(support.reshape(channels * batch, size, size),
                             (support_weight * decay).repeat(channels, 1, 1), steps.repeat(channels),
                             int(steps.max()), settings)
        fitted = fitted.reshape(channels, batch, size, size)[:, :, border:border + block, border:border + block]
        block_y = (border + block_rows * block)[:, None, None] + inner[None, :, None]  # (B, block, 1)
        block_x = (border + block_cols * block)[:, None, None] + inner[None, None, :]  # (B, 1, block)
        was_known = weight[block_y, block_x] > 0  # (B, block, block)
        values[:, block_y, block_x] = torch.where(was_known[None], values[:, block_y, block_x], fitted)
        weight[block_y, block_x] = torch.where(was_known, weight[block_y, block_x],
                                               torch.full_like(weight[block_y, block_x], settings.filled_weight))
        todo = todo & ~wave
    return values[:, border:border + height, border:border + width].clamp(0, 1)
