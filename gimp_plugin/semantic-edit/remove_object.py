"""The GIMP side of "Remove Object": read the layer and the object's mask, ask the server, add the result as layers.

Thin on purpose: pixels travel as bytes in the layer's own format (no conversion, see docs/gimp3-headless.md), the
server does the work (semantic_edit_client), and byte juggling lives in mask_bytes. Every failure a person can act
on is a PluginError whose str() is the sentence GIMP shows.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp  # noqa: E402

import mask_bytes  # noqa: E402
from semantic_edit_client import (  # noqa: E402
    QUALITY_PRESETS, Progress, RemoveRequest, RemoveResult, SemanticEditClient, SemanticEditClientError,
    parse_address)

TARGET_SELECTION = "selection"
TARGET_MASK_LAYER = "mask-layer"
TARGETS = (TARGET_SELECTION, TARGET_MASK_LAYER)
OBJECT_MASK_LAYER_NAME = "object mask"
HOLE_MASK_LAYER_NAME = "hole (dilated)"
SERVER_MASK_NAMES = {"object": OBJECT_MASK_LAYER_NAME, "hole": HOLE_MASK_LAYER_NAME}
PIXEL_FORMATS = {3: "R'G'B' u8", 4: "R'G'B'A u8"}  # perceptual 8 bit: the API's sRGB bytes
SELECTION_FORMAT = "Y' u8"


class PluginError(Exception):
    """A failure the user can fix; str(error) is the sentence GIMP shows."""


@dataclass(frozen=True)
class RemoveSettings:
    """The procedure's arguments, checked.

    target: "selection" or "mask-layer".
    mask_layer: the layer holding the object's mask (nonzero/white = object), for target "mask-layer".
    dilation_px: pixels the hole reaches beyond the object; None lets the server choose.
    quality: "fast", "balanced" or "best".
    server: "host:port" of the Semantic Edit server.
    iterations: optimisation steps instead of the preset's; None keeps the preset's.
    """

    target: str
    mask_layer: Any
    dilation_px: int | None
    quality: str
    server: str
    iterations: int | None


def settings_from_config(config) -> RemoveSettings:
    """Reads and checks the procedure's arguments (the same in every run mode); raises PluginError."""
    target = config.get_property("target")
    if target not in TARGETS:  # GIMP only warns about an unknown choice and runs with the default
        raise PluginError(f"target must be one of: {', '.join(TARGETS)}; got '{target}'")
    quality = config.get_property("quality")
    if quality not in QUALITY_PRESETS:
        raise PluginError(f"quality must be one of: {', '.join(QUALITY_PRESETS)}; got '{quality}'")
    dilation = config.get_property("dilation")
    iterations = config.get_property("iterations")
    try:
        server = parse_address(config.get_property("server") or "")
    except SemanticEditClientError as error:
        raise PluginError(str(error)) from None
    return RemoveSettings(target=target, mask_layer=config.get_property("mask-layer"),
                          dilation_px=None if dilation < 0 else dilation, quality=quality, server=server,
                          iterations=iterations or None)


def source_layer(image, drawables) -> Any:
    """The one pixel layer to edit, or PluginError saying what to pick instead."""
    if len(drawables) != 1:
        raise PluginError(f"Remove Object edits one layer at a time, but {len(drawables)} are selected: "
                          "select only the layer that shows the object")
    layer = drawables[0]
    if not isinstance(layer, Gimp.Layer) or isinstance(layer, Gimp.LayerMask):
        raise PluginError("Remove Object edits a layer, not a channel or a layer mask: click the layer's "
                          "thumbnail in the Layers dialog, then try again")
    if layer.is_group():
        raise PluginError(f"'{layer.get_name()}' is a layer group: select a pixel layer inside it, or merge the "
                          "group first (Layer > Merge Layer Group)")
    if image.get_base_type() != Gimp.ImageBaseType.RGB:
        raise PluginError("Remove Object works on RGB images: convert this one with Image > Mode > RGB")
    return layer


def offsets(layer) -> tuple[int, int]:
    _, x, y = layer.get_offsets()
    return x, y


def read_pixels(layer) -> tuple[bytes, int]:
    """The layer's pixels as 8-bit sRGB bytes, and the channel count (3, or 4 with alpha)."""
    channels = 4 if layer.has_alpha() else 3
    width, height = layer.get_width(), layer.get_height()
    data = layer.get_buffer().get(Gegl.Rectangle.new(0, 0, width, height), 1.0, PIXEL_FORMATS[channels],
                                  Gegl.AbyssPolicy.CLAMP)
    return bytes(data), channels


def target_mask(image, layer, settings: RemoveSettings) -> tuple[bytes, str]:
    """The object's mask in the layer's pixels (nonzero = object) and a label for the group's name."""
    width, height = layer.get_width(), layer.get_height()
    layer_x, layer_y = offsets(layer)
    if settings.target == TARGET_SELECTION:
        if Gimp.Selection.is_empty(image):
            raise PluginError("There is no selection: select the object first (e.g. with the Free Select or "
                              "Fuzzy Select tool), or set Target to 'mask-layer' and pick a mask layer")
        rect = Gegl.Rectangle.new(layer_x, layer_y, width, height)  # the selection lives in image coordinates
        mask = bytes(image.get_selection().get_buffer().get(rect, 1.0, SELECTION_FORMAT, Gegl.AbyssPolicy.NONE))
        if mask_bytes.is_empty(mask):
            raise PluginError(f"The selection does not touch layer '{layer.get_name()}': select the object on "
                              "this layer, or select the layer that shows it")
        return mask, "selection"

    mask_layer = settings.mask_layer
    if mask_layer is None:
        raise PluginError("Target is 'mask-layer' but no mask layer is chosen: pick the layer that holds the "
                          "object's mask (white = object, black = keep) in the Mask layer field")
    if mask_layer.get_id() == layer.get_id():
        raise PluginError(f"The mask layer '{mask_layer.get_name()}' is the layer being edited: pick the layer "
                          "that holds the object's mask")
    if mask_layer.get_image().get_id() != image.get_id():
        raise PluginError(f"The mask layer '{mask_layer.get_name()}' belongs to another image: pick a layer of "
                          "this image")
    mask_width, mask_height = mask_layer.get_width(), mask_layer.get_height()
    channels = 4 if mask_layer.has_alpha() else 3
    data = mask_layer.get_buffer().get(Gegl.Rectangle.new(0, 0, mask_width, mask_height), 1.0,
                                       PIXEL_FORMATS[channels], Gegl.AbyssPolicy.NONE)
    mask = mask_bytes.mask_from_pixels(bytes(data), channels, has_alpha=channels == 4)
    mask_x, mask_y = offsets(mask_layer)
    mask = mask_bytes.place(mask, mask_width, mask_height, mask_x - layer_x, mask_y - layer_y, width, height)
    if mask_bytes.is_empty(mask):
        raise PluginError(f"The mask layer '{mask_layer.get_name()}' is empty where it overlaps layer "
                          f"'{layer.get_name()}': paint the object white on it (black = keep)")
    return mask, mask_layer.get_name()


def _new_layer(image, name: str, width: int, height: int, channels: int, data: bytes, x: int, y: int,
               parent, visible: bool):
    image_type = Gimp.ImageType.RGBA_IMAGE if channels == 4 else Gimp.ImageType.RGB_IMAGE
    layer = Gimp.Layer.new(image, name, width, height, image_type, 100.0, Gimp.LayerMode.NORMAL)
    image.insert_layer(layer, parent, 0)  # each new layer goes on top of the group's layers
    layer.set_offsets(x, y)
    buffer = layer.get_buffer()
    buffer.set(Gegl.Rectangle.new(0, 0, width, height), PIXEL_FORMATS[channels], data)
    buffer.flush()
    layer.update(0, 0, width, height)
    layer.set_visible(visible)
    return layer


def add_result_layers(image, layer, result: RemoveResult, label: str):
    """Inserts the group "Remove: <label>" above `layer`: the result (shown) and the masks (hidden) on top of it.

    Returns (group, result layer). The layers sit at the region's place in the image, taking the source layer's
    own offsets into account; the source layer is not touched.
    """
    region = result.region
    layer_x, layer_y = offsets(layer)
    x, y = layer_x + region.x, layer_y + region.y
    group = Gimp.GroupLayer.new(image, f"Remove: {label}")
    image.insert_layer(group, layer.get_parent(), image.get_item_position(layer))  # takes the source's place: above
    result_layer = _new_layer(image, f"{layer.get_name()} (object removed)", region.width, region.height,
                              result.channels, result.patch, x, y, group, visible=True)
    for server_name in ("hole", "object"):  # ends with the object mask on top
        if server_name in result.masks:
            _new_layer(image, SERVER_MASK_NAMES[server_name], region.width, region.height, 3,
                       mask_bytes.gray_to_rgb(result.masks[server_name]), x, y, group, visible=False)
    return group, result_layer


class GimpProgress:
    """GIMP's progress bar, fed with the server's stage text and fraction."""

    def __init__(self, title: str):
        Gimp.progress_init(title)
        self._message = None

    def __call__(self, progress: Progress) -> None:
        if progress.message and progress.message != self._message:
            self._message = progress.message
            Gimp.progress_set_text(progress.message)
        Gimp.progress_update(progress.fraction)

    def end(self) -> None:
        Gimp.progress_end()


def remove_object(image, drawables, settings: RemoveSettings,
                  client_factory: Callable[[str], SemanticEditClient] = SemanticEditClient,
                  log: Callable[[str], None] | None = None):
    """Runs the whole removal; returns the new result layer; raises PluginError with the sentence to show."""
    layer = source_layer(image, drawables)
    mask, label = target_mask(image, layer, settings)
    pixels, channels = read_pixels(layer)
    request = RemoveRequest(width=layer.get_width(), height=layer.get_height(), channels=channels, pixels=pixels,
                            mask=mask, dilation_px=settings.dilation_px, quality=settings.quality,
                            iterations=settings.iterations)
    progress = GimpProgress(f"Removing the object from '{layer.get_name()}'")
    stages_seen = set()

    def on_progress(event: Progress) -> None:
        if log is not None and event.stage not in stages_seen:
            stages_seen.add(event.stage)
            log(f"stage {event.stage}: {event.message}")
        progress(event)

    try:
        try:
            client = client_factory(settings.server)
        except SemanticEditClientError as error:
            raise PluginError(str(error)) from None
        try:
            result = client.remove(request, on_progress=on_progress)
        except SemanticEditClientError as error:
            raise PluginError(str(error)) from None
        finally:
            client.close()
    finally:
        progress.end()
    if log is not None:
        spent = ", ".join(f"{stage} {seconds:.2f} s" for stage, seconds in result.timings.items())
        log(f"done: {result.iterations} iterations, dilation {result.dilation_px} px, server time: {spent}")

    Gimp.context_push()
    image.undo_group_start()
    try:
        _, result_layer = add_result_layers(image, layer, result, label)
    finally:
        image.undo_group_end()
        Gimp.context_pop()
    Gimp.displays_flush()
    return result_layer
