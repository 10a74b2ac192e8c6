"""The six dialogs as a person sees them in a real GIMP 3, on a 1366x768 screen.

A GIMP with its interface (not gimp-console) runs inside the Debian root folder of tests/test_gimp_end_to_end.py, on
a virtual screen (Xvfb; tests/gimp/dialog_tools.sh adds it and the X tools to the root). tests/gimp/dialog_batch.py
runs each procedure in INTERACTIVE mode; the plug-in loads tests/gimp/dialog_probe.py, which reads the dialog's
widgets (frame, label and sensitivity of every field, also after a target or a check box is changed), measures the
window with xwininfo, photographs it and cancels it. With CI=true this test always runs; elsewhere it skips where
the root cannot be had (see tests/gimp_root.py). SEMANTIC_EDIT_SCREENSHOTS_TO=gimp_plugin/screenshots also copies
the screenshots there (those shown in gimp_plugin/README.md).

The layouts' own logic (special numbers as words, the rules naming fields that exist) is checked without GIMP.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gimp_root import prepare_gimp_root
from synthetic_images import DISC_COLOUR, disc_mask, textured_background

REPO = Path(__file__).resolve().parent.parent
PLUGIN_DIR = REPO / "gimp_plugin" / "semantic-edit"
sys.path.insert(0, str(PLUGIN_DIR))
import dialog_layout  # noqa: E402  (plain Python: no GIMP needed)

GIMP_TESTS = REPO / "tests" / "gimp"
BUILD_ROOT = GIMP_TESTS / "build_gimp_root.sh"
INSTALL_PLUGIN = REPO / "gimp_plugin" / "install_plugin.sh"
GIMP_PYTHON = "3.13"  # trixie's python3
SESSION_TIMEOUT_S = 420
SCREEN_WIDTH, SCREEN_HEIGHT = 1366, 768
# What a 1366x768 laptop leaves a dialog: a desktop panel (~30 px) and the window's title bar (~38 px).
MAX_DIALOG_HEIGHT = 700
PROCEDURES = {"remove": "Remove Object", "recolor": "Recolor Object", "move": "Move Object",
              "replace": "Replace Object", "add": "Add Object", "detect": "Detect Objects"}
TARGETS = ("selection", "mask-layer", "class", "selection-hint")
TARGETED = ("remove", "recolor", "move", "replace")
FILLING = ("remove", "move", "replace")
RELATING = ("move", "add")
# The arguments whose special numbers the dialogs show as words, and the iterations (for scripts only).
SCRIPT_ONLY = ("dilation", "instance", "texture", "max-objects", "iterations")
SECTIONS = {
    "remove": ["What", "Target", "Quality", "Advanced"],
    "recolor": ["What", "Target", "Colour", "Advanced"],
    "move": ["What", "Target", "Quality", "Where", "Advanced"],
    "replace": ["What", "Target", "Replacement", "Quality", "Advanced"],
    "add": ["What", "Quality", "Where", "Advanced"],
    "detect": ["Detection", "Advanced"],
}
LAYOUTS = {"remove": dialog_layout.REMOVE, "recolor": dialog_layout.RECOLOR, "move": dialog_layout.MOVE,
           "replace": dialog_layout.REPLACE, "add": dialog_layout.ADD, "detect": dialog_layout.DETECT}
TIMINGS: dict[str, float] = {}


def _variants(edit: str) -> list[dict]:
    """The changes the probe makes in a shown dialog (as clicks would), one at a time, reading the fields after each."""
    variants = []
    if edit in TARGETED:
        variants += [{"target": target} for target in TARGETS]
        variants.append({"target": "class", "instance-every": False})
    if edit in FILLING:
        variants += [{"fill": "dip"}, {"texture-preset": False}, {"dilation-auto": False}]
    if edit in RELATING:
        variants.append({"relation-1": "left-of"})
    variants.append({"max-objects-all": False})
    return variants


# --- without GIMP: the layouts ------------------------------------------------------------------------------------


class DictConfig:
    """A GimpProcedureConfig's get_property/set_property over a dict."""

    def __init__(self, values):
        self.values = dict(values)

    def get_property(self, name):
        return self.values[name]

    def set_property(self, name, value):
        assert name in self.values, name
        self.values[name] = value


def _config(**arguments):
    values = {"dilation": -1, "dilation-auto": True, "dilation-pixels": 4, "instance": 0, "instance-every": True,
              "instance-number": 1, "texture": -1.0, "texture-preset": True, "texture-amount": 0.75,
              "max-objects": 0, "max-objects-all": True, "max-objects-count": 10}
    values.update(arguments)
    return DictConfig(values)


def test_special_numbers_open_as_words_and_come_back_as_the_same_numbers():
    words = dialog_layout.REMOVE.words
    config = _config()
    dialog_layout.words_from_numbers(config, words)
    assert [config.get_property(w.switch) for w in words] == [True] * 4  # every one, automatic, preset's, all
    dialog_layout.numbers_from_words(config, words)
    assert [config.get_property(w.argument) for w in words] == [0, -1, -1.0, 0]


def test_a_number_opens_with_its_box_unticked_and_a_ticked_box_gives_the_special_number():
    words = dialog_layout.REMOVE.words
    config = _config(dilation=12, instance=2, texture=0.3, **{"max-objects": 5})
    dialog_layout.words_from_numbers(config, words)
    shown = {w.argument: (config.get_property(w.switch), config.get_property(w.number)) for w in words}
    assert shown == {"dilation": (False, 12), "instance": (False, 2), "texture": (False, 0.3),
                     "max-objects": (False, 5)}
    # The person ticks "Automatic" and sets "Max objects" to 7: the dilation goes back to -1, the rest as shown.
    config.set_property("dilation-auto", True)
    config.set_property("max-objects-count", 7)
    dialog_layout.numbers_from_words(config, words)
    assert [config.get_property(w.argument) for w in words] == [2, -1, 0.3, 7]
    assert config.get_property("dilation-pixels") == 12  # kept for the next time the box is unticked


@pytest.mark.parametrize("edit", PROCEDURES)
def test_each_layout_shows_each_field_once_and_its_rules_name_what_it_shows(edit):
    layout = LAYOUTS[edit]
    fields = layout.fields()
    assert len(fields) == len(set(fields)), fields
    assert not set(SCRIPT_ONLY) & set(fields)
    rows = {line.key for section in layout.sections for line in section.lines
            if isinstance(line, dialog_layout.Row)}
    for rule in layout.rules:
        assert rule.widget in set(fields) | rows, rule
        assert getattr(rule, "choice", None) in (None, *fields) and getattr(rule, "switch", None) in (None, *fields)
    for pair in layout.words:
        assert {pair.switch, pair.number} <= set(fields) and pair.argument not in fields
    keys = [section.key for section in layout.sections]
    assert sorted(key for column in layout.columns for key in column) == sorted(keys) or not layout.columns


# --- in a real GIMP -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gimp_root() -> Path:
    started = time.monotonic()
    root = prepare_gimp_root(BUILD_ROOT)
    tools = subprocess.run(["bash", str(GIMP_TESTS / "dialog_tools.sh"), str(root)], capture_output=True,
                           text=True, timeout=600)
    assert tools.returncode == 0, f"dialog_tools.sh failed ({tools.returncode}):\n{tools.stderr[-3000:]}"
    TIMINGS["root and X tools (build or reuse)"] = time.monotonic() - started
    return root


@pytest.fixture(scope="module")
def session(gimp_root):
    """One GIMP with its interface opens the six dialogs; returns (the probe's reports, the batch's, GIMP's log,
    the folder on the host)."""
    host = Path(tempfile.mkdtemp(prefix="semantic-edit-dialogs-", dir=gimp_root / "tmp"))
    host.chmod(0o755)
    inside = "/" + str(host.relative_to(gimp_root))
    started = time.monotonic()
    install = subprocess.run(
        ["bash", str(INSTALL_PLUGIN), "--gimp-plugins-dir", str(host / "plug-ins"), "--gimp-python", GIMP_PYTHON,
         "--python", sys.executable], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert install.returncode == 0, install.stdout + install.stderr
    TIMINGS["install_plugin.sh"] = time.monotonic() - started
    photo = textured_background(427, 640, seed=3)
    disc = disc_mask(427, 640, 300.0, 200.0, 60.0)
    photo[disc] = DISC_COLOUR
    Image.fromarray(photo).save(host / "photo.png")
    Image.fromarray(np.repeat(disc[..., None] * np.uint8(255), 3, -1)).save(host / "disc.png")
    for script in ("dialog_batch.py", "dialog_probe.py"):
        shutil.copy(GIMP_TESTS / script, host / script)
    procedures = [f"semantic-edit-{edit}" for edit in PROCEDURES]
    (host / "batch.json").write_text(json.dumps({"image": f"{inside}/photo.png",
                                                 "layers": {"disc 1 (0.98)": f"{inside}/disc.png"},
                                                 "procedures": procedures}))
    (host / "variants.json").write_text(json.dumps({f"semantic-edit-{edit}": _variants(edit)
                                                    for edit in PROCEDURES}))
    started = time.monotonic()
    run = subprocess.run(["bash", str(GIMP_TESTS / "dialog_session.sh"), str(gimp_root), inside],
                         capture_output=True, text=True, timeout=SESSION_TIMEOUT_S)
    TIMINGS["GIMP with its interface, six dialogs"] = time.monotonic() - started
    log = (host / "gimp.log").read_text(errors="replace") if (host / "gimp.log").is_file() else ""
    batch_file = host / "out" / "batch.json"
    assert run.returncode == 0 and batch_file.is_file(), f"{run.stderr[-3000:]}\nGIMP's log:\n{log[-6000:]}"
    reports = {}
    for edit in PROCEDURES:
        report = host / "out" / f"semantic-edit-{edit}.json"
        reports[edit] = json.loads(report.read_text()) if report.is_file() else None
    target = os.environ.get("SEMANTIC_EDIT_SCREENSHOTS_TO")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        for edit in PROCEDURES:
            for suffix in ("", "-expanded"):
                shot = host / "out" / f"semantic-edit-{edit}{suffix}.png"
                if shot.is_file():  # 64 colours keep a dialog's screenshot small and sharp
                    Image.open(shot).convert("RGB").quantize(64).save(Path(target) / f"{edit}{suffix}.png",
                                                                      optimize=True)
    yield reports, json.loads(batch_file.read_text()), log, host
    shutil.rmtree(host, ignore_errors=True)


@pytest.fixture(scope="module", autouse=True)
def timing_report(request):
    yield
    if TIMINGS:
        capture = request.config.pluginmanager.getplugin("capturemanager")
        with capture.global_and_fixture_disabled():
            print("\nGIMP dialog timings:\n" + "\n".join(f"  {name}: {seconds:.1f} s"
                                                         for name, seconds in TIMINGS.items()), file=sys.stderr)


def _report(session, edit):
    reports, batch, log, host = session
    report = reports[edit]
    assert report is not None, f"no report for {edit}: {batch['procedures'].get(f'semantic-edit-{edit}')}\n" \
                               f"{log[-4000:]}"
    return report


def _variant(report, **changes):
    for variant in report["variants"]:
        if variant["set"] == changes:
            return variant["fields"]
    raise AssertionError(f"no variant {changes}")


def _usable(fields, *names):
    return {name: fields[name]["sensitive"] for name in names}


def test_each_dialog_opens_in_gimp_and_is_cancelled_by_the_probe(session):
    reports, batch, log, host = session
    assert "crashed" not in batch, batch.get("crashed")
    assert batch["gimp_version"].startswith("3."), batch["gimp_version"]
    for edit, title in PROCEDURES.items():
        assert batch["procedures"][f"semantic-edit-{edit}"]["status"] == "cancel", (edit, log[-3000:])
        assert _report(session, edit)["title"] == title


@pytest.mark.parametrize("edit", PROCEDURES)
def test_the_dialog_fits_a_1366x768_screen_folded_and_with_advanced_open(session, edit):
    report = _report(session, edit)
    for state in ("folded", "expanded"):
        geometry = report[state]
        assert geometry["xwininfo_rc"] == 0, geometry
        assert geometry["width"] <= SCREEN_WIDTH and geometry["height"] <= MAX_DIALOG_HEIGHT, (state, geometry)
        assert geometry["x"] + geometry["width"] <= SCREEN_WIDTH, (state, geometry)
        assert geometry["y"] + geometry["height"] <= SCREEN_HEIGHT, (state, geometry)
        shot = Image.open(session[3] / "out" / f"semantic-edit-{edit}{'' if state == 'folded' else '-expanded'}.png")
        assert shot.size == (geometry["width"], geometry["height"])
        assert np.asarray(shot.convert("L")).std() > 10  # a drawn dialog, not a blank window
    assert report["expanded"]["height"] >= report["folded"]["height"]


@pytest.mark.parametrize("edit", PROCEDURES)
def test_the_dialog_is_organised_in_frames_with_advanced_folded(session, edit):
    report = _report(session, edit)
    titles = [frame["title"] for frame in report["frames"] if frame["title"]]  # untitled: inside layer choosers
    assert titles == SECTIONS[edit]
    advanced = [frame for frame in report["frames"] if frame["title"] == "Advanced"]
    assert [(frame["kind"], frame["expanded"]) for frame in advanced] == [("expander", False)]
    fields = report["fields"]
    for section in LAYOUTS[edit].sections:
        for name in dialog_layout.Layout((section,), (), ()).fields():
            assert fields[name]["shown"], (edit, name)
            assert fields[name]["sections"][0] == section.title, (edit, name, fields[name])
            assert fields[name]["folded_away"] == section.expander, (edit, name)
            assert not report["expanded_fields"][name]["folded_away"], (edit, name)
            assert report["expanded_fields"][name]["mapped"], (edit, name)
    for name in SCRIPT_ONLY:  # the special numbers are never shown as numbers
        assert not fields.get(name, {"shown": False})["shown"], (edit, name)


@pytest.mark.parametrize("edit", [*TARGETED, "detect", "add"])
def test_special_numbers_show_as_ticked_words(session, edit):
    fields = _report(session, edit)["fields"]
    expected = {"max-objects-all": "All"}
    if edit in TARGETED:
        expected["instance-every"] = "Every one"
    if edit in FILLING:
        expected.update({"dilation-auto": "Automatic", "texture-preset": "As the preset"})
    for name, label in expected.items():
        assert (fields[name]["label"], fields[name]["value"]) == (label, True), (edit, name, fields[name])


@pytest.mark.parametrize("edit", TARGETED)
def test_only_the_fields_the_target_needs_are_usable(session, edit):
    report = _report(session, edit)
    needs = {"selection": set(), "mask-layer": {"mask-layer"}, "class": {"class-name", "instance-every"},
             "selection-hint": {"class-name"}}
    detecting = edit == "move"  # Move detects references named by class, whatever its target
    for target in TARGETS:
        fields = _variant(report, target=target)
        usable = _usable(fields, "mask-layer", "class-name", "instance-every", "instance-number")
        assert usable == {name: name in needs[target] for name in usable}, (edit, target)
        detection = _usable(fields, "score-threshold", "max-objects-all")
        assert detection == dict.fromkeys(detection, detecting or target in ("class", "selection-hint")), \
            (edit, target)
        assert fields["target"]["sensitive"] and fields["server"]["sensitive"]
    # The instance number only when "Every one" is unticked.
    assert _usable(_variant(report, target="class", **{"instance-every": False}), "instance-number") == \
        {"instance-number": True}
    # The dialog opens on target "Selection" with the fields it does not use greyed out.
    assert report["fields"]["target"]["value"] == "selection"
    assert not any(_usable(report["fields"], "mask-layer", "class-name", "instance-every").values())


@pytest.mark.parametrize("edit", FILLING)
def test_fill_fields_follow_the_fill_method_and_their_check_boxes(session, edit):
    report = _report(session, edit)
    opened = report["fields"]
    assert _usable(opened, "texture-preset", "texture-amount", "dilation-auto", "dilation-pixels") == \
        {"texture-preset": True, "texture-amount": False, "dilation-auto": True, "dilation-pixels": False}
    assert _usable(_variant(report, fill="dip"), "texture-preset", "texture-amount") == \
        {"texture-preset": False, "texture-amount": False}
    assert _usable(_variant(report, **{"texture-preset": False}), "texture-amount") == {"texture-amount": True}
    assert _usable(_variant(report, **{"dilation-auto": False}), "dilation-pixels") == {"dilation-pixels": True}


@pytest.mark.parametrize("edit", RELATING)
def test_a_reference_is_usable_once_its_relation_is_chosen(session, edit):
    report = _report(session, edit)
    slot_1 = ("reference-layer-1", "reference-class-1")
    assert not any(_usable(report["fields"], *slot_1).values())
    assert all(_usable(_variant(report, **{"relation-1": "left-of"}), *slot_1).values())
    assert not any(_usable(_variant(report, **{"relation-1": "left-of"}), "reference-layer-2").values())
    fields = report["fields"]
    assert [fields[name]["label"] for name in ("relation-1", "reference-layer-1", "reference-class-1")] == \
        ["Relation 1", "of layer", "or class"]


@pytest.mark.parametrize("edit", PROCEDURES)
def test_max_objects_is_a_number_only_when_all_is_unticked(session, edit):
    report = _report(session, edit)
    assert not report["fields"]["max-objects-count"]["sensitive"]
    changed = _variant(report, **{"max-objects-all": False})
    if edit in ("remove", "recolor", "replace"):  # detection only for the targets that detect: not "selection"
        assert not changed["max-objects-count"]["sensitive"]
    else:
        assert changed["max-objects-count"]["sensitive"]


def test_no_two_fields_of_a_dialog_share_a_keyboard_shortcut(session):
    """GIMP names each mnemonic letter used twice among a dialog's fields and buttons; the probe's own reading
    (which creates widgets for the arguments not shown) comes after its "reading" line and is left out."""
    reports, batch, log, host = session
    for edit in PROCEDURES:
        name = f"semantic-edit-{edit}"
        start = log.index(f"dialog_batch: opening {name}")
        end = log.index(f"dialog_probe: {name}: reading", start)
        duplicates = re.findall(r"duplicate mnemonic .*", log[start:end])
        assert not duplicates, (edit, duplicates)
