"""Background-guided Deep Image Prior (SIMBIL section 3.3, eq. 5; appendix A.3).

    E(x; x0) = mean(((x - x0) * m)^2) + lambda * G(x)

The data term is DIP's masked squared error, averaged over every element of the fitted tensor (C x H x W), as in
DIP's reference code. The guidance term G pulls the hole's mean colour towards the colour B of the background
around it:
    whole hole: G = (1/C) * || mean_{hole}(x) - B ||^2,   B = the guidance background's colour
    per row:    G = (1/R) * sum_rows (1/C) * || mean_{hole, row r}(x) - B_r ||^2
                over the R rows holding both hole and background pixels, B_r the background's colour in row r.
B is the per-channel median of the background pixels (default; of an even count, the lower middle value) or their
mean (the paper). The median ignores the
neighbouring objects that fall into the band around the hole, the paper's "biased background" failure (4.4c); on
the synthetic scenes it cuts the hole's error by about a quarter (docs/BENCHMARKS.md).

Tensors here are (1, C, H, W) float in [0, 1]; masks (1, 1, H, W) float {0, 1}. numpy <-> tensor conversion
happens in `fit_window` only.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import JobCancelledError
from .dip_network import SkipEncoderDecoder, SkipNetConfig

GUIDANCE_WHOLE_HOLE = "whole_hole"
GUIDANCE_PER_ROW = "per_row"
STATISTIC_MEDIAN = "median"
STATISTIC_MEAN = "mean"
NOISE_SCALE = 0.1  # z ~ U(0, 0.1), DIP's inpainting input
NOISE_REGULARISATION_STD = 0.03  # DIP perturbs z by N(0, 0.03^2) at each step


@dataclass(frozen=True)
class GuidanceTarget:
    """The background colour(s) the hole is pulled towards.

    means: (R, C) target colours, one row (whole hole) or one per image row (per row).
    rows: (R,) bool tensor, which of the R entries take part (rows with hole and background pixels).
    mode: GUIDANCE_WHOLE_HOLE or GUIDANCE_PER_ROW.
    """

    means: torch.Tensor
    rows: torch.Tensor
    mode: str


def guidance_target(image: torch.Tensor, hole: torch.Tensor, background: torch.Tensor, mode: str,
                    statistic: str = STATISTIC_MEDIAN) -> GuidanceTarget:
    """B of eq. 5 from the original image x0 (1, C, H, W) over the `background` pixels (1, 1, H, W)."""
    if mode not in (GUIDANCE_WHOLE_HOLE, GUIDANCE_PER_ROW):
        raise ValueError(f"Expected guidance mode '{GUIDANCE_WHOLE_HOLE}' or '{GUIDANCE_PER_ROW}', but found '{mode}'")
    if statistic not in (STATISTIC_MEDIAN, STATISTIC_MEAN):
        raise ValueError(f"Expected statistic '{STATISTIC_MEDIAN}' or '{STATISTIC_MEAN}', but found '{statistic}'")
    whole = mode == GUIDANCE_WHOLE_HOLE
    count = background.sum() if whole else background.sum(dim=(0, 1, 3))  # () or (H,)
    holes = hole.sum() if whole else hole.sum(dim=(0, 1, 3))
    valid = ((count > 0) & (holes > 0)).reshape(-1)  # (1,) or (H,)
    if statistic == STATISTIC_MEAN:
        sums = (image * background).sum(dim=(0, 2, 3))[None, :] if whole else (image * background).sum(dim=(0, 3)).T
        colours = sums / count.clamp(min=1).reshape(-1, 1)  # (R, C)
    else:
        outside = torch.full_like(image, float("nan"))
        picked = torch.where(background.bool().expand_as(image), image, outside)[0]  # (C, H, W), NaN off background
        medians = torch.nanmedian(picked.flatten(1), dim=1).values[None, :] if whole else \
            torch.nanmedian(picked, dim=2).values.T  # (R, C)
        colours = torch.nan_to_num(medians)  # rows without background are NaN; they take no part
    return GuidanceTarget(colours, valid, mode)


def guidance_term(output: torch.Tensor, hole: torch.Tensor, target: GuidanceTarget) -> torch.Tensor:
    """G(x) of eq. 5 (without lambda): squared distance of the hole's mean colour(s) to the background's."""
    if target.mode == GUIDANCE_WHOLE_HOLE:
        hole_mean = (output * hole).sum(dim=(0, 2, 3)) / hole.sum().clamp(min=1)  # (C,)
        squared = ((hole_mean[None, :] - target.means) ** 2).mean(dim=1)  # (1,)
    else:
        row_count = hole.sum(dim=(0, 1, 3)).clamp(min=1)  # (H,)
        hole_mean = (output * hole).sum(dim=(0, 3)).T / row_count[:, None]  # (H, C)
        squared = ((hole_mean - target.means) ** 2).mean(dim=1)  # (H,)
    weights = target.rows.to(squared.dtype)
    return (squared * weights).sum() / weights.sum().clamp(min=1)


def data_term(output: torch.Tensor, image: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """Eq. 4: squared error on the known pixels, averaged over all C x H x W elements (DIP's reference scaling)."""
    return (((output - image) * known) ** 2).mean()


def background_guided_loss(output: torch.Tensor, image: torch.Tensor, known: torch.Tensor, hole: torch.Tensor,
                           target: GuidanceTarget, guidance_weight: float) -> torch.Tensor:
    """Eq. 5: data term + lambda x guidance term."""
    loss = data_term(output, image, known)
    if guidance_weight > 0:
        loss = loss + guidance_weight * guidance_term(output, hole, target)
    return loss


@dataclass(frozen=True)
class FitSettings:
    """How one fit runs; the pipeline fills it from the quality preset and the request."""

    network: SkipNetConfig
    iterations: int
    min_iterations: int
    learning_rate: float = 0.01
    guidance_weight: float = 0.1
    guidance_mode: str = GUIDANCE_WHOLE_HOLE
    guidance_statistic: str = STATISTIC_MEDIAN
    seed: int = 0
    max_fit_side: int = 0  # 0 = fit at full resolution
    early_stop: bool = False
    early_stop_interval: int = 50
    early_stop_tolerance: float = 0.005


@dataclass(frozen=True)
class FitResult:
    fill: np.ndarray  # (H, W, 3) float32 in [0, 1], the fitted image at the window's full resolution
    iterations: int  # steps actually run
    fit_size: tuple[int, int]  # (height, width) the network ran at, before padding


ProgressCallback = Callable[[int, int], None]  # (step, total)
StopCheck = Callable[[], bool]


def gpu_autocast(device: torch.device) -> torch.autocast:
    """bf16 autocast for the network on a GPU (convolutions in bf16, batch norm and the loss in fp32); off on a CPU,
    where bf16 convolutions are slower than fp32 ones."""
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")


def _fit_resolution(height: int, width: int, max_side: int) -> tuple[int, int]:
    if max_side <= 0 or max(height, width) <= max_side:
        return height, width
    scale = max_side / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def fit_window(window: np.ndarray, known: np.ndarray, hole: np.ndarray, background: np.ndarray,
               settings: FitSettings, device: torch.device, *, progress: ProgressCallback | None = None,
               should_stop: StopCheck | None = None) -> FitResult:
    """Fits the DIP to one window and returns its output.

    window: (H, W, 3) uint8 RGB. known: (H, W) bool, pixels the data term fits. hole: (H, W) bool, pixels to fill.
    background: (H, W) bool, pixels whose mean colour guides the hole (a subset of `known`).
    should_stop is polled every step; when it returns True the fit raises JobCancelledError.
    """
    height, width = known.shape
    image = torch.tensor(window[..., :3], device=device).permute(2, 0, 1)[None].float() / 255  # (1, 3, H, W)
    masks = torch.from_numpy(np.stack([known, hole, background]).astype(np.float32)).to(device)[None]  # (1, 3, H, W)

    fit_h, fit_w = _fit_resolution(height, width, settings.max_fit_side)
    if (fit_h, fit_w) != (height, width):
        image = F.interpolate(image, size=(fit_h, fit_w), mode="area")
        coverage = F.interpolate(masks, size=(fit_h, fit_w), mode="area")  # share of each cell that is inside
        # A cell is known only if fully known; a cell is hole if any of it is hole; background only if fully so.
        masks = torch.cat([coverage[:, :1] > 0.999, coverage[:, 1:2] > 0, coverage[:, 2:] > 0.999], 1).float()

    multiple = settings.network.size_multiple
    smallest = settings.network.min_input_side
    pad_h = max(smallest, fit_h + -fit_h % multiple) - fit_h
    pad_w = max(smallest, fit_w + -fit_w % multiple) - fit_w
    if pad_h or pad_w:  # padding takes part in no term: masks are zero there
        mode = "reflect" if pad_h < fit_h and pad_w < fit_w else "replicate"
        image = F.pad(image, (0, pad_w, 0, pad_h), mode=mode)
        masks = F.pad(masks, (0, pad_w, 0, pad_h), value=0.0)
    known_t, hole_t, background_t = masks[:, :1], masks[:, 1:2], masks[:, 2:]
    target = guidance_target(image, hole_t, background_t, settings.guidance_mode, settings.guidance_statistic)

    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(settings.seed)
        net = SkipEncoderDecoder(settings.network).to(device)
        z = torch.rand((1, settings.network.input_channels, *image.shape[-2:]), device=device) * NOISE_SCALE
        # the noise's own stream; modulo 2^64 so that the largest seed a request can carry wraps instead of failing
        noise_generator = torch.Generator(device=device).manual_seed((settings.seed + 1) % 2 ** 64)
    if device.type == "cuda":  # channels-last: the layout cuDNN's fastest convolutions want
        net = net.to(memory_format=torch.channels_last)
        z = z.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(net.parameters(), lr=settings.learning_rate)

    steps_run = 0
    window_loss = torch.zeros((), device=device)  # summed on the device; read once per interval (one sync)
    previous_window: float | None = None
    flat_windows = 0
    for step in range(1, settings.iterations + 1):
        if should_stop is not None and should_stop():
            raise JobCancelledError("the job was cancelled by its client")
        noise = torch.randn(z.shape, generator=noise_generator, device=device) * NOISE_REGULARISATION_STD
        with gpu_autocast(device):
            output = net(z + noise)
        loss = background_guided_loss(output.float(), image, known_t, hole_t, target, settings.guidance_weight)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        steps_run = step
        if progress is not None:
            progress(step, settings.iterations)
        if settings.early_stop:
            window_loss += loss.detach()
            if step % settings.early_stop_interval == 0:
                current = window_loss.item() / settings.early_stop_interval
                window_loss.zero_()
                if previous_window is not None and previous_window - current < settings.early_stop_tolerance * previous_window:
                    flat_windows += 1
                else:
                    flat_windows = 0
                previous_window = current
                if flat_windows >= 2 and step >= settings.min_iterations:
                    break

    with torch.no_grad():
        with gpu_autocast(device):
            output = net(z)[:, :, :fit_h, :fit_w].float()
        if (fit_h, fit_w) != (height, width):
            output = F.interpolate(output, size=(height, width), mode="bicubic", align_corners=False).clamp(0, 1)
    fill = output[0].permute(1, 2, 0).float().cpu().numpy()
    return FitResult(fill=fill, iterations=steps_run, fit_size=(fit_h, fit_w))
