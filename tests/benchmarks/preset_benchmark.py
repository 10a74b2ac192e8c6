"""Removal at each quality preset on a synthetic scene with ground truth: wall time and the hole's error.

    .venv/bin/python tests/benchmarks/preset_benchmark.py [--size 512] [--object-px 80] [--scenes 1]
                                                          [--presets fast balanced best] [--device auto] [--json OUT]

Each scene is rendered with and without one object (the generator removes its shadow too); the object whose box is
closest to --object-px wide is removed with its object + shadow mask, and the result is compared with the rendering
without it: MAE and PSNR inside the removed pixels, MAE over the hole's box. Prints a markdown table.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
from skimage.metrics import peak_signal_noise_ratio

from inference_server.device import choose_device
from inference_server.pipeline.options import PRESETS, RemoveOptions
from inference_server.pipeline.remove import apply_patch, remove_object
from inference_server.scenes.edits import edit_remove, render_edit
from inference_server.scenes.layout import random_scene


def scene_with_object_of_size(seed: int, size: int, object_px: int):
    """The first scene (from `seed` on) holding an object whose box width is within 20% of object_px."""
    for attempt in range(seed, seed + 200):
        spec = random_scene(attempt, num_objects=(3, 5))
        probe = render_edit(edit_remove(spec, 0), size, size)
        widths = probe.before.boxes[:, 2] - probe.before.boxes[:, 0]
        index = int(np.argmin(np.abs(widths - object_px)))
        if abs(widths[index] - object_px) <= 0.2 * object_px and probe.before.visible_fraction[index] > 0.95:
            return attempt, index, render_edit(edit_remove(spec, index), size, size)
    raise RuntimeError(f"no scene with a ~{object_px} px object in 200 seeds from {seed}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--object-px", type=int, default=80)
    parser.add_argument("--scenes", type=int, default=1)
    parser.add_argument("--presets", nargs="+", default=list(PRESETS), choices=list(PRESETS))
    parser.add_argument("--device", default="auto")
    parser.add_argument("--json", help="also write the rows as JSON here")
    args = parser.parse_args()
    device = choose_device(args.device)

    rows = []
    seed = 0
    for _ in range(args.scenes):
        seed, index, edit = scene_with_object_of_size(seed, args.size, args.object_px)
        image, truth = edit.before.image, edit.after.image
        mask = edit.before.removal_mask(index, with_shadow=True)
        width = int(edit.before.boxes[index, 2] - edit.before.boxes[index, 0])
        for preset in args.presets:
            started = time.perf_counter()
            result = remove_object(image, mask, RemoveOptions(quality=preset, seed=0), device=device.torch_device)
            seconds = time.perf_counter() - started
            out = apply_patch(image, result.region, result.patch)
            box = result.region.slices
            error = np.abs(out.astype(float) - truth.astype(float))
            rows.append({
                "scene_seed": seed, "object": edit.before.classes[index], "object_px": width, "preset": preset,
                "seconds": round(seconds, 2), "iterations": result.iterations, "dilation_px": result.dilation_px,
                "hole_mae": round(float(error[mask].mean()), 2),
                "hole_psnr": round(float(peak_signal_noise_ratio(truth[mask], out[mask], data_range=255)), 2),
                "box_mae": round(float(error[box].mean()), 2),
                "unfilled_mae": round(float(np.abs(image.astype(float) - truth)[mask].mean()), 2),
            })
            print(json.dumps(rows[-1]), flush=True)
        seed += 1

    print(f"\n{args.size}x{args.size}, device {device.kind} ({device.name})\n")
    print("| scene | object | preset | wall time (s) | steps | dilation (px) | hole MAE | hole PSNR (dB) | box MAE |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['scene_seed']} | {r['object']} ({r['object_px']} px) | {r['preset']} | {r['seconds']} | "
              f"{r['iterations']} | {r['dilation_px']} | {r['hole_mae']} | {r['hole_psnr']} | {r['box_mae']} |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({"size": args.size, "device": device.name, "rows": rows}, out, indent=1)


if __name__ == "__main__":
    main()
