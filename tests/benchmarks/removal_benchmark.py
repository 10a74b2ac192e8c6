"""Removal benchmark: classical inpainting, the SIMBIL paper's DIP settings and our presets, on the same holes.

Run from the repository root with the benchmark extras installed (requirements-bench.txt):

    .venv/bin/python -m tests.benchmarks.removal_benchmark --dataset scenes --sizes 64 128 256 512 --count 10 \
        --json benchmark-results/removal-scenes.json
    .venv/bin/python -m tests.benchmarks.removal_benchmark --dataset photos --sizes 256 --count 7 \
        --json benchmark-results/removal-photos.json

Datasets
  scenes: CLEVR-like scenes from inference_server.scenes. One object per scene is removed; the mask every method gets
      is the object's visible mask plus its shadow mask minus other objects' pixels (--mask object leaves the shadow
      in), and the ground truth is the generator's render of the scene without the object. The same seeds give the
      same scenes at every size.
  photos: photos scikit-image ships offline (skimage.data), centre-cropped square and resized. Holes lie over known
      background, so the photo itself is the ground truth: an object-sized ellipse, free-form brush strokes, and a
      disc cut by the image border.

Methods (all get the same image and mask)
  telea, navier-stokes: OpenCV's cv2.inpaint, radius 3, no dilation.
  paper-dip: SIMBIL's plain DIP (A.3): 128-channel skip net, --paper-iterations steps (paper: 2000), no guidance,
      no dilation, the whole image as context, full resolution.
  paper-simbil: the same with guidance lambda 0.1 and dilation; B is the mean colour of the band around the hole and
      the whole hole's mean is pulled to it (the paper on CLEVR).
  ours-<preset>: inference_server.pipeline.remove.remove_object at each quality preset with the server's defaults
      (context window, fit-size cap, early stop, B the band's median colour), seed 0.

Metrics (as SIMBIL Tables 1-2): MAE (0..255 scale) and SSIM (x100) over all pixels and over the region of interest
(the bounding box of the mask given to the methods, grown to at least 7x7 for SSIM's window), PSNR (dB) over the
mask's pixels, and wall time per image. SSIM is scikit-image's structural_similarity (7x7 window, RGB, data range
255); PSNR is its peak_signal_noise_ratio.
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image
from skimage import data as skimage_data
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from inference_server.pipeline.options import PRESETS, GuidanceStatistic, RemoveOptions
from inference_server.pipeline.remove import apply_patch, remove_object
from inference_server.scenes import edit_remove, random_scene, render_edit, render_scene

SSIM_WINDOW = 7  # structural_similarity's default win_size
PSNR_CAP_DB = 99.0  # reported when the hole is reproduced exactly (infinite PSNR)
TARGET_CHECK_SIDE = 128  # the removed object is chosen on a render of this size, the same for every size


@dataclass(frozen=True)
class Case:
    """One image with one hole.

    image, truth: (H, W, 3) uint8, the input and the expected result. mask: (H, W) bool, the pixels to fill.
    roi: (x0, y0, x1, y1), ends exclusive. kind: what the hole is (a class name, or the photo mask's kind).
    """

    dataset: str
    name: str
    size: int
    kind: str
    image: np.ndarray
    mask: np.ndarray
    truth: np.ndarray
    roi: tuple[int, int, int, int]


def bounding_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


# ---- the synthetic scene set -----------------------------------------------------------------------------------

def removal_hole(object_masks: np.ndarray, shadow_masks: np.ndarray, target: int, with_shadow: bool) -> np.ndarray:
    """The mask a user would draw: the object, plus (with_shadow) its shadow where no other object shows.

    The generator's shadow mask also holds the edge pixels of neighbours that stand in the shadow (their
    anti-aliased rim mixes in shadowed ground); a segmentation mask would not, so those stay outside the hole and the
    small change there counts as error for every method alike.
    """
    hole = object_masks[target].copy()
    if with_shadow:
        others = np.delete(object_masks, target, axis=0).any(axis=0)
        hole |= shadow_masks[target] & ~others
    return hole


def scene_cases(sizes: list[int], count: int, first_seed: int, with_shadow: bool) -> list[Case]:
    """`count` scenes at every size; in each, one mostly visible object (drawn by the seed) is removed."""
    cases = []
    for offset in range(count):
        seed = first_seed + offset
        spec = random_scene(seed, num_objects=(3, 6))
        check = render_scene(spec, TARGET_CHECK_SIDE, TARGET_CHECK_SIDE)
        candidates = np.flatnonzero(check.visible_fraction >= 0.9)
        target = int(np.random.default_rng(seed).choice(candidates if candidates.size else len(spec.objects)))
        edit = edit_remove(spec, target)
        for size in sizes:
            pair = render_edit(edit, size, size)
            mask = removal_hole(pair.before.object_masks, pair.before.shadow_masks, target, with_shadow)
            cases.append(Case("scenes", f"scene {seed}", size, spec.objects[target].class_name, pair.before.image,
                              mask, pair.after.image, bounding_box(mask)))
    return cases


# ---- photos shipped with scikit-image ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Photo:
    """A skimage.data photo and where holes may go over known background, in units of the square crop's side.

    anchor: (x, y) centre of the ellipse and of the brush strokes; spread: how far the strokes may stray from it.
    border: (edge, position) where the border disc sits: edge is "top", "bottom", "left" or "right", position runs
    along that edge.
    """

    name: str
    anchor: tuple[float, float]
    border: tuple[str, float]
    spread: float = 0.1


PHOTOS: tuple[Photo, ...] = (
    Photo("astronaut", (0.65, 0.22), ("top", 0.65), spread=0.06),  # the grey wall between head and shuttle
    Photo("camera", (0.78, 0.72), ("bottom", 0.85)),  # the lawn
    Photo("coffee", (0.14, 0.68), ("right", 0.92), spread=0.07),  # the saucer's glaze; the table at the border
    Photo("rocket", (0.25, 0.30), ("top", 0.30)),  # the evening sky
    Photo("chelsea", (0.50, 0.14), ("left", 0.80), spread=0.08),  # fur
    Photo("brick", (0.50, 0.50), ("left", 0.40)),  # wall texture
    Photo("gravel", (0.50, 0.50), ("right", 0.50)),  # gravel texture
)
PHOTO_MASKS: tuple[str, ...] = ("ellipse", "irregular", "border")


def load_photo(name: str, size: int) -> np.ndarray:
    """skimage.data.<name>() centre-cropped to a square and resized to size x size: (size, size, 3) uint8."""
    pixels = getattr(skimage_data, name)()
    if pixels.ndim == 2:
        pixels = np.stack([pixels] * 3, axis=-1)
    pixels = np.ascontiguousarray(pixels[..., :3]).astype(np.uint8)
    height, width = pixels.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = Image.fromarray(pixels[top:top + side, left:left + side])
    return np.asarray(square.resize((size, size), Image.Resampling.LANCZOS))


def _pixel_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel centres in units of the side: x (size, size), y (size, size)."""
    centres = (np.arange(size) + 0.5) / size
    return np.meshgrid(centres, centres)


def _segment_distance(x: np.ndarray, y: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    direction = end - start
    t = np.clip(((x - start[0]) * direction[0] + (y - start[1]) * direction[1]) / (direction @ direction), 0, 1)
    return np.hypot(x - start[0] - t * direction[0], y - start[1] - t * direction[1])


def photo_mask(photo: Photo, kind: str, size: int) -> np.ndarray:
    """The hole of `kind` for `photo` at size x size: (size, size) bool. Shapes scale with the image."""
    x, y = _pixel_grid(size)
    ax, ay = photo.anchor
    if kind == "ellipse":  # an object-sized blob, ~12% x 16% of the side
        mask = ((x - ax) / 0.06) ** 2 + ((y - ay) / 0.08) ** 2 <= 1.0
    elif kind == "irregular":  # three brush strokes of a random walk, as in free-form inpainting masks
        rng = np.random.default_rng(sum(map(ord, photo.name)))
        mask = np.zeros((size, size), dtype=bool)
        for _ in range(3):
            point = np.array([ax, ay]) + rng.uniform(-0.03, 0.03, size=2)
            angle = rng.uniform(0, 2 * math.pi)
            for _ in range(4):
                angle += rng.uniform(-1.2, 1.2)
                end = point + 0.05 * np.array([math.cos(angle), math.sin(angle)])
                end = np.clip(end, np.array([ax, ay]) - photo.spread, np.array([ax, ay]) + photo.spread)
                if np.any(end != point):
                    mask |= _segment_distance(x, y, point, end) <= max(0.018, 1.5 / size)
                point = end
    elif kind == "border":  # a disc centred on the image's edge
        edge, position = photo.border
        cx, cy = {"top": (position, 0.0), "bottom": (position, 1.0), "left": (0.0, position),
                  "right": (1.0, position)}[edge]
        mask = np.hypot(x - cx, y - cy) <= 0.1
    else:
        raise ValueError(f"Expected a photo mask in {PHOTO_MASKS}, but found '{kind}'")
    return mask


def photo_cases(sizes: list[int], count: int, kinds: list[str]) -> list[Case]:
    cases = []
    for size in sizes:
        for photo in PHOTOS[:count]:
            image = load_photo(photo.name, size)
            for kind in kinds:
                mask = photo_mask(photo, kind, size)
                cases.append(Case("photos", photo.name, size, kind, image, mask, image, bounding_box(mask)))
    return cases


# ---- methods ---------------------------------------------------------------------------------------------------

Method = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, int]]  # (image, mask) -> (result, DIP steps run)


def opencv_method(flag: int) -> Method:
    def run(image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, int]:
        return cv2.inpaint(image, mask.astype(np.uint8) * 255, 3, flag), 0
    return run


def pipeline_method(options: RemoveOptions, device: torch.device) -> Method:
    def run(image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, int]:
        result = remove_object(image, mask, options, device=device)
        return apply_patch(image, result.region, result.patch), result.iterations
    return run


def build_methods(names: list[str], paper_iterations: int, device: torch.device) -> dict[str, Method]:
    paper = dict(quality="best", iterations=paper_iterations, context_window=False, max_fit_side=0, seed=0)
    available: dict[str, Method] = {
        "telea": opencv_method(cv2.INPAINT_TELEA),
        "navier-stokes": opencv_method(cv2.INPAINT_NS),
        "paper-dip": pipeline_method(RemoveOptions(dilation_px=0, guidance_weight=0.0, **paper), device),
        "paper-simbil": pipeline_method(
            RemoveOptions(guidance_weight=0.1, guidance_statistic=GuidanceStatistic.MEAN, **paper), device),
    }
    for preset in PRESETS:
        available[f"ours-{preset}"] = pipeline_method(RemoveOptions(quality=preset, seed=0), device)
    unknown = [name for name in names if name not in available]
    if unknown:
        raise SystemExit(f"unknown method(s) {', '.join(unknown)}; use some of: {', '.join(available)}")
    return {name: available[name] for name in names}


# ---- metrics ---------------------------------------------------------------------------------------------------

def _grown_to(box: tuple[int, int, int, int], minimum: int, height: int, width: int) -> tuple[int, int, int, int]:
    """`box` widened about its centre so each side is at least `minimum` pixels, kept inside the image."""
    def widen(low: int, high: int, limit: int) -> tuple[int, int]:
        missing = minimum - (high - low)
        if missing <= 0:
            return low, high
        start = min(max(0, low - missing // 2), limit - minimum)
        return start, start + minimum

    x0, y0, x1, y1 = box
    (x0, x1), (y0, y1) = widen(x0, x1, width), widen(y0, y1, height)
    return x0, y0, x1, y1


def _ssim(a: np.ndarray, b: np.ndarray) -> float:
    return 100.0 * float(structural_similarity(a, b, channel_axis=2, data_range=255, win_size=SSIM_WINDOW))


def score(result: np.ndarray, case: Case) -> dict[str, float]:
    """SIMBIL's metrics of `result` against the case's ground truth."""
    truth, height, width = case.truth, case.size, case.size
    error = np.abs(result.astype(np.float64) - truth.astype(np.float64))
    x0, y0, x1, y1 = case.roi
    sx0, sy0, sx1, sy1 = _grown_to(case.roi, SSIM_WINDOW, height, width)
    psnr = float(peak_signal_noise_ratio(truth[case.mask], result[case.mask], data_range=255)) \
        if (truth[case.mask] != result[case.mask]).any() else math.inf
    return {
        "mae": float(error.mean()),
        "ssim": _ssim(result, truth),
        "roi_mae": float(error[y0:y1, x0:x1].mean()),
        "roi_ssim": _ssim(result[sy0:sy1, sx0:sx1], truth[sy0:sy1, sx0:sx1]),
        "hole_psnr": min(psnr, PSNR_CAP_DB),
    }


# ---- running and reporting ---------------------------------------------------------------------------------------

METRIC_COLUMNS = (("mae", "MAE ↓"), ("ssim", "SSIM ↑"), ("roi_mae", "RoI MAE ↓"), ("roi_ssim", "RoI SSIM ↑"),
                  ("hole_psnr", "hole PSNR ↑"), ("seconds", "s / image"), ("iterations", "DIP steps"))


def warm_up(device: torch.device) -> None:
    """One tiny fit, so that torch's one-time start-up cost is not billed to the first case."""
    image = np.zeros((64, 64, 3), dtype=np.uint8)
    mask = np.zeros((64, 64), dtype=bool)
    mask[28:36, 28:36] = True
    remove_object(image, mask, RemoveOptions(quality="fast", iterations=2), device=device)


def run_cases(cases: list[Case], methods: dict[str, Method], save_dir: Path | None) -> list[dict]:
    rows = []
    for number, case in enumerate(cases, 1):
        outputs = []
        for name, method in methods.items():
            started = time.perf_counter()
            result, iterations = method(case.image, case.mask)
            seconds = time.perf_counter() - started
            outside = ~case.mask
            rows.append({"dataset": case.dataset, "case": case.name, "size": case.size, "kind": case.kind,
                         "hole_px": int(case.mask.sum()), "roi": list(case.roi), "method": name,
                         "seconds": seconds, "iterations": iterations,
                         "changed_outside_mask_px": int((result != case.image).any(axis=2)[outside].sum()),
                         **score(result, case)})
            outputs.append(result)
            print(f"[{number}/{len(cases)}] {case.name} {case.size}px {case.kind}: {name} {seconds:.1f}s "
                  f"RoI MAE {rows[-1]['roi_mae']:.2f}", file=sys.stderr, flush=True)
        if save_dir is not None:
            mask_rgb = np.repeat(case.mask[..., None], 3, axis=2).astype(np.uint8) * 255
            strip = np.concatenate([case.image, mask_rgb, case.truth, *outputs], axis=1)
            file_name = f"{case.dataset}-{case.size}-{case.name.replace(' ', '_')}-{case.kind.replace(' ', '_')}.png"
            Image.fromarray(strip).save(save_dir / file_name)
    return rows


def summarise(rows: list[dict], group: tuple[str, ...]) -> list[dict]:
    """Mean of every metric per group key (e.g. size and method), in first-seen order."""
    keys: dict[tuple, list[dict]] = {}
    for row in rows:
        keys.setdefault(tuple(row[g] for g in group), []).append(row)
    summary = []
    for key, members in keys.items():
        entry = dict(zip(group, key))
        entry["cases"] = len(members)
        for metric, _ in METRIC_COLUMNS:
            entry[metric] = float(np.mean([m[metric] for m in members]))
        summary.append(entry)
    return summary


def markdown_tables(summary: list[dict], split: str, label: Callable[[object], str]) -> str:
    """One markdown table per value of `split`; rows are methods."""
    parts = []
    for value in dict.fromkeys(entry[split] for entry in summary):
        entries = [e for e in summary if e[split] == value]
        parts.append(f"**{label(value)}** ({entries[0]['cases']} cases per method)\n")
        parts.append("| method | " + " | ".join(title for _, title in METRIC_COLUMNS) + " |")
        parts.append("|---|" + "---:|" * len(METRIC_COLUMNS))
        for e in entries:
            cells = [f"{e['mae']:.2f}", f"{e['ssim']:.2f}", f"{e['roi_mae']:.2f}", f"{e['roi_ssim']:.2f}",
                     f"{e['hole_psnr']:.2f}", f"{e['seconds']:.1f}", f"{e['iterations']:.0f}"]
            parts.append(f"| {e['method']} | " + " | ".join(cells) + " |")
        parts.append("")
    return "\n".join(parts)


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=("scenes", "photos"), default="scenes")
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256, 512], help="square image sides, px")
    parser.add_argument("--count", type=int, default=5, help="scenes per size, or photos per size (at most 7)")
    parser.add_argument("--seed", type=int, default=0, help="first scene seed (scenes use seed, seed+1, ...)")
    parser.add_argument("--mask", choices=("object+shadow", "object"), default="object+shadow",
                        help="scenes: what the mask given to the methods covers")
    parser.add_argument("--photo-masks", nargs="+", default=list(PHOTO_MASKS), choices=PHOTO_MASKS)
    default_methods = ["telea", "navier-stokes", "paper-dip", "paper-simbil", *(f"ours-{p}" for p in PRESETS)]
    parser.add_argument("--methods", nargs="+", default=default_methods)
    parser.add_argument("--paper-iterations", type=int, default=2000,
                        help="DIP steps for paper-dip and paper-simbil (the paper: 2000)")
    parser.add_argument("--device", default="cpu", help="torch device for the DIP methods, e.g. cpu or cuda")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    parser.add_argument("--json", type=Path, help="write settings, every case and the summary here")
    parser.add_argument("--save-images", type=Path, help="write one PNG strip per case here: input, mask, truth, "
                                                         "then each method's result")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_arguments(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    methods = build_methods(args.methods, args.paper_iterations, device)
    if args.dataset == "scenes":
        cases = scene_cases(args.sizes, args.count, args.seed, with_shadow=args.mask == "object+shadow")
        mask_note = ("the removed object's visible mask plus its shadow mask, minus other objects' pixels"
                     if args.mask == "object+shadow"
                     else "the removed object's visible mask only (its shadow stays in the input)")
    else:
        cases = photo_cases(args.sizes, min(args.count, len(PHOTOS)), args.photo_masks)
        mask_note = f"photo holes over known background: {', '.join(args.photo_masks)}"
    if args.save_images:
        args.save_images.mkdir(parents=True, exist_ok=True)

    warm_up(device)
    started = time.perf_counter()
    rows = run_cases(cases, methods, args.save_images)
    total = time.perf_counter() - started
    by_size = summarise(rows, ("size", "method"))
    settings = {
        "command": " ".join(["python -m tests.benchmarks.removal_benchmark", *(argv or sys.argv[1:])]),
        "dataset": args.dataset, "sizes": args.sizes, "count": args.count, "seed": args.seed, "mask": mask_note,
        "paper_iterations": args.paper_iterations, "device": str(device), "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__, "opencv": cv2.__version__, "python": platform.python_version(),
        "machine": platform.processor() or platform.machine(), "total_seconds": total,
    }
    paper_note = f"paper-* run {args.paper_iterations} DIP steps; " if any(m.startswith("paper-") for m in methods) \
        else ""
    print(f"Mask given to every method: {mask_note}. {paper_note}device {device}, {torch.get_num_threads()} torch "
          f"thread(s); total {total / 60:.1f} min.\n")
    print(markdown_tables(by_size, "size", lambda size: f"{args.dataset}, {size}x{size}"))
    summaries = {"by_size": by_size}
    if args.dataset == "photos":
        by_kind = summarise(rows, ("kind", "method"))
        summaries["by_mask"] = by_kind
        print(markdown_tables(by_kind, "kind", lambda kind: f"photos, {kind} holes (all sizes)"))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"settings": settings, "summary": summaries, "cases": rows}, indent=1))


if __name__ == "__main__":
    main()
