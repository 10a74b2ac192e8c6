"""The GIMP side of "Detect Objects": ask the server what the layer shows, add one mask layer per object.

The layers go into a group "Objects" above the layer, one per object, named "<class> <instance> (<score>)", e.g.
"person 2 (0.97)" (instance: its number among its class, left to right, as Remove Object's target "class" counts).
Each layer lies over its object's mask region (the layer's own offsets included), opaque white where the object is
and transparent elsewhere: exactly what Remove Object's target "mask-layer" reads, so a layer, repainted or not,
names the object to remove. The relations between the objects ("person 1 left of person 2") are shown in a message
(interactive runs), returned as text (scripts), and kept with the layers as parasites ("semantic-edit-scene" on the
group, JSON; "semantic-edit-object" on each layer), which XCF files save.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

import gi

gi.require_version("Gimp", "3.0")
from gi.repository import Gimp  # noqa: E402

import mask_bytes  # noqa: E402
from remove_object import (  # noqa: E402
    GimpProgress, PluginError, connected_client, detection_from_config, new_layer, offsets, read_pixels,
    server_from_config, source_layer)
from semantic_edit_client import (  # noqa: E402
    DetectedObject, DetectRequest, SceneGraph, SemanticEditClient, SemanticEditClientError)

GROUP_NAME = "Objects"
SCENE_PARASITE = "semantic-edit-scene"
OBJECT_PARASITE = "semantic-edit-object"
MASK_OPACITY = 50.0  # the masks tint their objects; the mask-layer target reads the pixels, not the opacity
SYMMETRIC_PREDICATES = ("near", "overlapping")  # the server lists them both ways; shown once
MESSAGE_MAX_OBJECTS = 30  # lines in the message; the return value and the parasites hold every relation


@dataclass(frozen=True)
class DetectSettings:
    """The procedure's arguments, checked. score_threshold: 0..1; max_objects: 0 = all; server: "host:port"."""

    score_threshold: float
    max_objects: int
    server: str


def settings_from_config(config) -> DetectSettings:
    """Reads and checks the procedure's arguments (the same in every run mode); raises PluginError."""
    score_threshold, max_objects = detection_from_config(config)
    return DetectSettings(score_threshold=score_threshold, max_objects=max_objects, server=server_from_config(config))


def layer_name(obj: DetectedObject) -> str:
    """"person 2 (0.97)": class, instance number, score with 2 decimals."""
    return f"{obj.class_name} {obj.instance} ({obj.score:.2f})"


def relation_lines(scene: SceneGraph) -> list[str]:
    """One line per relation, "person 1 left of person 2", in the server's order; "near" and "overlapping" once."""
    return [scene.relation_text(relation) for relation in scene.relations
            if relation.predicate not in SYMMETRIC_PREDICATES or relation.subject_id < relation.reference_id]


def object_relations(scene: SceneGraph, object_id: int) -> list[str]:
    """What the object is to the others, "left of person 2", in the server's order."""
    return [f"{relation.predicate} {scene.objects[relation.reference_id].label}" for relation in scene.relations
            if relation.subject_id == object_id]


def summary(scene: SceneGraph, layer_label: str) -> str:
    """The message a person reads: what was found, and per object its relations to the others."""
    count = len(scene.objects)
    lines = [f"Found {count} object{'s' if count != 1 else ''} in '{layer_label}' ({scene.model}, "
             f"{scene.seconds:.1f} s); the layer group '{GROUP_NAME}' holds one mask layer per object."]
    for obj in scene.objects[:MESSAGE_MAX_OBJECTS]:
        related = object_relations(scene, obj.id)
        lines.append(f"{layer_name(obj)}: {', '.join(related) if related else 'no relations'}")
    if count > MESSAGE_MAX_OBJECTS:
        lines.append(f"... and {count - MESSAGE_MAX_OBJECTS} more (the layers' parasites '{OBJECT_PARASITE}' list "
                     "their relations).")
    return "\n".join(lines)


def _attach_json(item, name: str, data) -> None:
    payload = json.dumps(data, separators=(",", ":")).encode("utf-8")
    item.attach_parasite(Gimp.Parasite.new(name, Gimp.PARASITE_PERSISTENT, list(payload)))


def _box(region) -> list[int]:
    return [region.x, region.y, region.width, region.height]


def add_object_layers(image, layer, scene: SceneGraph, settings: DetectSettings):
    """Inserts the group "Objects" above `layer` with one mask layer per object, object 0 (highest score) on top.

    Returns the group. The layers sit at their mask regions in the image (the source's offsets included); the
    source layer is not touched."""
    layer_x, layer_y = offsets(layer)
    group = Gimp.GroupLayer.new(image, GROUP_NAME)
    image.insert_layer(group, layer.get_parent(), image.get_item_position(layer))  # takes the source's place: above
    names = {}
    for obj in reversed(scene.objects):  # each goes on top: the last inserted, object 0, ends first
        region = obj.mask_region
        mask_layer = new_layer(image, layer_name(obj), region.width, region.height, 4,
                               mask_bytes.mask_to_rgba(obj.mask), layer_x + region.x, layer_y + region.y, group,
                               visible=True, opacity=MASK_OPACITY)
        names[obj.id] = mask_layer.get_name()  # GIMP makes names unique: a second run gets "... #1"
        _attach_json(mask_layer, OBJECT_PARASITE, {
            "id": obj.id, "class": obj.class_name, "instance": obj.instance, "score": obj.score,
            "box": _box(obj.box), "relations": object_relations(scene, obj.id)})
    _attach_json(group, SCENE_PARASITE, {
        "source": layer.get_name(), "model": scene.model, "seconds": scene.seconds,
        "detection": {"score_threshold": settings.score_threshold, "max_objects": settings.max_objects},
        "objects": [{"id": obj.id, "layer": names[obj.id], "class": obj.class_name, "instance": obj.instance,
                     "score": obj.score, "box": _box(obj.box)} for obj in scene.objects],
        "relations": [[r.subject_id, r.predicate, r.reference_id] for r in scene.relations]})
    return group


def detect_objects(image, drawables, settings: DetectSettings,
                   client_factory: Callable[[str], SemanticEditClient] = connected_client,
                   log: Callable[[str], None] | None = None):
    """Runs the detection and adds the layers; returns (group, scene); raises PluginError with the sentence to show."""
    layer = source_layer(image, drawables, action="Detect Objects", verb="looks at")
    pixels, channels = read_pixels(layer)
    request = DetectRequest(width=layer.get_width(), height=layer.get_height(), channels=channels, pixels=pixels,
                            score_threshold=settings.score_threshold, max_objects=settings.max_objects)
    progress = GimpProgress(f"Detecting the objects in '{layer.get_name()}'")
    try:
        try:
            client = client_factory(settings.server)
        except SemanticEditClientError as error:
            raise PluginError(str(error)) from None
        try:
            scene = client.detect(request, on_wait=progress.pulse)
        except SemanticEditClientError as error:
            raise PluginError(str(error)) from None
        finally:
            client.close()
    finally:
        progress.end()
    if log is not None:
        log(f"done: {len(scene.objects)} object(s), {len(scene.relations)} relation(s), {scene.model} "
            f"{scene.seconds:.2f} s")
    if not scene.objects:
        raise PluginError(f"The server found no objects in '{layer.get_name()}' scoring above "
                          f"{settings.score_threshold:.2f}: lower the score threshold (e.g. to 0.3) to see less "
                          "certain ones")

    Gimp.context_push()
    image.undo_group_start()
    try:
        group = add_object_layers(image, layer, scene, settings)
    finally:
        image.undo_group_end()
        Gimp.context_pop()
    Gimp.displays_flush()
    return group, scene
