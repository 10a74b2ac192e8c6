"""Recolouring against the scene generator's ground truth: error of recolor_object and of two baselines.

    .venv/bin/python tests/benchmarks/recolor_benchmark.py [--size 256] [--scenes 20] [--json OUT]

Each scene (random_scene(seed), seeds 0, 1, ..) gets one visible object (chosen by the seed) painted a random other
CLEVR colour with edit_recolor; the generator renders the after-image, which differs from the before-image only on
that object. Every method gets the before-image, the object's visible mask and the new colour's RGB:
  flat paint      the mask painted flat with the target RGB;
  hue only        CIELAB hue set to the target's, L and C kept (skimage.color, clipped to sRGB);
  recolor ...     pipeline/recolor.py with the options shown.
MAE (0..255) and SSIM (skimage.metrics, 7x7 window) against the after-image over the object's box (RoI) and over the
whole image; "similar L" / "other L" split the RoI MAE by whether the old and new colours' CIELAB lightness differ by
less than 10 (six of CLEVR's eight colours have L about 38; cyan is 76, yellow 93). Prints a markdown table of means.
"""
from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import numpy as np
from skimage.color import lab2lch, lch2lab, rgb2lab
from skimage.metrics import structural_similarity

from inference_server.pipeline.recolor import RecolorOptions, lab_to_srgb, recolor_object
from inference_server.pipeline.remove import apply_patch
from inference_server.scenes import COLOURS, edit_recolor, random_scene, render_edit, render_scene

MIN_BOX_PX = 11  # objects smaller than this (either side) are skipped: SSIM needs a 7x7 window and some room
SIMILAR_LIGHTNESS = 10.0

Method = Callable[[np.ndarray, np.ndarray, tuple[int, int, int]], np.ndarray]


def flat_paint(image: np.ndarray, mask: np.ndarray, rgb: tuple[int, int, int]) -> np.ndarray:
    out = image.copy()
    out[mask] = rgb
    return out


def hue_only(image: np.ndarray, mask: np.ndarray, rgb: tuple[int, int, int]) -> np.ndarray:
    lch = lab2lch(rgb2lab(image[mask].astype(np.float64) / 255.0))
    lch[:, 2] = lab2lch(rgb2lab(np.asarray(rgb, dtype=np.float64) / 255.0))[2]
    out = image.copy()
    out[mask] = np.rint(np.clip(lab_to_srgb(lch2lab(lch)), 0.0, 1.0) * 255.0).astype(np.uint8)
    return out


def pipeline(**options) -> Method:
    def method(image: np.ndarray, mask: np.ndarray, rgb: tuple[int, int, int]) -> np.ndarray:
        result = recolor_object(image, mask, RecolorOptions(colour=rgb, **options))
        return apply_patch(image, result.region, result.patch)
    return method


METHODS: dict[str, Method] = {
    "no edit (before-image)": lambda image, mask, rgb: image,
    "flat paint": flat_paint,
    "hue only": hue_only,
    "recolor, keep L (lightness 0), edge 1 px": pipeline(lightness=0.0),
    "recolor, keep L, edge 0 px": pipeline(edge_px=0, lightness=0.0),
    "recolor (defaults: lightness 1, edge 1 px)": pipeline(),
    "recolor, lightness 1, edge 0 px": pipeline(edge_px=0),
}


def albedo_lightness(colour: str) -> float:
    return float(rgb2lab(np.asarray(COLOURS[colour], dtype=np.float64) / 255.0)[0])


def pick_edit(seed: int, size: int):
    """(index, new colour, rendered edit) for scene `seed`, or None when it has no object big and visible enough."""
    rng = np.random.default_rng(seed)
    spec = random_scene(seed, num_objects=(3, 5))
    probe = render_scene(spec, size, size)
    boxes = probe.boxes
    fits = [i for i in range(len(spec.objects)) if probe.visible_fraction[i] > 0.5
            and min(boxes[i, 2] - boxes[i, 0], boxes[i, 3] - boxes[i, 1]) >= MIN_BOX_PX]
    if not fits:
        return None
    index = int(rng.choice(fits))
    colour = str(rng.choice([c for c in COLOURS if c != spec.objects[index].colour]))
    return index, colour, render_edit(edit_recolor(spec, index, colour), size, size)


def scores(out: np.ndarray, truth: np.ndarray, box: tuple[int, int, int, int]) -> dict[str, float]:
    x0, y0, x1, y1 = box
    roi = (slice(y0, y1), slice(x0, x1))
    error = np.abs(out.astype(np.float64) - truth.astype(np.float64))
    return {
        "roi_mae": float(error[roi].mean()),
        "roi_ssim": float(structural_similarity(out[roi], truth[roi], channel_axis=-1, data_range=255)),
        "image_mae": float(error.mean()),
        "image_ssim": float(structural_similarity(out, truth, channel_axis=-1, data_range=255)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--scenes", type=int, default=20)
    parser.add_argument("--json", help="also write the rows as JSON here")
    args = parser.parse_args()

    rows = []
    seed = 0
    while len({r["scene_seed"] for r in rows}) < args.scenes:
        picked = pick_edit(seed, args.size)
        seed += 1
        if picked is None:
            continue
        index, colour, edit = picked
        image, truth = edit.before.image, edit.after.image
        mask = edit.before.object_masks[index]
        old = edit.edit.before.objects[index]
        similar = abs(albedo_lightness(old.colour) - albedo_lightness(colour)) < SIMILAR_LIGHTNESS
        box = tuple(int(v) for v in edit.before.boxes[index])
        for name, method in METHODS.items():
            started = time.perf_counter()
            out = method(image, mask, COLOURS[colour])
            seconds = time.perf_counter() - started
            rows.append({"scene_seed": seed - 1, "object": f"{old.material} {old.class_name}", "to": colour,
                         "similar_l": similar, "method": name, "ms": 1000.0 * seconds,
                         **scores(out, truth, box)})
        print(json.dumps({"scene_seed": seed - 1, "object": rows[-1]["object"], "to": colour,
                          "roi_mae": {r["method"]: round(r["roi_mae"], 2) for r in rows[-len(METHODS):]}}), flush=True)

    count = len({r["scene_seed"] for r in rows})
    similar_count = len({r["scene_seed"] for r in rows if r["similar_l"]})
    print(f"\n{args.size}x{args.size}, {count} scenes ({similar_count} with similar L), means over scenes\n")
    print("| method | RoI MAE | RoI SSIM | image MAE | image SSIM | RoI MAE, similar L | RoI MAE, other L | ms |")
    print("|---|---|---|---|---|---|---|---|")
    for name in METHODS:
        mine = [r for r in rows if r["method"] == name]

        def mean(key: str, subset: bool | None = None) -> str:
            values = [r[key] for r in mine if subset is None or r["similar_l"] == subset]
            return f"{np.mean(values):.3f}" if "ssim" in key else (f"{np.mean(values):.2f}" if values else "-")
        print(f"| {name} | {mean('roi_mae')} | {mean('roi_ssim')} | {mean('image_mae')} | {mean('image_ssim')} | "
              f"{mean('roi_mae', True)} | {mean('roi_mae', False)} | {mean('ms')} |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({"size": args.size, "rows": rows}, out, indent=1)


if __name__ == "__main__":
    main()
