"""The GIMP side of "Add Object": a new object, taken from a layer, goes where the relations say.

The new object is a layer of any open image, read as Replace Object reads it (placing.source_object), with its
class for the position model; the relations and their references come from placing, as for Move Object. The server
lets the position model propose places, scales the object to the chosen box's height (nearer = larger, unless
keep-size) and pastes it; nothing is removed. The result is the group "Add: <source> <relations>" above the layer:
the edited pixels (shown) and the masks "placed mask" and, when the object casts a shadow like a reference's,
"placed shadow" (hidden). The places considered come back as text.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from paste_requests import DEFAULT_CANDIDATES, AddRequest  # noqa: E402
from placing import (  # noqa: E402
    PLACED_MASK_LAYER_NAME, PLACED_SHADOW_LAYER_NAME, PlacedResult, RelationSetting, placed_result, placing_from_config, relation_requests,
    source_object, used_candidate)
from remove_object import (  # noqa: E402
    connected_client, detection_from_config, insert_result, read_pixels, result_log, run_edit, server_from_config,
    source_layer)
from semantic_edit_client import SemanticEditClient  # noqa: E402

ADD_MASK_LAYERS = (("placed shadow", PLACED_SHADOW_LAYER_NAME), ("placed", PLACED_MASK_LAYER_NAME))


@dataclass(frozen=True)
class AddSettings:
    """The procedure's arguments, checked.

    source_layer, source_mask_layer: the new object, as ReplaceSettings'. source_class: its class for the position
        model, e.g. "lamp"; "" = the class Detect Objects gave the source layer, else "some object".
    relations, candidates, candidate, keep_size (the picture's own size), seed (picks the places): as MoveSettings'.
    cast_shadow: when a reference object casts a shadow, the new object casts one like it.
    score_threshold, max_objects: how the server finds references named by class. server: "host:port".
    """

    server: str
    source_layer: Any
    relations: tuple[RelationSetting, ...]
    source_mask_layer: Any = None
    source_class: str = ""
    candidates: int = DEFAULT_CANDIDATES
    candidate: int = 0
    keep_size: bool = False
    seed: int = 0
    cast_shadow: bool = True
    score_threshold: float = 0.5
    max_objects: int = 0


def settings_from_config(config) -> AddSettings:
    """Reads and checks the procedure's arguments (the same in every run mode); raises PluginError."""
    score_threshold, max_objects = detection_from_config(config)
    return AddSettings(server=server_from_config(config), source_layer=config.get_property("source-layer"),
                       source_mask_layer=config.get_property("source-mask-layer"),
                       source_class=" ".join((config.get_property("source-class") or "").split()),
                       score_threshold=score_threshold, max_objects=max_objects,
                       cast_shadow=bool(config.get_property("cast-shadow")),
                       **placing_from_config(config, "Add Object"))


def add_object(image, drawables, settings: AddSettings,
               client_factory: Callable[[str], SemanticEditClient] = connected_client,
               log: Callable[[str], None] | None = None) -> PlacedResult:
    """Runs the whole addition; returns the result layer with the placements; raises PluginError with the sentence."""
    layer = source_layer(image, drawables, action="Add Object")
    source = source_object(layer, settings.source_layer, settings.source_mask_layer, settings.source_class)
    source_name = settings.source_layer.get_name()
    relations, relations_label = relation_requests(image, layer, settings)
    pixels, channels = read_pixels(layer)
    request = AddRequest(width=layer.get_width(), height=layer.get_height(), channels=channels, pixels=pixels,
                         source=source, relations=relations, candidates=settings.candidates,
                         candidate=settings.candidate, keep_size=settings.keep_size, seed=settings.seed,
                         cast_shadow=settings.cast_shadow)
    if log is not None:
        log(f"add '{source_name}' (class '{source.object_class or 'some object'}') {relations_label}, candidate "
            f"{settings.candidate} of {settings.candidates}")
    result = run_edit(settings.server, lambda client, on_progress: client.add(request, on_progress=on_progress),
                      f"Adding '{source_name}' to '{layer.get_name()}' {relations_label}", client_factory, log)
    if log is not None:
        log(result_log(result, f"placement {used_candidate(result, settings.candidate)} of "
                               f"{len(result.placements)}"))
    result_layer = insert_result(image, layer, result, f"Add: {source_name} {relations_label}",
                                 f"{layer.get_name()} (object added)", ADD_MASK_LAYERS)
    return placed_result(result_layer, result, layer, settings.candidate, f"Added '{source_name}'")
