"""Training and evaluation data for the scene Mask R-CNN (scene_maskrcnn.py), its training step and its metrics.

Used by training/train_scene_segmenter.py, training/evaluate_scene_segmenter.py and the tests; the server never
imports it. Scenes come from inference_server.scenes, rendered on the fly; the same index gives the same sample.

Seeds: training scenes use seeds TRAIN_SEED_BASE (1_000_000) and up, evaluation scenes seeds 0 .. N-1 with
N <= TRAIN_SEED_BASE, so no evaluated scene was ever trained on.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Iterable, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from ..scenes import RenderedScene, SceneSpec, random_scene, render_scene
from ..scenes.layout import random_background
from .detection import Detection
from .segmenter import Segmenter

TRAIN_SEED_BASE = 1_000_000  # training scene seeds start here; evaluation seeds stay below
SCENE_OBJECTS = (2, 6)  # objects per scene, inclusive range, for training and evaluation alike
MIN_OBJECT_SHARE = 1 / 1600  # objects whose visible pixels cover less of the image are left out: 16 px at 160x160
MATCH_IOU = 0.5  # a detection finds an object when its class is right and their mask IoU is at least this

Target = dict[str, torch.Tensor]


def visible_objects(scene: RenderedScene) -> np.ndarray:
    """Indices of the objects whose visible pixels cover at least MIN_OBJECT_SHARE of the image."""
    height, width = scene.image.shape[:2]
    return np.flatnonzero(scene.object_masks.sum(axis=(1, 2)) >= MIN_OBJECT_SHARE * height * width)


def scene_target(scene: RenderedScene, classes: Sequence[str], *, mirror: bool = False) -> tuple[torch.Tensor, Target]:
    """The network's input and training target for a rendered scene, optionally mirrored left to right.

    Returns the image (3, H, W) float32 in [0, 1] and {"boxes": (N, 4) float32 (x0, y0, x1, y1) in px, ends
    exclusive; "labels": (N,) int64, classes.index(name) + 1 (0 is the background); "masks": (N, H, W) uint8, 1 =
    the object's visible pixels} for the objects `visible_objects` keeps.
    """
    keep = visible_objects(scene)
    image, masks, boxes = scene.image, scene.object_masks[keep], scene.boxes[keep].astype(np.float32)
    if mirror:
        width = image.shape[1]
        image, masks = image[:, ::-1], masks[:, :, ::-1]
        boxes = np.stack([width - boxes[:, 2], boxes[:, 1], width - boxes[:, 0], boxes[:, 3]], axis=1)
    labels = [classes.index(scene.classes[index]) + 1 for index in keep]
    pixels = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div_(255)
    return pixels, {"boxes": torch.from_numpy(boxes.reshape(-1, 4)),
                    "labels": torch.tensor(labels, dtype=torch.int64),
                    "masks": torch.from_numpy(np.ascontiguousarray(masks, dtype=np.uint8))}


@functools.lru_cache(maxsize=16)
def training_spec(seed: int) -> SceneSpec:
    """The training scene of `seed` (cached: its layout costs several renders, and a spec serves `reuse` samples)."""
    return random_scene(seed, num_objects=SCENE_OBJECTS)


def evaluation_scene(seed: int, size: int) -> RenderedScene:
    """Held-out scene `seed` (0 <= seed < TRAIN_SEED_BASE) rendered at size x size px."""
    if not 0 <= seed < TRAIN_SEED_BASE:
        raise ValueError(f"Expected an evaluation seed in [0, {TRAIN_SEED_BASE}), but found {seed}")
    return render_scene(random_scene(seed, num_objects=SCENE_OBJECTS), size, size)


class SceneTrainingSet(Dataset):
    """Sample g >= 0: scene seed TRAIN_SEED_BASE + g // reuse, rendered at image_size x image_size px. Its variant
    g % reuse is 0 for the scene as laid out; variant v > 0 gets a new ground (background) drawn from seed and v and
    is mirrored when v is odd, so one layout (the costly part) serves `reuse` different pictures."""

    def __init__(self, image_size: int, classes: Sequence[str], *, reuse: int = 2):
        if reuse < 1:
            raise ValueError(f"Expected reuse >= 1, but found {reuse}")
        self.image_size, self.classes, self.reuse = image_size, tuple(classes), reuse

    def seed(self, index: int) -> int:
        return TRAIN_SEED_BASE + index // self.reuse

    def __getitem__(self, index: int) -> tuple[torch.Tensor, Target]:
        if index < 0:
            raise IndexError(f"Expected a sample index >= 0, but found {index}")
        seed, variant = self.seed(index), index % self.reuse
        spec = training_spec(seed)
        if variant:
            spec = dataclasses.replace(spec, background=random_background(np.random.default_rng([seed, variant])))
        scene = render_scene(spec, self.image_size, self.image_size)
        return scene_target(scene, self.classes, mirror=variant % 2 == 1)


def collate(samples: Iterable[tuple[torch.Tensor, Target]]) -> tuple[list[torch.Tensor], list[Target]]:
    """A batch as MaskRCNN takes it: a list of images and a list of targets."""
    images, targets = zip(*samples)
    return list(images), list(targets)


def learning_rate(step: int, steps: int, base: float, warmup: int) -> float:
    """The rate at 0-based `step` of `steps`: linear warm-up from base / 100 over `warmup` steps, then a cosine
    decay to base / 100 at the last step."""
    floor = base / 100
    if step < warmup:
        return floor + (base - floor) * step / warmup
    progress = min((step - warmup) / max(steps - warmup - 1, 1), 1.0)
    return floor + (base - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def train_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, images: list[torch.Tensor],
               targets: list[Target], *, max_grad_norm: float = 10.0) -> dict[str, float]:
    """One optimisation step on a batch; returns torchvision's five losses and their sum "loss". The gradient norm
    is clipped to max_grad_norm. Raises FloatingPointError, before changing the weights, when the loss is not
    finite."""
    model.train()
    losses = model(images, targets)
    total = sum(losses.values())
    if not torch.isfinite(total):
        raise FloatingPointError(f"the training loss became {total.item()} "
                                 f"({', '.join(f'{k} {v.item():.4g}' for k, v in losses.items())}); "
                                 f"lower the learning rate (--lr) and resume from the last checkpoint")
    optimizer.zero_grad(set_to_none=True)
    total.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    optimizer.step()
    return {"loss": total.item(), **{name: value.item() for name, value in losses.items()}}


def match_detections(detections: Sequence[Detection], masks: np.ndarray, classes: Sequence[str],
                     *, min_iou: float = MATCH_IOU, same_class: bool = True) -> list[tuple[int, int, float]]:
    """Greedy one-to-one matching, detections in the given order (highest score first): each takes the unmatched
    object of its class (any class when same_class is False) with the highest mask IoU, if that is >= min_iou.
    masks: (N, H, W) bool, the objects' visible pixels; classes: their N names. Returns (detection index, object
    index, IoU) triples."""
    if not detections or not len(masks):
        return []
    found = np.stack([d.mask for d in detections]).reshape(len(detections), -1).astype(np.float32)
    truth = masks.reshape(len(masks), -1).astype(np.float32)
    intersection = found @ truth.T
    union = found.sum(1)[:, None] + truth.sum(1)[None, :] - intersection
    iou = intersection / np.maximum(union, 1)
    matches, taken = [], set()
    for d, detection in enumerate(detections):
        candidates = [(iou[d, o], o) for o in range(len(masks)) if o not in taken
                      and (not same_class or classes[o] == detection.class_name) and iou[d, o] >= min_iou]
        if candidates:
            best, o = max(candidates)
            taken.add(o)
            matches.append((d, o, float(best)))
    return matches


def evaluate(segmenter: Segmenter, seeds: Iterable[int], size: int, *,
             score_threshold: float = 0.5) -> dict[str, float | int]:
    """Detection quality on held-out scenes `seeds` at size x size px: precision and recall at mask IoU >= 0.5
    with the right class, mean mask IoU of those matches, recall when the class may be wrong (finding vs naming),
    and seconds per image (detect only, not rendering)."""
    objects = detected = matched = matched_any = 0
    ious, seconds, scenes = [], 0.0, 0
    for seed in seeds:
        scene = evaluation_scene(seed, size)
        keep = visible_objects(scene)
        masks, classes = scene.object_masks[keep], [scene.classes[i] for i in keep]
        start = time.perf_counter()
        detections = segmenter.detect(scene.image, score_threshold=score_threshold)
        seconds += time.perf_counter() - start
        matches = match_detections(detections, masks, classes)
        scenes, objects, detected = scenes + 1, objects + len(keep), detected + len(detections)
        matched += len(matches)
        matched_any += len(match_detections(detections, masks, classes, same_class=False))
        ious += [iou for _, _, iou in matches]
    return {"scenes": scenes, "size": size, "score_threshold": score_threshold, "objects": objects,
            "detections": detected, "matched": matched,
            "precision": matched / detected if detected else 0.0, "recall": matched / objects if objects else 0.0,
            "mean_mask_iou": float(np.mean(ious)) if ious else 0.0,
            "recall_any_class": matched_any / objects if objects else 0.0,
            "seconds_per_image": seconds / scenes if scenes else 0.0}
