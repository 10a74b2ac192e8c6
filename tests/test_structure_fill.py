"""The structure half of the default fill: harmonic interpolation and frequency-selective extrapolation."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from inference_server.errors import JobCancelledError
from inference_server.inpainting.frequency_extrapolation import ExtrapolationSettings, extrapolate
from inference_server.inpainting.harmonic import harmonic_fill
from inference_server.inpainting.internal_fill import InternalFillSettings, structure_fill, structure_scale


def _disc(height: int, width: int, cy: float, cx: float, radius: float) -> torch.Tensor:
    rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    return (rows - cy) ** 2 + (cols - cx) ** 2 <= radius ** 2


def test_harmonic_fill_reproduces_a_linear_ramp_exactly():
    # A linear function is harmonic (its Laplacian is 0), so the interpolation from the hole's border is the ramp
    # itself; replicated window borders keep it so only where the ramp's normal derivative is 0 there: use a ramp
    # across x in a window whose left and right columns are known (the hole stays inside).
    height, width = 40, 48
    ramp = torch.linspace(0.1, 0.9, width).expand(height, width)
    image = torch.stack([ramp, 1 - ramp, 0.5 * ramp])
    hole = _disc(height, width, 20, 24, 12)
    damaged = torch.where(hole, torch.zeros_like(image), image)
    filled = harmonic_fill(damaged, hole, iterations=200)
    assert torch.equal(filled[:, ~hole], image[:, ~hole])
    assert (filled[:, hole] - image[:, hole]).abs().max() < 2e-3


def test_harmonic_fill_of_a_flat_colour_is_that_colour():
    image = torch.tensor([0.2, 0.6, 0.8])[:, None, None].expand(3, 64, 64).clone()
    hole = _disc(64, 64, 30, 33, 20)
    image[:, hole] = torch.tensor([1.0, 0.0, 0.0])[:, None]  # the "object"
    filled = harmonic_fill(image, hole)
    assert (filled[:, hole] - torch.tensor([0.2, 0.6, 0.8])[:, None]).abs().max() < 1e-3


def _stripes(height: int, width: int, period: float, angle: float) -> torch.Tensor:
    rows, cols = torch.meshgrid(torch.arange(height, dtype=torch.float32), torch.arange(width, dtype=torch.float32),
                                indexing="ij")
    phase = 2 * math.pi * (cols * math.cos(angle) + rows * math.sin(angle)) / period
    wave = 0.5 + 0.3 * torch.sin(phase)
    return torch.stack([wave, 0.8 - 0.5 * wave, torch.full_like(wave, 0.4)])


def test_frequency_extrapolation_continues_stripes_across_the_hole_where_harmonic_cannot():
    image = _stripes(64, 64, period=10.0, angle=0.5)
    hole = _disc(64, 64, 32, 32, 9)
    damaged = torch.where(hole, torch.zeros_like(image), image)
    extrapolated = extrapolate(damaged, ~hole)
    smooth = harmonic_fill(damaged, hole)
    stripe_error = (extrapolated[:, hole] - image[:, hole]).abs().mean()
    smooth_error = (smooth[:, hole] - image[:, hole]).abs().mean()
    assert torch.equal(extrapolated[:, ~hole], image[:, ~hole])
    assert stripe_error < 0.03  # the stripes' amplitude is 0.3: they are carried in, in phase
    assert smooth_error > 3 * stripe_error  # harmonic interpolation flattens them


def test_frequency_extrapolation_of_a_flat_colour_is_that_colour():
    image = torch.tensor([0.7, 0.3, 0.1])[:, None, None].expand(3, 50, 70).clone()
    hole = _disc(50, 70, 25, 35, 14)
    image[:, hole] = 1.0
    filled = extrapolate(image, ~hole, ExtrapolationSettings(support=32, max_steps=60, min_steps=20))
    assert (filled[:, hole] - torch.tensor([0.7, 0.3, 0.1])[:, None]).abs().max() < 0.01


def test_frequency_extrapolation_stops_when_asked():
    image = torch.rand(3, 40, 40)
    hole = _disc(40, 40, 20, 20, 10)
    with pytest.raises(JobCancelledError):
        extrapolate(image, ~hole, should_stop=lambda: True)


def test_structure_is_the_weighted_mean_of_both_predictors():
    image = _stripes(48, 48, period=9.0, angle=1.1)
    hole = _disc(48, 48, 24, 24, 8)
    settings = InternalFillSettings(extrapolation_share=0.25)
    mixed = structure_fill(image, ~hole, settings)
    expected = 0.25 * extrapolate(image, ~hole, settings.extrapolation) + 0.75 * harmonic_fill(image, hole)
    assert torch.allclose(mixed, expected, atol=1e-6)


@pytest.mark.parametrize(("pixels", "limit", "scale"), [(100, 16384, 1), (16384, 16384, 1), (16385, 16384, 2),
                                                        (152129, 16384, 4)])
def test_structure_scale_brings_the_hole_under_the_limit(pixels, limit, scale):
    assert structure_scale(pixels, limit) == scale
    assert pixels / scale ** 2 <= limit
