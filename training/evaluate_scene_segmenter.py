"""Evaluates the scene Mask R-CNN on held-out scenes (seeds 0 .. N-1; training uses 1_000_000 and up).

    .venv/bin/python training/evaluate_scene_segmenter.py [--weights FILE.pth] [--scenes 200] [--size 256] \
        [--threads 1] [--json metrics.json]

A detection counts when its class is right and its mask has IoU >= 0.5 with an object's visible pixels (greedy
one-to-one matching, highest score first). Objects covering less than 1/1600 of the image are left out (see
inference_server/segmentation/scene_training.py). Prints a markdown table; --json also writes the numbers.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from inference_server.errors import SemanticEditError
from inference_server.segmentation.scene_maskrcnn import SceneMaskRCNNSegmenter
from inference_server.segmentation.scene_training import TRAIN_SEED_BASE, evaluate


def markdown(metrics: dict) -> str:
    header = ("| scenes | size | objects | detections | precision | recall | mean mask IoU | recall (any class) "
              "| s/image |")
    rule = "|---" * (header.count("|") - 1) + "|"
    row = (f"| {metrics['scenes']} | {metrics['size']} | {metrics['objects']} | {metrics['detections']} "
           f"| {metrics['precision']:.3f} | {metrics['recall']:.3f} | {metrics['mean_mask_iou']:.3f} "
           f"| {metrics['recall_any_class']:.3f} | {metrics['seconds_per_image']:.3f} |")
    return "\n".join([header, rule, row])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Precision, recall and mask IoU of the scene Mask R-CNN.")
    parser.add_argument("--weights", type=Path, default=None, help="the .pth file (its .json beside it); default: "
                        "weights/scene_segmenter/scene_maskrcnn_mobilenet_v3.pth")
    parser.add_argument("--scenes", type=int, default=200, help="held-out scenes, seeds 0 .. N-1 (default 200)")
    parser.add_argument("--size", type=int, default=256, help="scene side in px (default 256)")
    parser.add_argument("--score-threshold", type=float, default=0.5, help="detections kept above it (default 0.5)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--json", type=Path, default=None, help="also write the metrics to this JSON file")
    args = parser.parse_args(argv)
    if not 1 <= args.scenes <= TRAIN_SEED_BASE:
        parser.error(f"--scenes must be between 1 and {TRAIN_SEED_BASE} (training seeds start there)")
    torch.set_num_threads(args.threads)
    try:
        segmenter = SceneMaskRCNNSegmenter(torch.device("cpu"), weights_path=args.weights)
    except SemanticEditError as error:
        print(f"evaluate: {error}", file=sys.stderr)
        return 1
    metrics = evaluate(segmenter, range(args.scenes), args.size, score_threshold=args.score_threshold)
    metrics["weights"] = str(segmenter.weights_path)
    print(markdown(metrics))
    if args.json is not None:
        args.json.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
