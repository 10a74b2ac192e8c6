#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Semantic Edit for GIMP 3: edit a photo by meaning. The work happens in a local server (`semantic-edit serve`);
# this plug-in sends it the active layer and the object's mask and adds the answer as new layers.
#
# Procedures (menu Filters > Semantic Edit):
#   semantic-edit-remove   Remove Object...    fills the object's place with the image's own background.
#   semantic-edit-recolor  Recolor Object...   gives the object a new colour; its shading and highlights stay.
#   semantic-edit-move     Move Object...      moves the object where relations say ("left of" another object).
#   semantic-edit-replace  Replace Object...   replaces the object by one taken from a layer.
#   semantic-edit-add      Add Object...       adds an object taken from a layer where relations say.
#   semantic-edit-detect   Detect Objects...   adds a layer group "Objects": one mask layer per object found.
#
# Run them from a script like any procedure:
#   proc = Gimp.get_pdb().lookup_procedure("semantic-edit-remove"); cfg = proc.create_config(); ...; proc.run(cfg)
# semantic-edit-remove: target, mask-layer, class-name, instance, dilation, quality, fill, texture, keep-shadow,
#   score-threshold, max-objects, server, iterations; returns result-layer.
# semantic-edit-recolor: target, mask-layer, class-name, instance, color (a GeglColor), strength, lightness, edge,
#   score-threshold, max-objects, server; returns result-layer.
# semantic-edit-move: target, mask-layer, class-name, instance, relation-N / reference-layer-N / reference-class-N
#   (N = 1..3; relation "none" or a predicate such as "left-of"), object-class, candidates, candidate, keep-size,
#   dilation, quality, fill, texture, keep-shadow, iterations, seed, score-threshold, max-objects, server; returns
#   result-layer, placements.
# semantic-edit-replace: target, mask-layer, class-name, instance, source-layer, source-mask-layer, fit, dilation,
#   quality, fill, texture, keep-shadow, iterations, seed, score-threshold, max-objects, server; returns
#   result-layer.
# semantic-edit-add: source-layer, source-mask-layer, source-class, relation-N / reference-layer-N /
#   reference-class-N, candidates, candidate, keep-size, cast-shadow, seed, score-threshold, max-objects, server;
#   returns result-layer, placements.
# semantic-edit-detect: score-threshold, max-objects, server; returns objects-group and relations (one per line).
from __future__ import annotations

import importlib.util
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

import add_object  # noqa: E402
import dialog_layout  # noqa: E402
import detect_objects  # noqa: E402
import move_object  # noqa: E402
import procedure_arguments as arguments  # noqa: E402
import recolor_object  # noqa: E402
import remove_object  # noqa: E402
import replace_object  # noqa: E402
from placing import PlacedResult  # noqa: E402
from semantic_edit_client import MAX_EDGE_PX  # noqa: E402

PROCEDURE_REMOVE = "semantic-edit-remove"
PROCEDURE_RECOLOR = "semantic-edit-recolor"
PROCEDURE_MOVE = "semantic-edit-move"
PROCEDURE_REPLACE = "semantic-edit-replace"
PROCEDURE_ADD = "semantic-edit-add"
PROCEDURE_DETECT = "semantic-edit-detect"
MENU_PATH = "<Image>/Filters/Semantic Edit/"
# The dialogs' frames, fields and greyed-out rules: dialog_layout.py.
# A Python file named by this variable gets attach(dialog, config, procedure_name) before each dialog runs: the
# dialog test (tests/gimp/dialog_probe.py) reads the widgets and measures the window through it.
DIALOG_PROBE_VARIABLE = "SEMANTIC_EDIT_DIALOG_PROBE"
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


def _attach_probe(dialog, config, procedure) -> None:
    path = os.environ.get(DIALOG_PROBE_VARIABLE)
    if not path:
        return
    spec = importlib.util.spec_from_file_location("semantic_edit_dialog_probe", path)
    probe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probe)
    probe.attach(dialog, config, procedure.get_name())


def _show_dialog(procedure, config, title: str = "Remove Object", layout=dialog_layout.REMOVE) -> bool:
    """The ProcedureDialog over the same config that non-interactive runs read; False when the user cancels."""
    gi.require_version("GimpUi", "3.0")
    from gi.repository import GimpUi

    GimpUi.init(procedure.get_name())
    dialog_layout.words_from_numbers(config, layout.words)
    dialog = dialog_layout.build(procedure, config, title, layout)
    _attach_probe(dialog, config, procedure)
    try:
        confirmed = dialog.run()
    finally:
        dialog.destroy()
    if confirmed:
        dialog_layout.numbers_from_words(config, layout.words)
    return confirmed


def _ask(procedure, run_mode, config, title: str, layout) -> bool:
    """The remembered server (not for scripts) and the dialog (interactive runs); False when the user cancels."""
    if run_mode != Gimp.RunMode.NONINTERACTIVE:  # scripts say which server; people get the one they used last
        remembered = _remembered_server()
        if remembered:
            config.set_property("server", remembered)
    return run_mode != Gimp.RunMode.INTERACTIVE or _show_dialog(procedure, config, title, layout)


def run_remove(procedure, run_mode, image, drawables, config, data):
    return _run_edit(procedure, run_mode, image, drawables, config, "Remove Object", dialog_layout.REMOVE,
                     remove_object.settings_from_config, remove_object.remove_object)


def run_recolor(procedure, run_mode, image, drawables, config, data):
    return _run_edit(procedure, run_mode, image, drawables, config, "Recolor Object", dialog_layout.RECOLOR,
                     recolor_object.settings_from_config, recolor_object.recolor_object)


def run_move(procedure, run_mode, image, drawables, config, data):
    return _run_edit(procedure, run_mode, image, drawables, config, "Move Object", dialog_layout.MOVE,
                     move_object.settings_from_config, move_object.move_object)


def run_replace(procedure, run_mode, image, drawables, config, data):
    return _run_edit(procedure, run_mode, image, drawables, config, "Replace Object", dialog_layout.REPLACE,
                     replace_object.settings_from_config, replace_object.replace_object)


def run_add(procedure, run_mode, image, drawables, config, data):
    return _run_edit(procedure, run_mode, image, drawables, config, "Add Object", dialog_layout.ADD,
                     add_object.settings_from_config, add_object.add_object)


def _run_edit(procedure, run_mode, image, drawables, config, title, layout, read_settings, edit):
    """An edit procedure's run: the dialog, the checked settings, the edit; returns the result layer (and, for Move
    and Add, the placements, also shown in a message to people) or the error."""
    if not _ask(procedure, run_mode, config, title, layout):
        return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, None)
    try:
        settings = read_settings(config)
        if run_mode == Gimp.RunMode.INTERACTIVE:
            _remember_server(settings.server)
        outcome = edit(image, drawables, settings, log=_log)
    except remove_object.PluginError as error:
        _log(f"failed: {error}")
        return _error(procedure, str(error))
    values = procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, None)
    if not isinstance(outcome, PlacedResult):
        values.remove(1)
        values.insert(1, GObject.Value(Gimp.Layer, outcome))
        return values
    for line in outcome.placements.splitlines():
        _log(line)
    if run_mode != Gimp.RunMode.NONINTERACTIVE:  # people read the places here; scripts get them returned
        Gimp.message(outcome.message)
    while values.length() > 1:  # the status stays; the return values' defaults go
        values.remove(values.length() - 1)
    values.append(GObject.Value(Gimp.Layer, outcome.layer))
    values.append(GObject.Value(GObject.TYPE_STRING, outcome.placements))
    return values


def run_detect(procedure, run_mode, image, drawables, config, data):
    if not _ask(procedure, run_mode, config, "Detect Objects", dialog_layout.DETECT):
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


class SemanticEdit(Gimp.PlugIn):
    def do_query_procedures(self):
        return [PROCEDURE_REMOVE, PROCEDURE_RECOLOR, PROCEDURE_MOVE, PROCEDURE_REPLACE, PROCEDURE_ADD,
                PROCEDURE_DETECT]

    def do_set_i18n(self, name):
        return False

    def do_create_procedure(self, name):
        define = {PROCEDURE_REMOVE: self._remove_procedure, PROCEDURE_RECOLOR: self._recolor_procedure,
                  PROCEDURE_MOVE: self._move_procedure, PROCEDURE_REPLACE: self._replace_procedure,
                  PROCEDURE_ADD: self._add_procedure, PROCEDURE_DETECT: self._detect_procedure}.get(name)
        return define(name) if define is not None else None

    def _new_procedure(self, name, run, label: str, summary: str, help_text: str):
        procedure = Gimp.ImageProcedure.new(self, name, Gimp.PDBProcType.PLUGIN, run, None)
        procedure.set_image_types("RGB*")
        procedure.set_sensitivity_mask(Gimp.ProcedureSensitivityMask.DRAWABLE)
        procedure.set_menu_label(label)
        procedure.add_menu_path(MENU_PATH)
        procedure.set_documentation(summary, help_text, name)
        procedure.set_attribution("Semantic Edit authors", "Semantic Edit authors; GPL-3.0-or-later", "2025-2026")
        return procedure

    def _remove_procedure(self, name):
        procedure = self._new_procedure(
            name, run_remove, "Remove Object...",
            "Remove an object and fill its place from the image's own background",
            "Sends the active layer and the object's mask (the selection, or a mask layer where white = object) "
            "to the Semantic Edit server, which fills the hole from the image itself: by default its structure and "
            "the photo's own texture (seconds), or by SIMBIL's background-guided Deep Image Prior (fill DIP: "
            "minutes without a GPU). Or names the object by class ('person', the 2nd person) or by the selection's "
            "box, and the server finds it. The result arrives as a new layer group above the layer: the edited "
            "pixels plus the object and hole masks (hidden). The layer itself is never changed. Needs a running "
            "server: `semantic-edit serve`.")
        flags = GObject.ParamFlags.READWRITE
        arguments.target_arguments(procedure, flags)
        arguments.dilation_and_quality_arguments(procedure, flags)
        arguments.detection_arguments(procedure, flags)
        arguments.server_argument(procedure, flags)
        arguments.iterations_argument(procedure, flags)
        arguments.instance_words_arguments(procedure, flags)
        arguments.fill_words_arguments(procedure, flags)
        arguments.detection_words_arguments(procedure, flags)
        procedure.add_layer_return_value(
            "result-layer", "Result layer", "The new layer with the object removed", False, flags)
        return procedure

    def _recolor_procedure(self, name):
        procedure = self._new_procedure(
            name, run_recolor, "Recolor Object...",
            "Give an object a new colour, keeping its shading and highlights",
            "Sends the active layer and the object's mask (the selection, or a mask layer where white = object) "
            "to the Semantic Edit server, which changes the object's hue and chroma to the colour's (in CIE LCh) "
            "and, with Lightness 1, its lit lightness too; shadows stay dark and highlights white. Or names the "
            "object by class or by the selection's box, as Remove Object does. The result arrives as a new layer "
            "group above the layer: the recoloured pixels plus the object and edge masks (hidden). The layer "
            "itself is never changed. Needs a running server: `semantic-edit serve`.")
        flags = GObject.ParamFlags.READWRITE
        arguments.target_arguments(procedure, flags)
        Gegl.init(None)  # a GeglColor needs babl, which GIMP starts only to run a procedure, not to register it
        procedure.add_color_argument(
            "color", "Ne_w colour", "The object's new colour", False,
            Gegl.Color.new(recolor_object.color_hex(recolor_object.DEFAULT_COLOR)), flags)
        procedure.add_double_argument(
            "strength", "Str_ength", "How far the object moves to the new colour, 0..1 (1 = all the way)",
            0.0, 1.0, 1.0, flags)
        procedure.add_double_argument(
            "lightness", "L_ightness", "1: the object takes the colour's lightness (a dark object painted yellow "
            "turns a bright yellow, with its shading); 0: each pixel keeps its lightness, only hue and chroma "
            "change", 0.0, 1.0, 1.0, flags)
        procedure.add_int_argument(
            "edge", "E_dge (px)", "Soft edge beyond the object over which the change fades out, in pixels; "
            "raise it when a rim of the old colour remains", 0, MAX_EDGE_PX, recolor_object.DEFAULT_EDGE_PX, flags)
        arguments.detection_arguments(procedure, flags)
        arguments.server_argument(procedure, flags)
        arguments.instance_words_arguments(procedure, flags)
        arguments.detection_words_arguments(procedure, flags)
        procedure.add_layer_return_value(
            "result-layer", "Result layer", "The new layer with the object recoloured", False, flags)
        return procedure

    def _move_procedure(self, name):
        procedure = self._new_procedure(
            name, run_move, "Move Object...",
            "Move an object to where relations to other objects say, e.g. left of another one",
            "Sends the active layer, the object (a selection, a mask layer, or named by class as in Remove "
            "Object) and one to three relations to reference objects (a mask layer, e.g. one of Detect Objects, "
            "or a class name such as 'person:2') to the Semantic Edit server. Its position model proposes places "
            "where the relations hold (lower in the picture = nearer = larger, unless Keep size); the object is "
            "cut out, its old place filled from the background as Remove Object does, and pasted at the chosen "
            "place. The result arrives as a new layer group above the layer: the edited pixels plus the hole, "
            "object and placed masks (hidden). The places considered are listed in a message and returned: run "
            "again with another Candidate (same Seed) to take another. The layer itself is never changed. Needs a "
            "running server: `semantic-edit serve`.")
        flags = GObject.ParamFlags.READWRITE
        arguments.target_arguments(procedure, flags)
        arguments.relation_arguments(procedure, flags)
        procedure.add_string_argument(
            "object-class", "O_bject class", "The object's class for the position model, e.g. 'red cube'; empty = "
            "the detected class (or the class Detect Objects gave the mask layer)", "", flags)
        arguments.placement_arguments(procedure, flags)
        arguments.dilation_and_quality_arguments(procedure, flags)
        arguments.iterations_argument(procedure, flags)
        arguments.seed_argument(procedure, flags, "the fill and the proposed places")
        arguments.detection_arguments(procedure, flags)
        arguments.server_argument(procedure, flags)
        arguments.instance_words_arguments(procedure, flags)
        arguments.fill_words_arguments(procedure, flags)
        arguments.detection_words_arguments(procedure, flags)
        procedure.add_layer_return_value(
            "result-layer", "Result layer", "The new layer with the object moved", False, flags)
        arguments.placements_return_value(procedure, flags)
        return procedure

    def _replace_procedure(self, name):
        procedure = self._new_procedure(
            name, run_replace, "Replace Object...",
            "Replace an object by another one, taken from a layer",
            "Sends the active layer, the object (a selection, a mask layer, or named by class as in Remove "
            "Object) and the new object, a layer transparent around it (or with a Source mask layer), to the "
            "Semantic Edit server. It removes the object as Remove Object does and pastes the new one into its "
            "box, scaled with its aspect ratio kept and standing on the same ground line. The result arrives as a "
            "new layer group above the layer: the edited pixels plus the hole, object and placed masks (hidden). "
            "No layer is ever changed. Needs a running server: `semantic-edit serve`.")
        flags = GObject.ParamFlags.READWRITE
        arguments.target_arguments(procedure, flags)
        arguments.source_arguments(procedure, flags)
        arguments.fit_argument(procedure, flags)
        arguments.dilation_and_quality_arguments(procedure, flags, keep_shadow=False)
        arguments.iterations_argument(procedure, flags)
        arguments.seed_argument(procedure, flags, "the fill")
        arguments.detection_arguments(procedure, flags)
        arguments.server_argument(procedure, flags)
        arguments.instance_words_arguments(procedure, flags)
        arguments.fill_words_arguments(procedure, flags)
        arguments.detection_words_arguments(procedure, flags)
        procedure.add_layer_return_value(
            "result-layer", "Result layer", "The new layer with the object replaced", False, flags)
        return procedure

    def _add_procedure(self, name):
        procedure = self._new_procedure(
            name, run_add, "Add Object...",
            "Add an object, taken from a layer, where relations to other objects say",
            "Sends the active layer, the new object (a layer transparent around it, or with a Source mask layer) "
            "with its class, and one to three relations to reference objects (a mask layer, e.g. one of Detect "
            "Objects, or a class name such as 'person:2') to the Semantic Edit server. Its position model "
            "proposes places where the relations hold; the object is scaled to the chosen place (nearer = larger, "
            "unless Keep size) and pasted. Nothing is removed. The result arrives as a new layer group above the "
            "layer: the edited pixels plus the placed mask (hidden). The places considered are listed in a "
            "message and returned. No layer is ever changed. Needs a running server: `semantic-edit serve`.")
        flags = GObject.ParamFlags.READWRITE
        arguments.source_arguments(procedure, flags)
        procedure.add_string_argument(
            "source-class", "So_urce class", "The new object's class for the position model, e.g. 'lamp' or 'red "
            "cube'; empty = the class Detect Objects gave the source layer, else 'some object'", "", flags)
        arguments.relation_arguments(procedure, flags)
        arguments.placement_arguments(procedure, flags)
        arguments.cast_shadow_argument(procedure, flags)
        arguments.seed_argument(procedure, flags, "the proposed places")
        arguments.detection_arguments(procedure, flags)
        arguments.server_argument(procedure, flags)
        arguments.detection_words_arguments(procedure, flags)
        procedure.add_layer_return_value(
            "result-layer", "Result layer", "The new layer with the object added", False, flags)
        arguments.placements_return_value(procedure, flags)
        return procedure

    def _detect_procedure(self, name):
        procedure = self._new_procedure(
            name, run_detect, "Detect Objects...",
            "Find the objects in a layer: one mask layer per object, and how they relate",
            "Sends the active layer to the Semantic Edit server, whose segmentation model finds the objects. Adds a "
            "layer group 'Objects' above the layer with one mask layer per object, named like 'person 2 (0.97)' "
            "(class, number among its class from left to right, score), white where the object is. A layer can be "
            "repainted and used as Remove Object's mask layer. The relations ('person 1 left of dog 1') are shown "
            "in a message and returned. The layer itself is never changed. Needs a running server with the "
            "segmentation weights: `semantic-edit serve`.")
        flags = GObject.ParamFlags.READWRITE
        arguments.detection_arguments(procedure, flags)
        arguments.server_argument(procedure, flags)
        arguments.detection_words_arguments(procedure, flags)
        procedure.add_layer_return_value(
            "objects-group", "Objects group", "The new layer group holding one mask layer per object", False, flags)
        procedure.add_string_return_value(
            "relations", "Relations", "One relation per line, e.g. 'person 1 left of dog 1'", "", flags)
        return procedure


if __name__ == "__main__":
    Gimp.main(SemanticEdit.__gtype__, sys.argv)
