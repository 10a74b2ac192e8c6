# Opens each Semantic Edit dialog in a GIMP with its interface (not gimp-console, not -i), for
# tests/test_gimp_dialogs.py. Run by tests/gimp/dialog_session.sh as
#   gimp-3.0 --batch-interpreter=python-fu-eval -b "exec(open('.../dialog_batch.py').read())" --quit
# It loads the photo and a mask layer, shows the image, and runs each procedure in INTERACTIVE mode: the plug-in
# shows its dialog, and tests/gimp/dialog_probe.py (loaded by the plug-in) reads, measures and cancels it. Writes
# $SEMANTIC_EDIT_DIALOG_OUT/batch.json: GIMP's version and each procedure's status (CANCEL when the probe closed it).
import json
import os
import sys
import traceback

import gi

gi.require_version("Gimp", "3.0")
from gi.repository import Gimp, Gio  # noqa: E402

OUT = os.environ["SEMANTIC_EDIT_DIALOG_OUT"]
with open(os.environ["SEMANTIC_EDIT_DIALOG_BATCH"]) as config_file:
    CONFIG = json.load(config_file)


def log(message):
    print(f"dialog_batch: {message}", file=sys.stderr, flush=True)


def open_image():
    image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(CONFIG["image"]))
    photo = image.get_layers()[0]
    photo.set_name("photo")
    for name, path in CONFIG["layers"].items():
        layer = Gimp.file_load_layer(Gimp.RunMode.NONINTERACTIVE, image, Gio.File.new_for_path(path))
        layer.set_name(name)
        image.insert_layer(layer, None, 0)
        layer.set_visible(False)
    Gimp.Display.new(image)
    return image, photo


def run_dialog(name, image, photo):
    procedure = Gimp.get_pdb().lookup_procedure(name)
    if procedure is None:
        return {"status": "missing"}
    config = procedure.create_config()
    config.set_property("run-mode", Gimp.RunMode.INTERACTIVE)
    config.set_property("image", image)
    config.set_core_object_array("drawables", [photo])
    result = procedure.run(config)
    return {"status": result.index(0).value_nick}


results = {"gimp_version": Gimp.version(), "python": sys.version.split()[0], "procedures": {}}
try:
    image, photo = open_image()
    for procedure_name in CONFIG["procedures"]:
        log(f"opening {procedure_name}")
        try:
            results["procedures"][procedure_name] = run_dialog(procedure_name, image, photo)
        except Exception:
            results["procedures"][procedure_name] = {"status": "crashed", "error": traceback.format_exc()}
except Exception:
    results["crashed"] = traceback.format_exc()
with open(os.path.join(OUT, "batch.json"), "w") as results_file:
    json.dump(results, results_file, indent=1)
log("done")
