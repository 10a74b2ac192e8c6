"""The GIMP side of "Replace Object": the object gives way to another one, taken from a layer.

The object is named exactly as for Remove Object; the new object is a layer of any open image (placing.
source_object: its transparency, layer mask or a source mask layer say which pixels it is), sent at its own size.
The server removes the old object as a removal does, scales the new one from the old one's box (aspect kept; Fit:
inside it, as wide or as tall), stands it on the same ground line and pastes it. The result is the group
"Replace: <what> with <source>" above the layer: the edited pixels (shown) and the masks "hole (dilated)", "object
mask" and "placed mask" (hidden). The old object's shadow stays: the new object stands in it (the server implies
keep-shadow for a replacement).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from paste_requests import ReplaceRequest  # noqa: E402
from placing import PASTE_MASK_LAYERS, seed_from_config, source_object  # noqa: E402
from remove_object import (  # noqa: E402
    connected_client, edit_target, fill_from_config, fill_text, insert_result, read_pixels, result_log, run_edit,
    source_layer, target_from_config)
from semantic_edit_client import SemanticEditClient  # noqa: E402


@dataclass(frozen=True)
class ReplaceSettings:
    """The procedure's arguments, checked.

    source_layer: the layer showing the new object (any open image); source_mask_layer: optional, a layer of the
        source's image marking the object (white = object), needed when the source layer has no alpha channel.
    fit: how the new object is sized from the old one's box: "inside", "width" or "height" (ReplaceRequest).
    seed: the fill's random seed.
    target, mask_layer, server, class_name, instance, score_threshold, max_objects, dilation_px, quality, fill,
        texture, iterations: as RemoveSettings' (no keep_shadow: the old object's shadow stays).
    """

    target: str
    mask_layer: Any
    server: str
    source_layer: Any
    source_mask_layer: Any = None
    fit: str = "inside"
    seed: int = 0
    dilation_px: int | None = None
    quality: str = "balanced"
    fill: str = "synthesis"
    texture: float | None = None
    iterations: int | None = None
    class_name: str = ""
    instance: int = 0
    score_threshold: float = 0.5
    max_objects: int = 0


def settings_from_config(config) -> ReplaceSettings:
    """Reads and checks the procedure's arguments (the same in every run mode); raises PluginError."""
    return ReplaceSettings(source_layer=config.get_property("source-layer"),
                           source_mask_layer=config.get_property("source-mask-layer"), fit=config.get_property("fit"),
                           seed=seed_from_config(config), **fill_from_config(config, with_shadow=False),
                           **target_from_config(config))


def replace_object(image, drawables, settings: ReplaceSettings,
                   client_factory: Callable[[str], SemanticEditClient] = connected_client,
                   log: Callable[[str], None] | None = None):
    """Runs the whole replacement; returns the new result layer; raises PluginError with the sentence to show."""
    layer = source_layer(image, drawables, action="Replace Object")
    mask, target, label = edit_target(image, layer, settings)
    source = source_object(layer, settings.source_layer, settings.source_mask_layer)
    source_name = settings.source_layer.get_name()
    pixels, channels = read_pixels(layer)
    request = ReplaceRequest(width=layer.get_width(), height=layer.get_height(), channels=channels, pixels=pixels,
                             mask=mask, target=target, source=source, dilation_px=settings.dilation_px,
                             quality=settings.quality, fill=settings.fill, texture=settings.texture,
                             iterations=settings.iterations, seed=settings.seed, fit=settings.fit)
    if log is not None:
        log(f"replace '{label}' with '{source_name}' ({source.width}x{source.height}, {source.channels} channels"
            f"{', with a mask' if source.mask is not None else ''})")
    result = run_edit(settings.server, lambda client, on_progress: client.replace(request, on_progress=on_progress),
                      f"Replacing the object in '{layer.get_name()}' with '{source_name}'", client_factory, log)
    if log is not None:
        log(result_log(result, f"{fill_text(settings)}, {result.iterations} iterations, dilation "
                               f"{result.dilation_px} px"))
    return insert_result(image, layer, result, f"Replace: {label} with {source_name}",
                         f"{layer.get_name()} (object replaced)", PASTE_MASK_LAYERS)
