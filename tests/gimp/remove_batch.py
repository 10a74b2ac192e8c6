# Batch script run inside a real GIMP 3 by tests/test_gimp_end_to_end.py:
#   gimp-console-3.0 -i --quit --batch-interpreter=python-fu-eval -b "exec(open('.../remove_batch.py').read())"
# It reads the cases' settings from the JSON file named by $SEMANTIC_EDIT_BATCH_CONFIG, drives the
# semantic-edit-remove procedure NONINTERACTIVE the way a user's script would, and writes what it found (statuses,
# messages, layer tree, pixels as base64) to config["results"]. It asserts nothing itself: pytest does, so that
# failures show there. One case failing in an unexpected way is recorded and the next case still runs.
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
from gi.repository import Gegl, Gimp, Gio  # noqa: E402

CONFIG = json.load(open(os.environ["SEMANTIC_EDIT_BATCH_CONFIG"]))
PROCEDURE = "semantic-edit-remove"
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
            "height": layer.get_height(), "visible": layer.get_visible(), "group": layer.is_group()}
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


def run_remove(image, layer, run_mode=Gimp.RunMode.NONINTERACTIVE, **arguments):
    """Calls the procedure as a script would; returns (status name, error message or None, returned layer id)."""
    procedure = Gimp.get_pdb().lookup_procedure(PROCEDURE)
    config = procedure.create_config()
    config.set_property("run-mode", run_mode)
    config.set_property("image", image)
    config.set_core_object_array("drawables", [layer])
    config.set_property("quality", CONFIG["quality"])
    config.set_property("iterations", CONFIG["iterations"])
    for name, value in arguments.items():
        config.set_property(name.replace("_", "-"), value)
    started = time.monotonic()
    values = procedure.run(config)
    seconds = time.monotonic() - started
    status = values.index(0)
    returned = values.index(1) if values.length() > 1 else None
    message = returned if isinstance(returned, str) else None
    layer_id = returned.get_id() if isinstance(returned, Gimp.Layer) else None
    return status.value_nick.upper().replace("-", "_"), message, layer_id, seconds


def edit_case(image, layer, **arguments):
    """Runs one edit and records everything pytest checks: status, message, the tree, the new group's pixels."""
    before, _ = pixels(layer)
    tree_before = layer_tree(image)
    status, message, layer_id, seconds = run_remove(image, layer, **arguments)
    after, channels = pixels(layer)
    _, x, y = layer.get_offsets()
    position = image.get_item_position(layer)
    parent = layer.get_parent()
    siblings = parent.get_children() if parent is not None else image.get_layers()
    above = siblings[position - 1] if position > 0 else None
    record = {
        "status": status, "message": message, "returned_layer_id": layer_id, "seconds": seconds,
        "source": {"id": layer.get_id(), "name": layer.get_name(), "x": x, "y": y, "width": layer.get_width(),
                   "height": layer.get_height(), "channels": channels, "position": position,
                   "pixels": base64.b64encode(before).decode("ascii"),
                   "sha256_before": hashlib.sha256(before).hexdigest(),
                   "sha256_after": hashlib.sha256(after).hexdigest()},
        "tree_before": tree_before, "tree_after": layer_tree(image),
        "group_above": describe(above) if above is not None and above.is_group() else None,
    }
    log(f"{status} in {seconds:.2f} s{': ' + message if message else ''}")
    return record


def select_ellipse(image, box, dx=0, dy=0):
    x, y, w, h = box
    image.select_ellipse(Gimp.ChannelOps.REPLACE, x + dx, y + dy, w, h)


def add_layer_from_file(image, path, name, position=0):
    layer = Gimp.file_load_layer(Gimp.RunMode.NONINTERACTIVE, image, Gio.File.new_for_path(path))
    layer.set_name(name)
    image.insert_layer(layer, None, position)
    return layer


def case_registered():
    procedure = Gimp.get_pdb().lookup_procedure(PROCEDURE)
    if procedure is None:
        return {"registered": False}
    return {"registered": True, "menu_paths": list(procedure.get_menu_paths()),
            "menu_label": procedure.get_menu_label(),
            "arguments": [spec.name for spec in procedure.get_arguments()],
            "return_values": [spec.name for spec in procedure.get_return_values()]}


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
    image = load(CONFIG["image"])
    layer = image.get_layers()[0]
    dx, dy = CONFIG["layer_offset"]
    image.resize(image.get_width() + dx + 11, image.get_height() + dy + 7, dx, dy)  # moves the layer to (dx, dy)
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


def case_long_job():
    # For the cancellation test: a job far longer than the test waits; pytest kills GIMP while it runs.
    image = load(CONFIG["image"])
    select_ellipse(image, CONFIG["disc_box"])
    return edit_case(image, image.get_layers()[0], target="selection", server=CONFIG["server"],
                     iterations=CONFIG["long_iterations"])


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
