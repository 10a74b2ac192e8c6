"""The edit benchmark's core (tests/benchmarks/edit_benchmark.py) on one 64 px scene per edit, with 2 steps:
every metric is finite, ours recolours closer to the ground truth than the naive hue change, and the objects that
add and replace paste lie where their boxes say."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from inference_server.pipeline.options import RemoveOptions
from inference_server.placement.predict import PositionPredictor

sys.path.insert(0, str(Path(__file__).resolve().parent / "benchmarks"))
import edit_benchmark as bench  # noqa: E402

SIZE = 64
REMOVE = RemoveOptions(quality="fast", iterations=2, seed=0, dilation_px=0)
SCORES = ("mae", "ssim", "roi_mae", "roi_ssim")


@pytest.fixture(scope="module")
def predictor():
    return PositionPredictor()


@pytest.fixture(scope="module")
def edits():
    """{kind: (seed, rendered edit)}, the benchmark's first edit of each kind."""
    picked = {}
    for kind in bench.EDITS:
        [(seed, pairs)] = bench.pick_edits(kind, 1, [SIZE])
        picked[kind] = seed, pairs[SIZE]
    return picked


@pytest.fixture(scope="module")
def rows(edits, predictor):
    """{kind: {method: row}} from run_edit."""
    found = {}
    for kind, (seed, pair) in edits.items():
        methods = bench.build_methods(kind, REMOVE, predictor, torch.device("cpu"))
        found[kind] = {row["method"]: row for row in bench.run_edit(pair, seed, methods)}
    return found


def test_every_edit_scores_its_methods_with_finite_metrics(rows):
    for kind, methods in rows.items():
        expected = ({bench.NAIVE, bench.OURS} | ({bench.DIP, bench.AUTO_DILATION}
                                                 if kind in bench.HOLE_FILLING else set())
                    | ({bench.FIT_WIDTH} if kind == "replace" else set())
                    | ({bench.NO_SHADOW} if kind == "add" else set())
                    | ({bench.KEEP_SHADOW} if kind == "move" else set()))
        assert set(methods) == expected, kind
        for row in methods.values():
            assert all(math.isfinite(row[key]) for key in SCORES), (kind, row)
            assert 0 <= row["mae"] <= 255 and 0 <= row["roi_mae"] <= 255 and row["ssim"] <= 100
            if kind in bench.POSITIONED:
                assert math.isfinite(row["position_mae_px"])
            if kind in bench.WITH_RELATIONS:
                assert row["relations_held"] in (0.0, 1.0)


def test_ours_recolours_closer_to_the_truth_than_setting_the_hue(rows):
    assert rows["recolor"][bench.OURS]["roi_mae"] < rows["recolor"][bench.NAIVE]["roi_mae"]


def test_add_pastes_the_object_on_the_predicted_boxs_ground_line(edits, predictor):
    _, pair = edits["add"]
    outcome = bench.ours_add(predictor, cast_shadow=False)(pair)  # the object's own pixels only
    x0, y0, x1, y1 = np.asarray(outcome.predicted) * SIZE
    changed = (outcome.image != pair.before.image).any(axis=2)
    cx0, cy0, cx1, cy1 = bench.bounding_box(changed)
    assert (cx0, cy0, cx1, cy1) == outcome.box  # the pixels that changed are the placed object's
    assert abs(cy1 - y1) <= 1 and abs((cy1 - cy0) - (y1 - y0)) <= 1  # standing on the box's bottom, its height
    assert abs((cx0 + cx1) / 2 - (x0 + x1) / 2) <= 1  # centred on the box's middle column


def test_replace_pastes_the_new_object_inside_the_old_ones_box(edits, predictor):
    _, pair = edits["replace"]
    outcome = bench.ours_replace(REMOVE, torch.device("cpu"))(pair)
    ox0, oy0, ox1, oy1 = bench.bounding_box(bench.edited_mask(pair))
    x0, y0, x1, y1 = outcome.box
    assert ox0 - 1 <= x0 and y0 >= oy0 - 1 and x1 <= ox1 + 1 and abs(y1 - oy1) <= 1
    source, _ = bench.new_object(pair)
    scaled = source.resized(x1 - x0, y1 - y0)
    opaque = scaled.alpha >= 1
    pasted = outcome.image[y0:y1, x0:x1][opaque].astype(float)
    assert np.abs(pasted - scaled.rgb[opaque] * 255).mean() < 2  # the source's own colours, where it is opaque
