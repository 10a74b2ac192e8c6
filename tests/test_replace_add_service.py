"""Replace and add through the API and the command line: a real server answers what the pipeline computes, lists the
placements, refuses bad sources and relations with sentences; the CLI gives the same pixels in-process and through
the server."""
from __future__ import annotations

import grpc
import numpy as np
import pytest
from PIL import Image

from inference_server.cli import EXIT_BAD_INPUT, EXIT_OK, main
from inference_server.pipeline.add import AddOptions, add_object
from inference_server.pipeline.options import RemoveOptions
from inference_server.pipeline.pasting import source_cutout
from inference_server.pipeline.replace import ReplaceOptions, replace_object
from inference_server.placement.predict import PositionPredictor
from inference_server.placement.vocabulary import Triplet
from semantic_edit.v1 import semantic_edit_pb2 as pb
from conftest import SCENE_SIZE as SIZE
from test_move import box01
from test_move_service import mask_target
from test_replace_add import picture_of
from test_service import run_edit

OPTIONS = pb.EditOptions(quality="fast", iterations=20, dilation_px=2)
FAST = RemoveOptions(quality="fast", iterations=20, dilation_px=2)


def image_proto(image: np.ndarray) -> pb.Image:
    height, width, channels = image.shape
    return pb.Image(width=width, height=height, format=pb.PIXEL_FORMAT_RGBA8 if channels == 4 else pb.PIXEL_FORMAT_RGB8,
                    data=np.ascontiguousarray(image).tobytes())


def masks_of(result: pb.EditResult) -> dict[str, np.ndarray]:
    r = result.region
    return {m.name: np.frombuffer(m.data, np.uint8).reshape(r.height, r.width) == 255 for m in result.masks}


def patch_of(result: pb.EditResult, channels: int = 3) -> np.ndarray:
    r = result.region
    return np.frombuffer(result.patch.data, np.uint8).reshape(r.height, r.width, channels)


def replace_request(pair) -> pb.EditRequest:
    source = pb.SourceObject(image=image_proto(picture_of(pair.after, 0)), object_class=pair.after.classes[0])
    return pb.EditRequest(image=image_proto(pair.before.image),
                          replace=pb.ReplaceEdit(target=mask_target(pair.before.object_masks[0]), source=source,
                                                 fit=pb.REPLACE_FIT_WIDTH),
                          options=OPTIONS)


def add_request(pair, **add) -> pb.EditRequest:
    relation = pb.PlacementRelation(predicate="left of", reference=mask_target(pair.before.object_masks[0]),
                                    reference_class=pair.before.classes[0])
    source = pb.SourceObject(image=image_proto(picture_of(pair.after, -1)), object_class=pair.after.classes[-1])
    return pb.EditRequest(image=image_proto(pair.before.image),
                          add=pb.AddEdit(source=source, relations=[relation], **add), options=pb.EditOptions(seed=3))


def test_replace_answers_the_pipelines_pixels_and_masks(stub, replaced):
    progress, result = run_edit(stub, replace_request(replaced))
    local = replace_object(replaced.before.image, replaced.before.object_masks[0],
                           source_cutout(picture_of(replaced.after, 0)), ReplaceOptions(FAST, fit="width"))
    assert tuple(local.region) == (result.region.x, result.region.y, result.region.width, result.region.height)
    assert np.array_equal(patch_of(result), local.patch)
    masks = masks_of(result)
    assert set(masks) == {"object", "hole", "placed"}  # the old object's shadow stays: no shadow masks
    assert all(np.array_equal(masks[name], getattr(local, f"{name}_mask")) for name in masks)
    assert list(result.placements) == []
    stages = [p.stage for p in progress]
    assert stages.index("inpaint") < stages.index("paste")


def test_add_answers_the_pipelines_pixels_mask_and_placements(stub, added):
    _, result = run_edit(stub, add_request(added, candidates=3))
    before = added.before
    local = add_object(before.image, source_cutout(picture_of(added.after, -1)), added.after.classes[-1],
                       [Triplet("left of", before.classes[0], box01(before.boxes[0]))], PositionPredictor(),
                       AddOptions(candidates=3, seed=3), reference_masks=[before.object_masks[0]])
    assert np.array_equal(patch_of(result), local.patch)
    masks = masks_of(result)
    assert set(masks) == {"placed", "placed shadow"}  # the reference casts a shadow, so the new object does too
    assert np.array_equal(masks["placed"], local.placed_mask)
    assert np.array_equal(masks["placed shadow"], local.placed_shadow_mask)
    assert len(result.placements) == 3 and result.placements[0].all_relations_hold
    best = result.placements[0].box
    assert best.x + best.width / 2 < (before.boxes[0, 0] + before.boxes[0, 2]) / 2
    assert result.iterations == 0
    info = stub.GetInfo(pb.GetInfoRequest())
    assert {"replace", "add"} <= set(info.edits)


def test_add_keeps_an_rgba_images_alpha(stub, added):
    request = add_request(added)
    image = np.dstack([added.before.image, np.full((SIZE, SIZE), 77, np.uint8)])
    request.image.CopyFrom(image_proto(image))
    _, result = run_edit(stub, request)
    assert (patch_of(result, 4)[..., 3] == 77).all()


@pytest.mark.parametrize("change, words", [
    (lambda r: r.add.ClearField("relations"), "add needs at least one relation"),
    (lambda r: r.add.ClearField("source"), "add needs a source object"),
    (lambda r: r.add.source.image.__setattr__("data", bytes(len(r.add.source.image.data))), "source object is empty"),
    (lambda r: r.add.source.image.__setattr__("width", 0), "the source picture is 0x"),
    (lambda r: r.add.relations[0].__setattr__("predicate", "inside"), "left of, right of"),
    (lambda r: r.add.__setattr__("candidates", 20), "candidates must be 1 to 16"),
])
def test_bad_adds_are_invalid_argument(stub, added, change, words):
    request = add_request(added)
    change(request)
    with pytest.raises(grpc.RpcError) as raised:
        run_edit(stub, request)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert words in raised.value.details()


def test_a_replace_by_class_without_weights_is_a_failed_precondition(stub, replaced):
    request = replace_request(replaced)
    request.replace.target.CopyFrom(pb.Target(class_target=pb.ClassTarget(name="person")))
    with pytest.raises(grpc.RpcError) as raised:
        run_edit(stub, request)
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    _, result = run_edit(stub, replace_request(replaced))  # and the server keeps serving
    assert result.region.width > 0


def test_cli_replace_and_add_in_process_equal_through_a_server(replaced, added, server_address, tmp_path, capsys):
    for name, image in (("before", replaced.before.image), ("scene", added.before.image)):
        Image.fromarray(image).save(tmp_path / f"{name}.png")
    Image.fromarray(replaced.before.object_masks[0].astype(np.uint8) * 255).save(tmp_path / "old.png")
    Image.fromarray(added.before.object_masks[0].astype(np.uint8) * 255).save(tmp_path / "reference.png")
    Image.fromarray(picture_of(replaced.after, 0)).save(tmp_path / "new.png")
    Image.fromarray(picture_of(added.after, -1)).save(tmp_path / "added.png")
    commands = {
        "replace": ["replace", str(tmp_path / "before.png"), "--mask", str(tmp_path / "old.png"),
                    "--with", str(tmp_path / "new.png"), "--fit", "width", "--quality", "fast", "--iterations", "20", "--dilate", "2"],
        "add": ["add", str(tmp_path / "scene.png"), "--with", str(tmp_path / "added.png"),
                "--to", "left of", f"mask:{tmp_path / 'reference.png'}", "--candidates", "3"],
    }
    for kind, command in commands.items():
        assert main([*command, "-o", str(tmp_path / f"{kind}-local.png"),
                     "--save-masks", str(tmp_path / kind)]) == EXIT_OK
        assert main([*command, "-o", str(tmp_path / f"{kind}-remote.png"), "--server", server_address]) == EXIT_OK
        local, remote = (np.asarray(Image.open(tmp_path / f"{kind}-{where}.png")) for where in ("local", "remote"))
        assert np.array_equal(local, remote)
    out = capsys.readouterr().out
    assert "placement 1 of 3" in out and "no fill" in out
    placed = np.asarray(Image.open(tmp_path / "add" / "placed-mask.png")) == 255
    shadow = np.asarray(Image.open(tmp_path / "add" / "placed-shadow-mask.png")) == 255
    local = np.asarray(Image.open(tmp_path / "add-local.png"))
    changed = placed | shadow
    assert np.array_equal(local[~changed], added.before.image[~changed]) and placed.any() and shadow.any()
    assert local[shadow].astype(float).mean() < added.before.image[shadow].astype(float).mean()  # darker ground
    cols = np.flatnonzero(placed.any(axis=0))
    assert (cols[0] + cols[-1] + 1) / 2 < (added.before.boxes[0, 0] + added.before.boxes[0, 2]) / 2
    assert sorted(p.name for p in (tmp_path / "replace").iterdir()) == ["hole-mask.png", "object-mask.png",
                                                                        "placed-mask.png"]
    assert sorted(p.name for p in (tmp_path / "add").iterdir()) == ["placed-mask.png", "placed-shadow-mask.png"]

    Image.fromarray(picture_of(added.after, -1)[..., :3]).save(tmp_path / "opaque.png")
    assert main([*commands["add"][:2], "--with", str(tmp_path / "opaque.png"), *commands["add"][4:],
                 "-o", str(tmp_path / "x.png")]) == EXIT_BAD_INPUT
    assert "no alpha channel and no mask" in capsys.readouterr().err
    assert main([*commands["replace"][:-6], "--with-mask", str(tmp_path / "old.png"), "-o",
                 str(tmp_path / "x.png")]) == EXIT_BAD_INPUT
    assert "the source mask is 96x96" in capsys.readouterr().err
