"""How replace should size the new object: fitted inside the old object's box, to its width, its height, or its area.

    .venv/bin/python tests/benchmarks/replace_fit_benchmark.py [--size 128] [--edits 60]

For each of the scene generator's random replace edits (another shape, colour and material at the same place and
size) whose object is fully visible before and after, the new object's box in the after-image is the truth. Each
rule places a box of the truth's aspect ratio from the old object's box alone (pipeline/pasting.py
box_on_ground_line: centred on its middle column, standing on its bottom edge); the table gives the mean box IoU and
the mean absolute error of the four box coordinates in px. No fitting runs: only where the object goes is compared.
"""
from __future__ import annotations

import argparse

import numpy as np

from inference_server.pipeline.pasting import box_on_ground_line
from inference_server.scenes import LayoutError, random_edit, random_scene, render_edit

RULES = ("inside", "width", "height", "area")  # the first three: ReplaceOptions.fit


def placed_box(rule: str, old_box: np.ndarray, new_size: tuple[int, int], size: int) -> np.ndarray:
    """(x0, y0, x1, y1) of an object of new_size (w, h) placed by `rule` from old_box, in px."""
    x0, y0, x1, y1 = (float(v) for v in old_box)
    width, height = new_size
    if rule == "area":  # the old box's area: fitting the height of a box of that area and the object's aspect
        y0 = y1 - ((x1 - x0) * (y1 - y0) * height / width) ** 0.5
        rule = "height"
    x, y, w, h = box_on_ground_line((x0 / size, y0 / size, x1 / size, y1 / size), new_size, (size, size), fit=rule)
    return np.array([x, y, x + w, y + h], dtype=float)


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    area = lambda box: (box[2] - box[0]) * (box[3] - box[1])  # noqa: E731
    return inter / (area(a) + area(b) - inter)


def replace_edits(count: int, size: int):
    """Rendered random replace edits whose object is fully visible before and after."""
    for seed in range(100 * count):
        try:
            pair = render_edit(random_edit(random_scene(seed, num_objects=(2, 5)), "replace", seed=seed), size, size)
        except LayoutError:
            continue
        index = pair.edit.before_index
        if min(pair.before.visible_fraction[index], pair.after.visible_fraction[index]) >= 0.95:
            yield pair.before.boxes[index], pair.after.boxes[index]
            count -= 1
            if count == 0:
                return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--edits", type=int, default=60)
    args = parser.parse_args()
    scores = {rule: [] for rule in RULES}
    for old_box, truth in replace_edits(args.edits, args.size):
        new_size = (int(truth[2] - truth[0]), int(truth[3] - truth[1]))
        for rule in RULES:
            box = placed_box(rule, old_box, new_size, args.size)
            scores[rule].append((box_iou(box, truth.astype(float)), np.abs(box - truth).mean()))
    print(f"{args.edits} replace edits at {args.size} px\n\n| fit | box IoU | box MAE (px) |\n|---|---|---|")
    for rule, values in scores.items():
        iou, mae = np.mean(values, axis=0)
        print(f"| {rule} | {iou:.3f} | {mae:.2f} |")


if __name__ == "__main__":
    main()
