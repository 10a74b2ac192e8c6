# Batch script run inside a real GIMP 3 by tests/test_gimp_end_to_end.py:
#   gimp-console-3.0 -i --quit --batch-interpreter=python-fu-eval -b "exec(open('.../remove_batch.py').read())"
# It reads the cases' settings from the JSON file named by $SEMANTIC_EDIT_BATCH_CONFIG, drives the
# semantic-edit-remove, -recolor, -move, -replace, -add and -detect procedures NONINTERACTIVE the way a user's
# script would, and writes what it found (statuses, messages, returned values, layer tree, pixels as base64,
# parasites, the selection sent) to config["results"].
# It asserts nothing itself: pytest does, so that failures show there. One case failing in an unexpected way is
# recorded and the next case still runs.
import base64
import hashlib
import json
import os
import sys
import time
import traceback

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
gi.require_version("Babl", "0.1")
from gi.repository import Babl, Gegl, Gimp, Gio  # noqa: E402

CONFIG = json.load(open(os.environ["SEMANTIC_EDIT_BATCH_CONFIG"]))
PROCEDURE = "semantic-edit-remove"
DETECT_PROCEDURE = "semantic-edit-detect"
RECOLOR_PROCEDURE = "semantic-edit-recolor"
PASTE_PROCEDURES = {"move": "semantic-edit-move", "replace": "semantic-edit-replace", "add": "semantic-edit-add"}
FORMATS = {3: "R'G'B' u8", 4: "R'G'B'A u8"}


def log(message):
    print(f"remove_batch: {message}", file=sys.stderr, flush=True)


def load(path):
    return Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(path))


def pixels(layer):
    channels = 4 if layer.has_alpha() else 3
    rect = Gegl.Rectangle.new(0, 0, layer.get_width(), layer.get_height())
    return bytes(layer.get_buffer().get(rect, 1.0, FORMATS[channels], Gegl.AbyssPolicy.CLAMP)), channels


def describe(layer, with_pixels=True):
    _, x, y = layer.get_offsets()
    info = {"id": layer.get_id(), "name": layer.get_name(), "x": x, "y": y, "width": layer.get_width(),
            "height": layer.get_height(), "visible": layer.get_visible(), "group": layer.is_group(),
            "opacity": layer.get_opacity(),
            "parasites": {name: bytes(layer.get_parasite(name).get_data()).decode("utf-8", "replace")
                          for name in layer.get_parasite_list()}}
    if layer.is_group():
        info["children"] = [describe(child, with_pixels) for child in layer.get_children()]
    else:
        data, channels = pixels(layer)
        info["channels"] = channels
        info["sha256"] = hashlib.sha256(data).hexdigest()
        if with_pixels:
            info["pixels"] = base64.b64encode(data).decode("ascii")
    return info


def layer_tree(image):
    return [describe(layer, with_pixels=False) for layer in image.get_layers()]


def run_procedure(name, image, layer, run_mode=Gimp.RunMode.NONINTERACTIVE, **arguments):
    """Calls a procedure as a script would; returns (status name, error message or None, returned values, seconds)
    with layers among the returned values given as their ids."""
    procedure = Gimp.get_pdb().lookup_procedure(name)
    config = procedure.create_config()
    config.set_property("run-mode", run_mode)
    config.set_property("image", image)
    config.set_core_object_array("drawables", [layer])
    for argument, value in arguments.items():
        config.set_property(argument.replace("_", "-"), value)
    started = time.monotonic()
    values = procedure.run(config)
    seconds = time.monotonic() - started
    status = values.index(0).value_nick.upper().replace("-", "_")
    returned = [values.index(i) for i in range(1, values.length())]
    message = returned[0] if status != "SUCCESS" and returned and isinstance(returned[0], str) else None
    returned = [value.get_id() if isinstance(value, Gimp.Layer) else value for value in returned]
    return status, message, returned, seconds


def run_remove(image, layer, run_mode=Gimp.RunMode.NONINTERACTIVE, **arguments):
    """Calls semantic-edit-remove; returns (status name, error message or None, returned layer id, seconds)."""
    arguments = {"quality": CONFIG["quality"], "iterations": CONFIG["iterations"], **arguments}
    status, message, returned, seconds = run_procedure(PROCEDURE, image, layer, run_mode, **arguments)
    layer_id = returned[0] if status == "SUCCESS" and returned else None
    return status, message, layer_id, seconds


def run_recolor(image, layer, run_mode=Gimp.RunMode.NONINTERACTIVE, **arguments):
    """Calls semantic-edit-recolor, the colour given as a string Gegl.Color.new reads (e.g. '#2a4bd7'); returns as
    run_remove."""
    if "color" in arguments:
        arguments["color"] = Gegl.Color.new(arguments["color"])
    status, message, returned, seconds = run_procedure(RECOLOR_PROCEDURE, image, layer, run_mode, **arguments)
    layer_id = returned[0] if status == "SUCCESS" and returned else None
    return status, message, layer_id, seconds


def run_paste(edit):
    """A run function for edit_case calling semantic-edit-move, -replace or -add; it also returns the text the
    procedure returns after the layer (the placements), or None."""
    def run(image, layer, run_mode=Gimp.RunMode.NONINTERACTIVE, **arguments):
        status, message, returned, seconds = run_procedure(PASTE_PROCEDURES[edit], image, layer, run_mode,
                                                           **arguments)
        success = status == "SUCCESS" and returned
        text = returned[1] if success and len(returned) > 1 else None
        return status, message, returned[0] if success else None, seconds, text
    return run


def color_bytes(color):
    return list(bytes(color.get_bytes(Babl.format("R'G'B'A u8")).get_data()))


def selection_record(image, layer):
    """The selection over the layer's pixels, one byte per pixel (what the plug-in reads as the object's mask)."""
    _, x, y = layer.get_offsets()
    rect = Gegl.Rectangle.new(x, y, layer.get_width(), layer.get_height())
    data = bytes(image.get_selection().get_buffer().get(rect, 1.0, "Y' u8", Gegl.AbyssPolicy.NONE))
    return base64.b64encode(data).decode("ascii")


def source_record(layer, before):
    after, channels = pixels(layer)
    _, x, y = layer.get_offsets()
    return {"id": layer.get_id(), "name": layer.get_name(), "x": x, "y": y, "width": layer.get_width(),
            "height": layer.get_height(), "channels": channels, "position": layer.get_image().get_item_position(layer),
            "pixels": base64.b64encode(before).decode("ascii"),
            "sha256_before": hashlib.sha256(before).hexdigest(), "sha256_after": hashlib.sha256(after).hexdigest()}


def layer_above(image, layer):
    position = image.get_item_position(layer)
    parent = layer.get_parent()
    siblings = parent.get_children() if parent is not None else image.get_layers()
    return siblings[position - 1] if position > 0 else None


def edit_case(image, layer, run=run_remove, **arguments):
    """Runs one edit (run_remove or run_recolor) and records everything pytest checks: status, message, the tree,
    the new group's pixels."""
    before, _ = pixels(layer)
    tree_before = layer_tree(image)
    status, message, layer_id, seconds, *text = run(image, layer, **arguments)
    above = layer_above(image, layer)
    record = {
        "status": status, "message": message, "returned_layer_id": layer_id, "seconds": seconds,
        "returned_text": text[0] if text else None,
        "source": source_record(layer, before), "tree_before": tree_before, "tree_after": layer_tree(image),
        "group_above": describe(above) if above is not None and above.is_group() else None,
    }
    log(f"{status} in {seconds:.2f} s{': ' + message if message else ''}")
    return record


def detect_case(image, layer, **arguments):
    """Runs Detect Objects and records the status, message, returned values, the tree and the new group."""
    before, _ = pixels(layer)
    tree_before = layer_tree(image)
    status, message, returned, seconds = run_procedure(DETECT_PROCEDURE, image, layer, **arguments)
    above = layer_above(image, layer)
    record = {
        "status": status, "message": message, "returned": returned if status == "SUCCESS" else None,
        "seconds": seconds, "source": source_record(layer, before), "tree_before": tree_before,
        "tree_after": layer_tree(image),
        "group_above": describe(above) if above is not None and above.is_group() else None,
    }
    log(f"detect {status} in {seconds:.2f} s{': ' + message if message else ''}")
    return record


def select_ellipse(image, box, dx=0, dy=0):
    x, y, w, h = box
    image.select_ellipse(Gimp.ChannelOps.REPLACE, x + dx, y + dy, w, h)


def add_layer_from_file(image, path, name, position=0):
    layer = Gimp.file_load_layer(Gimp.RunMode.NONINTERACTIVE, image, Gio.File.new_for_path(path))
    layer.set_name(name)
    image.insert_layer(layer, None, position)
    return layer


def offset_image(path=None):
    """The scene's layer (or the image at `path`'s) moved to config["layer_offset"] on a larger canvas."""
    image = load(path or CONFIG["image"])
    layer = image.get_layers()[0]
    dx, dy = CONFIG["layer_offset"]
    image.resize(image.get_width() + dx + 11, image.get_height() + dy + 7, dx, dy)
    return image, layer


def registration(name):
    procedure = Gimp.get_pdb().lookup_procedure(name)
    if procedure is None:
        return {"registered": False}
    return {"registered": True, "menu_paths": list(procedure.get_menu_paths()),
            "menu_label": procedure.get_menu_label(),
            "arguments": [spec.name for spec in procedure.get_arguments()],
            "return_values": [spec.name for spec in procedure.get_return_values()]}


def case_registered():
    recolor = registration(RECOLOR_PROCEDURE)
    if recolor["registered"]:
        config = Gimp.get_pdb().lookup_procedure(RECOLOR_PROCEDURE).create_config()
        recolor["default_color"] = color_bytes(config.get_property("color"))
        recolor["defaults"] = {name: config.get_property(name) for name in ("strength", "lightness", "edge")}
        config.set_property("strength", 1.5)  # out of range: GObject warns and keeps the value
        recolor["strength_after_setting_1.5"] = config.get_property("strength")
    remove = registration(PROCEDURE)
    if remove["registered"]:
        config = Gimp.get_pdb().lookup_procedure(PROCEDURE).create_config()
        remove["defaults"] = {name: config.get_property(name) for name in ("fill", "texture", "keep-shadow",
                                                                           "iterations", "dilation")}
    return {**remove, "detect": registration(DETECT_PROCEDURE), "recolor": recolor,
            **{edit: registration(name) for edit, name in PASTE_PROCEDURES.items()}}


def case_selection():
    image = load(CONFIG["image"])
    layer = image.get_layers()[0]
    select_ellipse(image, CONFIG["disc_box"])
    return edit_case(image, layer, target="selection", server=CONFIG["server"])


def case_mask_layer():
    # Several layers: a mask layer on top, a layer in between, the edited layer at the bottom.
    image = load(CONFIG["image"])
    layer = image.get_layers()[0]
    add_layer_from_file(image, CONFIG["image"], "a copy above")
    mask_layer = add_layer_from_file(image, CONFIG["mask_image"], "disc mask")
    mask_layer.set_visible(False)
    Gimp.Selection.none(image)
    return edit_case(image, layer, target="mask-layer", mask_layer=mask_layer, server=CONFIG["server"])


def case_offset_layer():
    image, layer = offset_image()  # the canvas grows; the layer moves to (dx, dy)
    dx, dy = CONFIG["layer_offset"]
    select_ellipse(image, CONFIG["disc_box"], dx, dy)
    return edit_case(image, layer, target="selection", server=CONFIG["server"])


def case_rgba():
    image = load(CONFIG["rgba_image"])
    layer = image.get_layers()[0]
    select_ellipse(image, CONFIG["disc_box"])
    return edit_case(image, layer, target="selection", server=CONFIG["server"])


def case_no_selection():
    image = load(CONFIG["image"])
    Gimp.Selection.none(image)
    return edit_case(image, image.get_layers()[0], target="selection", server=CONFIG["server"])


def case_no_mask_layer():
    image = load(CONFIG["image"])
    return edit_case(image, image.get_layers()[0], target="mask-layer", server=CONFIG["server"])


def case_empty_mask():
    image = load(CONFIG["image"])
    layer = image.get_layers()[0]
    mask_layer = add_layer_from_file(image, CONFIG["empty_mask_image"], "empty mask")
    return edit_case(image, layer, target="mask-layer", mask_layer=mask_layer, server=CONFIG["server"])


def case_server_stopped():
    image = load(CONFIG["image"])
    select_ellipse(image, CONFIG["disc_box"])
    return edit_case(image, image.get_layers()[0], target="selection", server=CONFIG["stopped_server"])


def case_invalid_argument():
    image = load(CONFIG["image"])
    select_ellipse(image, CONFIG["disc_box"])
    return edit_case(image, image.get_layers()[0], target="selection", server=CONFIG["small_server"])


def case_remembered_server():
    # A repeat-last run takes the address a person last typed (a global parasite) over any other value: here the
    # stopped server's, so the run fails fast and the message shows which address was used.
    Gimp.attach_parasite(Gimp.Parasite.new("semantic-edit-server", Gimp.PARASITE_PERSISTENT,
                                           list(CONFIG["stopped_server"].encode())))
    try:
        image = load(CONFIG["image"])
        select_ellipse(image, CONFIG["disc_box"])
        return edit_case(image, image.get_layers()[0], run_mode=Gimp.RunMode.WITH_LAST_VALS, target="selection",
                         server=CONFIG["server"])
    finally:
        Gimp.detach_parasite("semantic-edit-server")


def case_detect():
    # Detect on a layer with offsets; then one of its layers, partly erased (a person repainting it), is the mask of
    # a removal on the server without segmentation weights (mask targets need none).
    image, layer = offset_image()
    record = detect_case(image, layer, score_threshold=CONFIG["score_threshold"],
                         max_objects=CONFIG["max_objects"], server=CONFIG["detect_server"])
    if record["status"] != "SUCCESS":
        return record
    group = layer_above(image, layer)
    mask_layer = group.get_children()[CONFIG["mask_layer_index"]]
    _, x, y = mask_layer.get_offsets()
    image.select_rectangle(Gimp.ChannelOps.REPLACE, x, y, mask_layer.get_width(), mask_layer.get_height() // 2)
    mask_layer.edit_clear()  # the top half is transparent now: not object
    Gimp.Selection.none(image)
    record["repainted"] = describe(mask_layer)
    record["mask_layer_remove"] = edit_case(image, layer, target="mask-layer", mask_layer=mask_layer,
                                            server=CONFIG["server"])
    return record


def case_detect_no_weights():
    image = load(CONFIG["image"])
    return detect_case(image, image.get_layers()[0], server=CONFIG["server"])


def case_class():
    image = load(CONFIG["image"])
    Gimp.Selection.none(image)
    return edit_case(image, image.get_layers()[0], target="class", class_name="person", instance=2,
                     score_threshold=CONFIG["score_threshold"], max_objects=CONFIG["max_objects"],
                     server=CONFIG["detect_server"])


def case_class_no_weights():
    image = load(CONFIG["image"])
    return edit_case(image, image.get_layers()[0], target="class", class_name="person", server=CONFIG["server"])


def case_unknown_class():
    image = load(CONFIG["image"])
    return edit_case(image, image.get_layers()[0], target="class", class_name="unicorn",
                     max_objects=CONFIG["max_objects"], server=CONFIG["detect_server"])


def case_recolor_selection():
    # An RGBA layer moved on a larger canvas, every option away from its default.
    image, layer = offset_image(CONFIG["rgba_image"])
    dx, dy = CONFIG["layer_offset"]
    select_ellipse(image, CONFIG["disc_box"], dx, dy)
    record = edit_case(image, layer, run=run_recolor, target="selection", server=CONFIG["server"],
                       **CONFIG["recolor"])
    record["selection"] = selection_record(image, layer)
    return record


def case_recolor_class():
    image = load(CONFIG["image"])
    Gimp.Selection.none(image)
    return edit_case(image, image.get_layers()[0], run=run_recolor, target="class", class_name="person",
                     instance=1, score_threshold=CONFIG["score_threshold"], max_objects=CONFIG["max_objects"],
                     server=CONFIG["detect_server"])


def case_recolor_no_selection():
    image = load(CONFIG["image"])
    Gimp.Selection.none(image)
    return edit_case(image, image.get_layers()[0], run=run_recolor, target="selection", server=CONFIG["server"])


def case_recolor_whole_layer():
    image = load(CONFIG["image"])
    Gimp.Selection.all(image)  # the server refuses: the object's colour is judged against the rest
    return edit_case(image, image.get_layers()[0], run=run_recolor, target="selection", server=CONFIG["server"])


def paste_image():
    """The move scene (a red disc right of a blue block) with the disc's and the block's mask layers (hidden) and
    the yellow cut-out (hidden) above it, all moved to config["layer_offset"] on a larger canvas; returns the image,
    the photo layer and the other layers by name."""
    paste = CONFIG["paste"]
    image = load(paste["image"])
    layer = image.get_layers()[0]
    layers = {}
    for name in ("disc mask", "block mask", "empty mask", "yellow", "rgb picture"):
        layers[name] = add_layer_from_file(image, paste["files"][name], name)
        layers[name].set_visible(False)
    dx, dy = CONFIG["layer_offset"]
    image.resize(image.get_width() + dx + 11, image.get_height() + dy + 7, dx, dy)  # every layer moves along
    Gimp.Selection.none(image)
    return image, layer, layers


def case_move():
    image, layer, layers = paste_image()
    return edit_case(image, layer, run=run_paste("move"), target="mask-layer", mask_layer=layers["disc mask"],
                     relation_1="left-of", reference_layer_1=layers["block mask"], **CONFIG["paste"]["move"],
                     server=CONFIG["server"])


def case_move_class_reference():
    # The reference named by class and instance: the server with the known-answer detector finds it.
    image, layer, layers = paste_image()
    return edit_case(image, layer, run=run_paste("move"), target="mask-layer", mask_layer=layers["disc mask"],
                     relation_1="right-of", reference_class_1="person:2", score_threshold=CONFIG["score_threshold"],
                     max_objects=CONFIG["max_objects"], **CONFIG["paste"]["fill"],
                     server=CONFIG["detect_server"])


def case_move_no_relation():
    image, layer, layers = paste_image()
    return edit_case(image, layer, run=run_paste("move"), target="mask-layer", mask_layer=layers["disc mask"],
                     server=CONFIG["server"])


def case_move_empty_reference():
    image, layer, layers = paste_image()
    return edit_case(image, layer, run=run_paste("move"), target="mask-layer", mask_layer=layers["disc mask"],
                     relation_1="right-of", reference_layer_1=layers["empty mask"], server=CONFIG["server"])


def case_replace():
    image, layer, layers = paste_image()
    return edit_case(image, layer, run=run_paste("replace"), target="mask-layer", mask_layer=layers["disc mask"],
                     source_layer=layers["yellow"], **CONFIG["paste"]["replace"], server=CONFIG["server"])


def case_replace_source_without_alpha():
    image, layer, layers = paste_image()
    return edit_case(image, layer, run=run_paste("replace"), target="mask-layer", mask_layer=layers["disc mask"],
                     source_layer=layers["rgb picture"], server=CONFIG["server"])


def case_add():
    image, layer, layers = paste_image()
    return edit_case(image, layer, run=run_paste("add"), source_layer=layers["yellow"], relation_1="left-of",
                     reference_layer_1=layers["block mask"], **CONFIG["paste"]["add"], server=CONFIG["server"])


def case_long_job():
    # For the cancellation test: a job far longer than the test waits (long_fill "dip": long_iterations DIP steps);
    # pytest kills GIMP while it runs.
    image = load(CONFIG["image"])
    select_ellipse(image, CONFIG["disc_box"])
    return edit_case(image, image.get_layers()[0], target="selection", server=CONFIG["server"],
                     fill=CONFIG["long_fill"], iterations=CONFIG["long_iterations"])


CASES = {name[len("case_"):]: function for name, function in list(globals().items()) if name.startswith("case_")}


def main():
    results = {"gimp_version": Gimp.version(), "python": sys.version.split()[0], "cases": {}}
    for name in CONFIG["cases"]:
        log(f"case {name}")
        started = time.monotonic()
        try:
            results["cases"][name] = CASES[name]()
        except Exception:
            results["cases"][name] = {"crashed": traceback.format_exc()}
            log(traceback.format_exc())
        results["cases"][name]["case_seconds"] = time.monotonic() - started
        with open(CONFIG["results"], "w") as out:  # written after every case: a killed GIMP leaves what it did
            json.dump(results, out)


main()
