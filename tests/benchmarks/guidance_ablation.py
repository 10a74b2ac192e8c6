"""Ablation of the DIP fill's background guidance (fill dip) on synthetic scenes: the paper's mean colour against the
median, lambda, dilation and per-row mode, scored by the hole's MAE against the generator's ground truth.

    .venv/bin/python -m tests.benchmarks.guidance_ablation [--size 128] [--scenes 6] [--quality fast] [--threads 1]
                                                           [--variants paper median ...]

Scenes: seeds 100.. with 3 to 5 objects; the largest object is removed with its object + shadow mask.
Prints one line per variant (mean hole MAE and per scene) and a markdown table.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from inference_server.pipeline.options import FillMethod, GuidanceMode, GuidanceStatistic, RemoveOptions
from inference_server.pipeline.remove import apply_patch, remove_object
from inference_server.scenes import edit_remove, random_scene, render_edit

MEAN, MEDIAN = GuidanceStatistic.MEAN, GuidanceStatistic.MEDIAN
VARIANTS = {  # name -> RemoveOptions fields on top of the preset
    "paper": dict(guidance_statistic=MEAN),  # lambda 0.1, mean B, automatic dilation
    "no-guidance": dict(guidance_weight=0.0),
    "paper-lambda-1": dict(guidance_statistic=MEAN, guidance_weight=1.0),
    "paper-per-row": dict(guidance_statistic=MEAN, guidance_mode=GuidanceMode.PER_ROW),
    "paper-no-dilation": dict(guidance_statistic=MEAN, dilation_px=0),
    "median": dict(guidance_statistic=MEDIAN),  # the server's default
    "median-lambda-1": dict(guidance_statistic=MEDIAN, guidance_weight=1.0),
    "median-per-row": dict(guidance_statistic=MEDIAN, guidance_mode=GuidanceMode.PER_ROW),
    "median-no-dilation": dict(guidance_statistic=MEDIAN, dilation_px=0),
}


def cases(size: int, count: int):
    for seed in range(100, 100 + count):
        spec = random_scene(seed, num_objects=(3, 5))
        areas = render_edit(edit_remove(spec, 0), size, size).before.object_masks.sum(axis=(1, 2))
        index = int(np.argmax(areas))
        edit = render_edit(edit_remove(spec, index), size, size)
        yield edit.before.image, edit.after.image, edit.before.removal_mask(index)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--scenes", type=int, default=6)
    parser.add_argument("--quality", default="fast")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    scenes = list(cases(args.size, args.scenes))
    rows = []
    for name in args.variants:
        options = RemoveOptions(quality=args.quality, fill=FillMethod.DIP, **VARIANTS[name])
        started, errors = time.perf_counter(), []
        for image, truth, mask in scenes:
            result = remove_object(image, mask, options)
            out = apply_patch(image, result.region, result.patch)
            errors.append(float(np.abs(out.astype(float) - truth)[mask].mean()))
        rows.append((name, float(np.mean(errors)), errors, time.perf_counter() - started))
        print(f"{name:20s} hole MAE {rows[-1][1]:6.2f}  per scene {np.round(errors, 1).tolist()}", flush=True)
    print(f"\n{args.scenes} scenes at {args.size}x{args.size}, preset {args.quality}\n")
    print("| variant | hole MAE ↓ (mean) | per scene | s |")
    print("|---|---:|---|---:|")
    for name, mean, errors, seconds in rows:
        print(f"| {name} | {mean:.2f} | {', '.join(f'{e:.1f}' for e in errors)} | {seconds:.0f} |")


if __name__ == "__main__":
    main()
