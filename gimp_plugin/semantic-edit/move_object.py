"""The GIMP side of "Move Object": the object goes where the relations say ("left of" the blue sphere's layer).

The object is named exactly as for Remove Object (a selection, a mask layer, a class and instance, or the object in
the selection's box); the relations and their references come from placing. The server cuts the object out, fills
its old place as a removal does (the same quality, fill, texture, shadow, dilation, iterations), lets the position
model propose places and pastes it at the chosen one; the shadow removed at the old place is cast again at the new
one. The result is the group "Move: <what> <relations>" above the layer: the edited pixels (shown) over the old and
the new place, and the masks "hole (dilated)", "shadow", "object mask", "placed shadow" and "placed mask" (hidden;
the shadow layers only when a shadow was found). The places considered come back as text, one per line, so the user can take another candidate.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from paste_requests import DEFAULT_CANDIDATES, MoveRequest  # noqa: E402
from placing import (  # noqa: E402
    PASTE_MASK_LAYERS, PlacedResult, RelationSetting, detected_class, placed_result, placing_from_config,
    relation_requests, used_candidate)
from remove_object import (  # noqa: E402
    TARGET_MASK_LAYER, PluginError, connected_client, edit_target, fill_from_config, fill_text, insert_result,
    read_pixels, result_log, run_edit, source_layer, target_from_config)
from semantic_edit_client import SemanticEditClient  # noqa: E402


@dataclass(frozen=True)
class MoveSettings:
    """The procedure's arguments, checked.

    relations: the relation slots in use (placing.RelationSetting), at least one.
    object_class: the object's class for the position model; "" = the detected class (targets class and
        selection-hint), the class Detect Objects gave the mask layer, else "some object".
    candidates: places to consider, 1..16; candidate: which one to use, 0 = the best.
    keep_size: paste at the object's present size (no nearer-is-larger scaling).
    seed: the fill's and the placements' random seed (the same seed gives the same places).
    target, mask_layer, server, class_name, instance, score_threshold, max_objects: as RemoveSettings' (the
        detection options also find references named by class); dilation_px, quality, fill, texture, keep_shadow,
        iterations: as well.
    """

    target: str
    mask_layer: Any
    server: str
    relations: tuple[RelationSetting, ...]
    object_class: str = ""
    candidates: int = DEFAULT_CANDIDATES
    candidate: int = 0
    keep_size: bool = False
    seed: int = 0
    dilation_px: int | None = None
    quality: str = "balanced"
    fill: str = "synthesis"
    texture: float | None = None
    keep_shadow: bool = False
    iterations: int | None = None
    class_name: str = ""
    instance: int = 0
    score_threshold: float = 0.5
    max_objects: int = 0


def settings_from_config(config) -> MoveSettings:
    """Reads and checks the procedure's arguments (the same in every run mode); raises PluginError."""
    object_class = " ".join((config.get_property("object-class") or "").split())
    return MoveSettings(object_class=object_class, **placing_from_config(config, "Move Object"),
                        **fill_from_config(config), **target_from_config(config))


def _check_references_are_not_the_object(settings: MoveSettings) -> None:
    if settings.target != TARGET_MASK_LAYER or settings.mask_layer is None:
        return
    for relation in settings.relations:
        reference = relation.reference_layer
        if reference is not None and reference.get_id() == settings.mask_layer.get_id():
            raise PluginError(f"Reference layer {relation.slot} '{reference.get_name()}' is the mask layer of the "
                              "object to move: pick the layer of another object, the one the moved object is to "
                              f"be {relation.predicate}")


def move_object(image, drawables, settings: MoveSettings,
                client_factory: Callable[[str], SemanticEditClient] = connected_client,
                log: Callable[[str], None] | None = None) -> PlacedResult:
    """Runs the whole move; returns the result layer with the placements; raises PluginError with the sentence."""
    layer = source_layer(image, drawables, action="Move Object")
    mask, target, label = edit_target(image, layer, settings)
    _check_references_are_not_the_object(settings)
    relations, relations_label = relation_requests(image, layer, settings)
    object_class = settings.object_class
    if not object_class and settings.target == TARGET_MASK_LAYER:
        object_class = detected_class(settings.mask_layer)
    pixels, channels = read_pixels(layer)
    request = MoveRequest(width=layer.get_width(), height=layer.get_height(), channels=channels, pixels=pixels,
                          mask=mask, target=target, relations=relations, object_class=object_class,
                          candidates=settings.candidates, candidate=settings.candidate,
                          keep_size=settings.keep_size, dilation_px=settings.dilation_px, quality=settings.quality,
                          fill=settings.fill, texture=settings.texture, keep_shadow=settings.keep_shadow,
                          iterations=settings.iterations,
                          seed=settings.seed)
    if log is not None:
        log(f"move '{label}' {relations_label}, class '{object_class or 'from the server'}', candidate "
            f"{settings.candidate} of {settings.candidates}")
    result = run_edit(settings.server, lambda client, on_progress: client.move(request, on_progress=on_progress),
                      f"Moving the object in '{layer.get_name()}' {relations_label}", client_factory, log)
    if log is not None:
        log(result_log(result, f"{fill_text(settings)}, {result.iterations} iterations, dilation "
                               f"{result.dilation_px} px, placement {used_candidate(result, settings.candidate)} "
                               f"of {len(result.placements)}"))
    result_layer = insert_result(image, layer, result, f"Move: {label} {relations_label}",
                                 f"{layer.get_name()} (object moved)", PASTE_MASK_LAYERS)
    return placed_result(result_layer, result, layer, settings.candidate, f"Moved '{label}'")
