"""Harmonic interpolation: the smoothest fill that meets the hole's border (Laplace's equation, Delta u = 0).

    harmonic_fill(image, hole, iterations) -> (C, H, W)

Among linear predictors of a hole from its border this is the conditional mean for a photo modelled as a Gaussian
field with a 1/f^2 power spectrum, which natural images roughly have: it wins on skies, walls and other smooth
regions, and makes no texture. Solved by conjugate gradients on the hole's pixels (a 5-point Laplacian applied by
convolution, so it runs on any device without host syncs), started coarse to fine: each level starts from the
half-size solution, so a few dozen steps per level suffice whatever the hole's size.

Tensors: image (C, H, W) float; hole (H, W) bool, on the image's device.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

MIN_LEVEL_SIDE = 16  # below this the coarsest level is solved from the mean colour with enough steps to converge


def _laplacian(values: torch.Tensor) -> torch.Tensor:
    """5-point Laplacian of (C, H, W), borders replicated (no flux across the window's edge)."""
    kernel = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]], device=values.device,
                          dtype=values.dtype).expand(values.shape[0], 1, 3, 3)
    return F.conv2d(F.pad(values[None], (1, 1, 1, 1), mode="replicate"), kernel, groups=values.shape[0])[0]


def _conjugate_gradients(image: torch.Tensor, hole: torch.Tensor, start: torch.Tensor,
                         iterations: int) -> torch.Tensor:
    """Solves -Delta u = 0 on the hole with u = image elsewhere, from `start`; one solve per channel at once."""
    inside = hole.to(image.dtype)[None]  # (1, H, W)

    def operator(values: torch.Tensor) -> torch.Tensor:  # -Delta restricted to the hole
        return -_laplacian(values * inside) * inside

    rhs = _laplacian(image * (1 - inside)) * inside
    solution = start * inside
    residual = rhs - operator(solution)
    direction = residual.clone()
    norm = (residual * residual).sum(dim=(1, 2), keepdim=True)
    for _ in range(iterations):
        applied = operator(direction)
        step = norm / (direction * applied).sum(dim=(1, 2), keepdim=True).clamp(min=1e-20)
        solution = solution + step * direction
        residual = residual - step * applied
        new_norm = (residual * residual).sum(dim=(1, 2), keepdim=True)
        direction = residual + (new_norm / norm.clamp(min=1e-30)) * direction
        norm = new_norm
    return torch.where(hole, solution, image)


def harmonic_fill(image: torch.Tensor, hole: torch.Tensor, iterations: int = 40) -> torch.Tensor:
    """`image` (C, H, W) with its `hole` (H, W) replaced by the harmonic interpolation of the pixels around it."""
    channels, height, width = image.shape
    if min(height, width) > MIN_LEVEL_SIDE:  # whatever the hole's size: the steps per level stay few
        pad_h, pad_w = height % 2, width % 2
        coarse_image = F.avg_pool2d(F.pad(image[None], (0, pad_w, 0, pad_h), mode="replicate"), 2)[0]
        coarse_hole = F.max_pool2d(F.pad(hole[None, None].float(), (0, pad_w, 0, pad_h)), 2)[0, 0] > 0
        coarse = harmonic_fill(coarse_image, coarse_hole, iterations)
        start = F.interpolate(coarse[None], size=(height + pad_h, width + pad_w), mode="bilinear",
                              align_corners=False)[0, :, :height, :width]
    else:
        mean = image.mean(dim=(1, 2), keepdim=True)
        start = mean.expand_as(image)
        iterations = max(iterations, 4 * max(height, width))
    return _conjugate_gradients(image, hole, start, iterations)
