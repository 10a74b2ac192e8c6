#!/usr/bin/env python3
# Semantic Edit for GIMP 3: edit a photo by meaning. The work happens in a local server (`semantic-edit serve`);
# this plug-in sends it the active layer and the object's mask and adds the answer as new layers.
#
# Procedures (menu Filters > Semantic Edit):
#   semantic-edit-remove   Remove Object...    fills the object's place with the image's own background.
#   semantic-edit-recolor  Recolor Object...   gives the object a new colour; its shading and highlights stay.
#   semantic-edit-detect   Detect Objects...   adds a layer group "Objects": one mask layer per object found.
#
# Run them from a script like any procedure:
#   proc = Gimp.get_pdb().lookup_procedure("semantic-edit-remove"); cfg = proc.create_config(); ...; proc.run(cfg)
# semantic-edit-remove: target, mask-layer, class-name, instance, dilation, quality, score-threshold, max-objects,
#   server, iterations; returns result-layer.
# semantic-edit-recolor: target, mask-layer, class-name, instance, color (a GeglColor), strength, lightness, edge,
#   score-threshold, max-objects, server; returns result-layer.
# semantic-edit-detect: score-threshold, max-objects, server; returns objects-group and relations (one per line).
from __future__ import annotations

import os
import sys

# grpcio and protobuf built for GIMP's Python, with the generated API code, sit in vendor/ (gimp_plugin/
# install_plugin.sh fills it); they must win over any older copies in GIMP's own site-packages.
_HERE = os.path.dirname(os.path.realpath(__file__))
for _path in (_HERE, os.path.join(_HERE, "vendor")):  # ends as [vendor, this folder, ...]
    if _path in sys.path:
        sys.path.remove(_path)
    sys.path.insert(0, _path)

import gi  # noqa: E402

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import GLib, GObject, Gegl, Gimp  # noqa: E402

import detect_objects  # noqa: E402
import recolor_object  # noqa: E402
import remove_object  # noqa: E402
from semantic_edit_client import DEFAULT_ADDRESS, MAX_EDGE_PX, QUALITY_PRESETS  # noqa: E402

PROCEDURE_REMOVE = "semantic-edit-remove"
PROCEDURE_RECOLOR = "semantic-edit-recolor"
PROCEDURE_DETECT = "semantic-edit-detect"
MENU_PATH = "<Image>/Filters/Semantic Edit/"
DIALOG_FIELDS = ["target", "mask-layer", "class-name", "instance", "dilation", "quality", "score-threshold",
                 "max-objects", "server"]
RECOLOR_DIALOG_FIELDS = ["target", "mask-layer", "class-name", "instance", "color", "strength", "lightness", "edge",
                         "score-threshold", "max-objects", "server"]
DETECT_DIALOG_FIELDS = ["score-threshold", "max-objects", "server"]
DEFAULT_SCORE_THRESHOLD = 0.5  # the server's default
# The server address a person typed, kept in GIMP's parasiterc: GIMP itself remembers the dialog's values only after
# a successful run, and the first run often fails because the server is not started yet.
SERVER_PARASITE = "semantic-edit-server"


def _log(message: str) -> None:
    print(f"semantic-edit: {message}", file=sys.stderr, flush=True)


def _error(procedure, message: str):
    return procedure.new_return_values(Gimp.PDBStatusType.EXECUTION_ERROR, GLib.Error(message))


def _remembered_server() -> str | None:
    try:
        parasite = Gimp.get_parasite(SERVER_PARASITE)
        return bytes(parasite.get_data()).decode("utf-8") if parasite is not None else None
    except Exception as error:  # a damaged parasite must not stop the edit
        _log(f"could not read the remembered server address: {error}")
        return None


def _remember_server(address: str) -> None:
    try:
        Gimp.attach_parasite(Gimp.Parasite.new(SERVER_PARASITE, Gimp.PARASITE_PERSISTENT, list(address.encode())))
    except Exception as error:
        _log(f"could not remember the server address: {error}")


def _show_dialog(procedure, config, title: str = "Remove Object", fields=None) -> bool:
    """The ProcedureDialog over the same config that non-interactive runs read; False when the user cancels."""
    gi.require_version("GimpUi", "3.0")
    from gi.repository import GimpUi

    GimpUi.init(procedure.get_name())
    dialog = GimpUi.ProcedureDialog.new(procedure, config, title)
    dialog.fill(fields or DIALOG_FIELDS)
    try:
        return dialog.run()
    finally:
        dialog.destroy()


def _ask(procedure, run_mode, config, title: str, fields) -> bool:
    """The remembered server (not for scripts) and the dialog (interactive runs); False when the user cancels."""
    if run_mode != Gimp.RunMode.NONINTERACTIVE:  # scripts say which server; people get the one they used last
        remembered = _remembered_server()
        if remembered:
            config.set_property("server", remembered)
    return run_mode != Gimp.RunMode.INTERACTIVE or _show_dialog(procedure, config, title, fields)


def run_remove(procedure, run_mode, image, drawables, config, data):
    return _run_edit(procedure, run_mode, image, drawables, config, "Remove Object", DIALOG_FIELDS,
                     remove_object.settings_from_config, remove_object.remove_object)


def run_recolor(procedure, run_mode, image, drawables, config, data):
    return _run_edit(procedure, run_mode, image, drawables, config, "Recolor Object", RECOLOR_DIALOG_FIELDS,
                     recolor_object.settings_from_config, recolor_object.recolor_object)


def _run_edit(procedure, run_mode, image, drawables, config, title, fields, read_settings, edit):
    """An edit procedure's run: the dialog, the checked settings, the edit; returns the result layer or the error."""
    if not _ask(procedure, run_mode, config, title, fields):
        return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, None)
    try:
        settings = read_settings(config)
        if run_mode == Gimp.RunMode.INTERACTIVE:
            _remember_server(settings.server)
        result_layer = edit(image, drawables, settings, log=_log)
    except remove_object.PluginError as error:
        _log(f"failed: {error}")
        return _error(procedure, str(error))
    values = procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, None)
    values.remove(1)
    values.insert(1, GObject.Value(Gimp.Layer, result_layer))
    return values


def run_detect(procedure, run_mode, image, drawables, config, data):
    if not _ask(procedure, run_mode, config, "Detect Objects", DETECT_DIALOG_FIELDS):
        return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, None)
    try:
        settings = detect_objects.settings_from_config(config)
        if run_mode == Gimp.RunMode.INTERACTIVE:
            _remember_server(settings.server)
        group, scene = detect_objects.detect_objects(image, drawables, settings, log=_log)
    except remove_object.PluginError as error:
        _log(f"failed: {error}")
        return _error(procedure, str(error))
    text = detect_objects.summary(scene, drawables[0].get_name())
    for line in text.splitlines():
        _log(line)
    if run_mode != Gimp.RunMode.NONINTERACTIVE:  # people read the relations here; scripts get them returned
        Gimp.message(text)
    values = procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, None)
    while values.length() > 1:  # the status stays; the return values' defaults go
        values.remove(values.length() - 1)
    values.append(GObject.Value(Gimp.Layer, group))
    values.append(GObject.Value(GObject.TYPE_STRING, "\n".join(detect_objects.relation_lines(scene))))
    return values


def _choice(options) -> "Gimp.Choice":
    choice = Gimp.Choice.new()
    for index, (nick, label, help_text) in enumerate(options):
        choice.add(nick, index, label, help_text)
    return choice


class SemanticEdit(Gimp.PlugIn):
    def do_query_procedures(self):
        return [PROCEDURE_REMOVE, PROCEDURE_RECOLOR, PROCEDURE_DETECT]

    def do_set_i18n(self, name):
        return False

    def do_create_procedure(self, name):
        if name == PROCEDURE_DETECT:
            return self._detect_procedure(name)
        if name == PROCEDURE_RECOLOR:
            return self._recolor_procedure(name)
        if name != PROCEDURE_REMOVE:
            return None
        procedure = Gimp.ImageProcedure.new(self, name, Gimp.PDBProcType.PLUGIN, run_remove, None)
        procedure.set_image_types("RGB*")
        procedure.set_sensitivity_mask(Gimp.ProcedureSensitivityMask.DRAWABLE)
        procedure.set_menu_label("Remove Object...")
        procedure.add_menu_path(MENU_PATH)
        procedure.set_documentation(
            "Remove an object and fill its place from the image's own background",
            "Sends the active layer and the object's mask (the selection, or a mask layer where white = object) "
            "to the Semantic Edit server, which fills the hole by background-guided internal learning. Or names the "
            "object by class ('person', the 2nd person) or by the selection's box, and the server finds it. The "
            "result arrives as a new layer group above the layer: the edited pixels plus the object and hole masks "
            "(hidden). The layer itself is never changed. Needs a running server: `semantic-edit serve`.",
            name)
        procedure.set_attribution("Semantic Edit authors", "Semantic Edit authors", "2025")
        flags = GObject.ParamFlags.READWRITE
        _add_target_arguments(procedure, flags)
        procedure.add_int_argument(
            "dilation", "_Dilation (px)", "How far the hole reaches beyond the object, in pixels; -1 = automatic",
            -1, 256, -1, flags)
        procedure.add_choice_argument(
            "quality", "_Quality", "Speed against quality of the fill", _choice([
                (preset, preset.capitalize(), f"The server's '{preset}' preset") for preset in QUALITY_PRESETS
            ]), "balanced", flags)
        _add_detection_arguments(procedure, flags)
        _add_server_argument(procedure, flags)
        procedure.add_int_argument(
            "iterations", "_Iterations", "Optimisation steps instead of the preset's; 0 = the preset's",
            0, 20000, 0, flags)
        procedure.add_layer_return_value(
            "result-layer", "Result layer", "The new layer with the object removed", False, flags)
        return procedure

    def _recolor_procedure(self, name):
        procedure = Gimp.ImageProcedure.new(self, name, Gimp.PDBProcType.PLUGIN, run_recolor, None)
        procedure.set_image_types("RGB*")
        procedure.set_sensitivity_mask(Gimp.ProcedureSensitivityMask.DRAWABLE)
        procedure.set_menu_label("Recolor Object...")
        procedure.add_menu_path(MENU_PATH)
        procedure.set_documentation(
            "Give an object a new colour, keeping its shading and highlights",
            "Sends the active layer and the object's mask (the selection, or a mask layer where white = object) "
            "to the Semantic Edit server, which changes the object's hue and chroma to the colour's (in CIE LCh) "
            "and, with Lightness 1, its lit lightness too; shadows stay dark and highlights white. Or names the "
            "object by class or by the selection's box, as Remove Object does. The result arrives as a new layer "
            "group above the layer: the recoloured pixels plus the object and edge masks (hidden). The layer "
            "itself is never changed. Needs a running server: `semantic-edit serve`.",
            name)
        procedure.set_attribution("Semantic Edit authors", "Semantic Edit authors", "2025")
        flags = GObject.ParamFlags.READWRITE
        _add_target_arguments(procedure, flags)
        Gegl.init(None)  # a GeglColor needs babl, which GIMP starts only to run a procedure, not to register it
        procedure.add_color_argument(
            "color", "_Color", "The object's new colour", False,
            Gegl.Color.new(recolor_object.color_hex(recolor_object.DEFAULT_COLOR)), flags)
        procedure.add_double_argument(
            "strength", "St_rength", "How far the object moves to the new colour, 0..1 (1 = all the way)",
            0.0, 1.0, 1.0, flags)
        procedure.add_double_argument(
            "lightness", "Li_ghtness", "1: the object takes the colour's lightness (a dark object painted yellow "
            "turns a bright yellow, with its shading); 0: each pixel keeps its lightness, only hue and chroma "
            "change", 0.0, 1.0, 1.0, flags)
        procedure.add_int_argument(
            "edge", "_Edge (px)", "Soft edge beyond the object over which the change fades out, in pixels; "
            "raise it when a rim of the old colour remains", 0, MAX_EDGE_PX, recolor_object.DEFAULT_EDGE_PX, flags)
        _add_detection_arguments(procedure, flags)
        _add_server_argument(procedure, flags)
        procedure.add_layer_return_value(
            "result-layer", "Result layer", "The new layer with the object recoloured", False, flags)
        return procedure

    def _detect_procedure(self, name):
        procedure = Gimp.ImageProcedure.new(self, name, Gimp.PDBProcType.PLUGIN, run_detect, None)
        procedure.set_image_types("RGB*")
        procedure.set_sensitivity_mask(Gimp.ProcedureSensitivityMask.DRAWABLE)
        procedure.set_menu_label("Detect Objects...")
        procedure.add_menu_path(MENU_PATH)
        procedure.set_documentation(
            "Find the objects in a layer: one mask layer per object, and how they relate",
            "Sends the active layer to the Semantic Edit server, whose segmentation model finds the objects. Adds a "
            "layer group 'Objects' above the layer with one mask layer per object, named like 'person 2 (0.97)' "
            "(class, number among its class from left to right, score), white where the object is. A layer can be "
            "repainted and used as Remove Object's mask layer. The relations ('person 1 left of dog 1') are shown "
            "in a message and returned. The layer itself is never changed. Needs a running server with the "
            "segmentation weights: `semantic-edit serve`.",
            name)
        procedure.set_attribution("Semantic Edit authors", "Semantic Edit authors", "2025")
        flags = GObject.ParamFlags.READWRITE
        _add_detection_arguments(procedure, flags)
        _add_server_argument(procedure, flags)
        procedure.add_layer_return_value(
            "objects-group", "Objects group", "The new layer group holding one mask layer per object", False, flags)
        procedure.add_string_return_value(
            "relations", "Relations", "One relation per line, e.g. 'person 1 left of dog 1'", "", flags)
        return procedure


def _add_target_arguments(procedure, flags) -> None:
    procedure.add_choice_argument(
        "target", "_Target", "Which pixels are the object", _choice([
            ("selection", "Selection", "The current selection marks the object"),
            ("mask-layer", "Mask layer", "A layer marks the object: white (nonzero) = object, black = keep; "
             "e.g. a layer of Detect Objects"),
            ("class", "Class", "The server finds the object by its class name (and instance number)"),
            ("selection-hint", "Object in selection", "The server finds the object whose box best matches the "
             "selection's bounding box (of the class named, if any)"),
        ]), "selection", flags)
    procedure.add_layer_argument(
        "mask-layer", "_Mask layer", "The layer that marks the object (white = object), for target mask-layer",
        True, flags)
    procedure.add_string_argument(
        "class-name", "C_lass name", "The object's class, e.g. 'person' or 'dog', for target class (required) "
        "and selection-hint (empty = any class)", "", flags)
    procedure.add_int_argument(
        "instance", "_Instance", "Which one of the class, counted from 1 left to right (as Detect Objects "
        "numbers them), for target class; 0 = every one", 0, 1000, 0, flags)


def _add_detection_arguments(procedure, flags) -> None:
    procedure.add_double_argument(
        "score-threshold", "Sc_ore threshold", "Objects the model is surer of than this count, 0..1; lower it to "
        "find more (less certain) objects", 0.0, 1.0, DEFAULT_SCORE_THRESHOLD, flags)
    procedure.add_int_argument(
        "max-objects", "Max ob_jects", "At most this many objects, the surest first; 0 = all", 0, 1000, 0, flags)


def _add_server_argument(procedure, flags) -> None:
    procedure.add_string_argument(
        "server", "_Server", "host:port of the Semantic Edit server (start it with `semantic-edit serve`)",
        DEFAULT_ADDRESS, flags)


if __name__ == "__main__":
    Gimp.main(SemanticEdit.__gtype__, sys.argv)
