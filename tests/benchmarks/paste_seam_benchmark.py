"""The seam of a pasted object against the scene generator's ground truth: which blending leaves no halo.

    .venv/bin/python tests/benchmarks/paste_seam_benchmark.py [--size 128] [--scenes 20] [--json OUT]

Each scene's object 0 is moved by the generator (edit_move, "left of" / "right of" / "in front of" / "behind" object
1, the first that fits). The object is cut out of the before-image and pasted, scaled to the size it has in the
after-image, at its after-image box, over the after-image rendered without it, so only the paste differs from the
ground truth (the moved object's shadow is missing for every method alike). The seam is the band from 2 px inside
to 3 px outside the object's after-mask; its MAE (0..255) against the after-image, and the MAE inside the object,
are averaged over the scenes. Methods: hard and soft alpha edges (pipeline/paste.py), scaling straight colour
instead of premultiplied colour (what leaves SIMBIL's white edges), and OpenCV's Poisson seamless cloning.
"""
from __future__ import annotations

import argparse
import json

import cv2
import numpy as np
from PIL import Image
from scipy import ndimage

from inference_server.pipeline.masks import dilate
from inference_server.pipeline.paste import Cutout, cut_out, paste
from inference_server.pipeline.remove import apply_patch
from inference_server.scenes import LayoutError, edit_move, edit_remove, random_scene, render_edit, render_scene

PREDICATES = ("left of", "right of", "in front of", "behind")


def moved_scene(seed: int, size: int):
    spec = random_scene(seed, num_objects=(3, 5))
    for predicate in PREDICATES:
        try:
            edit = edit_move(spec, 0, predicate, 1, seed=seed)
        except LayoutError:
            continue
        pair = render_edit(edit, size, size)
        if pair.before.visible_fraction[0] > 0.9 and pair.after.visible_fraction[0] > 0.9:
            empty = render_scene(edit_remove(edit.after, 0).after, size, size).image
            return pair, empty
    return None


def straight_resized(cutout: Cutout, width: int, height: int) -> Cutout:
    """Scaling colour and alpha separately, without premultiplying (the fringe-making way)."""
    rgb = np.asarray(Image.fromarray((cutout.rgb * 255).astype(np.uint8)).resize((width, height),
                                                                                 Image.Resampling.BILINEAR)) / 255.0
    alpha = np.asarray(Image.fromarray(cutout.alpha.astype(np.float32), mode="F").resize(
        (width, height), Image.Resampling.BILINEAR))
    return Cutout(rgb.astype(np.float32), np.clip(alpha, 0, 1).astype(np.float32))


def alpha_paste(background, cutout, box, *, premultiplied=True):
    x0, y0, x1, y1 = box
    scaled = cutout.resized(x1 - x0, y1 - y0) if premultiplied else straight_resized(cutout, x1 - x0, y1 - y0)
    region, patch = paste(background, scaled, int(x0), int(y0))
    return apply_patch(background, region, patch)


def poisson_paste(background, cutout, box):
    x0, y0, x1, y1 = box
    scaled = cutout.resized(x1 - x0, y1 - y0)
    source = np.zeros_like(background)
    source[y0:y1, x0:x1] = np.rint(scaled.rgb * 255).astype(np.uint8)
    mask = np.zeros(background.shape[:2], np.uint8)
    mask[y0:y1, x0:x1] = (scaled.alpha > 0.5).astype(np.uint8) * 255
    mask = cv2.dilate(mask, np.ones((3, 3), np.uint8))  # seamlessClone needs a margin around the object
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    centre = (int((cols[0] + cols[-1] + 1) // 2), int((rows[0] + rows[-1] + 1) // 2))
    out = cv2.seamlessClone(source[..., ::-1].copy(), background[..., ::-1].copy(), mask, centre, cv2.NORMAL_CLONE)
    return out[..., ::-1]


METHODS = {
    "hard edge (alpha = mask)": lambda bg, before, mask, box: alpha_paste(bg, cut_out(before, mask, edge_px=0), box),
    "soft edge 1 px (default)": lambda bg, before, mask, box: alpha_paste(bg, cut_out(before, mask, edge_px=1), box),
    "soft edge 2 px": lambda bg, before, mask, box: alpha_paste(bg, cut_out(before, mask, edge_px=2), box),
    "soft edge 1 px, straight-colour scaling": lambda bg, before, mask, box: alpha_paste(
        bg, cut_out(before, mask, edge_px=1), box, premultiplied=False),
    "Poisson (OpenCV seamlessClone)": lambda bg, before, mask, box: poisson_paste(
        bg, cut_out(before, mask, edge_px=0), box),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--scenes", type=int, default=20)
    parser.add_argument("--json", help="also write the means as JSON here")
    args = parser.parse_args()
    errors = {name: {"seam": [], "object": []} for name in METHODS}
    seed = used = 0
    while used < args.scenes:
        found = moved_scene(seed, args.size)
        seed += 1
        if found is None:
            continue
        pair, empty = found
        used += 1
        truth = pair.after.image.astype(float)
        after_mask = pair.after.object_masks[0]
        band = dilate(after_mask, 3) & ~ndimage.binary_erosion(after_mask, iterations=2)
        box = tuple(int(v) for v in pair.after.boxes[0])
        for name, method in METHODS.items():
            out = method(empty, pair.before.image, pair.before.object_masks[0], box).astype(float)
            errors[name]["seam"].append(np.abs(out - truth)[band].mean())
            errors[name]["object"].append(np.abs(out - truth)[after_mask].mean())
    means = {name: {kind: round(float(np.mean(values)), 2) for kind, values in kinds.items()}
             for name, kinds in errors.items()}
    print(f"\n{used} moved objects at {args.size}x{args.size}\n")
    print("| method | seam MAE (band -2..+3 px) | object MAE |")
    print("|---|---|---|")
    for name, mean in means.items():
        print(f"| {name} | {mean['seam']} | {mean['object']} |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({"size": args.size, "scenes": used, "means": means}, out, indent=1)


if __name__ == "__main__":
    main()
