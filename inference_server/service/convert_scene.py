"""The proto <-> Python boundary for detection: detection and relation options, semantic targets, scene graphs.

Server side: `detection_settings_from_proto`, `relation_options_from_proto`, `target_query_from_proto` (validate,
raising InvalidInputError with a sentence), `scene_to_proto`. Client side: `detection_settings_to_proto`,
`relation_options_to_proto`, `target_to_proto`, `scene_from_proto`.
Images and masks themselves are converted in convert.py.
"""
from __future__ import annotations

import numpy as np

from semantic_edit.v1 import semantic_edit_pb2 as pb

from ..errors import InvalidInputError
from ..pipeline.detect import DetectedScene, DetectionSettings
from ..pipeline.masks import bounding_region
from ..scene_graph.relations import Relation, RelationOptions
from ..scene_graph.targets import TargetQuery
from ..segmentation.detection import Box, Detection

RELATION_FIELDS = ("direction_margin", "depth_margin", "near_gap", "mask_overlap", "box_overlap", "on_band")
SEMANTIC_TARGETS = ("object_ids", "class_target", "hint_box")


def box_from_region(region: pb.Region, what: str = "the hint box") -> Box:
    if region.width == 0 or region.height == 0:
        raise InvalidInputError(f"{what} is {region.width}x{region.height} px; it must be at least 1x1 (x, y, width, "
                                "height in image pixels)")
    return region.x, region.y, region.x + region.width, region.y + region.height


def region_from_box(box: Box) -> pb.Region:
    x0, y0, x1, y1 = box
    return pb.Region(x=x0, y=y0, width=x1 - x0, height=y1 - y0)


def detection_settings_from_proto(options: pb.DetectionOptions) -> DetectionSettings:
    defaults = DetectionSettings()
    return DetectionSettings(
        score_threshold=options.score_threshold if options.HasField("score_threshold") else defaults.score_threshold,
        mask_threshold=options.mask_threshold if options.HasField("mask_threshold") else defaults.mask_threshold,
        max_objects=options.max_objects).validated()


def detection_settings_to_proto(settings: DetectionSettings) -> pb.DetectionOptions:
    return pb.DetectionOptions(score_threshold=settings.score_threshold, mask_threshold=settings.mask_threshold,
                               max_objects=settings.max_objects)


def relation_options_from_proto(options: pb.RelationOptions) -> RelationOptions:
    """RelationOptions with the fields that are set (validated: InvalidInputError names the bad one)."""
    return RelationOptions(**{name: getattr(options, name) for name in RELATION_FIELDS if options.HasField(name)})


def relation_options_to_proto(options: RelationOptions) -> pb.RelationOptions:
    return pb.RelationOptions(**{name: getattr(options, name) for name in RELATION_FIELDS})


def target_query_from_proto(target: pb.Target) -> TargetQuery:
    """The TargetQuery of an object_ids, class_target or hint_box target."""
    kind = target.WhichOneof("kind")
    if kind == "object_ids":
        if not target.object_ids.ids:
            raise InvalidInputError("target.object_ids is empty; give at least one id from a DetectObjects answer")
        return TargetQuery(object_ids=tuple(target.object_ids.ids))
    if kind == "class_target":
        name = target.class_target.name
        if not name.strip():
            raise InvalidInputError("target.class_target.name is empty; give a class such as 'person' or 'person:2'")
        hint = (box_from_region(target.class_target.hint_box)
                if target.class_target.HasField("hint_box") else None)
        return TargetQuery(class_target=name, hint_box=hint)
    if kind == "hint_box":
        return TargetQuery(hint_box=box_from_region(target.hint_box))
    raise InvalidInputError("the edit needs a target: set target.mask, target.object_ids, target.class_target or "
                            "target.hint_box")


def target_to_proto(query: TargetQuery, settings: DetectionSettings) -> pb.Target:
    detection = detection_settings_to_proto(settings)
    if query.object_ids:
        return pb.Target(object_ids=pb.ObjectIds(ids=list(query.object_ids)), detection=detection)
    if query.class_target is not None:
        class_target = pb.ClassTarget(name=query.class_target)
        if query.hint_box is not None:
            class_target.hint_box.CopyFrom(region_from_box(query.hint_box))
        return pb.Target(class_target=class_target, detection=detection)
    if query.hint_box is not None:
        return pb.Target(hint_box=region_from_box(query.hint_box), detection=detection)
    raise InvalidInputError("the target is empty: give object ids, a class name (e.g. 'person:2'), or a box")


def _mask_to_proto(mask: np.ndarray) -> pb.RegionMask:
    region = bounding_region(mask)
    crop = mask[region.slices]
    return pb.RegionMask(name="object", region=pb.Region(x=region.x, y=region.y, width=region.width,
                                                           height=region.height),
                         data=(crop.astype(np.uint8) * 255).tobytes())


def scene_to_proto(scene: DetectedScene, model: str) -> pb.SceneGraph:
    objects = [
        pb.DetectedObject(id=i, class_name=d.class_name, score=d.score, box=region_from_box(d.box),
                          mask=_mask_to_proto(d.mask), instance=scene.instances[i])
        for i, d in enumerate(scene.detections)]
    relations = [pb.ObjectRelation(subject_id=r.subject, predicate=r.predicate, reference_id=r.reference)
                 for r in scene.relations]
    return pb.SceneGraph(objects=objects, relations=relations, model=model, seconds=scene.seconds)


def scene_from_proto(graph: pb.SceneGraph, width: int, height: int) -> DetectedScene:
    """The scene of a DetectObjects answer for a width x height image (masks back at full size)."""
    detections = []
    for obj in graph.objects:
        mask = np.zeros((height, width), dtype=bool)
        r = obj.mask.region
        mask[r.y:r.y + r.height, r.x:r.x + r.width] = (
            np.frombuffer(obj.mask.data, dtype=np.uint8).reshape(r.height, r.width) != 0)
        detections.append(Detection(class_name=obj.class_name, score=min(max(obj.score, 0.0), 1.0),
                                    box=box_from_region(obj.box, "an object's box"), mask=mask))
    relations = [Relation(r.subject_id, r.predicate, r.reference_id) for r in graph.relations]
    return DetectedScene(detections, [obj.instance for obj in graph.objects], relations, graph.seconds)
