"""The shadow benchmark's core on two small scenes: every number it reports is there and in range."""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "benchmarks"))
import shadow_benchmark as bench  # noqa: E402


def test_the_shadow_benchmark_scores_masks_and_removals():
    args = argparse.Namespace(scenes=2, first_seed=2, sizes=[128], quality="fast", finders=("rule", "hybrid"),
                              removal_finders=("hybrid",), no_removal=False)
    rows = bench.run(args)
    row = rows[128]
    assert row["scenes"] == 2
    assert row["object_only_error"] > row["true_mask_error"] > 0  # leaving the shadow costs
    hybrid = row["hybrid"]
    assert 0.5 < hybrid["iou"] <= 1 and math.isfinite(hybrid["error"])
    assert hybrid["error_ratio"] < row["object_only_error"] / row["true_mask_error"]  # the step helps
    assert "error" not in row["rule"]  # only the removal finders run removals
    for name in args.finders:
        assert 0 <= row[name]["no_shadow_mean_share"] <= row[name]["no_shadow_worst_share"]
    assert "| hybrid |" in bench.markdown(rows, args.finders)
