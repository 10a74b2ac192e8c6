"""Finding the image's objects, its scene graph, and the mask an edit's target names.

    scene = detect_scene(segmenter, image, DetectionSettings(), RelationOptions())   # objects + relations
    resolver = TargetResolver(segmenter, image)                                      # an edit's targets:
    target = resolver.resolve(mask, query, settings)        # ids + mask; several targets share one detection

Object ids are indices into the detections of `detect_objects`, which are the same for the same image, settings and
device: an id from a DetectObjects answer names the same object in a later Edit with the same settings.
"""
from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidInputError
from ..scene_graph.relations import Relation, RelationOptions, extract_relations
from ..scene_graph.targets import (TargetQuery, check_known_class, instance_order, parse_class_target,
                                   resolve_target)
from ..segmentation.detection import Detection
from ..segmentation.segmenter import DEFAULT_MASK_THRESHOLD, DEFAULT_SCORE_THRESHOLD, Segmenter
from .remove import ProgressReport

STAGE_DETECT = "detect"


@dataclass(frozen=True)
class DetectionSettings:
    """score_threshold in [0, 1]: objects scoring above it are kept. mask_threshold in [0, 1): mask pixels whose
    probability is above it are the object. max_objects >= 0: keep the highest-scoring ones, 0 = all."""

    score_threshold: float = DEFAULT_SCORE_THRESHOLD
    mask_threshold: float = DEFAULT_MASK_THRESHOLD
    max_objects: int = 0

    def validated(self) -> DetectionSettings:
        if not (math.isfinite(self.score_threshold) and 0.0 <= self.score_threshold <= 1.0):
            raise InvalidInputError(f"the score threshold must be between 0 and 1; got {self.score_threshold}")
        if not (math.isfinite(self.mask_threshold) and 0.0 <= self.mask_threshold < 1.0):
            raise InvalidInputError(f"the mask threshold must be at least 0 and below 1; got {self.mask_threshold}")
        if self.max_objects < 0:
            raise InvalidInputError(f"max objects must be 0 (all) or more; got {self.max_objects}")
        return self


@dataclass(frozen=True)
class DetectedScene:
    """detections: highest score first (index = object id). instances: per object, its 1-based number among its
    class in instance order (what "person:2" counts). relations: every relation between every ordered pair."""

    detections: list[Detection]
    instances: list[int]
    relations: list[Relation]
    seconds: float


def detect_objects(segmenter: Segmenter, image: np.ndarray, settings: DetectionSettings) -> list[Detection]:
    """The objects in `image`, highest score first, at most settings.max_objects of them (0 = all)."""
    settings = settings.validated()
    detections = segmenter.detect(image, score_threshold=settings.score_threshold,
                                  mask_threshold=settings.mask_threshold)
    return detections[:settings.max_objects] if settings.max_objects else detections


def instance_numbers(detections: Sequence[Detection]) -> list[int]:
    """Each object's number among the objects of its class, from 1, in targets.instance_order."""
    numbers = [0] * len(detections)
    for class_name in {detection.class_name for detection in detections}:
        ids = [i for i, detection in enumerate(detections) if detection.class_name == class_name]
        for number, object_id in enumerate(instance_order(detections, ids), start=1):
            numbers[object_id] = number
    return numbers


def detect_scene(segmenter: Segmenter, image: np.ndarray, settings: DetectionSettings,
                 relation_options: RelationOptions) -> DetectedScene:
    """The image's scene graph: its objects, their instance numbers and the relations between them."""
    started = time.perf_counter()
    detections = detect_objects(segmenter, image, settings)
    relations = extract_relations(detections, relation_options)
    return DetectedScene(detections, instance_numbers(detections), relations, time.perf_counter() - started)


@dataclass(frozen=True)
class ResolvedTarget:
    """mask: (H, W) bool; object_ids: the detections it came from (() for a mask given as such); class_name: the
    detected class when the target is objects of one class, else None."""

    mask: np.ndarray
    object_ids: tuple[int, ...]
    class_name: str | None


SAME_OBJECT_IOU = 0.5  # a detection with this much overlap with a target's mask is that target


class TargetResolver:
    """Resolves several targets of one image (an edit's target and its references) with one detection per set of
    detection settings. segmenter may be None when every target is a mask."""

    def __init__(self, segmenter: Segmenter | None, image: np.ndarray, progress: ProgressReport | None = None):
        self.segmenter = segmenter
        self.image = image
        self.report = progress or (lambda stage, step, total, message: None)
        self._detections: dict[DetectionSettings, list[Detection]] = {}

    def resolve(self, mask: np.ndarray | None, query: TargetQuery | None,
                settings: DetectionSettings = DetectionSettings()) -> ResolvedTarget:
        if query is None:
            return ResolvedTarget(mask, (), None)
        if self.segmenter is None:
            raise ValueError("Expected a segmenter for a target by object or class, but found none")
        if query.class_target is not None:
            check_known_class(parse_class_target(query.class_target).class_name, self.segmenter.class_names)
        if settings not in self._detections:
            self.report(STAGE_DETECT, 0, 1, "Finding the objects")
            self._detections[settings] = detect_objects(self.segmenter, self.image, settings)
            self.report(STAGE_DETECT, 1, 1, f"Found {len(self._detections[settings])} object(s)")
        detections = self._detections[settings]
        target = resolve_target(detections, query, self.segmenter.class_names)
        classes = {detections[i].class_name for i in target.object_ids}
        return ResolvedTarget(target.mask, target.object_ids, classes.pop() if len(classes) == 1 else None)

    def boxes_apart_from(self, masks: Sequence[np.ndarray]) -> list[tuple[int, int, int, int]]:
        """Pixel boxes (x0, y0, x1, y1) of every object the detections so far found, except those that are one of
        `masks` (intersection over union above SAME_OBJECT_IOU): the other objects in the picture."""
        boxes: list[tuple[int, int, int, int]] = []
        for detections in self._detections.values():
            for detection in detections:
                if any(_iou(detection.mask, mask) > SAME_OBJECT_IOU for mask in masks):
                    continue
                box = tuple(int(v) for v in detection.box)
                if box not in boxes:
                    boxes.append(box)
        return boxes


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else 0.0
