"""Scoring placements against held-out layouts: box errors in pixels and the share of satisfied relations.

For each sample (a request about one target and its true box, training_data.draw_sample):
    mae_box_px     mean absolute error of the 4 box coordinates (x0, y0, x1, y1), in px at 256 x 256 (SIMBIL A.2
                   reports 12.05 on CLEVR; its paper does not say which coordinates, we take the box's corners)
    mae_centre_px  mean absolute error of the box centre's 2 coordinates, in px at 256 x 256
    all_satisfied  whether the box satisfies every requested relation (satisfaction.py, image-plane rules)
    overlapping    whether the box covers another object of the scene it should keep clear of (overlap.py: any
                   object but the target, except references in a contact or depth relation)
and, over all requested triplets, the share satisfied, also per predicate. Methods are functions from a list of
requests to a list of 0..1 boxes.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .overlap import obstacles_of, overlaps_any
from .satisfaction import satisfied
from .training_data import SceneLayout, draw_sample, predicate_weights
from .vocabulary import PREDICATES, Box01, PlacementRequest

EVAL_SIDE = 256  # px; errors are reported at 256 x 256 as in SIMBIL A.2
Method = Callable[[Sequence[PlacementRequest]], Sequence[Box01]]


@dataclass(frozen=True)
class EvalSample:
    request: PlacementRequest
    box: Box01  # the target's true box
    others: tuple[Box01, ...] = ()  # every other object's box in the scene


def evaluation_samples(layouts: Sequence[SceneLayout], *, size_known: bool) -> list[EvalSample]:
    """One sample per object of each layout (when it has a relation), drawn with a generator seeded by (layout
    seed, object index), so the triplets do not depend on size_known or on the other layouts; predicates weighted
    as in training (training_data.predicate_weights of these layouts)."""
    weights = predicate_weights(layouts)
    samples = []
    for layout in layouts:
        for target in range(len(layout.classes)):
            rng = np.random.default_rng([layout.seed, target])
            drawn = draw_sample(layout, target, rng, weights=weights, size_known=size_known)
            if drawn is not None:
                others = tuple(tuple(float(v) for v in box) for index, box in enumerate(layout.boxes)
                               if index != target)
                samples.append(EvalSample(*drawn, others=others))
    return samples


def score(samples: Sequence[EvalSample], boxes: Sequence[Box01]) -> dict:
    """The metrics of the module docstring for predicted `boxes` (one per sample)."""
    truth = np.array([s.box for s in samples], dtype=np.float64) * EVAL_SIDE
    predicted = np.array(boxes, dtype=np.float64).reshape(-1, 4) * EVAL_SIDE
    centre = lambda b: np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2], axis=1)  # noqa: E731
    held = [satisfied(tuple(box), s.request) for s, box in zip(samples, boxes)]
    overlapping = [overlaps_any(tuple(box), obstacles_of(s.request, s.others)) for s, box in zip(samples, boxes)]
    per_predicate = {}
    for predicate in PREDICATES:
        flags = [ok for s, h in zip(samples, held) for t, ok in zip(s.request.triplets, h) if t.predicate == predicate]
        per_predicate[predicate] = {"triplets": len(flags), "satisfied": float(np.mean(flags)) if flags else None}
    return {
        "samples": len(samples),
        "mae_box_px": float(np.abs(predicted - truth).mean()),
        "mae_centre_px": float(np.abs(centre(predicted) - centre(truth)).mean()),
        "all_satisfied": float(np.mean([all(h) for h in held])),
        "triplets_satisfied": float(np.mean([ok for h in held for ok in h])),
        "overlapping": float(np.mean(overlapping)),
        "per_predicate": per_predicate,
    }


def diversity(samples: Sequence[EvalSample], candidates: Sequence[Sequence[Box01]]) -> dict:
    """For several candidates per sample: the share of candidates satisfying every relation, and the mean distance
    in px at 256 between two candidates' centres."""
    ok, distances, counts = [], [], []
    for sample, boxes in zip(samples, candidates):
        counts.append(len(boxes))
        ok += [all(satisfied(tuple(box), sample.request)) for box in boxes]
        centres = np.array([((b[0] + b[2]) / 2, (b[1] + b[3]) / 2) for b in boxes]) * EVAL_SIDE
        for i in range(len(centres)):
            for j in range(i):
                distances.append(float(np.hypot(*(centres[i] - centres[j]))))
    return {"mean_candidates": float(np.mean(counts)), "candidates_all_satisfied": float(np.mean(ok)),
            "mean_pairwise_centre_distance_px": float(np.mean(distances)) if distances else 0.0}
