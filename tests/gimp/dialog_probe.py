"""Reads a Semantic Edit dialog from inside the plug-in while a real GIMP shows it (for tests/test_gimp_dialogs.py).

The plug-in loads this file when SEMANTIC_EDIT_DIALOG_PROBE names it and calls attach(dialog, config, name) before
the dialog runs. Once the dialog is on the (virtual) screen it writes, into $SEMANTIC_EDIT_DIALOG_OUT:
- <name>.json: for each argument of the config, whether the dialog shows it, in which frame, under which label, and
  whether it is usable (sensitive), first as the dialog opened and then for each variant listed for <name> in the
  JSON file $SEMANTIC_EDIT_DIALOG_VARIANTS (e.g. {"target": "class"}: the config is changed as a click would);
  the frames and expanders; the window's geometry as the X server reports it (xwininfo), folded and with every
  expander open.
- <name>.png and <name>-expanded.png: screenshots of the dialog window (ImageMagick's import).
Then it cancels the dialog, so the batch that opened it goes on to the next one.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import traceback

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("GdkX11", "3.0")
from gi.repository import GdkX11, GLib, GObject, Gtk  # noqa: E402,F401  (GdkX11: X window ids)

SKIPPED = {"procedure", "run-mode", "image", "drawables"}
SETTLE_MS = 800  # lets GTK lay out and paint the window before it is measured
XWININFO_FIELDS = {"x": "Absolute upper-left X", "y": "Absolute upper-left Y", "width": "Width",
                   "height": "Height"}


def _log(message: str) -> None:
    print(f"dialog_probe: {message}", file=sys.stderr, flush=True)


def _settle(seconds: float = 0.0) -> None:
    """Runs GTK's pending work (layout, painting) for at least `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        while Gtk.events_pending():
            Gtk.main_iteration_do(False)
        if time.monotonic() >= deadline:
            return
        time.sleep(0.05)


def _walk(widget):
    yield widget
    if isinstance(widget, Gtk.Container):
        for child in widget.get_children():
            yield from _walk(child)
        if isinstance(widget, Gtk.Frame) and widget.get_label_widget() is not None:
            yield from _walk(widget.get_label_widget())
        if isinstance(widget, Gtk.Expander) and widget.get_label_widget() is not None:
            yield from _walk(widget.get_label_widget())


def _title(container) -> str:
    title = container.get_label_widget()
    if title is None:
        return container.get_label() or ""
    labels = [w for w in _walk(title) if isinstance(w, Gtk.Label)]
    return labels[0].get_text() if labels else ""


def _text(widget) -> str:
    """The words a person reads on a field: its label (or a check box's own text)."""
    for child in _walk(widget):
        if isinstance(child, Gtk.Label) and child.get_text():
            return child.get_text()
        if isinstance(child, Gtk.Button) and child.get_label():
            return child.get_label().replace("_", "")
    return ""


def _sections(widget, dialog) -> list[str]:
    """Titles of the frames and expanders around a widget, outermost first."""
    titles = []
    parent = widget.get_parent()
    while parent is not None and parent is not dialog:
        if isinstance(parent, (Gtk.Frame, Gtk.Expander)):
            titles.insert(0, _title(parent))
        parent = parent.get_parent()
    return titles


def _folded_away(widget, dialog) -> bool:
    """Whether a closed expander around the widget hides it."""
    parent = widget.get_parent()
    while parent is not None and parent is not dialog:
        if isinstance(parent, Gtk.Expander) and not parent.get_expanded():
            return True
        parent = parent.get_parent()
    return False


def _fields(dialog, config) -> dict:
    fields = {}
    for spec in config.list_properties():
        name = spec.name
        if name in SKIPPED:
            continue
        widget = dialog.get_widget(name, GObject.TYPE_NONE)  # the dialog's own widget (or a new, unshown one)
        if widget is None:
            fields[name] = {"shown": False}
            continue
        fields[name] = {"shown": widget.get_toplevel() is dialog, "mapped": widget.get_mapped(),
                        "sensitive": widget.is_sensitive(), "label": _text(widget),
                        "sections": _sections(widget, dialog), "folded_away": _folded_away(widget, dialog),
                        "widget": type(widget).__name__,
                        "value": _plain(config.get_property(name))}
    return fields


def _plain(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return type(value).__name__


def _frames(dialog) -> list[dict]:
    return [{"title": _title(w), "kind": "expander" if isinstance(w, Gtk.Expander) else "frame",
             "expanded": w.get_expanded() if isinstance(w, Gtk.Expander) else None, "mapped": w.get_mapped()}
            for w in _walk(dialog) if isinstance(w, (Gtk.Frame, Gtk.Expander))]


def _xwininfo(xid: int) -> dict:
    run = subprocess.run(["xwininfo", "-id", hex(xid)], capture_output=True, text=True, timeout=20)
    geometry = {"xwininfo_rc": run.returncode}
    for key, label in XWININFO_FIELDS.items():
        found = re.search(rf"{label}:\s+(-?\d+)", run.stdout)
        geometry[key] = int(found.group(1)) if found else None
    return geometry


def _screenshot(xid: int, path: str) -> int:
    return subprocess.run(["import", "-window", hex(xid), path], capture_output=True, timeout=60).returncode


def _measure(dialog, out: str, stem: str) -> dict:
    # The pointer to the screen's corner (no field is shown hovered), then time for GTK to paint the window.
    subprocess.run(["xdotool", "mousemove", "10000", "10000"], capture_output=True, timeout=20)
    _settle(1.0)
    xid = dialog.get_window().get_xid()
    geometry = _xwininfo(xid)
    minimum, natural = dialog.get_preferred_size()
    geometry.update(requested_width=natural.width, requested_height=natural.height,
                    screenshot_rc=_screenshot(xid, os.path.join(out, f"{stem}.png")))
    return geometry


def _variants(name: str) -> list[dict]:
    path = os.environ.get("SEMANTIC_EDIT_DIALOG_VARIANTS")
    if not path:
        return []
    with open(path) as file:
        return json.load(file).get(name, [])


def _report(dialog, config, name: str, out: str) -> None:
    _settle()
    # Reading every argument creates widgets for those the dialog does not show; GIMP checks their mnemonics too,
    # so this line separates the dialog's own messages in GIMP's log from those.
    _log(f"{name}: reading")
    report = {"title": dialog.get_title(), "fields": _fields(dialog, config), "frames": _frames(dialog),
              "folded": _measure(dialog, out, name), "variants": []}
    for variant in _variants(name):
        before = {key: config.get_property(key) for key in variant}
        for key, value in variant.items():
            config.set_property(key, value)
        _settle()
        report["variants"].append({"set": variant, "fields": _fields(dialog, config)})
        for key, value in before.items():
            config.set_property(key, value)
    for widget in _walk(dialog):
        if isinstance(widget, Gtk.Expander):
            widget.set_expanded(True)
    _settle()
    GLib.timeout_add(SETTLE_MS, _finish, dialog, config, name, out, report)


def _finish(dialog, config, name, out, report) -> bool:
    try:
        _settle()
        report["expanded"] = _measure(dialog, out, f"{name}-expanded")
        report["expanded_fields"] = _fields(dialog, config)
        with open(os.path.join(out, f"{name}.json"), "w") as file:
            json.dump(report, file, indent=1)
        _log(f"{name}: reported")
    except Exception:
        traceback.print_exc()
    dialog.response(Gtk.ResponseType.CANCEL)
    return False


def _when_shown(dialog, config, name, out) -> bool:
    if not dialog.get_mapped():
        return True  # asked again later
    try:
        _report(dialog, config, name, out)
    except Exception:
        traceback.print_exc()
        dialog.response(Gtk.ResponseType.CANCEL)
    return False


def attach(dialog, config, name: str) -> None:
    out = os.environ["SEMANTIC_EDIT_DIALOG_OUT"]
    GLib.timeout_add(SETTLE_MS, _when_shown, dialog, config, name, out)
