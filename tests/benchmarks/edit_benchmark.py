"""Edits against the scene generator's ground truth: move, replace, add and recolor, ours against a naive editor.

    .venv/bin/python tests/benchmarks/edit_benchmark.py [--sizes 64 128 256] [--scenes 8] \
        [--edits move replace add recolor] [--quality PRESET] [--iterations N] [--threads 1] [--json OUT]

Edits. For each edit kind, scenes random_scene(seed) with seeds 0, 1, .. get random_edit(spec, kind, seed=seed)
until --scenes edits are found whose edited object is at least 90 % visible before and after the edit (and its
requested relations' reference objects at least 50 %) at every size; the same edits are rendered at every size
(render_edit). Every method gets the before-image and what a user would give: the edited object's visible mask and
class from the before render, the requested relations with the reference objects' boxes from the before render, the
new object cut from the after-image with its visible mask (replace, add; source_cutout, no shadow), or the new
colour's RGB (scenes.COLOURS). The ground truth is the after-image.

Methods
  ours: the pipeline's functions with the server's default preset (--quality), seed 0, and the hole filled as the
      server fills it for a mask target (the mask used as drawn, no dilation):
      move     move_object (remove, position model's best candidate, scale to the predicted height, paste)
      replace  replace_object (remove, fit the source inside the old box on its ground line, paste)
      add      add_object (position model's best candidate, scale to its height, paste)
      recolor  recolor_object with RecolorOptions(colour=rgb)
  ours, DIP fill / ours, auto dilation (move and replace, which fill a hole): the old place filled by SIMBIL's
      background-guided DIP (fill dip, quality fast) / with the mask grown by 8 % of the object's size, as for a
      mask the segmentation model found. Add and recolor fill no hole, so these ablations do not apply to them.
  ours, keep shadow (move): --keep-shadow: the object alone is removed (no shadow step), so its old shadow stays
      and none is carried to the new place (the behaviour before shadow-aware removal). Replace always keeps the old
      shadow.
  ours, no shadow (add): AddOptions(cast_shadow=False): the new object without the shadow its references' cast
      would give it.
  ours, fit width (replace): ReplaceOptions(fit="width"), the new object as wide as the old one instead of inside
      its box.
  naive: what an editor without the method does:
      move     fill the object's mask grown by 2 px with OpenCV's Telea inpainting (radius 3), paste the cut-out
               unscaled, shifted by a quarter of the image side towards the requested side (left of: left, right
               of: right, in front of: down, behind: up), kept inside the image;
      replace  the same fill, then the source scaled to the old object's box, aspect ignored;
      add      the source unscaled, centred on the image's centre;
      recolor  OpenCV HSV: the mask's hue set to the new colour's hue, saturation and value kept.
All pastes blend the cut-out's alpha on premultiplied colour (paste_seam_benchmark.alpha_paste, hard edge).

Metrics (SIMBIL Table 1, removal_benchmark.score): MAE (0..255) and SSIM (x100, scikit-image, 7x7 window, RGB) of
the edited image against the after-image over all pixels and over the RoI, the edit's roi_box (the box of the
changed pixels before and after: object and shadow, object only for recolor), grown to at least 7x7 for SSIM.
For move, add and replace also the position error: the mean absolute difference of the 4 coordinates of the box of
the placed object's pixels and of its box in the after render, in px at 256 x 256; for move and add the share of
edits whose placed box satisfies every requested relation (placement.satisfaction.satisfied on the request, as the
position model's evaluation does). The JSON also holds the position model's own box (placement.box) scored alike
and the PSNR over the changed pixels (hole_psnr).
Seconds are wall time per edit. Prints one markdown table per edit kind.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import torch

# The sibling benchmarks: importable when this runs as a script (its folder is sys.path[0]) or from its test.
from paste_seam_benchmark import alpha_paste
from recolor_benchmark import pipeline as recolor_pipeline
from removal_benchmark import Case, bounding_box, opencv_method, score, warm_up

from inference_server.pipeline.add import AddOptions, add_object
from inference_server.pipeline.masks import dilate
from inference_server.pipeline.move import MoveOptions, move_object
from inference_server.pipeline.options import DEFAULT_PRESET, PRESETS, FillMethod, RemoveOptions
from inference_server.pipeline.paste import cut_out
from inference_server.pipeline.pasting import PasteResult, source_cutout
from inference_server.pipeline.remove import apply_patch
from inference_server.pipeline.replace import ReplaceOptions, replace_object
from inference_server.placement.predict import PositionPredictor
from inference_server.placement.satisfaction import satisfied
from inference_server.placement.vocabulary import Box01, PlacementRequest, Triplet
from inference_server.scenes import COLOURS, LayoutError, RenderedEdit, random_edit, random_scene, render_edit

EDITS: tuple[str, ...] = ("move", "replace", "add", "recolor")
HOLE_FILLING = ("move", "replace")  # the edits whose ablations apply
POSITIONED = ("move", "replace", "add")  # the edits that place an object
WITH_RELATIONS = ("move", "add")
MIN_EDITED_VISIBLE = 0.9
MIN_REFERENCE_VISIBLE = 0.5
NAIVE_FILL_GROWTH_PX = 2
POSITION_SIDE = 256  # position errors are in px at this side, as the position model's evaluation
SHIFTS = {"left of": (-1, 0), "right of": (1, 0), "in front of": (0, 1), "behind": (0, -1)}  # naive move, x / y
NAIVE, OURS, DIP, AUTO_DILATION = "naive", "ours", "ours, DIP fill", "ours, auto dilation"
KEEP_SHADOW = "ours, keep shadow"
NO_SHADOW = "ours, no shadow"
FIT_WIDTH = "ours, fit width"


@dataclass(frozen=True)
class Outcome:
    """A method's edited image; box: where the placed object's pixels are (x0, y0, x1, y1 px, ends exclusive);
    predicted: the position model's box in 0..1 (ours on move and add)."""

    image: np.ndarray
    box: tuple[int, int, int, int] | None = None
    predicted: Box01 | None = None
    iterations: int = 0


Method = Callable[[RenderedEdit], Outcome]


# ---- what the user gives, from the rendered edit -----------------------------------------------------------------

def size_of(pair: RenderedEdit) -> tuple[int, int]:
    """(width, height) of the rendered images."""
    height, width = pair.before.image.shape[:2]
    return width, height


def box01(box, image_size: tuple[int, int]) -> Box01:
    width, height = image_size
    x0, y0, x1, y1 = (float(v) for v in box)
    return x0 / width, y0 / height, x1 / width, y1 / height


def edited_mask(pair: RenderedEdit) -> np.ndarray:
    """The edited object's visible mask in the before-image (move, replace, recolor)."""
    return pair.before.object_masks[pair.edit.before_index]


def new_object(pair: RenderedEdit):
    """The edited object as it is after the edit: its cut-out from the after-image and its class (replace, add)."""
    index = pair.edit.after_index
    return source_cutout(pair.after.image, pair.after.object_masks[index]), pair.edit.after.objects[index].class_name


def requested_triplets(pair: RenderedEdit) -> tuple[Triplet, ...]:
    """The edit's requested relations, the reference boxes from the before render."""
    objects = pair.edit.before.objects
    return tuple(Triplet(r.predicate, objects[r.object].class_name, box01(pair.before.boxes[r.object], size_of(pair)))
                 for r in pair.edit.requested)


def placement_request(pair: RenderedEdit) -> PlacementRequest:
    return PlacementRequest(pair.edit.after.objects[pair.edit.after_index].class_name, requested_triplets(pair))


def truth_box(pair: RenderedEdit) -> tuple[int, int, int, int]:
    """The edited object's box in the after render."""
    return tuple(int(v) for v in pair.after.boxes[pair.edit.after_index])


# ---- choosing the edits ----------------------------------------------------------------------------------------

def usable(pair: RenderedEdit) -> bool:
    """Whether the edited object is clearly visible before and after, and so are the references it is placed by."""
    edit = pair.edit
    visible = [(pair.before, edit.before_index, MIN_EDITED_VISIBLE), (pair.after, edit.after_index, MIN_EDITED_VISIBLE)]
    visible += [(pair.before, r.object, MIN_REFERENCE_VISIBLE) for r in edit.requested]
    return all(index is None or (scene.visible_fraction[index] >= share and scene.object_masks[index].any())
               for scene, index, share in visible)


def pick_edits(kind: str, count: int, sizes: list[int],
               first_seed: int = 0) -> list[tuple[int, dict[int, RenderedEdit]]]:
    """`count` (seed, {size: rendered edit}) of `kind`, each usable at every size."""
    picked, seed = [], first_seed
    while len(picked) < count:
        try:
            edit = random_edit(random_scene(seed, num_objects=(3, 5)), kind, seed=seed)
        except LayoutError:
            edit = None
        if edit is not None:
            pairs = {size: render_edit(edit, size, size) for size in sizes}
            if all(usable(pair) for pair in pairs.values()):
                picked.append((seed, pairs))
        seed += 1
    return picked


# ---- ours ------------------------------------------------------------------------------------------------------

def whole_image(pair: RenderedEdit, result: PasteResult) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The edited image and the box of the placed object's pixels in it."""
    placed = np.zeros(pair.before.image.shape[:2], dtype=bool)
    placed[result.region.slices] = result.placed_mask
    return apply_patch(pair.before.image, result.region, result.patch), bounding_box(placed)


def ours_move(remove: RemoveOptions, predictor: PositionPredictor, device: torch.device) -> Method:
    def run(pair: RenderedEdit) -> Outcome:
        index = pair.edit.before_index
        result = move_object(pair.before.image, edited_mask(pair), pair.edit.before.objects[index].class_name,
                             requested_triplets(pair), predictor, MoveOptions(remove=remove), device=device)
        image, box = whole_image(pair, result)
        return Outcome(image, box, result.placement.box, result.iterations)
    return run


def ours_replace(remove: RemoveOptions, device: torch.device, fit: str = "inside") -> Method:
    def run(pair: RenderedEdit) -> Outcome:
        source, _ = new_object(pair)
        result = replace_object(pair.before.image, edited_mask(pair), source, ReplaceOptions(remove, fit),
                                device=device)
        image, box = whole_image(pair, result)
        return Outcome(image, box, None, result.iterations)
    return run


def ours_add(predictor: PositionPredictor, cast_shadow: bool = True) -> Method:
    def run(pair: RenderedEdit) -> Outcome:
        source, class_name = new_object(pair)
        references = [pair.before.object_masks[r.object] for r in pair.edit.requested]
        result = add_object(pair.before.image, source, class_name, requested_triplets(pair), predictor,
                            AddOptions(cast_shadow=cast_shadow), reference_masks=references)
        image, box = whole_image(pair, result)
        return Outcome(image, box, result.placement.box)
    return run


def ours_recolor(pair: RenderedEdit) -> Outcome:
    colour = COLOURS[pair.edit.after.objects[pair.edit.after_index].colour]
    return Outcome(recolor_pipeline()(pair.before.image, edited_mask(pair), colour))


# ---- the naive editor --------------------------------------------------------------------------------------------

def naive_fill(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """OpenCV Telea inpainting of the mask grown by NAIVE_FILL_GROWTH_PX."""
    return opencv_method(cv2.INPAINT_TELEA)(image, dilate(mask, NAIVE_FILL_GROWTH_PX))[0]


def pasted_naively(background: np.ndarray, cutout, box: tuple[int, int, int, int]) -> Outcome:
    """`cutout` scaled to box (x0, y0, x1, y1, may reach outside) and pasted; the box clipped to the image."""
    height, width = background.shape[:2]
    x0, y0, x1, y1 = box
    clipped = (max(x0, 0), max(y0, 0), min(x1, width), min(y1, height))
    return Outcome(alpha_paste(background, cutout, box), clipped)


def shifted_box(box, predicate: str, image_size: tuple[int, int]) -> tuple[int, int, int, int]:
    """`box` moved a quarter of the image side towards `predicate`'s side, kept inside the image."""
    width, height = image_size
    x0, y0, x1, y1 = (int(v) for v in box)
    dx, dy = SHIFTS[predicate]
    new_x = int(np.clip(x0 + dx * width // 4, 0, width - (x1 - x0)))
    new_y = int(np.clip(y0 + dy * height // 4, 0, height - (y1 - y0)))
    return new_x, new_y, new_x + x1 - x0, new_y + y1 - y0


def naive_move(pair: RenderedEdit) -> Outcome:
    image, mask = pair.before.image, edited_mask(pair)
    box = shifted_box(bounding_box(mask), pair.edit.requested[0].predicate, size_of(pair))
    return pasted_naively(naive_fill(image, mask), cut_out(image, mask, edge_px=0), box)


def naive_replace(pair: RenderedEdit) -> Outcome:
    image, mask = pair.before.image, edited_mask(pair)
    source, _ = new_object(pair)
    return pasted_naively(naive_fill(image, mask), source, bounding_box(mask))


def naive_add(pair: RenderedEdit) -> Outcome:
    source, _ = new_object(pair)
    (width, height), (source_width, source_height) = size_of(pair), source.size
    x0, y0 = (width - source_width) // 2, (height - source_height) // 2
    return pasted_naively(pair.before.image, source, (x0, y0, x0 + source_width, y0 + source_height))


def hue_of(rgb: tuple[int, int, int]) -> int:
    """OpenCV's 8-bit hue (0..179) of an sRGB colour."""
    return int(cv2.cvtColor(np.uint8([[rgb]]), cv2.COLOR_RGB2HSV)[0, 0, 0])


def naive_recolor(pair: RenderedEdit) -> Outcome:
    image, mask = pair.before.image, edited_mask(pair)
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)
    hsv[..., 0][mask] = hue_of(COLOURS[pair.edit.after.objects[pair.edit.after_index].colour])
    out = image.copy()
    out[mask] = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[mask]
    return Outcome(out)


# ---- the methods of each edit ------------------------------------------------------------------------------------

def build_methods(kind: str, remove: RemoveOptions, predictor: PositionPredictor,
                  device: torch.device) -> dict[str, Method]:
    """naive, ours and (move, replace) the two ablations, for edits of `kind`. `remove` is how ours fills the hole
    (a given mask: used as drawn, as the server does for a mask target)."""
    if kind == "move":
        ours = lambda options: ours_move(options, predictor, device)  # noqa: E731
    elif kind == "replace":
        ours = lambda options: ours_replace(options, device)  # noqa: E731
    elif kind == "add":
        return {NAIVE: naive_add, OURS: ours_add(predictor), NO_SHADOW: ours_add(predictor, cast_shadow=False)}
    else:
        return {NAIVE: naive_recolor, OURS: ours_recolor}
    methods = {NAIVE: naive_move if kind == "move" else naive_replace, OURS: ours(remove),
               DIP: ours(replace(remove, fill=FillMethod.DIP, quality="fast")),
               AUTO_DILATION: ours(replace(remove, dilation_px=None))}
    if kind == "move":  # replace always keeps the old shadow
        methods[KEEP_SHADOW] = ours(replace(remove, keep_shadow=True))
    if kind == "replace":
        methods[FIT_WIDTH] = ours_replace(remove, device, fit="width")
    return methods


# ---- scoring -----------------------------------------------------------------------------------------------------

def position_error_px(box, truth, side: int) -> float:
    """Mean absolute difference of the 4 box coordinates, in px at POSITION_SIDE."""
    return float(np.abs(np.asarray(box, float) - np.asarray(truth, float)).mean() * POSITION_SIDE / side)


def relations_held(box, pair: RenderedEdit) -> bool:
    return all(satisfied(box01(box, size_of(pair)), placement_request(pair)))


def position_scores(outcome: Outcome, pair: RenderedEdit) -> dict[str, float]:
    """The placed box's position error and relations (and the position model's box's, when there is one)."""
    kind, side = pair.edit.kind, size_of(pair)[0]
    if kind not in POSITIONED:
        return {}
    scores = {"position_mae_px": position_error_px(outcome.box, truth_box(pair), side)}
    if kind in WITH_RELATIONS:
        scores["relations_held"] = float(relations_held(outcome.box, pair))
    if outcome.predicted is not None:
        predicted_px = np.asarray(outcome.predicted) * side
        scores["predicted_position_mae_px"] = position_error_px(predicted_px, truth_box(pair), side)
        scores["predicted_relations_held"] = float(relations_held(predicted_px, pair))
    return scores


def run_edit(pair: RenderedEdit, seed: int, methods: dict[str, Method]) -> list[dict]:
    """Every method on one rendered edit: one row of metrics each (the core of the benchmark)."""
    side = size_of(pair)[0]
    case = Case("scenes", f"scene {seed}", side, pair.edit.kind, pair.before.image, pair.changed_mask,
                pair.after.image, pair.roi_box)
    rows = []
    for name, method in methods.items():
        started = time.perf_counter()
        outcome = method(pair)
        seconds = time.perf_counter() - started
        rows.append({"edit": pair.edit.kind, "size": side, "scene_seed": seed, "description": pair.edit.description,
                     "method": name, "seconds": seconds, "iterations": outcome.iterations,
                     "box": None if outcome.box is None else [int(v) for v in outcome.box],
                     "truth_box": list(truth_box(pair)) if pair.edit.kind in POSITIONED else None,
                     "predicted_box01": None if outcome.predicted is None else list(outcome.predicted),
                     **score(outcome.image, case), **position_scores(outcome, pair)})
    return rows


# ---- reporting -----------------------------------------------------------------------------------------------------

COLUMNS = (  # (row key, title, decimals; None: a share in %)
    ("mae", "MAE ↓", 2), ("ssim", "SSIM ↑", 2), ("roi_mae", "RoI MAE ↓", 2), ("roi_ssim", "RoI SSIM ↑", 2),
    ("position_mae_px", "position MAE px@256 ↓", 1), ("relations_held", "relations held ↑", None),
    ("seconds", "s / edit", 1))


def mean_cell(rows: list[dict], key: str, digits: int | None) -> str:
    values = [row[key] for row in rows if row.get(key) is not None]
    if not values:
        return "–"
    mean = float(np.mean(values))
    return f"{100 * mean:.0f} %" if digits is None else f"{mean:.{digits}f}"


def summary(rows: list[dict]) -> list[dict]:
    """Means per (edit, size, method), in first-seen order."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault((row["edit"], row["size"], row["method"]), []).append(row)
    keys = [key for key, _, _ in COLUMNS] + ["predicted_position_mae_px", "predicted_relations_held", "hole_psnr"]
    return [{"edit": edit, "size": size, "method": method, "edits": len(members),
             **{key: float(np.mean([m[key] for m in members])) for key in keys if key in members[0]}}
            for (edit, size, method), members in groups.items()]


def markdown_table(rows: list[dict], kind: str) -> str:
    """One table for edits of `kind`: a row per size and method."""
    mine = [row for row in rows if row["edit"] == kind]
    columns = [c for c in COLUMNS if any(c[0] in row for row in mine)]
    count = len({row["scene_seed"] for row in mine})
    note = "" if kind in HOLE_FILLING else " Ablations (DIP fill, auto dilation, keep shadow): not applicable, no hole is filled."
    lines = [f"**{kind}** ({count} edits per size).{note}\n",
             "| size | method | " + " | ".join(title for _, title, _ in columns) + " |",
             "|---:|---|" + "---:|" * len(columns)]
    groups: dict[tuple, list[dict]] = {}
    for row in mine:
        groups.setdefault((row["size"], row["method"]), []).append(row)
    for (size, method), members in groups.items():
        cells = [mean_cell(members, key, digits) for key, _, digits in columns]
        lines.append(f"| {size} | {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256], help="square image sides, px")
    parser.add_argument("--scenes", type=int, default=8, help="edits per kind (the same at every size)")
    parser.add_argument("--edits", nargs="+", choices=EDITS, default=list(EDITS))
    parser.add_argument("--seed", type=int, default=0, help="first scene seed")
    parser.add_argument("--quality", choices=list(PRESETS), default=DEFAULT_PRESET,
                        help="the preset ours fills holes with (default: the server's, %(default)s)")
    parser.add_argument("--iterations", type=int, help="steps instead of the preset's (synthesis: EM iterations "
                                                       "per level; the DIP ablation: DIP steps)")
    parser.add_argument("--device", default="cpu", help="torch device for the fills, e.g. cpu or cuda")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    parser.add_argument("--json", type=Path, help="write settings, every edit's rows and the means here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_arguments(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    remove = RemoveOptions(quality=args.quality, seed=0, iterations=args.iterations, dilation_px=0)
    predictor = PositionPredictor()
    warm_up(device)
    started, rows = time.perf_counter(), []
    for kind in args.edits:
        methods = build_methods(kind, remove, predictor, device)
        for seed, pairs in pick_edits(kind, args.scenes, args.sizes, args.seed):
            for size, pair in pairs.items():
                rows += run_edit(pair, seed, methods)
                print(f"{kind} scene {seed} {size}px: " + ", ".join(
                    f"{r['method']} RoI MAE {r['roi_mae']:.2f}" for r in rows[-len(methods):]),
                    file=sys.stderr, flush=True)
    total = time.perf_counter() - started
    print(f"quality {args.quality}, steps {args.iterations or 'preset'}, device {device}, {torch.get_num_threads()} torch "
          f"thread(s); total {total / 60:.1f} min.\n")
    for kind in args.edits:
        print(markdown_table(rows, kind))
    if args.json:
        settings = {"command": " ".join(["python tests/benchmarks/edit_benchmark.py", *(argv or sys.argv[1:])]),
                    "sizes": args.sizes, "scenes": args.scenes, "edits": args.edits, "seed": args.seed,
                    "quality": args.quality, "iterations": args.iterations, "device": str(device), "torch_threads": torch.get_num_threads(),
                    "torch": torch.__version__, "opencv": cv2.__version__, "python": platform.python_version(),
                    "machine": platform.processor() or platform.machine(), "total_seconds": total}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"settings": settings, "summary": summary(rows), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
