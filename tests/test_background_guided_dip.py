"""SIMBIL eq. 5 against hand computations, and the fit's contract (shapes, seeds, cancellation)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from inference_server.errors import JobCancelledError
from inference_server.inpainting.background_guided_dip import (
    GUIDANCE_PER_ROW, GUIDANCE_WHOLE_HOLE, STATISTIC_MEAN, STATISTIC_MEDIAN, FitSettings, background_guided_loss, data_term, fit_window,
    guidance_target, guidance_term)
from inference_server.inpainting.dip_network import SkipEncoderDecoder, SkipNetConfig


def _tensor(rows):  # (H, W, C) nested lists -> (1, C, H, W)
    return torch.tensor(rows, dtype=torch.float64).permute(2, 0, 1)[None]


def _mask(rows):  # (H, W) -> (1, 1, H, W)
    return torch.tensor(rows, dtype=torch.float64)[None, None]


# A 2x3 two-channel image. Hole: (0,1) and (1,1),(1,2). Background: (0,0), (0,2), (1,0).
IMAGE = _tensor([[[0.2, 0.4], [0.9, 0.9], [0.6, 0.0]],
                 [[0.1, 0.3], [0.9, 0.9], [0.9, 0.9]]])
OUTPUT = _tensor([[[0.5, 0.5], [0.3, 0.7], [0.5, 0.5]],
                  [[0.5, 0.5], [0.1, 0.2], [0.5, 0.4]]])
HOLE = _mask([[0, 1, 0], [0, 1, 1]])
BACKGROUND = _mask([[1, 0, 1], [1, 0, 0]])


def test_whole_hole_mean_guidance_matches_hand_computation():
    # B = mean of background pixels (0.2,0.4), (0.6,0.0), (0.1,0.3) = (0.3, 0.2333..)
    # hole mean of the output: (0.3,0.7), (0.1,0.2), (0.5,0.4) -> (0.3, 0.4333..)
    # G = (1/C) ||(0, 0.2)||^2 = 0.04 / 2 = 0.02
    target = guidance_target(IMAGE, HOLE, BACKGROUND, GUIDANCE_WHOLE_HOLE, STATISTIC_MEAN)
    assert target.means[0].tolist() == pytest.approx([0.3, 0.7 / 3])
    assert guidance_term(OUTPUT, HOLE, target).item() == pytest.approx(0.02)


def test_per_row_mean_guidance_matches_hand_computation():
    # row 0: B0 = mean((0.2,0.4),(0.6,0.0)) = (0.4, 0.2); hole mean (0.3, 0.7) -> ((0.1)^2 + (0.5)^2)/2 = 0.13
    # row 1: B1 = (0.1, 0.3); hole mean of (0.1,0.2),(0.5,0.4) = (0.3, 0.3) -> ((0.2)^2 + 0)/2 = 0.02
    # G = mean over the two rows = 0.075
    target = guidance_target(IMAGE, HOLE, BACKGROUND, GUIDANCE_PER_ROW, STATISTIC_MEAN)
    assert target.rows.tolist() == [True, True]
    assert guidance_term(OUTPUT, HOLE, target).item() == pytest.approx(0.075)


def test_whole_hole_median_guidance_matches_hand_computation():
    # B = per-channel median of (0.2,0.4), (0.6,0.0), (0.1,0.3) = (0.2, 0.3); hole mean (0.3, 0.4333..)
    # G = ((0.1)^2 + (0.1333..)^2) / 2
    target = guidance_target(IMAGE, HOLE, BACKGROUND, GUIDANCE_WHOLE_HOLE, STATISTIC_MEDIAN)
    assert target.means[0].tolist() == pytest.approx([0.2, 0.3])
    assert guidance_term(OUTPUT, HOLE, target).item() == pytest.approx((0.1**2 + (1.3 / 3 - 0.3) ** 2) / 2)


def test_per_row_median_guidance_matches_hand_computation():
    # row 0: two background pixels (0.2,0.4), (0.6,0.0): the lower middle value per channel, B0 = (0.2, 0.0);
    #        hole mean (0.3, 0.7) -> ((0.1)^2 + (0.7)^2)/2 = 0.25
    # row 1: B1 = (0.1, 0.3); hole mean (0.3, 0.3) -> ((0.2)^2 + 0)/2 = 0.02;  G = (0.25 + 0.02) / 2 = 0.135
    target = guidance_target(IMAGE, HOLE, BACKGROUND, GUIDANCE_PER_ROW, STATISTIC_MEDIAN)
    assert target.means.tolist() == [pytest.approx([0.2, 0.0]), pytest.approx([0.1, 0.3])]
    assert guidance_term(OUTPUT, HOLE, target).item() == pytest.approx(0.135)


def test_median_ignores_a_neighbouring_object_in_the_band():
    # Background: 7 grey pixels and 3 red ones (a neighbour reaching into the band). The mean is tinted red,
    # the median stays grey.
    image = torch.full((1, 3, 1, 11), 0.5, dtype=torch.float64)
    image[0, :, 0, 7:10] = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)[:, None]
    hole = torch.zeros((1, 1, 1, 11), dtype=torch.float64)
    hole[..., 10] = 1
    background = 1 - hole
    median = guidance_target(image, hole, background, GUIDANCE_WHOLE_HOLE, STATISTIC_MEDIAN).means[0]
    mean = guidance_target(image, hole, background, GUIDANCE_WHOLE_HOLE, STATISTIC_MEAN).means[0]
    assert median.tolist() == pytest.approx([0.5, 0.5, 0.5])
    assert mean.tolist() == pytest.approx([0.65, 0.35, 0.35])


def test_per_row_guidance_skips_rows_without_background():
    background = _mask([[1, 0, 1], [0, 0, 0]])  # row 1 has hole pixels but no background: it takes no part
    target = guidance_target(IMAGE, HOLE, background, GUIDANCE_PER_ROW, STATISTIC_MEAN)
    assert target.rows.tolist() == [True, False]
    assert guidance_term(OUTPUT, HOLE, target).item() == pytest.approx(0.13)


def test_loss_is_data_term_plus_lambda_times_guidance():
    known = 1 - HOLE
    # data term: squared error on known pixels over all 2*2*3 = 12 elements
    diffs = [(0.5 - 0.2, 0.5 - 0.4), (0.5 - 0.6, 0.5 - 0.0), (0.5 - 0.1, 0.5 - 0.3)]
    expected_data = sum(a * a + b * b for a, b in diffs) / 12
    assert data_term(OUTPUT, IMAGE, known).item() == pytest.approx(expected_data)
    target = guidance_target(IMAGE, HOLE, BACKGROUND, GUIDANCE_WHOLE_HOLE, STATISTIC_MEAN)
    loss = background_guided_loss(OUTPUT, IMAGE, known, HOLE, target, guidance_weight=0.1)
    assert loss.item() == pytest.approx(expected_data + 0.1 * 0.02)
    assert background_guided_loss(OUTPUT, IMAGE, known, HOLE, target, 0.0).item() == pytest.approx(expected_data)


def test_network_output_shape_range_and_size_check():
    net = SkipEncoderDecoder(SkipNetConfig(depth=3, channels=8, input_channels=4))
    out = net(torch.rand(1, 4, 16, 24))
    assert out.shape == (1, 3, 16, 24)
    assert out.min() >= 0 and out.max() <= 1
    with pytest.raises(ValueError, match="divisible by 8"):
        net(torch.rand(1, 4, 12, 16))


def _fit_inputs(size=40):
    rng = np.random.default_rng(3)
    window = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
    hole = np.zeros((size, size), bool)
    hole[12:25, 10:30] = True
    return window, ~hole, hole, ~hole


SMALL = FitSettings(network=SkipNetConfig(depth=3, channels=8, input_channels=4), iterations=3, min_iterations=3)


def test_fit_pads_odd_windows_and_returns_full_size_fill():
    window, known, hole, background = _fit_inputs(size=37)
    result = fit_window(window, known, hole, background, SMALL, torch.device("cpu"))
    assert result.fill.shape == (37, 37, 3)
    assert result.iterations == 3


def test_fit_downscales_large_windows_to_the_cap():
    window, known, hole, background = _fit_inputs(size=80)
    settings = FitSettings(**{**SMALL.__dict__, "max_fit_side": 40})
    result = fit_window(window, known, hole, background, settings, torch.device("cpu"))
    assert result.fit_size == (40, 40)
    assert result.fill.shape == (80, 80, 3)


def test_same_seed_same_fill_and_other_seed_other_fill():
    args = _fit_inputs()
    first = fit_window(*args, SMALL, torch.device("cpu")).fill
    again = fit_window(*args, SMALL, torch.device("cpu")).fill
    other = fit_window(*args, FitSettings(**{**SMALL.__dict__, "seed": 1}), torch.device("cpu")).fill
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_fit_stops_when_asked():
    steps = []
    with pytest.raises(JobCancelledError):
        fit_window(*_fit_inputs(), FitSettings(**{**SMALL.__dict__, "iterations": 100}), torch.device("cpu"),
                   progress=lambda step, total: steps.append(step), should_stop=lambda: len(steps) >= 2)
    assert steps == [1, 2]


def test_guidance_pulls_the_hole_towards_the_background_colour():
    # A uniform grey window with a hole: with guidance the fill's mean moves to grey faster than without.
    window = np.full((32, 32, 3), 128, np.uint8)
    hole = np.zeros((32, 32), bool)
    hole[8:24, 8:24] = True
    settings = FitSettings(network=SkipNetConfig(depth=3, channels=8, input_channels=4), iterations=15,
                           min_iterations=15, learning_rate=0.05)
    errors = {}
    for weight in (0.0, 10.0):
        fill = fit_window(window, ~hole, hole, ~hole, FitSettings(**{**settings.__dict__, "guidance_weight": weight}),
                          torch.device("cpu")).fill
        errors[weight] = abs(fill[hole].mean() - 128 / 255)
    assert errors[10.0] < errors[0.0]


def test_early_stop_ends_a_converged_fit_after_the_minimum():
    # A flat grey window is fitted within a few dozen steps; the loss then stops improving.
    window = np.full((32, 32, 3), 128, np.uint8)
    hole = np.zeros((32, 32), bool)
    hole[10:20, 10:20] = True
    settings = FitSettings(network=SkipNetConfig(depth=3, channels=8, input_channels=4), iterations=2000,
                           min_iterations=40, learning_rate=0.05, early_stop=True, early_stop_interval=10,
                           early_stop_tolerance=0.05)
    result = fit_window(window, ~hole, hole, ~hole, settings, torch.device("cpu"))
    assert 40 <= result.iterations < 2000
    assert result.iterations % 10 == 0
