"""The procedures' arguments, in groups the procedures share (semantic-edit.py registers them): the target, the
fill of a hole, the detection options, the server, the relations, the placement choice and the source object.

The names are what scripts set (config.set_property("relation-1", "left-of")) and what the *_from_config readers
of the edit modules read. The labels (nicks) are what the dialogs show; their mnemonic letters (after "_") differ
within each dialog and from its buttons' (o, c, h, r, l, s). The *_words_arguments at the end are dialog-only.
"""
from __future__ import annotations

import gi

gi.require_version("Gimp", "3.0")
from gi.repository import Gimp  # noqa: E402

from paste_requests import DEFAULT_CANDIDATES, MAX_CANDIDATES, REPLACE_FITS  # noqa: E402
from placing import NO_RELATION, PREDICATE_NICKS, RELATION_SLOTS  # noqa: E402
from semantic_edit_client import DEFAULT_ADDRESS, FILL_METHODS, QUALITY_PRESETS  # noqa: E402

DEFAULT_SCORE_THRESHOLD = 0.5  # the server's default
MAX_SEED = 2**31 - 1  # a GIMP int argument
FILL_CHOICES = {"synthesis": ("Synthesis", "Structure and the photo's own texture, seconds"),
                "dip": ("DIP", "SIMBIL's background-guided Deep Image Prior, minutes without a GPU")}
DEFAULT_FILL = FILL_METHODS[0]  # the server's default
PRESET_TEXTURE = -1.0  # "texture" below 0: the preset's (0.75)
PRESETS_TEXTURE = 0.75  # what the presets use; the dialog's texture when a person unticks "As the preset"
DIALOG_DILATION_PX = 4  # the dialog's dilation when a person unticks "Automatic"
DIALOG_MAX_OBJECTS = 10  # the dialog's limit when a person unticks "All"


def choice(options) -> "Gimp.Choice":
    """A Gimp.Choice of (nick, label, help) triples."""
    result = Gimp.Choice.new()
    for index, (nick, label, help_text) in enumerate(options):
        result.add(nick, index, label, help_text)
    return result


def target_arguments(procedure, flags) -> None:
    procedure.add_choice_argument(
        "target", "Tar_get", "Which pixels are the object", choice([
            ("selection", "Selection", "The current selection marks the object"),
            ("mask-layer", "Mask layer", "A layer marks the object: white (nonzero) = object, black = keep; "
             "e.g. a layer of Detect Objects"),
            ("class", "Class", "The server finds the object by its class name (and instance number)"),
            ("selection-hint", "Object in selection", "The server finds the object whose box best matches the "
             "selection's bounding box (of the class named, if any)"),
        ]), "selection", flags)
    procedure.add_layer_argument(
        "mask-layer", "Mas_k layer", "The layer that marks the object (white = object), for target mask-layer",
        True, flags)
    procedure.add_string_argument(
        "class-name", "Class _name", "The object's class, e.g. 'person' or 'dog', for target class (required) "
        "and selection-hint (empty = any class)", "", flags)
    procedure.add_int_argument(
        "instance", "_Instance", "Which one of the class, counted from 1 left to right (as Detect Objects "
        "numbers them), for target class; 0 = every one", 0, 1000, 0, flags)


def dilation_and_quality_arguments(procedure, flags, keep_shadow: bool = True) -> None:
    """dilation, quality, fill, texture and (remove, move: keep_shadow) keep-shadow."""
    procedure.add_int_argument(
        "dilation", "_Dilation (px)", "How far the hole reaches beyond the object, in pixels; -1 = automatic",
        -1, 256, -1, flags)
    procedure.add_choice_argument(
        "quality", "_Quality", "Speed against quality of the fill", choice([
            (preset, preset.capitalize(), f"The server's '{preset}' preset") for preset in QUALITY_PRESETS
        ]), "balanced", flags)
    procedure.add_choice_argument(
        "fill", "_Fill method", "How the hole is filled", choice([
            (method, *FILL_CHOICES[method]) for method in FILL_METHODS]), DEFAULT_FILL, flags)
    procedure.add_double_argument(
        "texture", "Te_xture", "Synthesis only, 0..1: how much detail copied from the photo's own patches replaces "
        "the smooth structure fill (0 = smooth, the lowest error; 1 = as detailed as the surroundings); -1 = the "
        "preset's (0.75)", PRESET_TEXTURE, 1.0, PRESET_TEXTURE, flags)
    if not keep_shadow:  # replace keeps the old object's shadow: the new one stands in it
        return
    procedure.add_boolean_argument(
        "keep-shadow", "K_eep shadow", "Remove the object alone; off (the default): its cast shadow, when one is "
        "seen beside it, goes too and comes back as the mask layer 'shadow'", False, flags)


def iterations_argument(procedure, flags) -> None:
    procedure.add_int_argument(
        "iterations", "_Iterations", "Steps instead of the preset's: the DIP's optimisation steps, or the "
        "synthesis' EM iterations per pyramid level; 0 = the preset's", 0, 20000, 0, flags)


def seed_argument(procedure, flags, what: str) -> None:
    procedure.add_int_argument(
        "seed", "See_d", f"Random seed of {what}; the same seed gives the same result", 0, MAX_SEED, 0, flags)


def detection_arguments(procedure, flags) -> None:
    procedure.add_double_argument(
        "score-threshold", "Score _threshold", "Objects the model is surer of than this count, 0..1; lower it to "
        "find more (less certain) objects", 0.0, 1.0, DEFAULT_SCORE_THRESHOLD, flags)
    procedure.add_int_argument(
        "max-objects", "Max ob_jects", "At most this many objects, the surest first; 0 = all", 0, 1000, 0, flags)


def server_argument(procedure, flags) -> None:
    procedure.add_string_argument(
        "server", "Ser_ver", "host:port of the Semantic Edit server (start it with `semantic-edit serve`)",
        DEFAULT_ADDRESS, flags)


def relation_arguments(procedure, flags) -> None:
    """RELATION_SLOTS slots: relation-N (a predicate or "none"), reference-layer-N, reference-class-N."""
    predicates = [(NO_RELATION, "None", "No relation in this slot")] + [
        (nick, predicate.capitalize(), f"The object ends up {predicate} the reference object")
        for nick, predicate in PREDICATE_NICKS.items()]
    for slot in range(1, RELATION_SLOTS + 1):
        procedure.add_choice_argument(
            f"relation-{slot}", f"Relation _{slot}", "Where the object goes, relative to the reference object "
            "on this row" + (" (at least the first)" if slot == 1 else ""), choice(predicates), NO_RELATION, flags)
        procedure.add_layer_argument(
            f"reference-layer-{slot}", "of layer", "A layer marking the reference object (white = "
            "object), e.g. a layer of Detect Objects", True, flags)
        procedure.add_string_argument(
            f"reference-class-{slot}", "or class", "Without a reference layer: the reference's "
            "class, which the server finds ('blue sphere', 'person:2' = the 2nd from the left); with one: its "
            "class for the position model (empty = the class Detect Objects gave the layer)", "", flags)


def placement_arguments(procedure, flags) -> None:
    procedure.add_int_argument(
        "candidates", "Candidates", "How many places the position model proposes", 1, MAX_CANDIDATES,
        DEFAULT_CANDIDATES, flags)
    procedure.add_int_argument(
        "candidate", "Candidate", "Which of them to use: 0 = the best; the message lists them all",
        0, MAX_CANDIDATES - 1, 0, flags)
    procedure.add_boolean_argument(
        "keep-size", "Keep s_ize", "Paste at the object's own size instead of the size the position model "
        "predicts (nearer = larger)", False, flags)


def cast_shadow_argument(procedure, flags) -> None:
    procedure.add_boolean_argument(
        "cast-shadow", "C_ast shadow", "When a reference object casts a shadow, the new object casts one like it "
        "(returned as the mask layer 'placed shadow')", True, flags)


def source_arguments(procedure, flags) -> None:
    procedure.add_layer_argument(
        "source-layer", "Sourc_e layer", "The layer showing the new object, transparent around it (any open "
        "image)", True, flags)
    procedure.add_layer_argument(
        "source-mask-layer", "Source mask la_yer", "Optional: a layer marking the new object in the source layer "
        "(white = object); needed when the source layer has no alpha channel", True, flags)


def fit_argument(procedure, flags) -> None:
    descriptions = {"inside": "As large as fits inside the old object's box: it never covers more",
                    "width": "As wide as the old object (the same footprint); a taller one reaches higher",
                    "height": "As tall as the old object"}
    procedure.add_choice_argument(
        "fit", "F_it", "How the new object is sized from the old one's box (its aspect ratio is kept)", choice([
            (fit, fit.capitalize(), descriptions[fit]) for fit in REPLACE_FITS]), "inside", flags)


def placements_return_value(procedure, flags) -> None:
    procedure.add_string_return_value(
        "placements", "Placements", "The places the position model proposed, best first, one per line, e.g. "
        "'candidate 0: box 40,12 20x18, all relations hold, used' (boxes in image pixels)", "", flags)


# Dialog-only (auxiliary) arguments. GIMP keeps them with the dialog's remembered values but never passes them to
# the procedure, so scripts neither see nor need them. Each pair (a check box and a number) shows a script argument
# whose special number means a word: dilation -1 = automatic, instance 0 = every one, texture -1 = the preset's,
# max-objects 0 = all. dialog_layout.py turns the pair into the argument when the dialog is confirmed.
def instance_words_arguments(procedure, flags) -> None:
    procedure.add_int_aux_argument(
        "instance-number", "Inst_ance", "Which one of the class, counted from 1 left to right (as Detect Objects "
        "numbers them)", 1, 1000, 1, flags)
    procedure.add_boolean_aux_argument(
        "instance-every", "Every one", "Every object of the class at once", True, flags)


def fill_words_arguments(procedure, flags) -> None:
    procedure.add_int_aux_argument(
        "dilation-pixels", "Dilation (_px)", "How far the hole reaches beyond the object, in pixels",
        0, 256, DIALOG_DILATION_PX, flags)
    procedure.add_boolean_aux_argument(
        "dilation-auto", "A_utomatic", "The server chooses: a selection or mask layer is filled as drawn, an object "
        "found by class grows by 8 % of its size", True, flags)
    procedure.add_double_aux_argument(
        "texture-amount", "Te_xture", "How much detail copied from the photo's own patches replaces the smooth "
        "structure fill (0 = smooth, the lowest error; 1 = as detailed as the surroundings)",
        0.0, 1.0, PRESETS_TEXTURE, flags)
    procedure.add_boolean_aux_argument(
        "texture-preset", "As the preset", "The quality preset's texture (0.75)", True, flags)


def detection_words_arguments(procedure, flags) -> None:
    procedure.add_int_aux_argument(
        "max-objects-count", "_Max objects", "At most this many objects, the surest first", 1, 1000,
        DIALOG_MAX_OBJECTS, flags)
    procedure.add_boolean_aux_argument(
        "max-objects-all", "All", "Every object found above the score threshold", True, flags)
