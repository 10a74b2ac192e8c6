"""The procedures' dialogs: frames "What", "Where", "Quality" and an "Advanced" expander, built with GIMP's own
GimpUi.ProcedureDialog containers over the config that scripts set by argument name.

- Fields the chosen target does not use are greyed out (GIMP's set_sensitive_if_in follows the choice as it
  changes): the mask layer only for target "mask-layer", the class name for "class" and "selection-hint", the
  instance only for "class", the detection options only where something is detected, a reference only when its
  relation is set, the texture only for the fill "synthesis".
- A script argument whose special number stands for a word (dilation -1 = automatic, instance 0 = every one,
  texture -1 = the preset's, max-objects 0 = all) shows as a check box beside a number: dialog-only arguments
  (procedure_arguments.py) that `numbers_from_words` turns back into the argument when the dialog is confirmed.

Everything GIMP-specific happens in `build`; the layouts are plain data.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union

TARGET_NEEDS = {"mask-layer": ("mask-layer",), "class-name": ("class", "selection-hint"),
                "instance-row": ("class",)}
DETECTING_TARGETS = ("class", "selection-hint")


@dataclass(frozen=True)
class WordsForNumber:
    """A script argument (`argument`) whose value `special` means a word; the dialog shows a check box (`switch`,
    on = the word) beside a number (`number`, any other value)."""

    argument: str
    switch: str
    number: str
    special: float


DILATION = WordsForNumber("dilation", "dilation-auto", "dilation-pixels", -1)
INSTANCE = WordsForNumber("instance", "instance-every", "instance-number", 0)
TEXTURE = WordsForNumber("texture", "texture-preset", "texture-amount", -1.0)
MAX_OBJECTS = WordsForNumber("max-objects", "max-objects-all", "max-objects-count", 0)


@dataclass(frozen=True)
class Row:
    """Fields side by side; `key` names the row so that a rule can grey it out as a whole."""

    key: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Section:
    """A frame (or, with expander, a collapsed GtkExpander) titled `title`, holding one row or field per line."""

    key: str
    title: str
    lines: tuple[Union[str, Row], ...]
    expander: bool = False


@dataclass(frozen=True)
class OnlyFor:
    """`widget` is usable only while the choice `choice` is one of `values` (or, with inside False, none of them)."""

    widget: str
    choice: str
    values: tuple[str, ...]
    inside: bool = True


@dataclass(frozen=True)
class OffWhile:
    """`widget` is greyed out while the check box `switch` is on (the number beside a word)."""

    widget: str
    switch: str


@dataclass(frozen=True)
class Layout:
    sections: tuple[Section, ...]
    rules: tuple[Union[OnlyFor, OffWhile], ...]
    words: tuple[WordsForNumber, ...]
    radio: tuple[str, ...] = ("target",)  # choices shown as radio buttons instead of a drop-down list
    columns: tuple[tuple[str, ...], ...] = ()  # section keys per column, side by side; () = one column

    def fields(self) -> list[str]:
        """Every argument shown, in order."""
        shown = []
        for section in self.sections:
            for line in section.lines:
                shown.extend(line.fields if isinstance(line, Row) else (line,))
        return shown


# --- the pieces the dialogs share -------------------------------------------------------------------------------

INSTANCE_ROW = Row("instance-row", ("instance-number", "instance-every"))
DILATION_ROW = Row("dilation-row", ("dilation-pixels", "dilation-auto"))
TEXTURE_ROW = Row("texture-row", ("texture-amount", "texture-preset"))
MAX_OBJECTS_ROW = Row("max-objects-row", ("max-objects-count", "max-objects-all"))
TARGET_LINES = ("target", "mask-layer", "class-name", INSTANCE_ROW)
DETECTION_LINES = ("score-threshold", MAX_OBJECTS_ROW)
RELATION_SLOTS = 3
RELATION_ROWS = tuple(Row(f"relation-row-{slot}", (f"relation-{slot}", f"reference-layer-{slot}",
                                                  f"reference-class-{slot}"))
                      for slot in range(1, RELATION_SLOTS + 1))
PLACEMENT_ROW = Row("placement-row", ("candidates", "candidate", "keep-size"))

TARGET_RULES = (*(OnlyFor(widget, "target", targets) for widget, targets in TARGET_NEEDS.items()),
                OffWhile("instance-number", "instance-every"))
DETECTION_FOLLOWS_TARGET = (OnlyFor("score-threshold", "target", DETECTING_TARGETS),
                            OnlyFor("max-objects-row", "target", DETECTING_TARGETS))
MAX_OBJECTS_RULE = OffWhile("max-objects-count", "max-objects-all")
FILL_RULES = (OffWhile("dilation-pixels", "dilation-auto"), OnlyFor("texture-row", "fill", ("synthesis",)),
              OffWhile("texture-amount", "texture-preset"))
RELATION_RULES = tuple(OnlyFor(f"{field}-{slot}", f"relation-{slot}", ("none",), inside=False)
                       for slot in range(1, RELATION_SLOTS + 1) for field in ("reference-layer", "reference-class"))


def _what(*extra) -> Section:
    return Section("what", "What", (*TARGET_LINES, *extra))


def _advanced(*lines) -> Section:
    return Section("advanced", "Advanced", (*lines, *DETECTION_LINES, "server"), expander=True)


# --- the six dialogs ----------------------------------------------------------------------------------------------

REMOVE = Layout(
    sections=(_what(), Section("quality", "Quality", (Row("fill-row", ("quality", "fill")), "keep-shadow")),
              _advanced(DILATION_ROW, TEXTURE_ROW)),
    rules=(*TARGET_RULES, *DETECTION_FOLLOWS_TARGET, MAX_OBJECTS_RULE, *FILL_RULES),
    words=(INSTANCE, DILATION, TEXTURE, MAX_OBJECTS), columns=(("what",), ("quality", "advanced")))

RECOLOR = Layout(
    sections=(_what(), Section("colour", "Colour", ("color", "strength", "lightness")), _advanced("edge")),
    rules=(*TARGET_RULES, *DETECTION_FOLLOWS_TARGET, MAX_OBJECTS_RULE),
    words=(INSTANCE, MAX_OBJECTS), columns=(("what",), ("colour", "advanced")))

MOVE = Layout(
    sections=(_what("object-class"), Section("where", "Where", (*RELATION_ROWS, PLACEMENT_ROW)),
              Section("quality", "Quality", (Row("fill-row", ("quality", "fill")),
                                             Row("seed-row", ("seed", "keep-shadow")))),
              _advanced(DILATION_ROW, TEXTURE_ROW)),
    # references named by class are detected whatever the target: the detection options stay usable
    rules=(*TARGET_RULES, MAX_OBJECTS_RULE, *FILL_RULES, *RELATION_RULES),
    words=(INSTANCE, DILATION, TEXTURE, MAX_OBJECTS), columns=(("what", "quality"), ("where", "advanced")))

REPLACE = Layout(
    sections=(_what(), Section("replacement", "Replacement", ("source-layer", "source-mask-layer", "fit")),
              Section("quality", "Quality", (Row("fill-row", ("quality", "fill")), "seed")),
              _advanced(DILATION_ROW, TEXTURE_ROW)),
    rules=(*TARGET_RULES, *DETECTION_FOLLOWS_TARGET, MAX_OBJECTS_RULE, *FILL_RULES),
    words=(INSTANCE, DILATION, TEXTURE, MAX_OBJECTS), columns=(("what", "replacement"), ("quality", "advanced")))

ADD = Layout(
    sections=(Section("what", "What", ("source-layer", "source-mask-layer", "source-class")),
              Section("where", "Where", (*RELATION_ROWS, PLACEMENT_ROW)),
              Section("quality", "Quality", (Row("seed-row", ("seed", "cast-shadow")),)),
              _advanced()),
    rules=(MAX_OBJECTS_RULE, *RELATION_RULES),
    words=(MAX_OBJECTS,), radio=(), columns=(("what", "quality"), ("where", "advanced")))

DETECT = Layout(
    sections=(Section("detection", "Detection", DETECTION_LINES), Section("advanced", "Advanced", ("server",),
                                                                          expander=True)),
    rules=(MAX_OBJECTS_RULE,),
    words=(MAX_OBJECTS,), radio=())


# --- special numbers as words -------------------------------------------------------------------------------------

def words_from_numbers(config, words) -> None:
    """Before the dialog: each argument's value shown as its check box and number (the number keeps its last value
    while the check box is on)."""
    for pair in words:
        value = config.get_property(pair.argument)
        is_word = value <= pair.special
        config.set_property(pair.switch, is_word)
        if not is_word:
            config.set_property(pair.number, value)


def numbers_from_words(config, words) -> None:
    """After the dialog: each check box and number back into the argument that the edit reads."""
    for pair in words:
        word = config.get_property(pair.switch)
        config.set_property(pair.argument, pair.special if word else config.get_property(pair.number))


# --- the GIMP dialog ----------------------------------------------------------------------------------------------

def build(procedure, config, title: str, layout: Layout):
    """The GimpUi.ProcedureDialog of `layout` over `config` (shown by its run())."""
    from gi.repository import Gimp, GimpUi, GObject, Gtk

    dialog = GimpUi.ProcedureDialog.new(procedure, config, title)
    for choice in layout.radio:
        dialog.get_widget(choice, GimpUi.IntRadioFrame.__gtype__)
    rows = {}
    for section in layout.sections:
        lines = []
        for line in section.lines:
            if isinstance(line, Row):
                rows[line.key] = _side_by_side(dialog, Gtk, line.key, list(line.fields))
            lines.append(line.key if isinstance(line, Row) else line)
        dialog.fill_box(f"{section.key}-lines", lines)
        dialog.get_label(f"{section.key}-title", section.title, False, False)
        if section.expander:
            expander = dialog.fill_expander(f"{section.key}-frame", f"{section.key}-title", False,
                                            f"{section.key}-lines")
            expander.set_resize_toplevel(False)  # the window grows only as far as its tallest column needs
        else:
            dialog.fill_frame(f"{section.key}-frame", f"{section.key}-title", False, f"{section.key}-lines")
    for rule in layout.rules:
        if isinstance(rule, OffWhile):
            dialog.set_sensitive(rule.widget, True, config, rule.switch, True)
        elif rule.widget in rows:  # GIMP 3.0 follows a choice for arguments only: a row follows it here
            _follow_choice(config, rows[rule.widget], rule)
        else:
            values = Gimp.ValueArray.new_from_values([GObject.Value(GObject.TYPE_STRING, value)
                                                      for value in rule.values])
            dialog.set_sensitive_if_in(rule.widget, None, rule.choice, values, rule.inside)
    if not layout.columns:
        dialog.fill([f"{section.key}-frame" for section in layout.sections])
        return dialog
    for index, keys in enumerate(layout.columns):
        column = dialog.fill_box(f"column-{index}", [f"{key}-frame" for key in keys])
        column.set_valign(Gtk.Align.START)
    _side_by_side(dialog, Gtk, "columns", [f"column-{index}" for index in range(len(layout.columns))], spacing=18)
    dialog.fill(["columns"])
    return dialog


def _side_by_side(dialog, Gtk, key: str, children: list[str], spacing: int = 12):
    row = dialog.fill_box(key, children)
    row.set_orientation(Gtk.Orientation.HORIZONTAL)
    row.set_spacing(spacing)
    return row


def _follow_choice(config, widget, rule: OnlyFor) -> None:
    def update(*_):
        widget.set_sensitive((config.get_property(rule.choice) in rule.values) == rule.inside)

    config.connect(f"notify::{rule.choice}", update)
    update()
