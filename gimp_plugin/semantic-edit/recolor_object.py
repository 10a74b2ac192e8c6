"""The GIMP side of "Recolor Object": the object gets a new colour; its shading and highlights stay.

The object is named exactly as for Remove Object (a selection, a mask layer, a class and instance, or the object in
the selection's box), and the server call, the progress bar and the result group are remove_object's. The colour is
GIMP 3's colour argument, a GeglColor in whatever colour space it was picked in; babl converts it to the 8-bit sRGB
the API takes (what GIMP shows as its hex value). GIMP 3.0 hands a colour argument that a script leaves unset over as
transparent black (the procedure's default does not reach other processes), so a fully transparent colour means "not
given": the default, blue, as in the dialog. The result is the group "Recolor: <what>" above the layer: the
recoloured pixels (shown, in the layer's own format) and the masks "object" and "edge" (hidden).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Babl", "0.1")
from gi.repository import Babl  # noqa: E402

from remove_object import (  # noqa: E402
    OBJECT_MASK_LAYER_NAME, PluginError, connected_client, edit_target, insert_result, read_pixels, result_log,
    run_edit, source_layer, target_from_config)
from semantic_edit_client import MAX_EDGE_PX, RecolorRequest, SemanticEditClient  # noqa: E402

COLOR_FORMAT = "R'G'B'A u8"  # babl's 8-bit sRGB with its transfer curve: the API's colour (the alpha is dropped)
EDGE_MASK_LAYER_NAME = "object + edge"
RECOLOR_MASK_LAYERS = (("edge", EDGE_MASK_LAYER_NAME), ("object", OBJECT_MASK_LAYER_NAME))  # bottom to top
DEFAULT_COLOR = (0, 0, 255)
DEFAULT_EDGE_PX = 1  # the server's default soft edge


@dataclass(frozen=True)
class RecolorSettings:
    """The procedure's arguments, checked.

    color: the new colour, 8-bit sRGB (red, green, blue).
    strength: 0..1, how far each pixel moves to its new colour (1 = all the way).
    lightness: 0..1; 1 maps the object's lit lightness to the colour's (black and white highlights stay), 0 keeps
        every pixel's lightness.
    edge_px: 0..MAX_EDGE_PX, the soft edge beyond the object over which the change fades out.
    target, mask_layer, server, class_name, instance, score_threshold, max_objects: as RemoveSettings'.
    """

    target: str
    mask_layer: Any
    server: str
    color: tuple[int, int, int]
    strength: float = 1.0
    lightness: float = 1.0
    edge_px: int = DEFAULT_EDGE_PX
    class_name: str = ""
    instance: int = 0
    score_threshold: float = 0.5
    max_objects: int = 0


def color_bytes(color) -> tuple[int, int, int] | None:
    """A GeglColor as 8-bit sRGB (red, green, blue), babl converting from the colour's own space and clipping what
    sRGB cannot show; None for no colour or a fully transparent one (a script's unset argument)."""
    if color is None:
        return None
    data = bytes(color.get_bytes(Babl.format(COLOR_FORMAT)).get_data())
    return (data[0], data[1], data[2]) if data[3] else None


def color_hex(color: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*color)


def settings_from_config(config) -> RecolorSettings:
    """Reads and checks the procedure's arguments (the same in every run mode); raises PluginError."""
    target = target_from_config(config)
    color = color_bytes(config.get_property("color")) or DEFAULT_COLOR
    strength = config.get_property("strength")
    if not 0.0 <= strength <= 1.0:
        raise PluginError(f"strength must be between 0 (no change) and 1 (the full new colour); got {strength}")
    lightness = config.get_property("lightness")
    if not 0.0 <= lightness <= 1.0:
        raise PluginError("lightness must be between 0 (each pixel keeps its lightness) and 1 (the object takes "
                          f"the colour's lightness); got {lightness}")
    edge = config.get_property("edge")
    if not 0 <= edge <= MAX_EDGE_PX:
        raise PluginError(f"edge must be between 0 and {MAX_EDGE_PX} px; got {edge}")
    return RecolorSettings(color=color, strength=strength, lightness=lightness, edge_px=edge, **target)


def recolor_object(image, drawables, settings: RecolorSettings,
                   client_factory: Callable[[str], SemanticEditClient] = connected_client,
                   log: Callable[[str], None] | None = None):
    """Runs the whole recolour; returns the new result layer; raises PluginError with the sentence to show."""
    layer = source_layer(image, drawables, action="Recolor Object")
    mask, target, label = edit_target(image, layer, settings)
    pixels, channels = read_pixels(layer)
    if log is not None:
        log(f"recolour '{label}' to {color_hex(settings.color)}, strength {settings.strength:g}, lightness "
            f"{settings.lightness:g}, edge {settings.edge_px} px")
    request = RecolorRequest(width=layer.get_width(), height=layer.get_height(), channels=channels, pixels=pixels,
                             mask=mask, target=target, color=settings.color, strength=settings.strength,
                             lightness=settings.lightness, edge_px=settings.edge_px)
    result = run_edit(settings.server, lambda client, on_progress: client.recolor(request, on_progress=on_progress),
                      f"Recolouring the object in '{layer.get_name()}' to {color_hex(settings.color)}",
                      client_factory, log)
    if log is not None:
        log(result_log(result, f"colour {color_hex(settings.color)}, edge {result.dilation_px} px"))
    return insert_result(image, layer, result, f"Recolor: {label}", f"{layer.get_name()} (recolored)",
                         RECOLOR_MASK_LAYERS)
