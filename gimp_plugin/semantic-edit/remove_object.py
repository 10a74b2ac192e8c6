"""The GIMP side of "Remove Object": read the layer and the object's mask, ask the server, add the result as layers.

Thin on purpose: pixels travel as bytes in the layer's own format (no conversion: PIXEL_FORMATS below), the
server does the work (semantic_edit_client), and byte juggling lives in mask_bytes. Every failure a person can act
on is a PluginError whose str() is the sentence GIMP shows. The object is a selection or a mask layer (sent as a
mask), or named by class and/or the selection's box (the server finds it: targets "class" and "selection-hint").
The parts every edit shares (the target, a layer read as a mask, the server call with GIMP's progress bar, the
result group) live here too: recolor_object, detect_objects, move_object, replace_object and add_object use them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp  # noqa: E402

import mask_bytes  # noqa: E402
from semantic_edit_client import (  # noqa: E402
    CONNECTION_FILE_NAME, FILL_METHODS, QUALITY_PRESETS, EditResult, ObjectNotFoundError, ObjectTarget, Progress,
    Region, RemoveRequest, SemanticEditClient, SemanticEditClientError, connection_settings, parse_address)

TARGET_SELECTION = "selection"
TARGET_MASK_LAYER = "mask-layer"
TARGET_CLASS = "class"
TARGET_SELECTION_HINT = "selection-hint"
TARGETS = (TARGET_SELECTION, TARGET_MASK_LAYER, TARGET_CLASS, TARGET_SELECTION_HINT)
DETECT_HINT = "Filters > Semantic Edit > Detect Objects... shows what the server finds."
OBJECT_MASK_LAYER_NAME = "object mask"
HOLE_MASK_LAYER_NAME = "hole (dilated)"
SHADOW_MASK_LAYER_NAME = "shadow"
REMOVE_MASK_LAYERS = (("hole", HOLE_MASK_LAYER_NAME), ("shadow", SHADOW_MASK_LAYER_NAME),
                      ("object", OBJECT_MASK_LAYER_NAME))  # bottom to top; "shadow" only when one was removed
PIXEL_FORMATS = {3: "R'G'B' u8", 4: "R'G'B'A u8"}  # perceptual 8 bit: the API's sRGB bytes
SELECTION_FORMAT = "Y' u8"


class PluginError(Exception):
    """A failure the user can fix; str(error) is the sentence GIMP shows."""


def connected_client(address: str) -> SemanticEditClient:
    """A client of `address` with the TLS certificate authority and token the user keeps for that address in
    semantic-edit-connection.json in GIMP's configuration folder (gimp_plugin/README.md: a shared server); none
    there: plain text, no token."""
    settings = connection_settings(Path(Gimp.directory()) / CONNECTION_FILE_NAME, address)
    return SemanticEditClient(address, **settings)


@dataclass(frozen=True)
class RemoveSettings:
    """The procedure's arguments, checked.

    target: "selection", "mask-layer", "class" or "selection-hint".
    mask_layer: the layer holding the object's mask (nonzero/white = object), for target "mask-layer".
    dilation_px: pixels the hole reaches beyond the object; None lets the server choose.
    quality: "fast", "balanced" or "best".
    server: "host:port" of the Semantic Edit server.
    iterations: steps instead of the preset's (the DIP's optimisation steps, or the synthesis' EM iterations per
        pyramid level); None keeps the preset's.
    fill: how the hole is filled: "synthesis" (seconds) or "dip" (SIMBIL's background-guided DIP, minutes on a CPU).
    texture: synthesis only, 0..1: how much of the photo's own detail replaces the smooth structure fill; None keeps
        the preset's (0.75).
    keep_shadow: remove the object alone; False (the default): its cast shadow, when the server sees one, goes too
        and comes back as the mask layer "shadow".
    class_name: the class to remove for target "class" (required) and "selection-hint" ("" = any class).
    instance: which one of the class for target "class", from 1 left to right; 0 = every one.
    score_threshold, max_objects: how the server detects objects for "class" and "selection-hint" (as in Detect
        Objects; the same values number the instances the same way).
    """

    target: str
    mask_layer: Any
    dilation_px: int | None
    quality: str
    server: str
    iterations: int | None
    class_name: str = ""
    instance: int = 0
    score_threshold: float = 0.5
    max_objects: int = 0
    fill: str = "synthesis"
    texture: float | None = None
    keep_shadow: bool = False


def settings_from_config(config) -> RemoveSettings:
    """Reads and checks the procedure's arguments (the same in every run mode); raises PluginError."""
    return RemoveSettings(**fill_from_config(config), **target_from_config(config))


def fill_from_config(config, with_shadow: bool = True) -> dict[str, Any]:
    """How a hole is filled (remove, move, replace): the "dilation", "quality", "fill", "texture", "keep-shadow" and
    "iterations" arguments, checked, as the keyword arguments dilation_px, quality, fill, texture, keep_shadow,
    iterations of RemoveSettings (keep-shadow only `with_shadow`: replace has none); raises PluginError."""
    quality = config.get_property("quality")
    if quality not in QUALITY_PRESETS:  # GIMP only warns about an unknown choice and runs with the default
        raise PluginError(f"quality must be one of: {', '.join(QUALITY_PRESETS)}; got '{quality}'")
    fill = config.get_property("fill")
    if fill not in FILL_METHODS:
        raise PluginError(f"fill must be one of: {', '.join(FILL_METHODS)}; got '{fill}'")
    dilation = config.get_property("dilation")
    texture = config.get_property("texture")
    iterations = config.get_property("iterations")
    fill_settings = {"dilation_px": None if dilation < 0 else dilation, "quality": quality, "fill": fill,
                     "texture": None if texture < 0 else texture, "iterations": iterations or None}
    if with_shadow:
        fill_settings["keep_shadow"] = bool(config.get_property("keep-shadow"))
    return fill_settings


def target_from_config(config) -> dict[str, Any]:
    """The arguments every edit shares, checked: target, mask-layer, class-name, instance, score-threshold,
    max-objects and server, as the keyword arguments of RemoveSettings (and RecolorSettings); raises PluginError."""
    target = config.get_property("target")
    if target not in TARGETS:  # GIMP only warns about an unknown choice and runs with the default
        raise PluginError(f"target must be one of: {', '.join(TARGETS)}; got '{target}'")
    server = server_from_config(config)
    class_name = " ".join((config.get_property("class-name") or "").split())
    instance = config.get_property("instance")
    if target == TARGET_CLASS and not class_name:
        raise PluginError("Target is 'class' but no class name is given: type one in the Class name field, e.g. "
                          f"'person' (the names Detect Objects gives its layers). {DETECT_HINT}")
    if instance < 0:
        raise PluginError(f"instance must be 0 (every one of the class) or a number from 1; got {instance}")
    score_threshold, max_objects = detection_from_config(config)
    return {"target": target, "mask_layer": config.get_property("mask-layer"), "server": server,
            "class_name": class_name, "instance": instance, "score_threshold": score_threshold,
            "max_objects": max_objects}


def server_from_config(config) -> str:
    """The "server" argument, checked; raises PluginError."""
    try:
        return parse_address(config.get_property("server") or "")
    except SemanticEditClientError as error:
        raise PluginError(str(error)) from None


def detection_from_config(config) -> tuple[float, int]:
    """The "score-threshold" and "max-objects" arguments, checked; raises PluginError."""
    score_threshold = config.get_property("score-threshold")
    max_objects = config.get_property("max-objects")
    if not 0.0 <= score_threshold <= 1.0:
        raise PluginError(f"score-threshold must be between 0 and 1; got {score_threshold}")
    if max_objects < 0:
        raise PluginError(f"max-objects must be 0 (all) or more; got {max_objects}")
    return score_threshold, max_objects


def source_layer(image, drawables, action: str = "Remove Object", verb: str = "edits") -> Any:
    """The one pixel layer to work on, or PluginError saying what to pick instead."""
    if len(drawables) != 1:
        raise PluginError(f"{action} {verb} one layer at a time, but {len(drawables)} are selected: "
                          "select only the layer that shows the object")
    layer = drawables[0]
    if not isinstance(layer, Gimp.Layer) or isinstance(layer, Gimp.LayerMask):
        raise PluginError(f"{action} {verb} a layer, not a channel or a layer mask: click the layer's "
                          "thumbnail in the Layers dialog, then try again")
    if layer.is_group():
        raise PluginError(f"'{layer.get_name()}' is a layer group: select a pixel layer inside it, or merge the "
                          "group first (Layer > Merge Layer Group)")
    if image.get_base_type() != Gimp.ImageBaseType.RGB:
        raise PluginError(f"{action} works on RGB images: convert this one with Image > Mode > RGB")
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


def selection_mask(image, layer) -> bytes:
    """The selection in the layer's pixels (one byte per pixel, nonzero = selected); PluginError when it misses."""
    if Gimp.Selection.is_empty(image):
        raise PluginError("There is no selection: select the object first (e.g. with the Free Select or "
                          "Fuzzy Select tool), or set Target to 'mask-layer' and pick a mask layer")
    layer_x, layer_y = offsets(layer)
    rect = Gegl.Rectangle.new(layer_x, layer_y, layer.get_width(), layer.get_height())  # image coordinates
    mask = bytes(image.get_selection().get_buffer().get(rect, 1.0, SELECTION_FORMAT, Gegl.AbyssPolicy.NONE))
    if mask_bytes.is_empty(mask):
        raise PluginError(f"The selection does not touch layer '{layer.get_name()}': select the object on "
                          "this layer, or select the layer that shows it")
    return mask


def object_target(image, layer, settings) -> tuple[ObjectTarget, str]:
    """For targets "class" and "selection-hint": what the server is to find, and a label for the group's name."""
    name = settings.class_name
    detection = {"score_threshold": settings.score_threshold, "max_objects": settings.max_objects}
    if settings.target == TARGET_CLASS:
        label = f"{name} {settings.instance}" if settings.instance else f"every {name}"
        return ObjectTarget(class_name=name, instance=settings.instance, **detection), label
    mask = selection_mask(image, layer)
    x, y, width, height = mask_bytes.bounds(mask, layer.get_width())
    target = ObjectTarget(class_name=name or None, hint_box=Region(x, y, width, height), **detection)
    return target, f"{name or 'object'} in selection"


def target_mask(image, layer, settings) -> tuple[bytes, str]:
    """The object's mask in the layer's pixels (nonzero = object) and a label for the group's name."""
    if settings.target == TARGET_SELECTION:
        return selection_mask(image, layer), "selection"

    mask_layer = settings.mask_layer
    if mask_layer is None:
        raise PluginError("Target is 'mask-layer' but no mask layer is chosen: pick the layer that holds the "
                          "object's mask (white = object, black = keep) in the Mask layer field")
    return layer_as_mask(image, layer, mask_layer), mask_layer.get_name()


def layer_as_mask(image, layer, mask_layer, role: str = "mask layer", thing: str = "the object") -> bytes:
    """`mask_layer` (white/nonzero and not transparent = `thing`) as a mask in `layer`'s pixels, lined up by their
    places in the image; PluginError, naming the `role` the layer plays, when it is the layer itself, belongs to
    another image or marks nothing over `layer`."""
    name = mask_layer.get_name()
    if mask_layer.get_id() == layer.get_id():
        raise PluginError(f"The {role} '{name}' is the layer being edited: pick the layer that holds {thing}'s mask")
    if mask_layer.get_image().get_id() != image.get_id():
        raise PluginError(f"The {role} '{name}' belongs to another image: pick a layer of this image")
    mask_width, mask_height = mask_layer.get_width(), mask_layer.get_height()
    channels = 4 if mask_layer.has_alpha() else 3
    data = mask_layer.get_buffer().get(Gegl.Rectangle.new(0, 0, mask_width, mask_height), 1.0,
                                       PIXEL_FORMATS[channels], Gegl.AbyssPolicy.NONE)
    mask = mask_bytes.mask_from_pixels(bytes(data), channels, has_alpha=channels == 4)
    (mask_x, mask_y), (layer_x, layer_y) = offsets(mask_layer), offsets(layer)
    mask = mask_bytes.place(mask, mask_width, mask_height, mask_x - layer_x, mask_y - layer_y, layer.get_width(),
                            layer.get_height())
    if mask_bytes.is_empty(mask):
        raise PluginError(f"The {role} '{name}' is empty where it overlaps layer '{layer.get_name()}': paint "
                          f"{thing} white on it (black = keep)")
    return mask


def edit_target(image, layer, settings) -> tuple[bytes | None, ObjectTarget | None, str]:
    """What the settings' target names (RemoveSettings or RecolorSettings): (mask, None, label) for a selection or
    mask layer, (None, object target, label) for a class or selection-hint; the label names the result's group."""
    if settings.target in (TARGET_CLASS, TARGET_SELECTION_HINT):
        target, label = object_target(image, layer, settings)
        return None, target, label
    mask, label = target_mask(image, layer, settings)
    return mask, None, label


def new_layer(image, name: str, width: int, height: int, channels: int, data: bytes, x: int, y: int,
              parent, visible: bool, opacity: float = 100.0):
    """A new pixel layer holding `data` (in its own format), on top of `parent`'s layers, at (x, y) in the image."""
    image_type = Gimp.ImageType.RGBA_IMAGE if channels == 4 else Gimp.ImageType.RGB_IMAGE
    layer = Gimp.Layer.new(image, name, width, height, image_type, opacity, Gimp.LayerMode.NORMAL)
    image.insert_layer(layer, parent, 0)  # each new layer goes on top of the group's layers
    layer.set_offsets(x, y)
    buffer = layer.get_buffer()
    buffer.set(Gegl.Rectangle.new(0, 0, width, height), PIXEL_FORMATS[channels], data)
    buffer.flush()
    layer.update(0, 0, width, height)
    layer.set_visible(visible)
    return layer


def add_result_layers(image, layer, result: EditResult, group_name: str, result_name: str,
                      mask_layers: Sequence[tuple[str, str]]):
    """Inserts the group `group_name` above `layer`: the result `result_name` (shown) and on top of it the masks
    (hidden), `mask_layers` = (the server's mask name, the layer's name) from bottom to top.

    Returns (group, result layer). The layers sit at the region's place in the image, taking the source layer's
    own offsets into account; the source layer is not touched.
    """
    region = result.region
    layer_x, layer_y = offsets(layer)
    x, y = layer_x + region.x, layer_y + region.y
    group = Gimp.GroupLayer.new(image, group_name)
    image.insert_layer(group, layer.get_parent(), image.get_item_position(layer))  # takes the source's place: above
    result_layer = new_layer(image, result_name, region.width, region.height, result.channels, result.patch, x, y,
                             group, visible=True)
    for server_name, name in mask_layers:
        if server_name in result.masks:
            new_layer(image, name, region.width, region.height, 3, mask_bytes.gray_to_rgb(result.masks[server_name]),
                      x, y, group, visible=False)
    return group, result_layer


def insert_result(image, layer, result: EditResult, group_name: str, result_name: str,
                  mask_layers: Sequence[tuple[str, str]]):
    """add_result_layers as one undo step; returns the result layer."""
    Gimp.context_push()
    image.undo_group_start()
    try:
        _, result_layer = add_result_layers(image, layer, result, group_name, result_name, mask_layers)
    finally:
        image.undo_group_end()
        Gimp.context_pop()
    Gimp.displays_flush()
    return result_layer


class GimpProgress:
    """GIMP's progress bar, fed with the server's stage text and fraction."""

    def __init__(self, title: str):
        Gimp.progress_init(title)
        self._message = None

    def pulse(self) -> None:
        """Shows that work goes on when its share is unknown (a detection)."""
        Gimp.progress_pulse()

    def __call__(self, progress: Progress) -> None:
        if progress.message and progress.message != self._message:
            self._message = progress.message
            Gimp.progress_set_text(progress.message)
        Gimp.progress_update(progress.fraction)

    def end(self) -> None:
        Gimp.progress_end()


def run_edit(server: str, call: Callable[[SemanticEditClient, Callable[[Progress], None]], EditResult],
             progress_title: str, client_factory: Callable[[str], SemanticEditClient] = connected_client,
             log: Callable[[str], None] | None = None) -> EditResult:
    """call(client, on_progress) with a client of `server` and GIMP's progress bar titled `progress_title`; logs each
    stage once; every client error becomes a PluginError with its sentence."""
    progress = GimpProgress(progress_title)
    stages_seen = set()

    def on_progress(event: Progress) -> None:
        if log is not None and event.stage not in stages_seen:
            stages_seen.add(event.stage)
            log(f"stage {event.stage}: {event.message}")
        progress(event)

    try:
        try:
            client = client_factory(server)
        except SemanticEditClientError as error:
            raise PluginError(str(error)) from None
        try:
            result = call(client, on_progress)
        except ObjectNotFoundError as error:
            raise PluginError(f"{error} {DETECT_HINT}") from None
        except SemanticEditClientError as error:
            raise PluginError(str(error)) from None
        finally:
            client.close()
    finally:
        progress.end()
    return result


def fill_text(settings) -> str:
    """How the hole was filled, for the "done" line: "fill synthesis (texture 0.5)", "fill dip"."""
    with_texture = settings.texture is not None and settings.fill == "synthesis"
    texture = f" (texture {settings.texture:g})" if with_texture else ""
    return f"fill {settings.fill}{texture}"


def result_log(result: EditResult, summary: str) -> str:
    """The "done" line: what the edit did, the objects a class or box target named, the server's time per stage."""
    spent = ", ".join(f"{stage} {seconds:.2f} s" for stage, seconds in result.timings.items())
    found = f", object id(s) {', '.join(map(str, result.object_ids))}" if result.object_ids else ""
    return f"done: {summary}{found}, server time: {spent}"


def remove_object(image, drawables, settings: RemoveSettings,
                  client_factory: Callable[[str], SemanticEditClient] = connected_client,
                  log: Callable[[str], None] | None = None):
    """Runs the whole removal; returns the new result layer; raises PluginError with the sentence to show."""
    layer = source_layer(image, drawables)
    mask, target, label = edit_target(image, layer, settings)
    pixels, channels = read_pixels(layer)
    request = RemoveRequest(width=layer.get_width(), height=layer.get_height(), channels=channels, pixels=pixels,
                            mask=mask, target=target, dilation_px=settings.dilation_px, quality=settings.quality,
                            fill=settings.fill, texture=settings.texture, keep_shadow=settings.keep_shadow,
                            iterations=settings.iterations)
    result = run_edit(settings.server, lambda client, on_progress: client.remove(request, on_progress=on_progress),
                      f"Removing the object from '{layer.get_name()}'", client_factory, log)
    if log is not None:
        log(result_log(result, f"{fill_text(settings)}, {result.iterations} iterations, dilation "
                               f"{result.dilation_px} px"))
    return insert_result(image, layer, result, f"Remove: {label}", f"{layer.get_name()} (object removed)",
                         REMOVE_MASK_LAYERS)
