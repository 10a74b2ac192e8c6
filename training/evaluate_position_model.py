"""Evaluates the position model against the rule baseline and the mean box on held-out synthetic layouts.

    .venv/bin/python training/evaluate_position_model.py                  # the shipped weights, 300 scenes
    .venv/bin/python training/evaluate_position_model.py --weights training/runs/position_model/position_lstm.pth \
        --scenes 300 --json metrics.json

Held-out layouts: random_scene seeds 0 .. --scenes - 1 (training uses 2_000_000 and up). One sample per object
(inference_server/placement/evaluation.py), scored twice: with the target's size given (a move) and without (an
add). Methods: ground truth (the true box: how often the training labels themselves satisfy the image-plane rules),
the model's point head (SIMBIL's estimate), the best-ranked candidate ranked without regard to overlaps (as before
placement/overlap.py), the model's best-ranked candidate (what PositionPredictor.place returns: clear of the
references it should not cover), the same with every other object of the scene named as an
obstacle (scene known: what a caller that detected the scene can pass), the rule baseline, and the training set's
mean box. Prints a markdown table; --json writes all numbers.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from inference_server.errors import SemanticEditError
from inference_server.placement.evaluation import EvalSample, diversity, evaluation_samples, score
from inference_server.placement.predict import PositionPredictor
from inference_server.placement.rules import rule_placement
from inference_server.placement.training_data import scene_layouts

MODES = {"size_known": True, "size_unknown": False}
METHODS = ("ground truth", "model: point head", "model: best candidate, overlaps allowed", "model: best candidate",
           "model: best candidate, scene known", "rules", "mean box")


def evaluate(predictor: PositionPredictor, layouts: list, *, candidates: int = 4, log=print) -> dict:
    """Every method of the module docstring on both modes, plus the diversity of `candidates` placements."""
    mean_box = tuple(predictor.config.mean_box)
    results: dict = {"scenes": len(layouts), "candidates": candidates, "modes": {}}
    for mode, size_known in MODES.items():
        samples: list[EvalSample] = evaluation_samples(layouts, size_known=size_known)
        requests = [sample.request for sample in samples]
        start = time.perf_counter()
        ranked = [predictor.candidates(request, candidates, seed=index) for index, request in enumerate(requests)]
        seconds = (time.perf_counter() - start) / max(len(requests), 1)
        scene_known = [predictor.place(sample.request, seed=index, others=sample.others)
                       for index, sample in enumerate(samples)]
        overlaps_allowed = [predictor.candidates(request, 1, seed=index, keep_clear=False)[0]
                            for index, request in enumerate(requests)]
        boxes = {
            "ground truth": [sample.box for sample in samples],
            "model: point head": predictor.point_boxes(requests),
            "model: best candidate, overlaps allowed": [placement.box for placement in overlaps_allowed],
            "model: best candidate": [placements[0].box for placements in ranked],
            "model: best candidate, scene known": [placement.box for placement in scene_known],
            "rules": [rule_placement(request) for request in requests],
            "mean box": [mean_box] * len(samples),
        }
        results["modes"][mode] = {
            "methods": {name: score(samples, boxes[name]) for name in METHODS},
            "diversity": diversity(samples, [[p.box for p in placements] for placements in ranked]),
            "seconds_per_request_candidates": seconds,
        }
        log(f"{mode}: {len(samples)} samples scored")
    return results


def markdown(metrics: dict) -> str:
    """The main numbers as markdown tables: one per mode, then the per-predicate satisfaction."""
    lines = []
    for mode, result in metrics["modes"].items():
        lines += [f"**{mode.replace('_', ' ')}** ({result['methods']['rules']['samples']} targets, "
                  f"{metrics['scenes']} held-out scenes, 256 x 256 px)", "",
                  "| method | MAE box px | MAE centre px | all relations satisfied | triplets satisfied | "
                  "overlapping another object |",
                  "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for name, m in result["methods"].items():
            lines.append(f"| {name} | {m['mae_box_px']:.2f} | {m['mae_centre_px']:.2f} | "
                         f"{100 * m['all_satisfied']:.1f}% | {100 * m['triplets_satisfied']:.1f}% | "
                         f"{100 * m['overlapping']:.1f}% |")
        d = result["diversity"]
        lines += ["", f"{metrics['candidates']} candidates per request: {100 * d['candidates_all_satisfied']:.1f}% "
                  f"satisfy every relation, centres {d['mean_pairwise_centre_distance_px']:.1f} px apart on "
                  f"average; {1000 * result['seconds_per_request_candidates']:.1f} ms per request.", ""]
    first = next(iter(metrics["modes"].values()))["methods"]
    names = ("ground truth", "model: best candidate", "rules")
    lines += ["Triplets satisfied per predicate (size known):", "",
              "| predicate | triplets | " + " | ".join(names) + " |", "| --- | ---: |" + " ---: |" * len(names)]
    for predicate, entry in first["rules"]["per_predicate"].items():
        cells = [first[n]["per_predicate"][predicate]["satisfied"] for n in names]
        lines.append(f"| {predicate} | {entry['triplets']} | " + " | ".join(
            "-" if c is None else f"{100 * c:.1f}%" for c in cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Evaluate the position model on held-out synthetic layouts.")
    parser.add_argument("--weights", type=Path, default=None, help="weights file (default: the shipped one); its "
                        "config JSON must lie beside it")
    parser.add_argument("--scenes", type=int, default=300, help="held-out scenes, seeds 0 .. N-1 (default 300)")
    parser.add_argument("--candidates", type=int, default=4, help="placements per request for the diversity "
                        "numbers (default 4)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--json", type=Path, default=None, help="write the metrics here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        predictor = PositionPredictor(weights_path=args.weights)
    except SemanticEditError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    start = time.perf_counter()
    layouts = scene_layouts(range(args.scenes))
    print(f"{len(layouts)} held-out layouts in {time.perf_counter() - start:.0f} s", flush=True)
    metrics = evaluate(predictor, layouts, candidates=args.candidates)
    print(markdown(metrics))
    if args.json:
        args.json.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
