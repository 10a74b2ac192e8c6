"""What Move, Replace and Add Object share beyond Remove's target: the relations to reference objects, the source
object read from a layer, the placement arguments, and the placements the server considered, as text.

A relation is one of RELATION_SLOTS argument slots: "relation-N" (a predicate, or "none"), "reference-layer-N" (a
mask layer of the reference object, e.g. one Detect Objects made) and "reference-class-N" (with a layer: the
reference's class for the position model, optional; without one: the class the server finds, "blue sphere" or
"person:2"). A source object is a layer of any open image: its alpha channel (and its layer mask, if any) is the
object's shape, or a mask layer says which pixels are the object.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl  # noqa: E402

import mask_bytes  # noqa: E402
from detect_objects import OBJECT_PARASITE  # noqa: E402
from paste_requests import MAX_CANDIDATES, PREDICATES, PlacementRelation, SourceObject  # noqa: E402
from remove_object import (  # noqa: E402
    HOLE_MASK_LAYER_NAME, OBJECT_MASK_LAYER_NAME, SELECTION_FORMAT, SHADOW_MASK_LAYER_NAME, PluginError,
    layer_as_mask, offsets, read_pixels)
from semantic_edit_client import EditResult, ObjectTarget  # noqa: E402

RELATION_SLOTS = 3
NO_RELATION = "none"
PREDICATE_NICKS = {predicate.replace(" ", "-"): predicate for predicate in PREDICATES}  # "left-of": "left of"
PLACED_MASK_LAYER_NAME = "placed mask"
PLACED_SHADOW_LAYER_NAME = "placed shadow"
# move, replace; bottom to top; "shadow" and "placed shadow" only when a shadow was removed / carried along
PASTE_MASK_LAYERS = (("hole", HOLE_MASK_LAYER_NAME), ("shadow", SHADOW_MASK_LAYER_NAME),
                     ("object", OBJECT_MASK_LAYER_NAME), ("placed shadow", PLACED_SHADOW_LAYER_NAME),
                     ("placed", PLACED_MASK_LAYER_NAME))
REFERENCE_HINT = "e.g. a layer Detect Objects made"
_INSTANCE = re.compile(r"^(.*?)\s*:\s*(\d+)$")  # "person:2"


@dataclass(frozen=True)
class RelationSetting:
    """One relation slot, checked: predicate ("left of"), the reference's mask layer or None, and the reference
    class (with a layer: for the position model, "" = the class Detect Objects gave the layer; without: the class
    to find, "person:2")."""

    slot: int
    predicate: str
    reference_layer: Any
    reference_class: str


@dataclass(frozen=True)
class PlacedResult:
    """What Move and Add Object give back: the result layer, the placements one per line, and the message a person
    reads (interactive runs)."""

    layer: Any
    placements: str
    message: str


def relations_from_config(config, action: str) -> tuple[RelationSetting, ...]:
    """The relation slots in use, checked; PluginError when none is, or a slot has half a relation."""
    relations = []
    for slot in range(1, RELATION_SLOTS + 1):
        nick = config.get_property(f"relation-{slot}") or NO_RELATION
        reference_layer = config.get_property(f"reference-layer-{slot}")
        reference_class = " ".join((config.get_property(f"reference-class-{slot}") or "").split())
        if nick != NO_RELATION and nick not in PREDICATE_NICKS:
            raise PluginError(f"relation-{slot} must be one of: {NO_RELATION}, {', '.join(PREDICATE_NICKS)}; got "
                              f"'{nick}'")
        if nick == NO_RELATION:
            if reference_layer is not None or reference_class:
                given = reference_layer.get_name() if reference_layer is not None else reference_class
                raise PluginError(f"Relation {slot} has a reference ('{given}') but no relation: choose one in "
                                  f"Relation {slot} (e.g. 'left of'), or clear its reference")
            continue
        if reference_layer is None and not reference_class:
            raise PluginError(f"Relation {slot} ('{PREDICATE_NICKS[nick]}') has no reference: pick the reference "
                              f"object's mask layer in Reference layer {slot} ({REFERENCE_HINT}), or type its class "
                              f"in Reference class {slot} (e.g. 'person:2')")
        relations.append(RelationSetting(slot, PREDICATE_NICKS[nick], reference_layer, reference_class))
    if not relations:
        raise PluginError(f"{action} needs at least one relation saying where the object goes: choose Relation 1 "
                          f"(e.g. 'left of') and pick the reference object's mask layer in Reference layer 1 "
                          f"({REFERENCE_HINT}) or type its class in Reference class 1 (e.g. 'person:2')")
    return tuple(relations)


def placing_from_config(config, action: str) -> dict[str, Any]:
    """The relations, "candidates", "candidate", "keep-size" and "seed", checked, as keyword arguments
    (relations, candidates, candidate, keep_size, seed); raises PluginError."""
    candidates, candidate = config.get_property("candidates"), config.get_property("candidate")
    if not 1 <= candidates <= MAX_CANDIDATES:
        raise PluginError(f"candidates must be 1 to {MAX_CANDIDATES}; got {candidates}")
    if not 0 <= candidate < candidates:
        raise PluginError(f"candidate {candidate} does not exist among {candidates} candidates: give 0 (the best) "
                          f"to {candidates - 1}, or raise candidates")
    return {"relations": relations_from_config(config, action), "candidates": candidates, "candidate": candidate,
            "keep_size": bool(config.get_property("keep-size")), "seed": seed_from_config(config)}


def seed_from_config(config) -> int:
    seed = config.get_property("seed")
    if seed < 0:
        raise PluginError(f"seed must be 0 or more; got {seed}")
    return seed


def detected_class(layer) -> str:
    """The class Detect Objects gave a mask layer (its parasite), or "" for any other layer."""
    parasite = layer.get_parasite(OBJECT_PARASITE) if layer is not None else None
    if parasite is None:
        return ""
    try:
        return str(json.loads(bytes(parasite.get_data()).decode("utf-8")).get("class") or "")
    except (ValueError, AttributeError):  # a parasite someone else wrote: no class then
        return ""


def reference_target(text: str, score_threshold: float, max_objects: int) -> tuple[ObjectTarget, str]:
    """A reference named by class, "blue sphere" or "person:2", as the server's target, and its label."""
    match = _INSTANCE.match(text)
    name, instance = (match.group(1), int(match.group(2))) if match else (text, 0)
    target = ObjectTarget(class_name=name, instance=instance, score_threshold=score_threshold,
                          max_objects=max_objects)
    return target, f"{name} {instance}" if instance else name


def relation_requests(image, layer, settings) -> tuple[tuple[PlacementRelation, ...], str]:
    """The settings' relations as the request's, references read from their layers (in `layer`'s pixels) or named
    by class; and a label such as "left of person 2, above blue mask" for the group's name."""
    relations, labels = [], []
    for relation in settings.relations:
        reference = relation.reference_layer
        if reference is not None:
            mask = layer_as_mask(image, layer, reference, role=f"reference layer {relation.slot}",
                                 thing="the reference object")
            request = PlacementRelation(relation.predicate, mask=mask,
                                        reference_class=relation.reference_class or detected_class(reference))
            label = reference.get_name()
        else:
            target, label = reference_target(relation.reference_class, settings.score_threshold,
                                             settings.max_objects)
            request = PlacementRelation(relation.predicate, target=target)
        relations.append(request)
        labels.append(f"{relation.predicate} {label}")
    return tuple(relations), ", ".join(labels)


def source_object(layer, source_layer, source_mask_layer, object_class: str = "") -> SourceObject:
    """The object to paste from `source_layer` (any open image; not `layer`, the one edited): its pixels at its own
    size, its shape from its alpha, its layer mask and `source_mask_layer` (lined up by their places in the
    source's image), its class `object_class` or else the one Detect Objects gave the layer; PluginError when
    nothing says which pixels are the object, or they are none."""
    if source_layer is None:
        raise PluginError("No source layer is chosen: pick the layer that shows the new object in Source layer "
                          "(transparent around the object, or with a Source mask layer)")
    name = source_layer.get_name()
    if source_layer.get_id() == layer.get_id():
        raise PluginError(f"The source layer '{name}' is the layer being edited: pick the layer that shows the new "
                          "object (e.g. pasted in as a new layer)")
    if source_layer.is_group():
        raise PluginError(f"The source layer '{name}' is a layer group: pick a pixel layer inside it, or merge the "
                          "group first (Layer > Merge Layer Group)")
    pixels, channels = read_pixels(source_layer)
    width, height = source_layer.get_width(), source_layer.get_height()
    mask = _source_mask(source_layer, source_mask_layer)
    if channels == 3 and mask is None:
        raise PluginError(f"The source layer '{name}' has no alpha channel, so nothing says which of its pixels "
                          "are the object: add one (Layer > Transparency > Add Alpha Channel) and erase around the "
                          "object, or pick a Source mask layer (white = object)")
    shape = mask if mask is not None else bytes([255]) * (width * height)
    if channels == 4:
        shape = mask_bytes.intersect(shape, pixels[3::4])
    if mask_bytes.is_empty(shape):
        why = "its opaque pixels" if mask is None else "its opaque pixels under its mask"
        raise PluginError(f"The source layer '{name}' shows no object: {why} are none. Pick the layer that shows "
                          "the object, opaque where the object is")
    return SourceObject(width, height, channels, pixels, mask=mask,
                        object_class=object_class or detected_class(source_layer))


def _source_mask(source_layer, source_mask_layer) -> bytes | None:
    """The source's layer mask and the source mask layer, combined, in the source's pixels; None when neither."""
    width, height = source_layer.get_width(), source_layer.get_height()
    masks = []
    layer_mask = source_layer.get_mask()
    if layer_mask is not None:
        data = layer_mask.get_buffer().get(Gegl.Rectangle.new(0, 0, width, height), 1.0, SELECTION_FORMAT,
                                           Gegl.AbyssPolicy.NONE)
        masks.append(bytes(data))
    if source_mask_layer is not None:
        if source_mask_layer.get_id() == source_layer.get_id():
            raise PluginError(f"The source mask layer '{source_mask_layer.get_name()}' is the source layer itself: "
                              "pick a layer that marks the new object (white = object), or none when the source "
                              "layer's transparency shows its shape")
        masks.append(layer_as_mask(source_layer.get_image(), source_layer, source_mask_layer,
                                   role="source mask layer", thing="the new object"))
    return mask_bytes.intersect(*masks) if masks else None


def used_candidate(result: EditResult, candidate: int) -> int:
    """The placement the server used: the one asked for, or the last when the model found fewer."""
    return max(0, min(candidate, len(result.placements) - 1))


def placement_lines(result: EditResult, layer, candidate: int) -> list[str]:
    """One line per placement the server considered, best first, boxes in image pixels (the layer's offsets
    added): "candidate 1: box 59,31 13x12, all relations hold, used"."""
    layer_x, layer_y = offsets(layer)
    used = used_candidate(result, candidate)
    lines = []
    for index, placement in enumerate(result.placements):
        box = placement.box
        holds = "all relations hold" if placement.all_relations_hold else "not all relations hold"
        lines.append(f"candidate {index}: box {layer_x + box.x},{layer_y + box.y} {box.width}x{box.height}, "
                     f"{holds}{', used' if index == used else ''}")
    return lines


def placed_result(result_layer, result: EditResult, layer, candidate: int, done: str) -> PlacedResult:
    """The result layer with the placements as text and the message for people: `done` ("Moved 'disc mask'"), the
    candidate used, every candidate, and how to take another."""
    lines = placement_lines(result, layer, candidate)
    if not lines:
        return PlacedResult(result_layer, "", f"{done}.")
    used = used_candidate(result, candidate)
    message = [f"{done} to candidate {used} of {len(lines)}{' (the best)' if used == 0 else ''}. The places the "
               "position model proposed (boxes in image pixels):", *lines,
               "To use another, run it again with the same seed and another candidate."]
    if not result.placements[used].all_relations_hold:
        message.insert(1, "The relations do not all hold at this place: try another candidate, or more "
                          "candidates.")
    return PlacedResult(result_layer, "\n".join(lines), "\n".join(message))
