"""The plug-in without GIMP: its glue against a small fake of the Gimp API, and its plain gRPC client against a real
server on a loopback port. (tests/test_gimp_end_to_end.py runs the same plug-in inside a real GIMP 3.)"""
from __future__ import annotations

import dataclasses
import functools
import importlib
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import tempfile
import types
from pathlib import Path

import grpc
import numpy as np
import pytest

from inference_server.config import ServerConfig
from inference_server.service.server import create_server
from segmentation_checkpoints import PERSON_SCORE, write_rigged_checkpoint
from synthetic_images import DISC_COLOUR, disc_mask, disc_scene, textured_background

REPO = Path(__file__).resolve().parent.parent
PLUGIN_DIR = REPO / "gimp_plugin" / "semantic-edit"
INSTALL_PLUGIN = REPO / "gimp_plugin" / "install_plugin.sh"
sys.path.insert(0, str(PLUGIN_DIR))
import mask_bytes  # noqa: E402
import paste_requests as paste  # noqa: E402
import semantic_edit_client as sec  # noqa: E402
from semantic_edit.v1 import semantic_edit_pb2 as pb  # noqa: E402
from semantic_edit.v1 import semantic_edit_pb2_grpc as pb_grpc  # noqa: E402

# --- a small fake of the Gimp API: just what the glue touches -----------------------------------------------------

FORMAT_CHANNELS = {"Y' u8": 1, "R'G'B' u8": 3, "R'G'B'A u8": 4}


class FakeBuffer:
    """Pixels in one format; reading in another format fails, as the glue must use the drawable's own format."""

    def __init__(self, width, height, channels, data=None):
        self.width, self.height, self.channels = width, height, channels
        self.data = bytes(data) if data is not None else bytes(width * height * channels)

    def get(self, rect, scale, fmt, abyss):
        assert FORMAT_CHANNELS[fmt] == self.channels, f"read as {fmt}, stored with {self.channels} channels"
        rows = []
        for y in range(rect.y, rect.y + rect.height):
            row = bytearray(rect.width * self.channels)
            if 0 <= y < self.height:
                left, right = max(rect.x, 0), min(rect.x + rect.width, self.width)
                if left < right:
                    start = (y * self.width + left) * self.channels
                    row[(left - rect.x) * self.channels:(right - rect.x) * self.channels] = \
                        self.data[start:start + (right - left) * self.channels]
            rows.append(bytes(row))
        return b"".join(rows)

    def set(self, rect, fmt, data):
        assert (rect.x, rect.y, rect.width, rect.height) == (0, 0, self.width, self.height)
        assert FORMAT_CHANNELS[fmt] == self.channels and len(data) == len(self.data)
        self.data = bytes(data)

    def flush(self):
        pass


class Rectangle(types.SimpleNamespace):
    @staticmethod
    def new(x, y, width, height):
        return Rectangle(x=x, y=y, width=width, height=height)


class Item:
    _next_id = 1

    def __init__(self, image, name, width, height, channels, data=None):
        self.image, self.name, self.offsets, self.visible, self.parent = image, name, (0, 0), True, None
        self.id, Item._next_id = Item._next_id, Item._next_id + 1
        self.children, self.parasites, self.opacity, self.layer_mask = [], {}, 100.0, None
        self.buffer = FakeBuffer(width, height, channels, data)

    def attach_parasite(self, parasite): self.parasites[parasite.name] = parasite
    def get_parasite(self, name): return self.parasites.get(name)

    def parasite_json(self, name):
        return json.loads(bytes(self.parasites[name].get_data()).decode("utf-8"))

    def get_id(self): return self.id
    def get_image(self): return self.image
    def get_name(self): return self.name
    def get_width(self): return self.buffer.width
    def get_height(self): return self.buffer.height
    def has_alpha(self): return self.buffer.channels in (2, 4)
    def get_buffer(self): return self.buffer
    def get_offsets(self): return (True, *self.offsets)
    def set_offsets(self, x, y): self.offsets = (x, y)
    def get_visible(self): return self.visible
    def set_visible(self, visible): self.visible = visible
    def get_parent(self): return self.parent
    def get_mask(self): return self.layer_mask
    def is_group(self): return False
    def update(self, *rect): pass


class Layer(Item):
    @staticmethod
    def new(image, name, width, height, image_type, opacity, mode):
        layer = Layer(image, name, width, height, 4 if image_type == "RGBA_IMAGE" else 3)
        layer.opacity = opacity
        return layer


class LayerMask(Item):
    pass


class GroupLayer(Layer):
    @staticmethod
    def new(image, name):
        return GroupLayer(image, name, 1, 1, 4)

    def is_group(self): return True


class Image:
    _next_id = 100

    def __init__(self, width, height, base_type="RGB"):
        self.width, self.height, self.base_type, self.layers, self.undo_depth, self.undo_groups = \
            width, height, base_type, [], 0, 0
        self.id, Image._next_id = Image._next_id, Image._next_id + 1
        self.selection = Item(self, "selection", width, height, 1)

    def get_id(self): return self.id
    def get_base_type(self): return self.base_type
    def get_selection(self): return self.selection

    def siblings(self, parent):
        return parent.children if parent is not None else self.layers

    def insert_layer(self, layer, parent, position):
        assert self.undo_depth == 1, "layers must be added inside the undo group"
        layer.parent = parent
        self.siblings(parent).insert(position, layer)

    def get_item_position(self, item): return self.siblings(item.parent).index(item)

    def undo_group_start(self):
        self.undo_depth += 1
        self.undo_groups += 1

    def undo_group_end(self): self.undo_depth -= 1


class Selection:
    @staticmethod
    def is_empty(image): return mask_bytes.is_empty(image.selection.buffer.data)


class FakeGimp(types.ModuleType):
    """The Gimp module: classes and enums above, progress calls recorded in `calls`."""

    def __init__(self):
        super().__init__("Gimp")
        self.calls = []
        self.Layer, self.LayerMask, self.GroupLayer, self.Selection = Layer, LayerMask, GroupLayer, Selection
        self.ImageBaseType = types.SimpleNamespace(RGB="RGB", GRAY="GRAY")
        self.ImageType = types.SimpleNamespace(RGB_IMAGE="RGB_IMAGE", RGBA_IMAGE="RGBA_IMAGE")
        self.LayerMode = types.SimpleNamespace(NORMAL="NORMAL")
        self.RunMode = types.SimpleNamespace(INTERACTIVE="INTERACTIVE", NONINTERACTIVE="NONINTERACTIVE",
                                             WITH_LAST_VALS="WITH_LAST_VALS")
        self.parasites = {}  # GIMP's global parasites (parasiterc)
        self.PARASITE_PERSISTENT = 1
        self.Parasite = types.SimpleNamespace(new=lambda name, flags, data: types.SimpleNamespace(
            name=name, get_data=lambda: list(data)))
        self.attach_parasite = lambda parasite: self.parasites.__setitem__(parasite.name, parasite)
        self.get_parasite = self.parasites.get
        self.PDBStatusType = types.SimpleNamespace(SUCCESS="SUCCESS", EXECUTION_ERROR="EXECUTION_ERROR",
                                                   CANCEL="CANCEL")
        self.PlugIn = object
        self.config_folder = tempfile.mkdtemp(prefix="gimp-config-")  # GIMP's configuration folder
        self.directory = lambda: self.config_folder
        for name in ("progress_init", "progress_set_text", "progress_update", "progress_pulse", "progress_end",
                     "context_push", "context_pop", "displays_flush", "message"):
            setattr(self, name, lambda *args, _name=name: self.calls.append((_name, *args)))


class ValueArray(list):
    def index(self, i): return self[i]  # noqa: the GIMP API's name
    def remove(self, i): del self[i]  # noqa
    def length(self): return len(self)


class Procedure:
    def new_return_values(self, status, error):
        return ValueArray([status, error.message if error is not None else None])


class Config(dict):
    def get_property(self, name): return self[name]
    def set_property(self, name, value): self[name] = value


class GeglColor:
    """A GeglColor: linear-light RGBA floats (what GIMP's colour chooser stores for sRGB colours); get_bytes encodes
    them in the babl format asked for, here only 8-bit sRGB with its transfer curve (the API's colour)."""

    def __init__(self, red, green, blue, alpha=1.0):
        self.rgba = (red, green, blue, alpha)

    @staticmethod
    def from_srgb8(red, green, blue):
        def linear(value):
            c = value / 255
            return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
        return GeglColor(linear(red), linear(green), linear(blue))

    def get_bytes(self, babl_format):
        assert babl_format == "R'G'B'A u8", f"asked for {babl_format}: not 8-bit sRGB"

        def encode(c):
            c = min(max(c, 0.0), 1.0)
            return round(255 * (12.92 * c if c <= 0.0031308 else 1.055 * c ** (1 / 2.4) - 0.055))
        data = bytes(encode(c) for c in self.rgba[:3]) + bytes([round(255 * self.rgba[3])])
        return types.SimpleNamespace(get_data=lambda: data)


def settings_config(**overrides):
    return Config({"target": "selection", "mask-layer": None, "class-name": "", "instance": 0, "dilation": -1,
                   "quality": "fast", "fill": "synthesis", "texture": -1.0, "keep-shadow": False,
                   "score-threshold": 0.5, "max-objects": 0, "server": "127.0.0.1:50051", "iterations": 0,
                   **overrides})


def recolor_config(**overrides):
    return Config({"target": "selection", "mask-layer": None, "class-name": "", "instance": 0,
                   "color": GeglColor.from_srgb8(42, 75, 215), "strength": 1.0, "lightness": 1.0, "edge": 1,
                   "score-threshold": 0.5, "max-objects": 0, "server": "127.0.0.1:50051", **overrides})


def detect_config(**overrides):
    return Config({"score-threshold": 0.5, "max-objects": 0, "server": "127.0.0.1:50051", **overrides})


GLUE_MODULES = ("remove_object", "detect_objects", "recolor_object", "placing", "move_object", "replace_object",
                "add_object", "procedure_arguments")


@pytest.fixture
def gimp(monkeypatch):
    """Installs fake gi modules, imports the glue (remove_object, semantic-edit.py) against them; yields the fakes."""
    fake = FakeGimp()
    gi = types.ModuleType("gi")
    gi.require_version = lambda *args: None
    repository = types.ModuleType("gi.repository")
    repository.Gimp = fake
    repository.Gegl = types.SimpleNamespace(Rectangle=Rectangle,
                                            AbyssPolicy=types.SimpleNamespace(CLAMP="CLAMP", NONE="NONE"))
    repository.Babl = types.SimpleNamespace(format=lambda name: name)
    repository.GLib = types.SimpleNamespace(Error=lambda message: types.SimpleNamespace(message=message))
    repository.GObject = types.SimpleNamespace(Value=lambda gtype, value: value, TYPE_STRING=str)
    gi.repository = repository
    monkeypatch.setitem(sys.modules, "gi", gi)
    monkeypatch.setitem(sys.modules, "gi.repository", repository)
    for module in GLUE_MODULES:
        monkeypatch.delitem(sys.modules, module, raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    modules = {name: importlib.import_module(name) for name in GLUE_MODULES}
    spec = importlib.util.spec_from_file_location("semantic_edit_plugin", PLUGIN_DIR / "semantic-edit.py")
    plugin = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plugin)
    yield types.SimpleNamespace(Gimp=fake, plugin=plugin, **modules)
    for module in GLUE_MODULES:
        sys.modules.pop(module, None)


def rgb_layer(image, name="photo", width=40, height=30, channels=3, offsets=(0, 0), seed=0):
    data = np.random.default_rng(seed).integers(0, 256, (height, width, channels), np.uint8)
    layer = Layer(image, name, width, height, channels, data.tobytes())
    layer.offsets = offsets
    image.layers.append(layer)
    return layer


def select_box(image, x, y, width, height):
    selection = np.zeros((image.height, image.width), np.uint8)
    selection[y:y + height, x:x + width] = 255
    image.selection.buffer.data = selection.tobytes()


class FakeClient:
    """Answers like the server: the patch is the request's region with the hole painted grey. An object target's
    mask is `found` (the image's top-left quarter unless a test sets it); detect() answers `scene`."""

    requests: list = []
    detect_requests: list = []
    error: Exception | None = None
    scene: sec.SceneGraph | None = None
    found: np.ndarray | None = None

    def __init__(self, address):
        self.address = address

    def detect(self, request, on_wait=None):
        FakeClient.detect_requests.append(request)
        if FakeClient.error is not None:
            raise FakeClient.error
        on_wait()
        return FakeClient.scene

    @staticmethod
    def _object_mask(request):
        if request.target is None:
            return np.frombuffer(request.mask, np.uint8).reshape(request.height, request.width)
        if FakeClient.found is not None:
            return FakeClient.found
        mask = np.zeros((request.height, request.width), np.uint8)
        mask[:request.height // 2, :request.width // 2] = 255
        return mask

    def recolor(self, request, on_progress=None):
        """The region is the mask's box grown by the edge; the object's pixels get the colour, the edge's half of it;
        the masks "object" and "edge"."""
        FakeClient.requests.append(request)
        if FakeClient.error is not None:
            raise FakeClient.error
        on_progress(sec.Progress("queued", 0, 0, "Starting", 0.0))
        mask = self._object_mask(request) > 0
        grown = mask.copy()
        for _ in range(request.edge_px):
            grown[1:] |= grown[:-1].copy()
            grown[:-1] |= grown[1:].copy()
            grown[:, 1:] |= grown[:, :-1].copy()
            grown[:, :-1] |= grown[:, 1:].copy()
        ys, xs = np.nonzero(grown)
        x, y, w, h = xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
        box = (slice(y, y + h), slice(x, x + w))
        patch = np.frombuffer(request.pixels, np.uint8).reshape(request.height, request.width,
                                                                request.channels)[box].copy()
        patch[grown[box] & ~mask[box], :3] //= 2
        patch[mask[box], :3] = request.color
        masks = {name: np.where(m[box], 255, 0).astype(np.uint8).tobytes() for name, m in (("object", mask),
                                                                                          ("edge", grown))}
        return sec.RemoveResult(region=sec.Region(int(x), int(y), int(w), int(h)), channels=request.channels,
                                patch=patch.tobytes(), masks=masks, dilation_px=request.edge_px,
                                object_ids=(1,) if request.target else ())

    def remove(self, request, on_progress=None):
        FakeClient.requests.append(request)
        if FakeClient.error is not None:
            raise FakeClient.error
        for stage, step, total in (("queued", 0, 0), ("prepare", 1, 1), ("inpaint", 5, 10), ("inpaint", 10, 10),
                                   ("composite", 1, 1)):
            on_progress(sec.Progress(stage, step, total, f"{stage} {step}", sec.progress_fraction(stage, step, total)))
        mask = self._object_mask(request)
        ys, xs = np.nonzero(mask)
        x, y = xs.min(), ys.min()
        w, h = xs.max() - x + 1, ys.max() - y + 1
        pixels = np.frombuffer(request.pixels, np.uint8).reshape(request.height, request.width, request.channels)
        patch = pixels[y:y + h, x:x + w].copy()
        hole = mask[y:y + h, x:x + w] > 0
        patch[hole, :3] = 128
        object_mask = np.where(hole, 255, 0).astype(np.uint8).tobytes()
        return sec.RemoveResult(region=sec.Region(int(x), int(y), int(w), int(h)), channels=request.channels,
                                patch=patch.tobytes(), masks={"object": object_mask, "hole": object_mask},
                                iterations=10, dilation_px=0, object_ids=(1,) if request.target else ())

    # Move, replace, add: the object's place (if any) painted grey, the placed box painted FAKE_PASTE_VALUE; the
    # region spans both. Placements: FAKE_PLACEMENTS (move, add), the used one the request's candidate.
    @staticmethod
    def _pasted(request, object_mask, box, placements=()):
        placed = np.zeros((request.height, request.width), bool)
        placed[box.y:box.y + box.height, box.x:box.x + box.width] = True
        changed = placed | (object_mask > 0 if object_mask is not None else False)
        ys, xs = np.nonzero(changed)
        x, y, w, h = xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
        crop = (slice(y, y + h), slice(x, x + w))
        patch = np.frombuffer(request.pixels, np.uint8).reshape(request.height, request.width,
                                                                request.channels)[crop].copy()
        masks = {"placed": np.where(placed[crop], 255, 0).astype(np.uint8).tobytes()}
        if object_mask is not None:
            patch[object_mask[crop] > 0, :3] = 128
            masks["object"] = masks["hole"] = np.where(object_mask[crop] > 0, 255, 0).astype(np.uint8).tobytes()
        patch[placed[crop], :3] = FAKE_PASTE_VALUE
        return sec.RemoveResult(region=sec.Region(int(x), int(y), int(w), int(h)), channels=request.channels,
                                patch=patch.tobytes(), masks=masks, iterations=10 if object_mask is not None else 0,
                                placements=tuple(placements))

    def _placing(self, request, object_mask):
        FakeClient.requests.append(request)
        if FakeClient.error is not None:
            raise FakeClient.error
        chosen = FAKE_PLACEMENTS[min(request.candidate, len(FAKE_PLACEMENTS) - 1)]
        return self._pasted(request, object_mask, chosen.box, FAKE_PLACEMENTS)

    def move(self, request, on_progress=None):
        on_progress(sec.Progress("place", 1, 1, "Finding the new place", sec.progress_fraction("place", 1, 1)))
        return self._placing(request, self._object_mask(request))

    def add(self, request, on_progress=None):
        on_progress(sec.Progress("place", 1, 1, "Finding the new place", sec.progress_fraction("place", 1, 1)))
        return self._placing(request, None)

    def replace(self, request, on_progress=None):
        FakeClient.requests.append(request)
        if FakeClient.error is not None:
            raise FakeClient.error
        on_progress(sec.Progress("paste", 1, 1, "Pasting", sec.progress_fraction("paste", 1, 1)))
        mask = self._object_mask(request)
        ys, xs = np.nonzero(mask)
        box = sec.Region(int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))
        return self._pasted(request, mask, box)

    def close(self):
        pass


FAKE_PASTE_VALUE = 250
FAKE_PLACEMENTS = (sec.Placement(sec.Region(2, 3, 6, 5), True), sec.Placement(sec.Region(20, 10, 8, 6), False),
                   sec.Placement(sec.Region(30, 1, 5, 5), True))


@pytest.fixture
def fake_client():
    FakeClient.requests, FakeClient.detect_requests, FakeClient.error = [], [], None
    FakeClient.scene, FakeClient.found = None, None
    return FakeClient


@pytest.fixture
def plugin_with_fake_client(gimp, fake_client, monkeypatch):
    """The plug-in's run functions (semantic-edit.py) talking to FakeClient."""
    for module, name in ((gimp.remove_object, "remove_object"), (gimp.detect_objects, "detect_objects"),
                         (gimp.recolor_object, "recolor_object"), (gimp.move_object, "move_object"),
                         (gimp.replace_object, "replace_object"), (gimp.add_object, "add_object")):
        monkeypatch.setattr(module, name, functools.partial(getattr(module, name), client_factory=FakeClient))
    return gimp.plugin


def fake_object(object_id, class_name, score, instance, box, mask_region, seed):
    """A detected object whose mask is a random blob pattern over mask_region (0/255)."""
    x, y, w, h = mask_region
    mask = np.where(np.random.default_rng(seed).random((h, w)) < 0.6, 255, 0).astype(np.uint8)
    mask[0, 0] = 255
    return sec.DetectedObject(object_id, class_name, score, instance, sec.Region(*box), sec.Region(*mask_region),
                              mask.tobytes())


def fake_scene():
    """Three objects, highest score first, and the relations the server lists (symmetric ones both ways)."""
    objects = (fake_object(0, "person", 0.971, 2, (20, 5, 10, 20), (19, 4, 12, 22), seed=1),
               fake_object(1, "dog", 0.8049, 1, (8, 12, 9, 6), (8, 12, 9, 7), seed=2),
               fake_object(2, "person", 0.5, 1, (2, 3, 6, 18), (2, 3, 6, 18), seed=3))
    relations = tuple(sec.Relation(*r) for r in [(2, "left of", 0), (0, "right of", 2), (0, "near", 1),
                                                 (1, "near", 0), (1, "overlapping", 2), (2, "overlapping", 1)])
    return sec.SceneGraph(objects, relations, model="rigged-maskrcnn", seconds=1.25)


def run_glue(gimp, image, layers, client=None, **config):
    settings = gimp.remove_object.settings_from_config(settings_config(**config))
    return gimp.remove_object.remove_object(image, layers, settings, client_factory=client or FakeClient)


# --- the glue ---------------------------------------------------------------------------------------------------


def test_settings_map_the_arguments(gimp):
    settings = gimp.remove_object.settings_from_config(settings_config(dilation=-1, iterations=0, server=" h:1 "))
    assert (settings.dilation_px, settings.iterations, settings.server) == (None, None, "h:1")
    settings = gimp.remove_object.settings_from_config(settings_config(dilation=7, iterations=30, quality="best"))
    assert (settings.dilation_px, settings.iterations, settings.quality) == (7, 30, "best")


@pytest.mark.parametrize("fill, texture, expected", [
    ("synthesis", -1.0, ("synthesis", None)),  # the defaults: the preset's texture, left unset
    ("synthesis", 0.0, ("synthesis", 0.0)),  # 0 is a value (smooth), not "unset"
    ("synthesis", 0.25, ("synthesis", 0.25)),
    ("dip", -1.0, ("dip", None)),
    ("dip", 1.0, ("dip", 1.0)),
])
def test_fill_and_texture_are_read_by_remove_move_and_replace(gimp, fill, texture, expected):
    for settings in (gimp.remove_object.settings_from_config(settings_config(fill=fill, texture=texture)),
                     gimp.move_object.settings_from_config(move_config(("left-of", None, "cup"), fill=fill,
                                                                       texture=texture)),
                     gimp.replace_object.settings_from_config(replace_config(fill=fill, texture=texture))):
        assert (settings.fill, settings.texture) == expected, type(settings).__name__


class RecordedChoice:
    """Gimp.Choice: the options added, in order."""

    def __init__(self):
        self.options = []

    @staticmethod
    def new():
        return RecordedChoice()

    def add(self, nick, index, label, help_text):
        self.options.append((nick, index, label, help_text))


class RecordingProcedure:
    """A Gimp.ImageProcedure that records its arguments: name -> (kind, the add_*_argument call's other values)."""

    def __init__(self):
        self.arguments, self.return_values = {}, []

    def __getattr__(self, name):
        if name.startswith("add_") and name.endswith("_argument"):
            kind = name[len("add_"):-len("_argument")]
            return lambda argument, *values: self.arguments.__setitem__(argument, (kind, *values))
        if name.startswith("add_") and name.endswith("_return_value"):
            return lambda value, *values: self.return_values.append(value)
        return lambda *args: None  # set_menu_label, set_documentation, ...


@pytest.fixture
def registering(gimp, monkeypatch):
    """The fake Gimp, able to define procedures: returns a function name -> RecordingProcedure."""
    monkeypatch.setattr(gimp.Gimp, "Choice", RecordedChoice, raising=False)
    monkeypatch.setattr(gimp.Gimp, "ImageProcedure", types.SimpleNamespace(
        new=lambda *args: RecordingProcedure()), raising=False)
    monkeypatch.setattr(gimp.Gimp, "PDBProcType", types.SimpleNamespace(PLUGIN="PLUGIN"), raising=False)
    monkeypatch.setattr(gimp.Gimp, "ProcedureSensitivityMask", types.SimpleNamespace(DRAWABLE="DRAWABLE"),
                        raising=False)
    monkeypatch.setattr(gimp.plugin, "GObject", types.SimpleNamespace(
        ParamFlags=types.SimpleNamespace(READWRITE="READWRITE")))
    return lambda name: gimp.plugin.SemanticEdit().do_create_procedure(name)


def test_fill_method_and_texture_are_declared_where_a_hole_is_filled(gimp, registering):
    fill_arguments = ["dilation", "quality", "fill", "texture"]
    layouts = gimp.plugin.dialog_layout
    for name, dialog in (("semantic-edit-remove", layouts.REMOVE.fields()),
                         ("semantic-edit-move", layouts.MOVE.fields()),
                         ("semantic-edit-replace", layouts.REPLACE.fields())):
        arguments = registering(name).arguments
        names = list(arguments)
        start = names.index("dilation")
        assert names[start:start + 4] == fill_arguments, name
        assert "iterations" in names, name
        kind, label, help_text, fill_choice, default, flags = arguments["fill"]
        assert (kind, default, flags) == ("choice", "synthesis", "READWRITE"), name
        assert fill_choice.options == [
            ("synthesis", 0, "Synthesis", "Structure and the photo's own texture, seconds"),
            ("dip", 1, "DIP", "SIMBIL's background-guided Deep Image Prior, minutes without a GPU")]
        kind, label, help_text, low, high, default, flags = arguments["texture"]
        assert (kind, low, high, default) == ("double", -1.0, 1.0, -1.0), name  # -1 = the preset's: left unset
        assert "Synthesis only" in help_text and "-1 = the preset's" in help_text
        kind, label, help_text, low, high, default, flags = arguments["iterations"]
        assert (kind, low, high, default) == ("int", 0, 20000, 0)
        assert "DIP" in help_text and "synthesis" in help_text and "0 = the preset's" in help_text
        # The dialog shows the fill; dilation and texture as a number with a check box for -1 (dialog_layout.py)
        assert {"quality", "fill", "dilation-pixels", "dilation-auto", "texture-amount", "texture-preset"} <= \
            set(dialog), name
    for name in ("semantic-edit-add", "semantic-edit-detect"):  # nothing filled: no fill arguments
        assert not {"fill", "texture", "quality"} & set(registering(name).arguments), name
    assert not {"fill", "texture-amount"} & set(layouts.ADD.fields() + layouts.RECOLOR.fields())


@pytest.mark.parametrize("overrides, words", [
    ({"target": "lasso"}, "target must be one of: selection, mask-layer, class, selection-hint; got 'lasso'"),
    ({"target": "class"}, "Target is 'class' but no class name is given"),
    ({"target": "class", "class-name": "  ", "instance": 2}, "Target is 'class' but no class name is given"),
    ({"quality": "ultra"}, "quality must be one of: fast, balanced, best; got 'ultra'"),
    ({"fill": "patchmatch"}, "fill must be one of: synthesis, dip; got 'patchmatch'"),
    ({"server": "localhost"}, "must be host:port, e.g. 127.0.0.1:50051"),
    ({"server": "localhost:http"}, "has no valid port"),
])
def test_bad_arguments_are_refused_with_a_sentence(gimp, overrides, words):
    with pytest.raises(gimp.remove_object.PluginError, match=None) as error:
        gimp.remove_object.settings_from_config(settings_config(**overrides))
    assert words in str(error.value)


def test_result_group_is_named_placed_above_the_source_and_holds_the_layers(gimp, fake_client):
    image = Image(120, 90)
    top = rgb_layer(image, "top", seed=1)
    source = rgb_layer(image, "photo", offsets=(30, 20))
    source_before = source.buffer.data
    select_box(image, 40, 25, 12, 8)  # image coordinates: (10, 5) in the layer's own pixels

    result_layer = run_glue(gimp, image, [source])

    request = fake_client.requests[0]
    assert (request.width, request.height, request.channels, request.pixels) == (40, 30, 3, source_before)
    assert (request.quality, request.dilation_px, request.iterations) == ("fast", None, None)
    assert (request.fill, request.texture) == ("synthesis", None)
    sent = np.frombuffer(request.mask, np.uint8).reshape(30, 40)
    assert sent[5:13, 10:22].all() and sent.sum() == 255 * 12 * 8  # the selection, in the layer's pixels

    group = image.layers[1]
    assert [layer.name for layer in image.layers] == ["top", "Remove: selection", "photo"]
    assert group.is_group() and group.children[-1] is result_layer and top.parent is None
    assert [(c.name, c.visible) for c in group.children] == [
        ("object mask", False), ("hole (dilated)", False), ("photo (object removed)", True)]
    for child in group.children:  # the region (10, 5) + the layer's offsets (30, 20)
        assert (child.offsets, child.get_width(), child.get_height()) == ((40, 25), 12, 8)
    assert result_layer.buffer.data == bytes([128]) * (12 * 8 * 3)
    assert group.children[0].buffer.data == bytes([255]) * (12 * 8 * 3)  # white where the object was
    assert source.buffer.data == source_before and source.offsets == (30, 20)
    assert (image.undo_groups, image.undo_depth) == (1, 0)


def test_progress_bar_shows_the_server_stage_text_and_fraction(gimp, fake_client):
    image = Image(40, 30)
    source = rgb_layer(image)
    select_box(image, 5, 5, 4, 4)
    run_glue(gimp, image, [source])
    calls = gimp.Gimp.calls
    assert calls[0][0] == "progress_init" and "'photo'" in calls[0][1]
    texts = [call[1] for call in calls if call[0] == "progress_set_text"]
    fractions = [call[1] for call in calls if call[0] == "progress_update"]
    assert texts == ["queued 0", "prepare 1", "inpaint 5", "inpaint 10", "composite 1"]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and 0.4 < fractions[2] < 0.6
    assert ("progress_end",) in calls


def test_remove_sends_the_fill_method_and_texture_chosen(gimp, plugin_with_fake_client, fake_client):
    image = Image(40, 30)
    source = rgb_layer(image)
    select_box(image, 10, 5, 12, 8)

    values = gimp.plugin.run_remove(Procedure(), "NONINTERACTIVE", image, [source],
                                    settings_config(fill="dip", texture=0.75, iterations=40), None)

    assert values.index(0) == "SUCCESS", values.index(1)
    [request] = fake_client.requests
    assert (request.fill, request.texture, request.iterations) == ("dip", 0.75, 40)


def test_rgba_layer_is_read_and_written_in_its_own_format(gimp, fake_client):
    image = Image(40, 30)
    source = rgb_layer(image, channels=4)
    select_box(image, 5, 6, 10, 3)
    result_layer = run_glue(gimp, image, [source])
    assert fake_client.requests[0].channels == 4 and result_layer.buffer.channels == 4
    alpha = np.frombuffer(result_layer.buffer.data, np.uint8).reshape(3, 10, 4)[..., 3]
    source_alpha = np.frombuffer(source.buffer.data, np.uint8).reshape(30, 40, 4)[6:9, 5:15, 3]
    assert np.array_equal(alpha, source_alpha)


def test_mask_layer_with_its_own_offsets_and_alpha(gimp, fake_client):
    image = Image(100, 80)
    source = rgb_layer(image, offsets=(10, 10))
    mask = np.zeros((20, 30, 4), np.uint8)
    mask[2:6, 3:9] = (255, 255, 255, 255)  # object
    mask[10:14, 3:9] = (255, 255, 255, 0)  # white but transparent: not object
    mask_layer = Layer(image, "my mask", 30, 20, 4, mask.tobytes())
    mask_layer.offsets = (15, 12)  # (5, 2) in the source layer's pixels
    image.layers.insert(0, mask_layer)

    run_glue(gimp, image, [source], target="mask-layer", **{"mask-layer": mask_layer})

    sent = np.frombuffer(fake_client.requests[0].mask, np.uint8).reshape(30, 40)
    expected = np.zeros((30, 40), bool)
    expected[4:8, 8:14] = True
    assert np.array_equal(sent > 0, expected)
    assert image.layers[1].name == "Remove: my mask"


@pytest.mark.parametrize("case, words", [
    ("no selection", "There is no selection: select the object first"),
    ("selection elsewhere", "The selection does not touch layer 'photo'"),
    ("no mask layer", "no mask layer is chosen: pick the layer that holds the object's mask"),
    ("empty mask", "The mask layer 'blank' is empty where it overlaps layer 'photo'"),
    ("mask is the source", "is the layer being edited"),
    ("two layers", "edits one layer at a time, but 2 are selected"),
    ("layer group", "'group' is a layer group"),
    ("grey image", "convert this one with Image > Mode > RGB"),
])
def test_user_errors_become_sentences_and_change_nothing(gimp, fake_client, case, words):
    image = Image(60, 50, base_type="GRAY" if case == "grey image" else "RGB")
    source = rgb_layer(image, offsets=(20, 20))
    drawables, config = [source], {}
    if case == "selection elsewhere":
        select_box(image, 0, 0, 10, 10)
    elif case == "no mask layer":
        config = {"target": "mask-layer"}
    elif case == "empty mask":
        blank = Layer(image, "blank", 60, 50, 3)
        image.layers.insert(0, blank)
        config = {"target": "mask-layer", "mask-layer": blank}
    elif case == "mask is the source":
        config = {"target": "mask-layer", "mask-layer": source}
    elif case == "two layers":
        drawables = [source, rgb_layer(image, "other")]
    elif case == "layer group":
        drawables = [GroupLayer.new(image, "group")]
    elif case not in ("no selection", "grey image"):
        raise AssertionError(case)
    if case in ("two layers", "layer group", "grey image"):
        select_box(image, 25, 25, 5, 5)
    layers_before = list(image.layers)

    values = gimp.plugin.run_remove(Procedure(), "NONINTERACTIVE", image, drawables, settings_config(**config), None)

    assert values.index(0) == "EXECUTION_ERROR"
    assert words in values.index(1)
    assert image.layers == layers_before and image.undo_groups == 0


def test_server_sentences_are_shown_as_they_are(gimp, fake_client):
    image = Image(40, 30)
    source = rgb_layer(image)
    select_box(image, 5, 5, 4, 4)
    sentence = "dilation must be between 0 and 256 px, or -1 for automatic; got 300"
    fake_client.error = sec.InvalidRequestError(sentence)
    with pytest.raises(gimp.remove_object.PluginError) as error:
        run_glue(gimp, image, [source])
    assert str(error.value) == sentence
    assert ("progress_end",) in gimp.Gimp.calls and image.undo_groups == 0


def test_missing_grpc_says_to_rerun_the_installer(gimp, monkeypatch):
    monkeypatch.setitem(sys.modules, "grpc", None)  # "import grpc" now fails as in a GIMP without it
    image = Image(40, 30)
    source = rgb_layer(image)
    select_box(image, 5, 5, 4, 4)
    values = gimp.plugin.run_remove(Procedure(), "NONINTERACTIVE", image, [source], settings_config(), None)
    assert values.index(0) == "EXECUTION_ERROR"
    assert "cannot load gRPC" in values.index(1) and "Re-run ./install.sh" in values.index(1)


def test_a_bad_connection_file_is_a_message_and_a_good_one_gives_the_token(gimp, tmp_path):
    from pathlib import Path

    settings = Path(gimp.Gimp.directory()) / "semantic-edit-connection.json"
    token = "glue-token-0123456789abcdef"
    (tmp_path / "token.txt").write_text(token + "\n")
    settings.write_text(json.dumps({"gpu-box:50051": {"token_file": str(tmp_path / "token.txt")}}))
    client = gimp.remove_object.connected_client("gpu-box:50051")
    try:
        assert client._metadata == (("authorization", f"Bearer {token}"),)
    finally:
        client.close()
    settings.write_text("{broken")
    image = Image(40, 30)
    source = rgb_layer(image)
    select_box(image, 5, 5, 4, 4)
    values = gimp.plugin.run_remove(Procedure(), "NONINTERACTIVE", image, [source], settings_config(), None)
    assert values.index(0) == "EXECUTION_ERROR"
    assert "semantic-edit-connection.json is not a JSON object" in values.index(1) and token not in values.index(1)
    settings.unlink()


def test_layer_names_and_relation_lines(gimp):
    detect = gimp.detect_objects
    scene = fake_scene()
    assert [detect.layer_name(obj) for obj in scene.objects] == ["person 2 (0.97)", "dog 1 (0.80)",
                                                                 "person 1 (0.50)"]
    assert detect.layer_name(sec.DetectedObject(0, "traffic light", 0.576116, 3, *[sec.Region(0, 0, 1, 1)] * 2,
                                                b"\xff")) == "traffic light 3 (0.58)"
    assert detect.relation_lines(scene) == ["person 1 left of person 2", "person 2 right of person 1",
                                            "person 2 near dog 1", "dog 1 overlapping person 1"]
    assert detect.object_relations(scene, 0) == ["right of person 1", "near dog 1"]


def test_detect_adds_a_group_of_mask_layers_above_the_source(gimp, fake_client, plugin_with_fake_client):
    image = Image(120, 90)
    rgb_layer(image, "top", seed=1)
    source = rgb_layer(image, "photo", offsets=(30, 20))
    source_before = source.buffer.data
    scene = fake_client.scene = fake_scene()

    values = gimp.plugin.run_detect(Procedure(), "NONINTERACTIVE", image, [source],
                                    detect_config(**{"score-threshold": 0.4, "max-objects": 3}), None)

    assert values.index(0) == "SUCCESS", values.index(1)
    request = fake_client.detect_requests[0]
    assert (request.width, request.height, request.channels, request.pixels) == (40, 30, 3, source_before)
    assert (request.score_threshold, request.max_objects) == (0.4, 3)
    group = values.index(1)
    assert [layer.name for layer in image.layers] == ["top", "Objects", "photo"] and image.layers[1] is group
    assert [child.name for child in group.children] == ["person 2 (0.97)", "dog 1 (0.80)", "person 1 (0.50)"]
    for child, obj in zip(group.children, scene.objects):
        r = obj.mask_region  # in the source's pixels; the layer sits there in the image
        assert (child.offsets, child.get_width(), child.get_height()) == ((30 + r.x, 20 + r.y), r.width, r.height)
        assert child.buffer.channels == 4 and child.visible and child.opacity == 50.0
        rgba = np.frombuffer(child.buffer.data, np.uint8).reshape(r.height, r.width, 4)
        mask = np.frombuffer(obj.mask, np.uint8).reshape(r.height, r.width)
        assert (rgba == mask[..., None]).all()  # opaque white on the object, transparent elsewhere
        assert child.parasite_json("semantic-edit-object") == {
            "id": obj.id, "class": obj.class_name, "instance": obj.instance, "score": obj.score,
            "box": [obj.box.x, obj.box.y, obj.box.width, obj.box.height],
            "relations": gimp.detect_objects.object_relations(scene, obj.id)}
    saved = group.parasite_json("semantic-edit-scene")
    assert saved["source"] == "photo" and saved["model"] == "rigged-maskrcnn"
    assert saved["detection"] == {"score_threshold": 0.4, "max_objects": 3}
    assert [o["layer"] for o in saved["objects"]] == [child.name for child in group.children]
    assert saved["relations"][:2] == [[2, "left of", 0], [0, "right of", 2]] and len(saved["relations"]) == 6
    assert values.index(2) == "person 1 left of person 2\nperson 2 right of person 1\nperson 2 near dog 1\n" \
                              "dog 1 overlapping person 1"
    assert source.buffer.data == source_before and source.offsets == (30, 20)
    assert (image.undo_groups, image.undo_depth) == (1, 0)
    calls = [call[0] for call in gimp.Gimp.calls]
    assert "progress_pulse" in calls and "progress_end" in calls
    assert "message" not in calls  # scripts read the returned relations; no dialog pops up


def test_interactive_detect_shows_the_objects_and_relations_in_a_message(gimp, fake_client, plugin_with_fake_client,
                                                                          monkeypatch):
    monkeypatch.setattr(gimp.plugin, "_show_dialog", lambda procedure, config, *args: True)
    image = Image(60, 40)
    source = rgb_layer(image, "photo")
    fake_client.scene = fake_scene()
    values = gimp.plugin.run_detect(Procedure(), "INTERACTIVE", image, [source], detect_config(), None)
    assert values.index(0) == "SUCCESS"
    [message] = [call[1] for call in gimp.Gimp.calls if call[0] == "message"]
    assert message.splitlines() == [
        "Found 3 objects in 'photo' (rigged-maskrcnn, 1.2 s); the layer group 'Objects' holds one mask layer per "
        "object.",
        "person 2 (0.97): right of person 1, near dog 1",
        "dog 1 (0.80): near person 2, overlapping person 1",
        "person 1 (0.50): left of person 2, overlapping dog 1"]


def test_detect_finding_nothing_or_failing_changes_nothing(gimp, fake_client, plugin_with_fake_client):
    image = Image(60, 40)
    source = rgb_layer(image, "photo")
    fake_client.scene = sec.SceneGraph((), (), "rigged-maskrcnn", 0.5)
    values = gimp.plugin.run_detect(Procedure(), "NONINTERACTIVE", image, [source], detect_config(), None)
    assert values.index(0) == "EXECUTION_ERROR"
    assert "found no objects in 'photo' scoring above 0.50: lower the score threshold" in values.index(1)
    sentence = ("The server at h:1 cannot find objects (by class or box) because its segmentation model is not "
                "loaded: ... ./install.sh --weights FILE ...")
    fake_client.error = sec.SegmentationUnavailableError(sentence)
    values = gimp.plugin.run_detect(Procedure(), "NONINTERACTIVE", image, [source], detect_config(), None)
    assert (values.index(0), values.index(1)) == ("EXECUTION_ERROR", sentence)
    values = gimp.plugin.run_detect(Procedure(), "NONINTERACTIVE", image, [source, source], detect_config(), None)
    assert "Detect Objects looks at one layer at a time, but 2 are selected" in values.index(1)
    assert image.layers == [source] and image.undo_groups == 0


def test_a_detect_layer_repainted_is_the_mask_of_remove(gimp, fake_client, plugin_with_fake_client):
    image = Image(120, 90)
    source = rgb_layer(image, "photo", offsets=(30, 20))
    fake_client.scene = fake_scene()
    group = gimp.plugin.run_detect(Procedure(), "NONINTERACTIVE", image, [source], detect_config(), None).index(1)
    dog = group.children[1]
    rgba = np.frombuffer(dog.buffer.data, np.uint8).reshape(7, 9, 4).copy()
    rgba[:3] = 0  # the person paints the top rows out (transparent)
    dog.buffer.data = rgba.tobytes()

    run_glue(gimp, image, [source], target="mask-layer", **{"mask-layer": dog})

    sent = np.frombuffer(fake_client.requests[0].mask, np.uint8).reshape(30, 40)
    expected = np.zeros((30, 40), np.uint8)
    expected[12:19, 8:17] = rgba[..., 3]  # the dog's mask region (8, 12) in the source's pixels
    assert np.array_equal(sent > 0, expected > 0) and fake_client.requests[0].target is None
    assert [layer.name for layer in image.layers] == ["Objects", "Remove: dog 1 (0.80)", "photo"]


@pytest.mark.parametrize("config, target, group_name", [
    ({"class-name": " Person ", "instance": 2, "score-threshold": 0.3, "max-objects": 5},
     sec.ObjectTarget("Person", 2, None, 0.3, 5), "Remove: Person 2"),
    ({"class-name": "dog"}, sec.ObjectTarget("dog", 0, None, 0.5, 0), "Remove: every dog"),
])
def test_remove_by_class_sends_the_name_and_no_mask(gimp, fake_client, config, target, group_name):
    image = Image(120, 90)
    source = rgb_layer(image, "photo", offsets=(30, 20))
    Gimp = gimp.Gimp
    result_layer = run_glue(gimp, image, [source], target="class", **config)
    request = fake_client.requests[0]
    assert request.mask is None and request.target == target
    assert target.server_name == ("Person:2" if target.instance else "dog")
    group = image.layers[0]
    assert group.name == group_name and group.children[-1] is result_layer
    assert result_layer.offsets == (30, 20)  # the fake finds the layer's top-left quarter
    assert ("progress_end",) in Gimp.calls and (image.undo_groups, image.undo_depth) == (1, 0)


@pytest.mark.parametrize("class_name, group_name", [("", "Remove: object in selection"),
                                                    ("dog", "Remove: dog in selection")])
def test_remove_selection_hint_sends_the_selections_box_in_the_layers_pixels(gimp, fake_client, class_name,
                                                                            group_name):
    image = Image(120, 90)
    source = rgb_layer(image, "photo", offsets=(30, 20))
    select_box(image, 40, 25, 12, 8)  # (10, 5) in the layer's pixels
    image.selection.buffer.data = image.selection.buffer.data[:-1] + b"\x01"  # a speck outside the layer: ignored
    run_glue(gimp, image, [source], target="selection-hint", instance=3, **{"class-name": class_name})
    target = fake_client.requests[0].target
    assert target == sec.ObjectTarget(class_name or None, 0, sec.Region(10, 5, 12, 8), 0.5, 0)  # instance unused
    assert image.layers[0].name == group_name


def test_remove_target_errors_are_sentences(gimp, fake_client, plugin_with_fake_client):
    image = Image(60, 40)
    source = rgb_layer(image, "photo")
    values = gimp.plugin.run_remove(Procedure(), "NONINTERACTIVE", image, [source],
                                    settings_config(target="selection-hint"), None)
    assert "There is no selection" in values.index(1)
    fake_client.error = sec.ObjectNotFoundError("No 'dog' found; found: person.")
    values = gimp.plugin.run_remove(Procedure(), "NONINTERACTIVE", image, [source],
                                    settings_config(target="class", **{"class-name": "dog"}), None)
    assert values.index(0) == "EXECUTION_ERROR"
    assert values.index(1) == ("No 'dog' found; found: person. Filters > Semantic Edit > Detect Objects... shows "
                               "what the server finds.")
    assert image.layers == [source] and image.undo_groups == 0


# --- Recolor Object -------------------------------------------------------------------------------------------------


def run_recolor(gimp, image, drawables, **config):
    return gimp.plugin.run_recolor(Procedure(), "NONINTERACTIVE", image, drawables, recolor_config(**config), None)


@pytest.mark.parametrize("color, expected", [
    (GeglColor.from_srgb8(42, 75, 215), (42, 75, 215)),  # what GIMP's hex field shows comes back exactly
    (GeglColor(0.5, 0.5, 0.5), (188, 188, 188)),  # linear-light mid grey is sRGB 188, not 128
    (GeglColor(1.4, -0.2, 0.2159, 0.25), (255, 0, 128)),  # outside sRGB: clipped; the colour's alpha is dropped
    (GeglColor(0.0, 0.0, 0.0, 0.0), (0, 0, 255)),  # what GIMP 3.0 passes for a script's unset colour: the default
    (None, (0, 0, 255)),
    (GeglColor(0.0, 0.0, 0.0), (0, 0, 0)),  # black is a colour
])
def test_recolor_settings_take_the_colour_as_8_bit_srgb(gimp, color, expected):
    settings = gimp.recolor_object.settings_from_config(recolor_config(
        color=color, strength=0.25, lightness=0.0, edge=64, **{"class-name": " traffic   light ", "target": "class",
                                                               "instance": 2, "server": " h:1 "}))
    assert settings.color == expected and all(type(c) is int for c in settings.color)
    assert (settings.strength, settings.lightness, settings.edge_px) == (0.25, 0.0, 64)
    assert (settings.target, settings.class_name, settings.instance, settings.server) == (
        "class", "traffic light", 2, "h:1")


@pytest.mark.parametrize("overrides, words", [
    ({"strength": 1.5}, "strength must be between 0 (no change) and 1 (the full new colour); got 1.5"),
    ({"strength": float("nan")}, "strength must be between 0 (no change) and 1"),
    ({"lightness": -0.25}, "lightness must be between 0 (each pixel keeps its lightness) and 1 (the object takes "
                           "the colour's lightness); got -0.25"),
    ({"edge": 65}, "edge must be between 0 and 64 px; got 65"),
    ({"edge": -1}, "edge must be between 0 and 64 px; got -1"),
    ({"target": "lasso"}, "target must be one of: selection, mask-layer, class, selection-hint; got 'lasso'"),
    ({"target": "class"}, "Target is 'class' but no class name is given"),
    ({"score-threshold": 2.0}, "score-threshold must be between 0 and 1; got 2.0"),
    ({"server": "localhost"}, "must be host:port, e.g. 127.0.0.1:50051"),
])
def test_recolor_bad_arguments_are_execution_errors_with_a_sentence(gimp, fake_client, overrides, words):
    image = Image(40, 30)
    source = rgb_layer(image)
    select_box(image, 5, 5, 4, 4)
    values = run_recolor(gimp, image, [source], **overrides)
    assert values.index(0) == "EXECUTION_ERROR" and words in values.index(1)
    assert fake_client.requests == [] and image.layers == [source] and image.undo_groups == 0


@pytest.mark.parametrize("channels", [3, 4])
def test_recolor_adds_a_group_above_the_source_with_the_result_and_hidden_masks(
        gimp, fake_client, plugin_with_fake_client, channels):
    image = Image(120, 90)
    top = rgb_layer(image, "top", seed=1)
    source = rgb_layer(image, "photo", channels=channels, offsets=(30, 20))
    source_before = source.buffer.data
    select_box(image, 40, 25, 12, 8)  # image coordinates: (10, 5) in the layer's own pixels

    values = run_recolor(gimp, image, [source], strength=0.5, lightness=0.25, edge=2)

    assert values.index(0) == "SUCCESS", values.index(1)
    result_layer = values.index(1)
    request = fake_client.requests[0]
    assert isinstance(request, sec.RecolorRequest) and request.target is None
    assert (request.width, request.height, request.channels, request.pixels) == (40, 30, channels, source_before)
    assert (request.color, request.strength, request.lightness, request.edge_px) == ((42, 75, 215), 0.5, 0.25, 2)
    sent = np.frombuffer(request.mask, np.uint8).reshape(30, 40)
    assert sent[5:13, 10:22].all() and sent.sum() == 255 * 12 * 8  # the selection, in the layer's pixels

    group = image.layers[1]
    assert [layer.name for layer in image.layers] == ["top", "Recolor: selection", "photo"]
    assert group.is_group() and group.children[-1] is result_layer and top.parent is None
    assert [(c.name, c.visible) for c in group.children] == [
        ("object mask", False), ("object + edge", False), ("photo (recolored)", True)]
    for child in group.children:  # the region (10, 5) grown by the 2 px edge, + the layer's offsets (30, 20)
        assert (child.offsets, child.get_width(), child.get_height()) == ((38, 23), 16, 12)
    assert result_layer.buffer.channels == channels  # the source's format, alpha included
    patch = np.frombuffer(result_layer.buffer.data, np.uint8).reshape(12, 16, channels)
    original = np.frombuffer(source_before, np.uint8).reshape(30, 40, channels)[3:15, 8:24]
    assert (patch[2:10, 2:14, :3] == (42, 75, 215)).all() and np.array_equal(patch[..., 3:], original[..., 3:])
    object_mask = np.frombuffer(group.children[0].buffer.data, np.uint8).reshape(12, 16, 3)
    edge_mask = np.frombuffer(group.children[1].buffer.data, np.uint8).reshape(12, 16, 3)
    assert object_mask[2:10, 2:14].min() == 255 and object_mask.sum() == 255 * 3 * 12 * 8
    assert edge_mask.min() == 255  # the box grown by the 2 px edge: the whole region
    assert source.buffer.data == source_before and source.offsets == (30, 20)
    assert (image.undo_groups, image.undo_depth) == (1, 0)
    calls = [call[0] for call in gimp.Gimp.calls]
    assert calls[0] == "progress_init" and "progress_end" in calls
    assert "to #2a4bd7" in gimp.Gimp.calls[0][1]


@pytest.mark.parametrize("config, target, group_name", [
    ({"target": "class", "class-name": "person", "instance": 2, "max-objects": 4},
     sec.ObjectTarget("person", 2, None, 0.5, 4), "Recolor: person 2"),
    ({"target": "class", "class-name": "dog"}, sec.ObjectTarget("dog", 0, None, 0.5, 0), "Recolor: every dog"),
    ({"target": "selection-hint"}, sec.ObjectTarget(None, 0, sec.Region(10, 5, 12, 8), 0.5, 0),
     "Recolor: object in selection"),
])
def test_recolor_targets_objects_named_as_remove_does(gimp, fake_client, plugin_with_fake_client, config, target,
                                                      group_name):
    image = Image(120, 90)
    source = rgb_layer(image, "photo", offsets=(30, 20))
    select_box(image, 40, 25, 12, 8)
    values = run_recolor(gimp, image, [source], edge=0, **config)
    assert values.index(0) == "SUCCESS", values.index(1)
    request = fake_client.requests[0]
    assert request.mask is None and request.target == target
    assert [layer.name for layer in image.layers] == [group_name, "photo"]
    assert values.index(1).offsets == (30, 20)  # the fake finds the layer's top-left quarter


def test_recolor_with_a_mask_layer(gimp, fake_client, plugin_with_fake_client):
    image = Image(100, 80)
    source = rgb_layer(image, offsets=(10, 10))
    mask = np.zeros((20, 30, 3), np.uint8)
    mask[2:6, 3:9] = 255
    mask_layer = Layer(image, "my mask", 30, 20, 3, mask.tobytes())
    mask_layer.offsets = (15, 12)  # (5, 2) in the source layer's pixels
    image.layers.insert(0, mask_layer)
    values = run_recolor(gimp, image, [source], target="mask-layer", **{"mask-layer": mask_layer})
    assert values.index(0) == "SUCCESS", values.index(1)
    sent = np.frombuffer(fake_client.requests[0].mask, np.uint8).reshape(30, 40)
    expected = np.zeros((30, 40), bool)
    expected[4:8, 8:14] = True
    assert np.array_equal(sent > 0, expected)
    assert [layer.name for layer in image.layers] == ["my mask", "Recolor: my mask", "photo"]


@pytest.mark.parametrize("case, words", [
    ("no selection", "There is no selection: select the object first"),
    ("selection elsewhere", "The selection does not touch layer 'photo'"),
    ("no mask layer", "Target is 'mask-layer' but no mask layer is chosen"),
    ("two layers", "Recolor Object edits one layer at a time, but 2 are selected"),
    ("grey image", "Recolor Object works on RGB images: convert this one with Image > Mode > RGB"),
    ("server sentence", "the mask covers the whole image: the object's colour is judged against the rest; mark only "
                        "the object"),
    ("not found", "No 'dog' found; found: person. Filters > Semantic Edit > Detect Objects... shows what the "
                  "server finds."),
])
def test_recolor_failures_are_sentences_and_change_nothing(gimp, fake_client, plugin_with_fake_client, case, words):
    image = Image(60, 50, base_type="GRAY" if case == "grey image" else "RGB")
    source = rgb_layer(image, offsets=(20, 20))
    drawables, config = [source], {}
    if case == "selection elsewhere":
        select_box(image, 0, 0, 10, 10)
    elif case == "no mask layer":
        config = {"target": "mask-layer"}
    elif case == "two layers":
        drawables = [source, rgb_layer(image, "other")]
    elif case == "server sentence":
        select_box(image, 0, 0, 60, 50)
        fake_client.error = sec.InvalidRequestError(words)
    elif case == "not found":
        config = {"target": "class", "class-name": "dog"}
        fake_client.error = sec.ObjectNotFoundError("No 'dog' found; found: person.")
    if case in ("two layers", "grey image"):
        select_box(image, 25, 25, 5, 5)
    layers_before = list(image.layers)

    values = run_recolor(gimp, image, drawables, **config)

    assert values.index(0) == "EXECUTION_ERROR"
    assert words in values.index(1)
    assert image.layers == layers_before and image.undo_groups == 0
    if case in ("server sentence", "not found"):
        assert ("progress_end",) in gimp.Gimp.calls


# --- Move, Replace and Add Object ------------------------------------------------------------------------------------


def relation_slots(*relations):
    """relation-N, reference-layer-N, reference-class-N for N = 1..3: the (relation nick, layer, class) triples
    given, the remaining slots empty."""
    slots = {}
    for slot in range(1, 4):
        nick, layer, name = relations[slot - 1] if slot <= len(relations) else ("none", None, "")
        slots.update({f"relation-{slot}": nick, f"reference-layer-{slot}": layer, f"reference-class-{slot}": name})
    return slots


def move_config(*relations, **overrides):
    return Config({"target": "mask-layer", "mask-layer": None, "class-name": "", "instance": 0,
                   **relation_slots(*relations), "object-class": "", "candidates": 4, "candidate": 0,
                   "keep-size": False, "dilation": -1, "quality": "fast", "fill": "synthesis", "texture": -1.0,
                   "keep-shadow": False, "iterations": 0, "seed": 0, "score-threshold": 0.5, "max-objects": 0, "server": "127.0.0.1:50051",
                   **overrides})


def replace_config(**overrides):
    return Config({"target": "selection", "mask-layer": None, "class-name": "", "instance": 0, "source-layer": None,
                   "source-mask-layer": None, "fit": "inside", "dilation": -1, "quality": "fast", "fill": "synthesis",
                   "texture": -1.0, "iterations": 0, "seed": 0, "score-threshold": 0.5, "max-objects": 0,
                   "server": "127.0.0.1:50051", **overrides})


def add_config(*relations, **overrides):
    return Config({"source-layer": None, "source-mask-layer": None, "source-class": "", **relation_slots(*relations),
                   "candidates": 4, "candidate": 0, "keep-size": False, "cast-shadow": True, "seed": 0,
                   "score-threshold": 0.5, "max-objects": 0, "server": "127.0.0.1:50051", **overrides})


def white_box_layer(image, name, size, offsets, box, detected_class=None):
    """An RGBA mask layer of `size` at `offsets`: opaque white in `box` (x, y, w, h, in its own pixels), transparent
    elsewhere; with `detected_class`, the parasite Detect Objects gives its layers. Inserted on top."""
    width, height = size
    rgba = np.zeros((height, width, 4), np.uint8)
    x, y, w, h = box
    rgba[y:y + h, x:x + w] = 255
    layer = Layer(image, name, width, height, 4, rgba.tobytes())
    layer.offsets = offsets
    if detected_class is not None:
        layer.attach_parasite(types.SimpleNamespace(name="semantic-edit-object", get_data=lambda: list(json.dumps(
            {"id": 0, "class": detected_class, "instance": 1}).encode())))
    image.layers.insert(0, layer)
    return layer


def box_mask(width, height, box):
    mask = np.zeros((height, width), bool)
    x, y, w, h = box
    mask[y:y + h, x:x + w] = True
    return mask


# The photo (40x30) lies at (30, 20) of a 120x90 image; the cup's mask layer marks (12, 8, 6, 5) and the bowl's
# (25, 2, 7, 9) of the photo's pixels, each layer at offsets of its own.
PHOTO_OFFSETS = (30, 20)
CUP_BOX, BOWL_BOX = (12, 8, 6, 5), (25, 2, 7, 9)


def move_scene(channels=3):
    image = Image(120, 90)
    rgb_layer(image, "top", seed=1)
    photo = rgb_layer(image, "photo", channels=channels, offsets=PHOTO_OFFSETS)
    cup = white_box_layer(image, "cup mask", (20, 15), (40, 25), (2, 3, 6, 5), detected_class="cup")
    bowl = white_box_layer(image, "bowl mask", (20, 30), (50, 20), (5, 2, 7, 9), detected_class="bowl")
    return image, photo, cup, bowl


def run_move(gimp, image, drawables, *relations, run_mode="NONINTERACTIVE", **config):
    return gimp.plugin.run_move(Procedure(), run_mode, image, drawables, move_config(*relations, **config), None)


def placement_text(offsets, used):
    """FAKE_PLACEMENTS as the plug-in reports them: boxes in image pixels (the photo's offsets added)."""
    lines = []
    for index, placement in enumerate(FAKE_PLACEMENTS):
        b = placement.box
        holds = "all relations hold" if placement.all_relations_hold else "not all relations hold"
        lines.append(f"candidate {index}: box {offsets[0] + b.x},{offsets[1] + b.y} {b.width}x{b.height}, {holds}"
                     + (", used" if index == used else ""))
    return lines


def check_paste_group(image, photo, photo_before, result_layer, group_name, layer_names, placed_box):
    """The group above the photo holds the result (shown, on the bottom) and the masks (hidden), all over the
    fake's region (the photo's offsets added); the placed box is painted, the placed mask marks it; the photo is
    untouched; one undo group."""
    position = image.layers.index(photo)
    group = image.layers[position - 1]
    assert group.is_group() and group.name == group_name and group.children[-1] is result_layer
    assert [(c.name, c.visible) for c in group.children] == [(name, False) for name in layer_names[:-1]] + [
        (layer_names[-1], True)]
    offsets = {child.offsets for child in group.children}
    assert len(offsets) == 1
    x, y = offsets.pop()
    rx, ry = x - PHOTO_OFFSETS[0], y - PHOTO_OFFSETS[1]
    w, h = result_layer.get_width(), result_layer.get_height()
    channels = photo.buffer.channels
    patch = np.frombuffer(result_layer.buffer.data, np.uint8).reshape(h, w, channels)
    placed = box_mask(photo.get_width(), photo.get_height(), placed_box)[ry:ry + h, rx:rx + w]
    assert placed.sum() == placed_box[2] * placed_box[3], "the region does not hold the placed box"
    assert (patch[placed, :3] == FAKE_PASTE_VALUE).all()
    placed_layer = group.children[0]
    assert placed_layer.name == "placed mask"
    assert np.array_equal(np.frombuffer(placed_layer.buffer.data, np.uint8).reshape(h, w, 3),
                          np.repeat(placed[..., None] * np.uint8(255), 3, -1))
    assert photo.buffer.data == photo_before and photo.offsets == PHOTO_OFFSETS
    assert (image.undo_groups, image.undo_depth) == (1, 0)
    return group, (rx, ry, w, h), patch


@pytest.mark.parametrize("channels", [3, 4])
def test_move_sends_the_mask_layers_in_the_photos_pixels_and_adds_the_group(gimp, plugin_with_fake_client,
                                                                             fake_client, channels):
    image, photo, cup, bowl = move_scene(channels)
    photo_before = photo.buffer.data

    values = run_move(gimp, image, [photo], ("right-of", bowl, ""), **{
        "mask-layer": cup, "candidates": 3, "candidate": 1, "keep-size": True, "dilation": 4, "quality": "best",
        "fill": "dip", "texture": 0.5, "iterations": 30, "seed": 7})

    assert values.index(0) == "SUCCESS", values.index(1)
    [request] = fake_client.requests
    assert isinstance(request, paste.MoveRequest) and request.target is None
    assert (request.width, request.height, request.channels, request.pixels) == (40, 30, channels, photo_before)
    assert np.array_equal(np.frombuffer(request.mask, np.uint8).reshape(30, 40) > 0, box_mask(40, 30, CUP_BOX))
    [relation] = request.relations
    assert (relation.predicate, relation.target, relation.reference_class, relation.reference_is_subject) == (
        "right of", None, "bowl", False)  # the class Detect Objects gave the layer
    assert np.array_equal(np.frombuffer(relation.mask, np.uint8).reshape(30, 40) > 0, box_mask(40, 30, BOWL_BOX))
    assert (request.object_class, request.candidates, request.candidate, request.keep_size) == ("cup", 3, 1, True)
    assert (request.dilation_px, request.quality, request.iterations, request.seed) == (4, "best", 30, 7)
    assert (request.fill, request.texture) == ("dip", 0.5)

    result_layer, placements = values.index(1), values.index(2)
    assert placements.splitlines() == placement_text(PHOTO_OFFSETS, used=1)
    used = FAKE_PLACEMENTS[1].box
    _, (rx, ry, w, h), patch = check_paste_group(
        image, photo, photo_before, result_layer, "Move: cup mask right of bowl mask",
        ["placed mask", "object mask", "hole (dilated)", "photo (object moved)"],
        (used.x, used.y, used.width, used.height))
    cup_in_region = box_mask(40, 30, CUP_BOX)[ry:ry + h, rx:rx + w]
    assert cup_in_region.sum() == 30 and (patch[cup_in_region, :3] == 128).all()  # the old place was filled
    assert [layer.name for layer in image.layers] == ["bowl mask", "cup mask", "top", "Move: cup mask right of "
                                                      "bowl mask", "photo"]
    assert "message" not in [call[0] for call in gimp.Gimp.calls]  # scripts read the returned placements


def test_interactive_move_shows_the_placements_and_how_to_take_another(gimp, plugin_with_fake_client, fake_client,
                                                                      monkeypatch):
    monkeypatch.setattr(gimp.plugin, "_show_dialog", lambda procedure, config, *args: True)
    image, photo, cup, bowl = move_scene()
    values = run_move(gimp, image, [photo], ("left-of", bowl, ""), run_mode="INTERACTIVE", candidate=1,
                      **{"mask-layer": cup})
    assert values.index(0) == "SUCCESS", values.index(1)
    [message] = [call[1] for call in gimp.Gimp.calls if call[0] == "message"]
    assert message.splitlines() == [
        "Moved 'cup mask' to candidate 1 of 3. The places the position model proposed (boxes in image pixels):",
        "The relations do not all hold at this place: try another candidate, or more candidates.",
        *placement_text(PHOTO_OFFSETS, used=1),
        "To use another, run it again with the same seed and another candidate."]


def test_move_names_the_object_and_references_by_class(gimp, plugin_with_fake_client, fake_client):
    image, photo, _, _ = move_scene()
    values = run_move(gimp, image, [photo], ("left-of", None, "person:2"), ("below", None, " blue   sphere "),
                      target="class", instance=1, **{"class-name": "cup", "score-threshold": 0.3,
                                                     "max-objects": 5, "object-class": " red  cup "})
    assert values.index(0) == "SUCCESS", values.index(1)
    [request] = fake_client.requests
    assert request.mask is None and request.target == sec.ObjectTarget("cup", 1, None, 0.3, 5)
    assert request.relations == (
        paste.PlacementRelation("left of", target=sec.ObjectTarget("person", 2, None, 0.3, 5)),
        paste.PlacementRelation("below", target=sec.ObjectTarget("blue sphere", 0, None, 0.3, 5)))
    assert request.object_class == "red cup"
    assert image.layers[image.layers.index(photo) - 1].name == "Move: cup 1 left of person 2, below blue sphere"


@pytest.mark.parametrize("case, words", [
    ("no relation", "Move Object needs at least one relation saying where the object goes: choose Relation 1 "
                    "(e.g. 'left of') and pick the reference object's mask layer in Reference layer 1"),
    ("relation without reference", "Relation 1 ('left of') has no reference: pick the reference object's mask "
                                   "layer in Reference layer 1 (e.g. a layer Detect Objects made), or type its "
                                   "class in Reference class 1 (e.g. 'person:2')"),
    ("reference without relation", "Relation 2 has a reference ('bowl mask') but no relation: choose one in "
                                   "Relation 2 (e.g. 'left of'), or clear its reference"),
    ("unknown relation", "relation-1 must be one of: none, left-of, right-of, above, below, in-front-of, behind, "
                         "next-to, near, on, under; got 'beside'"),
    ("empty reference", "The reference layer 1 'blank' is empty where it overlaps layer 'photo': paint the "
                        "reference object white on it (black = keep)"),
    ("reference is the photo", "The reference layer 1 'photo' is the layer being edited: pick the layer that holds "
                               "the reference object's mask"),
    ("reference is the object", "Reference layer 1 'cup mask' is the mask layer of the object to move: pick the "
                                "layer of another object"),
    ("candidate out of range", "candidate 2 does not exist among 2 candidates: give 0 (the best) to 1, or raise "
                               "candidates"),
    ("no mask layer", "Target is 'mask-layer' but no mask layer is chosen"),
    ("two layers", "Move Object edits one layer at a time, but 2 are selected"),
    ("server sentence", "relation 'on': the reference must be below the object"),
])
def test_move_failures_are_sentences_and_change_nothing(gimp, plugin_with_fake_client, fake_client, case, words):
    image, photo, cup, bowl = move_scene()
    relations, config, drawables = [("left-of", bowl, "")], {"mask-layer": cup}, [photo]
    if case == "no relation":
        relations = []
    elif case == "relation without reference":
        relations = [("left-of", None, "")]
    elif case == "reference without relation":
        relations = [("left-of", None, "person"), ("none", bowl, "")]
    elif case == "unknown relation":
        relations = [("beside", bowl, "")]
    elif case == "empty reference":
        blank = Layer(image, "blank", 120, 90, 3)
        image.layers.insert(0, blank)
        relations = [("left-of", blank, "")]
    elif case == "reference is the photo":
        relations = [("left-of", photo, "")]
    elif case == "reference is the object":
        relations = [("left-of", cup, "")]
    elif case == "candidate out of range":
        config.update(candidates=2, candidate=2)
    elif case == "no mask layer":
        config = {}
    elif case == "two layers":
        drawables = [photo, cup]
    elif case == "server sentence":
        fake_client.error = sec.InvalidRequestError(words)
    layers_before = list(image.layers)

    values = run_move(gimp, image, drawables, *relations, **config)

    assert values.index(0) == "EXECUTION_ERROR"
    assert words in values.index(1)
    assert image.layers == layers_before and image.undo_groups == 0
    assert len(fake_client.requests) == (1 if case == "server sentence" else 0)


def source_layer_of(image, name, size, channels, alpha_box=None, offsets=(0, 0), seed=4):
    """A layer showing the new object: random colours; with 4 channels opaque only in alpha_box."""
    width, height = size
    data = np.random.default_rng(seed).integers(0, 256, (height, width, channels), np.uint8)
    if channels == 4:
        data[..., 3] = box_mask(width, height, alpha_box) * np.uint8(255)
    layer = Layer(image, name, width, height, channels, data.tobytes())
    layer.offsets = offsets
    image.layers.insert(0, layer)
    return layer


def run_replace(gimp, image, drawables, **config):
    return gimp.plugin.run_replace(Procedure(), "NONINTERACTIVE", image, drawables, replace_config(**config), None)


@pytest.mark.parametrize("channels", [3, 4])
def test_replace_sends_a_source_layer_of_another_image_at_its_own_size(gimp, plugin_with_fake_client, fake_client,
                                                                      channels):
    image, photo, cup, _ = move_scene(channels)
    photo_before = photo.buffer.data
    other = Image(50, 40)
    logo = source_layer_of(other, "logo", (12, 10), 4, alpha_box=(2, 1, 8, 7), offsets=(9, 3))
    select_box(image, 42, 28, 6, 5)  # the cup, (12, 8) in the photo's pixels

    values = run_replace(gimp, image, [photo], **{"source-layer": logo, "dilation": 2, "iterations": 12,
                                                  "seed": 3, "quality": "balanced", "fit": "width", "texture": 0.0})

    assert values.index(0) == "SUCCESS", values.index(1)
    [request] = fake_client.requests
    assert isinstance(request, paste.ReplaceRequest) and request.target is None
    assert (request.width, request.height, request.channels, request.pixels) == (40, 30, channels, photo_before)
    assert np.array_equal(np.frombuffer(request.mask, np.uint8).reshape(30, 40) > 0, box_mask(40, 30, CUP_BOX))
    assert request.source == paste.SourceObject(12, 10, 4, logo.buffer.data)  # its alpha is the shape
    assert (request.dilation_px, request.iterations, request.seed, request.quality) == (2, 12, 3, "balanced")
    assert (request.fit, request.fill, request.texture) == ("width", "synthesis", 0.0)
    check_paste_group(image, photo, photo_before, values.index(1), "Replace: selection with logo",
                      ["placed mask", "object mask", "hole (dilated)", "photo (object replaced)"], CUP_BOX)
    assert values.length() == 2  # no placements: the new object takes the old one's box


def test_replace_reads_the_source_shape_from_a_mask_layer_and_a_layer_mask(gimp, plugin_with_fake_client,
                                                                          fake_client):
    image, photo, cup, _ = move_scene()
    lamp = source_layer_of(image, "lamp", (12, 10), 3, offsets=(60, 60))
    lamp_mask = white_box_layer(image, "lamp mask", (9, 9), (61, 62), (1, 0, 6, 9))  # (2, 2, 6, 8) in lamp's pixels
    values = run_replace(gimp, image, [photo], target="mask-layer", **{"mask-layer": cup, "source-layer": lamp,
                                                                       "source-mask-layer": lamp_mask})
    assert values.index(0) == "SUCCESS", values.index(1)
    source = fake_client.requests[-1].source
    assert (source.width, source.height, source.channels, source.pixels) == (12, 10, 3, lamp.buffer.data)
    assert np.array_equal(np.frombuffer(source.mask, np.uint8).reshape(10, 12), box_mask(12, 10, (2, 2, 6, 8)) * 255)
    assert image.layers[image.layers.index(photo) - 1].name == "Replace: cup mask with lamp"

    # A layer mask on the source counts too (with its alpha): its black parts are not the object.
    logo = source_layer_of(image, "logo", (12, 10), 4, alpha_box=(0, 0, 12, 10))
    logo.layer_mask = LayerMask(image, "logo mask", 12, 10, 1, (box_mask(12, 10, (3, 0, 9, 10)) * 200).astype(
        np.uint8).tobytes())
    values = run_replace(gimp, image, [photo], target="mask-layer", **{"mask-layer": cup, "source-layer": logo})
    assert values.index(0) == "SUCCESS", values.index(1)
    source = fake_client.requests[-1].source
    assert np.array_equal(np.frombuffer(source.mask, np.uint8).reshape(10, 12), box_mask(12, 10, (3, 0, 9, 10)) * 255)


@pytest.mark.parametrize("case, words", [
    ("no source", "No source layer is chosen: pick the layer that shows the new object in Source layer"),
    ("source is the photo", "The source layer 'photo' is the layer being edited: pick the layer that shows the new "
                            "object"),
    ("rgb source without mask", "The source layer 'logo' has no alpha channel, so nothing says which of its pixels "
                                "are the object: add one (Layer > Transparency > Add Alpha Channel) and erase around "
                                "the object, or pick a Source mask layer (white = object)"),
    ("transparent source", "The source layer 'logo' shows no object: its opaque pixels are none"),
    ("mask over no opaque pixel", "The source layer 'logo' shows no object: its opaque pixels under its mask are "
                                  "none"),
    ("source mask elsewhere", "The source mask layer 'logo mask' is empty where it overlaps layer 'logo': paint the "
                              "new object white on it"),
    ("source mask is the source", "The source mask layer 'logo' is the source layer itself"),
    ("source is a group", "The source layer 'folder' is a layer group: pick a pixel layer inside it"),
    ("no selection", "There is no selection: select the object first"),
])
def test_replace_failures_are_sentences_and_change_nothing(gimp, plugin_with_fake_client, fake_client, case, words):
    image, photo, _, _ = move_scene()
    select_box(image, 42, 28, 6, 5)
    config = {"source-layer": source_layer_of(image, "logo", (12, 10), 4, alpha_box=(0, 0, 4, 4))}
    if case == "no source":
        config = {}
    elif case == "source is the photo":
        config = {"source-layer": photo}
    elif case == "rgb source without mask":
        config = {"source-layer": source_layer_of(image, "logo", (12, 10), 3)}
    elif case == "transparent source":
        config = {"source-layer": source_layer_of(image, "logo", (12, 10), 4, alpha_box=(0, 0, 0, 0))}
    elif case == "mask over no opaque pixel":
        config["source-mask-layer"] = white_box_layer(image, "logo mask", (12, 10), (0, 0), (6, 6, 4, 4))
    elif case == "source mask elsewhere":
        config["source-mask-layer"] = white_box_layer(image, "logo mask", (12, 10), (40, 40), (0, 0, 12, 10))
    elif case == "source mask is the source":
        config["source-mask-layer"] = config["source-layer"]
    elif case == "source is a group":
        config = {"source-layer": GroupLayer.new(image, "folder")}
    elif case == "no selection":
        image.selection.buffer.data = bytes(120 * 90)
    layers_before = list(image.layers)

    values = run_replace(gimp, image, [photo], **config)

    assert values.index(0) == "EXECUTION_ERROR"
    assert words in values.index(1)
    assert image.layers == layers_before and image.undo_groups == 0 and fake_client.requests == []


def run_add(gimp, image, drawables, *relations, **config):
    return gimp.plugin.run_add(Procedure(), "NONINTERACTIVE", image, drawables, add_config(*relations, **config),
                               None)


def test_add_sends_the_source_its_class_and_the_relations_and_adds_the_placed_object(gimp, plugin_with_fake_client,
                                                                                      fake_client):
    image, photo, _, bowl = move_scene()
    photo_before = photo.buffer.data
    lamp = source_layer_of(image, "lamp picture", (12, 10), 4, alpha_box=(2, 1, 8, 7))

    values = run_add(gimp, image, [photo], ("on", bowl, "table"), ("near", None, "person:1"), **{
        "source-layer": lamp, "source-class": " desk  lamp ", "candidates": 5, "candidate": 2, "keep-size": True,
        "seed": 9, "score-threshold": 0.4, "max-objects": 3})

    assert values.index(0) == "SUCCESS", values.index(1)
    [request] = fake_client.requests
    assert isinstance(request, paste.AddRequest)
    assert (request.width, request.height, request.channels, request.pixels) == (40, 30, 3, photo_before)
    assert request.source == paste.SourceObject(12, 10, 4, lamp.buffer.data, object_class="desk lamp")
    on, near = request.relations
    assert (on.predicate, on.target, on.reference_class) == ("on", None, "table")  # typed: wins over Detect's
    assert np.array_equal(np.frombuffer(on.mask, np.uint8).reshape(30, 40) > 0, box_mask(40, 30, BOWL_BOX))
    assert near == paste.PlacementRelation("near", target=sec.ObjectTarget("person", 1, None, 0.4, 3))
    assert (request.candidates, request.candidate, request.keep_size, request.seed) == (5, 2, True, 9)
    assert values.index(2).splitlines() == placement_text(PHOTO_OFFSETS, used=2)
    used = FAKE_PLACEMENTS[2].box
    _, (rx, ry, w, h), patch = check_paste_group(
        image, photo, photo_before, values.index(1), "Add: lamp picture on bowl mask, near person 1",
        ["placed mask", "photo (object added)"], (used.x, used.y, used.width, used.height))
    placed = box_mask(40, 30, (used.x, used.y, used.width, used.height))[ry:ry + h, rx:rx + w]
    original = np.frombuffer(photo_before, np.uint8).reshape(30, 40, 3)[ry:ry + h, rx:rx + w]
    assert np.array_equal(patch[~placed], original[~placed])  # nothing removed


def test_add_takes_the_source_class_from_detect_objects_and_refuses_without_relations(gimp, plugin_with_fake_client,
                                                                                      fake_client):
    image, photo, cup, bowl = move_scene()
    values = run_add(gimp, image, [photo], ("left-of", bowl, ""), **{"source-layer": cup})
    assert values.index(0) == "SUCCESS", values.index(1)
    assert fake_client.requests[0].source.object_class == "cup"  # the class Detect Objects gave the layer
    assert fake_client.requests[0].source.channels == 4 and fake_client.requests[0].source.mask is None
    layers_before = list(image.layers)
    values = run_add(gimp, image, [photo], **{"source-layer": cup})
    assert values.index(0) == "EXECUTION_ERROR"
    assert "Add Object needs at least one relation saying where the object goes" in values.index(1)
    values = run_add(gimp, image, [photo], ("left-of", bowl, ""))
    assert "No source layer is chosen" in values.index(1)
    assert image.layers == layers_before and len(fake_client.requests) == 1


# --- Move, Replace and Add requests as the generated API code reads them ----------------------------------------


def _decoded(request) -> "pb.EditRequest":
    """The plug-in's request, built by its client code, serialised and parsed back by the generated code."""
    return pb.EditRequest.FromString(request.to_proto(pb).SerializeToString())


def _image_fields(image):
    return image.width, image.height, image.format, image.data


def test_move_request_encodes_every_field():
    pixels, mask, reference = bytes(range(4 * 3 * 3)), bytes([0, 255] * 6), bytes([255] + [0] * 11)
    request = paste.MoveRequest(
        4, 3, 3, pixels, mask=mask, object_class="red cube", candidates=6, candidate=5, keep_size=True,
        dilation_px=3, quality="best", iterations=40, seed=2**40, fill="dip", texture=0.5,
        relations=(paste.PlacementRelation("behind", mask=reference, reference_class="blue sphere",
                                           reference_is_subject=True),
                   paste.PlacementRelation("next to", target=sec.ObjectTarget("person", 2, None, 0.25, 7))))
    decoded = _decoded(request)
    assert decoded.WhichOneof("edit") == "move"
    assert _image_fields(decoded.image) == (4, 3, pb.PIXEL_FORMAT_RGB8, pixels)
    move = decoded.move
    assert move.target.WhichOneof("kind") == "mask"
    assert (move.target.mask.width, move.target.mask.height, move.target.mask.data) == (4, 3, mask)
    assert (move.object_class, move.candidates, move.candidate, move.keep_size) == ("red cube", 6, 5, True)
    behind, next_to = move.relations
    assert (behind.predicate, behind.reference_class, behind.reference_is_subject) == ("behind", "blue sphere", True)
    assert (behind.reference.mask.width, behind.reference.mask.height, behind.reference.mask.data) == (4, 3,
                                                                                                       reference)
    assert (next_to.predicate, next_to.reference_class, next_to.reference_is_subject) == ("next to", "", False)
    assert next_to.reference.WhichOneof("kind") == "class_target"
    assert next_to.reference.class_target.name == "person:2"
    assert not next_to.reference.class_target.HasField("hint_box")
    assert next_to.reference.detection.score_threshold == pytest.approx(0.25)
    assert next_to.reference.detection.max_objects == 7
    options = decoded.options
    assert (options.quality, options.seed, options.dilation_px, options.iterations) == ("best", 2**40, 3, 40)
    assert (options.fill, options.HasField("texture"), options.texture) == (pb.FILL_METHOD_DIP, True, 0.5)


def test_replace_request_encodes_every_field():
    pixels = bytes(range(5 * 4 * 4))
    rgb_source = paste.SourceObject(2, 3, 3, bytes(range(18)), mask=bytes([1, 0, 1, 0, 1, 0]), object_class="lamp")
    request = paste.ReplaceRequest(5, 4, 4, pixels, target=sec.ObjectTarget("cup", hint_box=sec.Region(1, 2, 3, 2)),
                                   source=rgb_source, quality="fast", seed=4, fit="height")
    decoded = _decoded(request)
    assert decoded.WhichOneof("edit") == "replace"
    assert decoded.replace.fit == pb.REPLACE_FIT_HEIGHT
    assert _image_fields(decoded.image) == (5, 4, pb.PIXEL_FORMAT_RGBA8, pixels)
    target = decoded.replace.target
    assert target.WhichOneof("kind") == "class_target" and target.class_target.name == "cup"
    box = target.class_target.hint_box
    assert (box.x, box.y, box.width, box.height) == (1, 2, 3, 2)
    assert not target.detection.HasField("score_threshold") and target.detection.max_objects == 0
    source = decoded.replace.source
    assert _image_fields(source.image) == (2, 3, pb.PIXEL_FORMAT_RGB8, rgb_source.pixels)
    assert (source.mask.width, source.mask.height, source.mask.data) == (2, 3, rgb_source.mask)
    assert source.object_class == "lamp"
    options = decoded.options
    assert (options.quality, options.seed) == ("fast", 4)
    assert not options.HasField("dilation_px") and not options.HasField("iterations")  # the server's defaults
    assert options.fill == pb.FILL_METHOD_UNSPECIFIED and not options.HasField("texture")
    texture_only = dataclasses.replace(request, fill="synthesis", texture=0.0)  # 0 is sent: it means smooth
    options = _decoded(texture_only).options
    assert (options.fill, options.HasField("texture"), options.texture) == (pb.FILL_METHOD_SYNTHESIS, True, 0.0)


def test_add_request_encodes_every_field():
    rgba = bytes(range(2 * 2 * 4))
    request = paste.AddRequest(3, 2, 3, bytes(18), source=paste.SourceObject(2, 2, 4, rgba), seed=11,
                               relations=(paste.PlacementRelation("under", target=sec.ObjectTarget("table")),),
                               candidates=16, candidate=15, keep_size=True)
    decoded = _decoded(request)
    assert decoded.WhichOneof("edit") == "add"
    add = decoded.add
    assert _image_fields(add.source.image) == (2, 2, pb.PIXEL_FORMAT_RGBA8, rgba)
    assert not add.source.HasField("mask") and add.source.object_class == ""
    [under] = add.relations
    assert (under.predicate, under.reference.class_target.name) == ("under", "table")
    assert (add.candidates, add.candidate, add.keep_size) == (16, 15, True)
    assert decoded.options == pb.EditOptions(seed=11)  # no fill: only the placements' seed


@pytest.mark.parametrize("fill, texture, expected_fill, expected_texture", [
    (None, None, pb.FILL_METHOD_UNSPECIFIED, None),  # the server's default fill and the preset's texture
    ("synthesis", None, pb.FILL_METHOD_SYNTHESIS, None),
    ("synthesis", 0.0, pb.FILL_METHOD_SYNTHESIS, 0.0),
    ("dip", 1.0, pb.FILL_METHOD_DIP, 1.0),
])
def test_remove_request_encodes_the_fill_method_and_texture(fill, texture, expected_fill, expected_texture):
    request = sec.RemoveRequest(2, 2, 3, bytes(12), bytes([255, 0, 0, 0]), quality="fast", fill=fill,
                                texture=texture)
    client = sec.SemanticEditClient("127.0.0.1:1")  # no connection is made
    try:
        decoded = pb.EditRequest.FromString(client._request_to_proto(request).SerializeToString())
    finally:
        client.close()
    assert decoded.WhichOneof("edit") == "remove" and decoded.options.quality == "fast"
    assert decoded.options.fill == expected_fill
    assert (decoded.options.texture if decoded.options.HasField("texture") else None) == expected_texture


def test_client_reads_the_placements_of_a_result():
    result = pb.EditResult(
        region=pb.Region(x=1, y=2, width=2, height=1),
        patch=pb.Image(width=2, height=1, format=pb.PIXEL_FORMAT_RGB8, data=bytes(range(6))),
        masks=[pb.RegionMask(name="placed", region=pb.Region(x=1, y=2, width=2, height=1), data=b"\xff\x00")],
        placements=[pb.Placement(box=pb.Region(x=5, y=6, width=7, height=8), all_relations_hold=True),
                    pb.Placement(box=pb.Region(x=0, y=1, width=2, height=3))],
        iterations=0)
    client = sec.SemanticEditClient("127.0.0.1:1")  # no connection is made
    try:
        decoded = client._result_from_proto(pb.EditResult.FromString(result.SerializeToString()), 3)
    finally:
        client.close()
    assert decoded.placements == (sec.Placement(sec.Region(5, 6, 7, 8), True),
                                  sec.Placement(sec.Region(0, 1, 2, 3), False))
    assert decoded.masks == {"placed": b"\xff\x00"} and decoded.patch == bytes(range(6))


@pytest.mark.parametrize("request_, words", [
    (paste.MoveRequest(4, 4, 3, bytes(48), mask=bytes([1] * 16)),
     "A move needs at least one relation saying where the object goes"),
    (paste.MoveRequest(4, 4, 3, bytes(48), mask=bytes([1] * 16), relations=(
        paste.PlacementRelation("sideways", mask=bytes([1] * 16)),)),
     "Unknown relation 'sideways'; use one of: left of, right of, above, below, in front of, behind, next to, near, "
     "on, under"),
    (paste.MoveRequest(4, 4, 3, bytes(48), mask=bytes([1] * 16), relations=(
        paste.PlacementRelation("on", mask=bytes(16)),)),
     "The reference mask of the relation 'on' is empty"),
    (paste.MoveRequest(4, 4, 3, bytes(48), mask=bytes([1] * 16), relations=(
        paste.PlacementRelation("on", mask=bytes([1] * 16), target=sec.ObjectTarget("cup")),)),
     "A relation 'on' needs exactly one of a mask and an object target"),
    (paste.MoveRequest(4, 4, 3, bytes(48), mask=bytes([1] * 16), candidates=17, relations=(
        paste.PlacementRelation("on", mask=bytes([1] * 16)),)), "Candidates must be 1 to 16; got 17"),
    (paste.MoveRequest(4, 4, 3, bytes(48), mask=bytes([1] * 16), candidate=4, relations=(
        paste.PlacementRelation("on", mask=bytes([1] * 16)),)),
     "Candidate 4 does not exist among 4: give 0 (the best) to 3"),
    (paste.ReplaceRequest(4, 4, 3, bytes(48), mask=bytes([1] * 16)), "A replacement needs a source object"),
    (paste.ReplaceRequest(4, 4, 3, bytes(48), mask=bytes([1] * 16), source=paste.SourceObject(2, 2, 3, bytes(12))),
     "The source picture has no alpha channel and no mask"),
    (paste.ReplaceRequest(4, 4, 3, bytes(48), mask=bytes([1] * 16),
                          source=paste.SourceObject(2, 2, 3, bytes(12), mask=bytes(3))),
     "The source mask must have one byte per pixel of the 2x2 source picture (4); got 3"),
    (paste.AddRequest(4, 4, 3, bytes(48), source=paste.SourceObject(1, 1, 4, bytes(4)), relations=tuple(
        paste.PlacementRelation("near", target=sec.ObjectTarget("cup")) for _ in range(6))),
     "An addition takes at most 5 relations; got 6"),
    (paste.MoveRequest(4, 4, 3, bytes(48), mask=bytes([1] * 16), fill="lama", relations=(
        paste.PlacementRelation("on", mask=bytes([1] * 16)),)), "Unknown fill 'lama'; use one of: synthesis, dip"),
    (paste.ReplaceRequest(4, 4, 3, bytes(48), mask=bytes([1] * 16), texture=-0.5,
                          source=paste.SourceObject(1, 1, 4, bytes([1, 2, 3, 255]))),
     "The texture must be between 0 and 1; got -0.5"),
])
def test_client_checks_move_replace_add_requests_before_sending(stopped_server, request_, words):
    edit = {paste.MoveRequest: "move", paste.ReplaceRequest: "replace", paste.AddRequest: "add"}[type(request_)]
    with sec.SemanticEditClient(stopped_server) as client, pytest.raises(sec.InvalidRequestError) as error:
        getattr(client, edit)(request_)  # refused here: the (stopped) server is never asked
    assert words in str(error.value)


# --- the client, and the glue through it, against a real server ---------------------------------------------------


@pytest.fixture(scope="module")
def missing_weights(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("no-weights") / "maskrcnn.pth"


@pytest.fixture(scope="module")
def server(missing_weights):
    """A server without segmentation weights: mask targets only."""
    running, port = create_server(ServerConfig(port=0, device="cpu", weights=missing_weights))
    yield f"127.0.0.1:{port}"
    running.stop(grace=None)


@pytest.fixture(scope="module")
def rigged_server(tmp_path_factory):
    """A server whose Mask R-CNN gives a known answer (tests/segmentation_checkpoints.py): every object a person."""
    weights = write_rigged_checkpoint(tmp_path_factory.mktemp("weights"))
    running, port = create_server(ServerConfig(port=0, device="cpu", weights=weights, detection_size=64))
    yield f"127.0.0.1:{port}"
    running.stop(grace=None)


RIGGED_SIZE = (84, 72)
RIGGED_MAX_OBJECTS = 4  # keeps the answer small; the detection takes seconds on a CPU either way


def rigged_image() -> np.ndarray:
    width, height = RIGGED_SIZE
    return np.random.default_rng(0).integers(0, 256, (height, width, 3), np.uint8)


@pytest.fixture(scope="module")
def rigged_scene(rigged_server):
    width, height = RIGGED_SIZE
    waits = []
    with sec.SemanticEditClient(rigged_server) as client:
        scene = client.detect(sec.DetectRequest(width, height, 3, rigged_image().tobytes(),
                                                max_objects=RIGGED_MAX_OBJECTS), on_wait=lambda: waits.append(1))
    return scene, len(waits)


@pytest.fixture(scope="module")
def stopped_server():
    stopped, port = create_server(ServerConfig(port=0, device="cpu"))
    stopped.stop(grace=None).wait()
    return f"127.0.0.1:{port}"


def disc_request(channels=3, **options):
    image, mask, _ = disc_scene(48, radius=8)
    if channels == 4:
        alpha = np.tile(np.arange(48, dtype=np.uint8)[:, None, None] * 5, (1, 48, 1))
        image = np.concatenate([image, alpha], -1)
    return sec.RemoveRequest(48, 48, channels, image.tobytes(), (mask * 255).astype(np.uint8).tobytes(),
                             **{"quality": "fast", "iterations": 20, "dilation_px": 2, **options}), image, mask


@pytest.mark.parametrize("channels", [3, 4])
def test_client_removes_and_reports_progress(server, channels):
    request, image, mask = disc_request(channels)
    events = []
    with sec.SemanticEditClient(server) as client:
        assert "remove" in client.get_info().edits
        result = client.remove(request, on_progress=events.append)

    r = result.region
    assert (result.iterations, result.dilation_px, result.channels) == (20, 2, channels)
    ys, xs = np.nonzero(mask)
    assert r.x <= xs.min() and r.y <= ys.min() and r.x + r.width > xs.max() and r.y + r.height > ys.max()
    patch = np.frombuffer(result.patch, np.uint8).reshape(r.height, r.width, channels)
    hole = np.frombuffer(result.masks["hole"], np.uint8).reshape(r.height, r.width) == 255
    obj = np.frombuffer(result.masks["object"], np.uint8).reshape(r.height, r.width) == 255
    original = image[r.y:r.y + r.height, r.x:r.x + r.width]
    assert np.array_equal(patch[~hole], original[~hole]) and not (obj & ~hole).any()
    assert np.array_equal(obj, mask[r.y:r.y + r.height, r.x:r.x + r.width])
    assert np.abs(patch[obj][:, :3].astype(int) - original[obj][:, :3]).mean() > 30  # the disc is gone
    if channels == 4:
        assert np.array_equal(patch[..., 3], original[..., 3])
    fractions = [event.fraction for event in events]
    assert fractions == sorted(fractions) and 0 <= fractions[0] and fractions[-1] == 1.0
    assert {"queued", "prepare", "inpaint", "composite"} <= {event.stage for event in events}
    assert any(event.message.startswith("Filling the hole") for event in events)


def test_client_detects_objects_with_instances_masks_and_relations(rigged_scene, rigged_server):
    scene, waits = rigged_scene
    width, height = RIGGED_SIZE
    assert waits > 0  # on_wait ran while the server worked
    assert scene.model == "maskrcnn_resnet50_fpn_v2" and scene.seconds > 0
    assert [obj.id for obj in scene.objects] == list(range(RIGGED_MAX_OBJECTS))
    assert {obj.class_name for obj in scene.objects} == {"person"}
    assert all(abs(obj.score - PERSON_SCORE) < 1e-4 for obj in scene.objects)
    by_centre = sorted(scene.objects, key=lambda o: (2 * o.box.x + o.box.width, 2 * o.box.y + o.box.height))
    assert [obj.instance for obj in by_centre] == list(range(1, RIGGED_MAX_OBJECTS + 1))  # left to right
    for obj in scene.objects:
        r = obj.mask_region
        assert r.x + r.width <= width and r.y + r.height <= height and len(obj.mask) == r.width * r.height
        assert set(obj.mask) == {0, 255} or set(obj.mask) == {255}
        assert obj.label == f"person {obj.instance}"
    assert scene.relations and all(max(r.subject_id, r.reference_id) < len(scene.objects) for r in scene.relations)
    first = scene.relations[0]
    assert scene.relation_text(first) == (f"person {scene.objects[first.subject_id].instance} {first.predicate} "
                                          f"person {scene.objects[first.reference_id].instance}")
    with sec.SemanticEditClient(rigged_server) as client:
        [segmentation] = [m for m in client.get_info().models if m.task == "segmentation"]
    assert segmentation.available and "person" in segmentation.classes


def test_client_removes_objects_named_by_class_or_box(rigged_scene, rigged_server):
    scene, _ = rigged_scene
    width, height = RIGGED_SIZE
    second = next(obj for obj in scene.objects if obj.instance == 2)
    third = next(obj for obj in scene.objects if obj.instance == 3)
    common = dict(width=width, height=height, channels=3, pixels=rigged_image().tobytes(), quality="fast",
                  iterations=3)
    with sec.SemanticEditClient(rigged_server) as client:
        by_class = client.remove(sec.RemoveRequest(
            **common, target=sec.ObjectTarget("person", 2, max_objects=RIGGED_MAX_OBJECTS)))
        by_box = client.remove(sec.RemoveRequest(
            **common, target=sec.ObjectTarget(hint_box=third.box, max_objects=RIGGED_MAX_OBJECTS)))
    for result, obj in ((by_class, second), (by_box, third)):
        assert result.object_ids == (obj.id,)
        r, m = result.region, obj.mask_region
        full = np.zeros((height, width), np.uint8)
        full[m.y:m.y + m.height, m.x:m.x + m.width] = np.frombuffer(obj.mask, np.uint8).reshape(m.height, m.width)
        sent = np.frombuffer(result.masks["object"], np.uint8).reshape(r.height, r.width)
        assert np.array_equal(sent, full[r.y:r.y + r.height, r.x:r.x + r.width]) and full.sum() == sent.sum()


@pytest.mark.parametrize("channels", [3, 4])
def test_client_recolors_as_the_pipeline_does(server, channels):
    from inference_server.pipeline.recolor import RecolorOptions, recolor_object

    removal, image, mask = disc_request(channels)
    request = sec.RecolorRequest(48, 48, channels, removal.pixels, removal.mask, color=(42, 75, 215), strength=0.75,
                                 lightness=0.5, edge_px=3)
    events = []
    with sec.SemanticEditClient(server) as client:
        assert "recolor" in client.get_info().edits
        result = client.recolor(request, on_progress=events.append)
    local = recolor_object(image, mask, RecolorOptions(colour=(42, 75, 215), strength=0.75, lightness=0.5, edge_px=3))
    r = result.region
    assert (r.x, r.y, r.width, r.height) == tuple(local.region)
    assert (result.channels, result.iterations, result.dilation_px) == (channels, 0, 3)
    assert result.patch == local.patch.tobytes()
    assert result.masks == {"object": (local.object_mask * np.uint8(255)).tobytes(),
                            "edge": (local.edge_mask * np.uint8(255)).tobytes()}
    assert {"prepare", "recolor", "composite"} <= set(result.timings)
    assert events and events[0].stage == "queued"


def test_glue_recolor_with_the_real_client_and_server(gimp, server):
    """Recolor Object's run function end to end, only GIMP faked: the result layer holds the server's patch, placed
    over the layer's offsets."""
    from inference_server.pipeline.recolor import RecolorOptions, recolor_object

    image_pixels, mask, _ = disc_scene(48, radius=8)
    image = Image(70, 60)
    source = Layer(image, "photo", 48, 48, 3, image_pixels.tobytes())
    source.offsets = (9, 4)
    image.layers.append(source)
    selection = np.zeros((60, 70), np.uint8)
    selection[4:52, 9:57] = mask * 255
    image.selection.buffer.data = selection.tobytes()

    values = gimp.plugin.run_recolor(Procedure(), "NONINTERACTIVE", image, [source],
                                     recolor_config(server=server, color=GeglColor.from_srgb8(250, 210, 20)), None)

    assert values.index(0) == "SUCCESS", values.index(1)
    local = recolor_object(image_pixels, mask, RecolorOptions(colour=(250, 210, 20)))
    result_layer = values.index(1)
    assert result_layer.offsets == (9 + local.region.x, 4 + local.region.y)
    assert result_layer.buffer.data == local.patch.tobytes()
    assert [child.name for child in image.layers[0].children] == ["object mask", "object + edge", "photo (recolored)"]
    assert source.buffer.data == image_pixels.tobytes()


@pytest.mark.parametrize("changes, words", [
    ({"color": (0, 256, 0)}, "The colour must be three integers 0..255 (red, green, blue); got (0, 256, 0)"),
    ({"color": (1, 2)}, "The colour must be three integers"),
    ({"strength": -0.5}, "The strength must be between 0 and 1; got -0.5"),
    ({"lightness": float("nan")}, "The lightness must be between 0 and 1; got nan"),
    ({"edge_px": 65}, "The edge must be between 0 and 64 px; got 65"),
    ({"target": sec.ObjectTarget("person")}, "A recolour needs exactly one of a mask and an object target"),
])
def test_client_checks_recolor_requests_before_sending(stopped_server, changes, words):
    request = sec.RecolorRequest(4, 4, 3, bytes(48), bytes([255] * 16), **changes)
    with sec.SemanticEditClient(stopped_server) as client, pytest.raises(sec.InvalidRequestError) as error:
        client.recolor(request)  # refused here: the (stopped) server is never asked
    assert words in str(error.value)


def test_client_says_when_a_server_does_not_offer_recolor(server, monkeypatch):
    request = sec.RecolorRequest(4, 4, 3, bytes(48), bytes([255] * 16))
    with sec.SemanticEditClient(server) as client:
        info = client.get_info()
        monkeypatch.setattr(client, "get_info", lambda: dataclasses.replace(info, version="0.1", edits=("remove",)))
        with pytest.raises(sec.InvalidRequestError) as error:
            client.recolor(request)
    assert str(error.value) == (f"The server at {server} (version 0.1) does not offer recolouring; it offers: remove. "
                                "Update the Semantic Edit server, or start one of this plug-in's version.")


@pytest.mark.parametrize("class_name, error, words", [
    ("dog", sec.ObjectNotFoundError, ["No 'dog' found; found: person."]),
    ("unicorn", sec.InvalidRequestError, ["does not know the class 'unicorn'", "it knows:", "person", "dog"]),
])
def test_client_maps_unknown_and_absent_classes_to_sentences(rigged_server, class_name, error, words):
    width, height = RIGGED_SIZE
    request = sec.RemoveRequest(width, height, 3, rigged_image().tobytes(), quality="fast", iterations=1,
                                target=sec.ObjectTarget(class_name, max_objects=RIGGED_MAX_OBJECTS))
    with sec.SemanticEditClient(rigged_server) as client, pytest.raises(error) as raised:
        client.remove(request)
    for word in words:
        assert word in str(raised.value)


def test_client_says_how_to_install_the_segmentation_weights(server, missing_weights):
    image, mask, _ = disc_scene(48, radius=8)
    with sec.SemanticEditClient(server) as client:
        [segmentation] = [m for m in client.get_info().models if m.task == "segmentation"]
        assert not segmentation.available and "--weights" in segmentation.detail
        with pytest.raises(sec.SegmentationUnavailableError) as detect_error:
            client.detect(sec.DetectRequest(48, 48, 3, image.tobytes()))
        with pytest.raises(sec.SegmentationUnavailableError) as remove_error:
            client.remove(sec.RemoveRequest(48, 48, 3, image.tobytes(), target=sec.ObjectTarget("person")))
    for error in (detect_error.value, remove_error.value):
        message = str(error)
        assert message.startswith(f"The server at {server} cannot find objects (by class or box)")
        assert segmentation.detail in message and missing_weights.name in message  # the server's own sentence
        assert str(missing_weights.parent) not in message  # where the server keeps its files is not the client's
        assert "./install.sh --weights FILE" in message and "restart the server (`semantic-edit serve`)" in message


@pytest.mark.parametrize("target, words", [
    (sec.ObjectTarget(), "names no object"),
    (sec.ObjectTarget("person", -1), "must be 0 (every one) or a number from 1"),
    (sec.ObjectTarget("person", 2, sec.Region(0, 0, 5, 5)), "Give either an instance number (person:2) or a box"),
    (sec.ObjectTarget(instance=2, hint_box=None), "names no object"),
    (sec.ObjectTarget(hint_box=sec.Region(0, 0, 0, 5)), "The box is 0x5 px"),
    (sec.ObjectTarget("person", score_threshold=1.5), "score threshold must be between 0 and 1"),
])
def test_client_checks_object_targets_before_sending(stopped_server, target, words):
    request = sec.RemoveRequest(4, 4, 3, bytes(48), target=target)
    with sec.SemanticEditClient(stopped_server) as client, pytest.raises(sec.InvalidRequestError) as error:
        client.remove(request)  # refused here: the (stopped) server is never asked
    assert words in str(error.value)
    with pytest.raises(sec.InvalidRequestError, match="exactly one of a mask and an object target"):
        sec.RemoveRequest(4, 4, 3, bytes(48), mask=bytes(16), target=sec.ObjectTarget("person")).check()


def test_client_says_how_to_start_a_server_that_is_not_running(stopped_server):
    request, _, _ = disc_request()
    with sec.SemanticEditClient(stopped_server) as client, pytest.raises(sec.ServerNotRunningError) as error:
        client.remove(request)
    assert "`semantic-edit serve`" in str(error.value) and stopped_server in str(error.value)


def test_client_passes_the_servers_invalid_argument_sentence():
    small, port = create_server(ServerConfig(port=0, device="cpu", max_pixels=1000))
    try:
        request, _, _ = disc_request()
        with sec.SemanticEditClient(f"127.0.0.1:{port}") as client, pytest.raises(sec.InvalidRequestError) as error:
            client.remove(request)
        assert "48x48" in str(error.value) and "1,000" in str(error.value)
    finally:
        small.stop(grace=None)


@pytest.mark.parametrize("changes, words", [
    ({"fill": "lama"}, "Unknown fill 'lama'; use one of: synthesis, dip"),
    ({"fill": "Synthesis"}, "Unknown fill 'Synthesis'"),  # the names, as ServerInfo.fill_methods lists them
    ({"texture": 1.5}, "The texture must be between 0 and 1; got 1.5"),
    ({"texture": float("nan")}, "The texture must be between 0 and 1; got nan"),
])
def test_client_checks_the_fill_method_and_texture_before_sending(stopped_server, changes, words):
    request = sec.RemoveRequest(4, 4, 3, bytes(48), bytes([255] * 16), **changes)
    with sec.SemanticEditClient(stopped_server) as client, pytest.raises(sec.InvalidRequestError) as error:
        client.remove(request)  # refused here: the (stopped) server is never asked
    assert words in str(error.value)


def test_client_reads_the_fill_methods_and_refuses_one_the_server_does_not_offer(server, monkeypatch):
    request = sec.RemoveRequest(4, 4, 3, bytes(48), bytes([255] * 16), fill="dip")
    with sec.SemanticEditClient(server) as client:
        info = client.get_info()
        assert info.fill_methods == sec.FILL_METHODS == ("synthesis", "dip")  # the server's default first
        # A server older than EditOptions.fill would ignore it (and always fill by DIP): say so instead.
        monkeypatch.setattr(client, "get_info", lambda: dataclasses.replace(info, version="0.1", fill_methods=()))
        with pytest.raises(sec.InvalidRequestError) as error:
            client.remove(request)
        assert str(error.value) == (
            f"The server at {server} (version 0.1) does not offer the fill 'dip'; it offers: only its own (an older "
            "server). Update the Semantic Edit server, or start one of this plug-in's version.")
        with pytest.raises(sec.InvalidRequestError, match="does not offer the fill 'synthesis'"):
            client.move(paste.MoveRequest(4, 4, 3, bytes(48), mask=bytes([255] * 16), fill="synthesis", relations=(
                paste.PlacementRelation("near", mask=bytes([255] * 16)),)))


def test_client_checks_sizes_before_sending(stopped_server):
    request, _, _ = disc_request()
    bad = sec.RemoveRequest(48, 48, 3, request.pixels[:-1], request.mask)
    with sec.SemanticEditClient(stopped_server) as client, pytest.raises(sec.InvalidRequestError, match="has 6912 "):
        client.remove(bad)  # refused here: the (stopped) server is never asked


def test_client_refuses_a_request_over_the_servers_message_limit():
    small, port = create_server(ServerConfig(port=0, device="cpu", max_message_bytes=4096))
    try:
        request, _, _ = disc_request()
        with sec.SemanticEditClient(f"127.0.0.1:{port}") as client, pytest.raises(sec.InvalidRequestError) as error:
            client.remove(request)
        assert "the server accepts at most" in str(error.value)
    finally:
        small.stop(grace=None)


def test_client_moves_messages_over_grpcs_default_4_mib_both_ways(server):
    width, height = 1400, 1100  # 4.6 MB of RGB each way: over gRPC's default limit
    image = np.random.default_rng(0).integers(0, 256, (height, width, 3), np.uint8)
    mask = np.zeros((height, width), np.uint8)
    mask[:3, :3] = mask[-3:, -3:] = 255  # two specks in opposite corners: the region is the whole image
    # DIP, which fits a downscaled window: the synthesis' harmonic solve runs 4 x 1400 full-size steps on a hole
    # this small and spread (tens of minutes on a CPU), and this test is about the messages, not the fill.
    request = sec.RemoveRequest(width, height, 3, image.tobytes(), mask.tobytes(), dilation_px=1, quality="fast",
                                fill="dip", iterations=1)
    with sec.SemanticEditClient(server) as client:
        result = client.remove(request)
    assert (result.region.width, result.region.height) == (width, height)
    assert len(result.patch) == width * height * 3 > 4 * 2**20


def test_client_error_in_progress_handler_cancels_the_job(server):
    """An exception in on_progress (or the plug-in dying) drops the job: the next one is not stuck behind it."""
    request, _, _ = disc_request(iterations=20000, fill="dip")  # 20000 DIP steps: minutes unless dropped

    class Stop(Exception):
        pass

    def stop_when_inpainting(event):
        if event.stage == "inpaint" and event.step >= 2:
            raise Stop

    with sec.SemanticEditClient(server) as client:
        with pytest.raises(Stop):
            client.remove(request, on_progress=stop_when_inpainting)
        started = time.monotonic()
        client.remove(disc_request(iterations=3)[0])
    assert time.monotonic() - started < 20


# Move, replace and add through the real client and server: a red disc (the object) right of a blue block (the
# reference), 84 x 72 px; the new object is a yellow picture with alpha. The fill is asked for by name with a texture
# away from the preset's, on both sides, so that the plug-in's encoding of them is compared with the API's.
PASTE_SIZE = (84, 72)
PASTE_TEXTURE = 0.5


def paste_scene():
    width, height = PASTE_SIZE
    image = textured_background(height, width, seed=3)
    disc = disc_mask(height, width, 64, 40, 8)
    image[disc] = DISC_COLOUR
    block = box_mask(width, height, (30, 28, 16, 22))
    image[block] = (40, 60, 200)
    return image, disc, block


def yellow_picture() -> np.ndarray:
    rgba = np.zeros((20, 16, 4), np.uint8)
    rgba[..., :3] = (250, 220, 30)
    rgba[3:17, 2:14, 3] = 255
    rgba[3:17, 2, 3] = 128  # a soft left edge
    return rgba


def _mask_bytes(mask: np.ndarray) -> bytes:
    return (mask * np.uint8(255)).tobytes()


def _api_answer(address, request: "pb.EditRequest") -> "pb.EditResult":
    with grpc.insecure_channel(address) as channel:
        events = list(pb_grpc.SemanticEditStub(channel).Edit(request))
    return [event.result for event in events if event.HasField("result")][0]


def _hand_built_requests(image, disc, block):
    """The requests of test_client_moves_replaces_and_adds_as_the_api_answers, written out in the generated code."""
    width, height = PASTE_SIZE
    picture = yellow_picture()
    api_image = pb.Image(width=width, height=height, format=pb.PIXEL_FORMAT_RGB8, data=image.tobytes())
    mask_target = lambda mask: pb.Target(mask=pb.Mask(width=width, height=height, data=_mask_bytes(mask)))  # noqa
    left_of = pb.PlacementRelation(predicate="left of", reference=mask_target(block), reference_class="blue block")
    source = pb.SourceObject(image=pb.Image(width=16, height=20, format=pb.PIXEL_FORMAT_RGBA8,
                                            data=picture.tobytes()), object_class="yellow cube")
    fill = pb.EditOptions(quality="fast", iterations=5, dilation_px=2, seed=1, fill=pb.FILL_METHOD_SYNTHESIS,
                          texture=PASTE_TEXTURE)
    return {
        "move": pb.EditRequest(image=api_image, options=fill, move=pb.MoveEdit(
            target=mask_target(disc), object_class="red disc", relations=[left_of], candidates=3, candidate=1)),
        "replace": pb.EditRequest(image=api_image, options=fill, replace=pb.ReplaceEdit(target=mask_target(disc),
                                                                                       source=source)),
        "add": pb.EditRequest(image=api_image, options=pb.EditOptions(seed=1), add=pb.AddEdit(
            source=source, relations=[left_of], candidates=3, candidate=1)),
    }


def test_client_moves_replaces_and_adds_as_the_api_answers(server):
    image, disc, block = paste_scene()
    width, height = PASTE_SIZE
    left_of = paste.PlacementRelation("left of", mask=_mask_bytes(block), reference_class="blue block")
    source = paste.SourceObject(16, 20, 4, yellow_picture().tobytes(), object_class="yellow cube")
    common = dict(width=width, height=height, channels=3, pixels=image.tobytes())
    fill = dict(quality="fast", iterations=5, dilation_px=2, seed=1, fill="synthesis", texture=PASTE_TEXTURE)
    requests = {
        "move": paste.MoveRequest(**common, mask=_mask_bytes(disc), relations=(left_of,), object_class="red disc",
                                  candidates=3, candidate=1, **fill),
        "replace": paste.ReplaceRequest(**common, mask=_mask_bytes(disc), source=source, **fill),
        "add": paste.AddRequest(**common, source=source, relations=(left_of,), candidates=3, candidate=1, seed=1),
    }
    hand_built = _hand_built_requests(image, disc, block)
    events = {kind: [] for kind in requests}
    with sec.SemanticEditClient(server) as client:
        assert {"move", "replace", "add"} <= set(client.get_info().edits)
        results = {kind: getattr(client, kind)(request, on_progress=events[kind].append)
                   for kind, request in requests.items()}
    expected_masks = {"move": {"object", "hole", "placed"}, "replace": {"object", "hole", "placed"},
                      "add": {"placed"}}
    for kind, result in results.items():
        answer = _api_answer(server, hand_built[kind])
        r = answer.region
        assert result.region == sec.Region(r.x, r.y, r.width, r.height), kind
        assert result.patch == answer.patch.data and result.channels == 3, kind
        assert result.masks == {mask.name: mask.data for mask in answer.masks}, kind
        assert set(result.masks) == expected_masks[kind], kind
        assert result.placements == tuple(sec.Placement(sec.Region(p.box.x, p.box.y, p.box.width, p.box.height),
                                                        p.all_relations_hold) for p in answer.placements), kind
        assert (result.iterations, result.dilation_px) == (answer.iterations, answer.dilation_px), kind
        fractions = [event.fraction for event in events[kind]]
        assert fractions == sorted(fractions) and fractions[-1] == 1.0, (kind, fractions)
    assert len(results["move"].placements) == 3 and results["replace"].placements == ()
    assert results["move"].iterations == 5 and results["add"].iterations == 0
    # The moved disc now lies left of the block, at the placement used (candidate 1), where all relations hold.
    move = results["move"]
    assert move.placements[1].all_relations_hold
    r, box = move.region, move.placements[1].box
    placed = np.frombuffer(move.masks["placed"], np.uint8).reshape(r.height, r.width) == 255
    columns = np.flatnonzero(placed.any(axis=0)) + r.x
    assert (columns.min() + columns.max()) / 2 < 30 + 16 / 2  # the block's centre column
    assert box.x <= columns.min() and columns.max() < box.x + box.width


def test_glue_move_with_the_real_client_and_server(gimp, server):
    """Move Object's run function end to end, only GIMP faked: the photo lies at (5, 4) of a larger canvas, the
    object and the reference are mask layers; the layers hold the server's answer to the same request."""
    image_pixels, disc, block = paste_scene()
    width, height = PASTE_SIZE
    image = Image(width + 10, height + 8)
    photo = Layer(image, "photo", width, height, 3, image_pixels.tobytes())
    photo.offsets = (5, 4)
    image.layers.append(photo)
    layers = {}
    for name, mask in (("disc", disc), ("block", block)):
        canvas = np.zeros((height + 8, width + 10, 3), np.uint8)
        canvas[4:4 + height, 5:5 + width] = mask[..., None] * np.uint8(255)
        layers[name] = Layer(image, name, width + 10, height + 8, 3, canvas.tobytes())
        image.layers.insert(0, layers[name])

    values = gimp.plugin.run_move(Procedure(), "NONINTERACTIVE", image, [photo], move_config(
        ("left-of", layers["block"], "blue block"), server=server, iterations=5, dilation=2, seed=1, candidates=3,
        candidate=1, fill="synthesis", texture=PASTE_TEXTURE, **{"mask-layer": layers["disc"],
                                                                  "object-class": "red disc"}), None)

    assert values.index(0) == "SUCCESS", values.index(1)
    answer = _api_answer(server, _hand_built_requests(image_pixels, disc, block)["move"])
    r = answer.region
    result_layer = values.index(1)
    assert (result_layer.offsets, result_layer.get_width(), result_layer.get_height()) == (
        (5 + r.x, 4 + r.y), r.width, r.height)
    assert result_layer.buffer.data == answer.patch.data
    group = image.layers[image.layers.index(photo) - 1]
    assert group.name == "Move: disc left of block"
    placed_layer = group.children[0]
    placed = {mask.name: mask.data for mask in answer.masks}["placed"]
    assert placed_layer.name == "placed mask" and placed_layer.buffer.data == mask_bytes.gray_to_rgb(placed)
    assert values.index(2).splitlines() == [
        f"candidate {i}: box {5 + p.box.x},{4 + p.box.y} {p.box.width}x{p.box.height}, "
        f"{'all relations hold' if p.all_relations_hold else 'not all relations hold'}{', used' if i == 1 else ''}"
        for i, p in enumerate(answer.placements)]
    assert photo.buffer.data == image_pixels.tobytes()


@pytest.mark.parametrize("edit, words", [("move", "moving objects"), ("replace", "replacing objects"),
                                         ("add", "adding objects")])
def test_client_says_when_a_server_does_not_offer_move_replace_or_add(server, monkeypatch, edit, words):
    source = paste.SourceObject(1, 1, 4, bytes([1, 2, 3, 255]))
    relation = paste.PlacementRelation("near", mask=bytes([255] * 16))
    request = {"move": paste.MoveRequest(4, 4, 3, bytes(48), mask=bytes([255] * 16), relations=(relation,)),
               "replace": paste.ReplaceRequest(4, 4, 3, bytes(48), mask=bytes([255] * 16), source=source),
               "add": paste.AddRequest(4, 4, 3, bytes(48), source=source, relations=(relation,))}[edit]
    with sec.SemanticEditClient(server) as client:
        info = client.get_info()
        monkeypatch.setattr(client, "get_info", lambda: dataclasses.replace(info, version="0.1",
                                                                            edits=("remove", "recolor")))
        with pytest.raises(sec.InvalidRequestError) as error:
            getattr(client, edit)(request)
    assert str(error.value) == (f"The server at {server} (version 0.1) does not offer {words}; it offers: remove, "
                                "recolor. Update the Semantic Edit server, or start one of this plug-in's version.")


def test_parse_address():
    assert sec.parse_address(" 127.0.0.1:50051 ") == "127.0.0.1:50051"
    assert sec.parse_address("[::1]:7000") == "[::1]:7000"
    assert sec.parse_address("gpu-box.local:1") == "gpu-box.local:1"
    for bad in ("", "50051", ":50051", "host:", "host:0", "host:70000", "::1:50051"):
        with pytest.raises(sec.InvalidRequestError):
            sec.parse_address(bad)


def test_glue_with_the_real_client_and_server(gimp, server):
    """The plug-in's run function end to end, with only GIMP faked: the returned layer holds the server's patch."""
    image_pixels, mask, _ = disc_scene(48, radius=8)
    image = Image(48, 48)
    source = Layer(image, "photo", 48, 48, 3, image_pixels.tobytes())
    image.layers.append(source)
    image.selection.buffer.data = (mask * 255).astype(np.uint8).tobytes()
    config = settings_config(server=server, iterations=10, dilation=2)

    values = gimp.plugin.run_remove(Procedure(), "NONINTERACTIVE", image, [source], config, None)

    assert values.index(0) == "SUCCESS", values.index(1)
    result_layer = values.index(1)
    assert result_layer is image.layers[0].children[-1]
    x, y = result_layer.offsets
    w, h = result_layer.get_width(), result_layer.get_height()
    patch = np.frombuffer(result_layer.buffer.data, np.uint8).reshape(h, w, 3)
    hole = np.frombuffer(image.layers[0].children[1].buffer.data, np.uint8).reshape(h, w, 3)[..., 0] == 255
    assert np.array_equal(patch[~hole], image_pixels[y:y + h, x:x + w][~hole])
    assert source.buffer.data == image_pixels.tobytes()


def test_the_server_address_a_person_typed_is_remembered_even_when_the_run_fails(gimp, server, stopped_server,
                                                                                 monkeypatch):
    image_pixels, mask, _ = disc_scene(48, radius=8)
    image = Image(48, 48)
    source = Layer(image, "photo", 48, 48, 3, image_pixels.tobytes())
    image.layers.append(source)
    image.selection.buffer.data = (mask * 255).astype(np.uint8).tobytes()
    shown = []
    monkeypatch.setattr(gimp.plugin, "_show_dialog",
                        lambda procedure, config, *args: shown.append(config["server"]) or True)

    # The person types the address of a server that is not running yet: the run fails, the address is kept.
    failed = gimp.plugin.run_remove(Procedure(), "INTERACTIVE", image, [source],
                                    settings_config(server=stopped_server), None)
    assert failed.index(0) == "EXECUTION_ERROR" and "`semantic-edit serve`" in failed.index(1)
    assert bytes(gimp.Gimp.get_parasite("semantic-edit-server").get_data()).decode() == stopped_server

    # Next time the dialog opens with it, whatever GIMP's own last values say.
    gimp.plugin.run_remove(Procedure(), "INTERACTIVE", image, [source], settings_config(server="10.0.0.1:1"), None)
    assert shown == [stopped_server, stopped_server]

    # Repeat-last runs use it too; scripts (NONINTERACTIVE) always use the address they pass.
    gimp.Gimp.attach_parasite(gimp.Gimp.Parasite.new("semantic-edit-server", 1, list(server.encode())))
    repeated = gimp.plugin.run_remove(Procedure(), "WITH_LAST_VALS", image, [source],
                                      settings_config(server=stopped_server, iterations=2), None)
    assert repeated.index(0) == "SUCCESS", repeated.index(1)
    scripted = gimp.plugin.run_remove(Procedure(), "NONINTERACTIVE", image, [source],
                                      settings_config(server=stopped_server), None)
    assert "No Semantic Edit server answers at " + stopped_server in scripted.index(1)


# --- bytes helpers ----------------------------------------------------------------------------------------------


def test_mask_bytes_helpers():
    rgba = np.array([[[0, 0, 0, 255], [0, 9, 0, 255], [255, 255, 255, 0], [1, 0, 0, 1]]], np.uint8)
    assert mask_bytes.mask_from_pixels(rgba.tobytes(), 4, has_alpha=True) == bytes([0, 255, 0, 255])
    assert mask_bytes.mask_from_pixels(bytes([0, 0, 0, 0, 0, 7]), 3, has_alpha=False) == bytes([0, 255])
    placed = np.frombuffer(mask_bytes.place(bytes([1, 2, 3, 4]), 2, 2, -1, 2, 3, 4), np.uint8).reshape(4, 3)
    assert placed.tolist() == [[0, 0, 0], [0, 0, 0], [2, 0, 0], [4, 0, 0]]
    assert mask_bytes.place(bytes(4), 2, 2, 5, 5, 3, 3) == bytes(9)
    assert mask_bytes.gray_to_rgb(bytes([0, 255])) == bytes([0, 0, 0, 255, 255, 255])
    assert mask_bytes.is_empty(bytes(5)) and not mask_bytes.is_empty(bytes([0, 0, 1]))
    data = bytes(range(24))  # 4 x 2 pixels, 3 channels
    assert mask_bytes.crop(data, 4, 3, 1, 1, 2, 1) == bytes(range(15, 21))
    grid = np.zeros((5, 7), np.uint8)
    grid[1, 4] = grid[3, 2] = 9
    assert mask_bytes.bounds(grid.tobytes(), 7) == (2, 1, 3, 3)
    assert mask_bytes.bounds(bytes(35), 7) is None and mask_bytes.bounds(b"\x01", 1) == (0, 0, 1, 1)
    mask = bytes([0, 255, 255, 0])
    assert mask_bytes.mask_to_rgba(mask) == bytes(4) + b"\xff" * 8 + bytes(4)
    assert mask_bytes.mask_from_pixels(mask_bytes.mask_to_rgba(mask), 4, has_alpha=True) == mask


def test_client_module_imports_without_grpc_numpy_or_gimp():
    code = ("import sys; sys.modules.update({'grpc': None, 'numpy': None, 'gi': None}); "
            f"sys.path.insert(0, {str(PLUGIN_DIR)!r}); import semantic_edit_client, mask_bytes; "
            "semantic_edit_client.SemanticEditClient('127.0.0.1:1')")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and "GrpcMissingError" in run.stderr and "Re-run ./install.sh" in run.stderr


# --- the installer (no network: the vendor folder is marked as already filled) -------------------------------------


def _installer(*args, home):
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    return subprocess.run(["bash", str(INSTALL_PLUGIN), *args], capture_output=True, text=True, env=env,
                          timeout=120, cwd=REPO)


def _vendor_stamp(python_version="3.13"):
    import grpc
    import google.protobuf
    return (f"python {python_version} manylinux2014_x86_64 grpcio=={grpc.__version__} "
            f"protobuf=={google.protobuf.__version__}")


def test_installer_without_gimp_says_so_and_succeeds(tmp_path):
    if shutil.which("gimp-console-3.0") or shutil.which("gimp-3.0"):
        pytest.skip("this machine has GIMP 3")
    run = _installer("--python", sys.executable, home=tmp_path)
    assert run.returncode == 0 and "no GIMP 3 found" in run.stdout and not (tmp_path / ".config").exists()


def test_installer_copies_generates_is_idempotent_and_uninstalls(tmp_path):
    if platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip("the vendor stamp below names the x86_64 wheels")
    plugins = tmp_path / "somewhere" / "plug-ins"
    target = plugins / "semantic-edit"
    (target / "vendor").mkdir(parents=True)
    (target / "vendor" / ".installed").write_text(_vendor_stamp() + "\n")  # as if the wheels were there
    (target / "old_module.py").write_text("")  # left from an older version: must go
    for attempt in range(2):
        run = _installer("--gimp-plugins-dir", str(plugins), "--gimp-python", "3.13", "--python", sys.executable,
                         home=tmp_path)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "vendor/ already holds" in run.stdout
        assert os.access(target / "semantic-edit.py", os.X_OK)
        assert {p.name for p in target.glob("*.py")} == {p.name for p in PLUGIN_DIR.glob("*.py")}
        assert (target / "vendor" / "semantic_edit" / "v1" / "semantic_edit_pb2_grpc.py").is_file()
    run = _installer("--uninstall", "--gimp-plugins-dir", str(plugins), home=tmp_path)
    assert run.returncode == 0 and not target.exists() and plugins.is_dir()


def test_installer_finds_gimp_3_0_and_3_2_profiles_and_refuses_bad_arguments(tmp_path):
    for version in ("3.0", "3.2"):
        (tmp_path / ".config" / "GIMP" / version / "plug-ins" / "semantic-edit").mkdir(parents=True)
    run = _installer("--uninstall", home=tmp_path)
    assert run.returncode == 0 and run.stdout.count("removed") == 2
    assert not list((tmp_path / ".config" / "GIMP").glob("*/plug-ins/semantic-edit"))
    assert _installer("--gimp-python", "3", "--python", sys.executable, home=tmp_path).returncode != 0
    assert _installer("--frobnicate", home=tmp_path).returncode != 0
    run = _installer(home=tmp_path)
    assert run.returncode != 0 and "--python PY is required" in run.stderr
