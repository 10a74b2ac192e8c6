"""Recolor through the API and the CLI: by mask and by class, the answer equal to the pipeline's, bad requests."""
from __future__ import annotations

import grpc
import numpy as np
import pytest
from PIL import Image

from inference_server.cli import EXIT_BAD_INPUT, EXIT_OK, main
from inference_server.pipeline.recolor import RecolorOptions, recolor_object
from inference_server.pipeline.remove import apply_patch
from inference_server.scenes import COLOURS, edit_recolor, random_scene, render_edit
from semantic_edit.v1 import semantic_edit_pb2 as pb
from semantic_edit.v1 import semantic_edit_pb2_grpc as pb_grpc
from test_service import run_edit

BLUE = COLOURS["blue"]  # the generator's blue: its after-image is the ground truth


@pytest.fixture(scope="module")
def scene():
    """Scene 12 at 96 px with object 3 (a red cylinder) recoloured blue by the generator: (before, after, mask)."""
    edit = render_edit(edit_recolor(random_scene(12, num_objects=(3, 5)), 3, "blue"), 96, 96)
    return edit.before.image, edit.after.image, edit.before.object_masks[3]


def recolor_request(image, target: pb.Target, **recolor) -> pb.EditRequest:
    return pb.EditRequest(
        image=pb.Image(width=image.shape[1], height=image.shape[0], format=pb.PIXEL_FORMAT_RGB8, data=image.tobytes()),
        recolor=pb.RecolorEdit(target=target, **{"color": pb.Color(red=BLUE[0], green=BLUE[1], blue=BLUE[2]),
                                                 **recolor}))


def mask_target(mask: np.ndarray) -> pb.Target:
    return pb.Target(mask=pb.Mask(width=mask.shape[1], height=mask.shape[0], data=mask.astype(np.uint8).tobytes()))


def patched(image, result: pb.EditResult) -> np.ndarray:
    r = result.region
    out = image.copy()
    out[r.y:r.y + r.height, r.x:r.x + r.width] = np.frombuffer(result.patch.data, np.uint8).reshape(
        r.height, r.width, 3)
    return out


def test_recolor_by_mask_answers_the_pipelines_pixels_and_masks(stub, scene):
    image, after, mask = scene
    progress, result = run_edit(stub, recolor_request(image, mask_target(mask)))
    local = recolor_object(image, mask, RecolorOptions(colour=BLUE))
    r = result.region
    assert (r.x, r.y, r.width, r.height) == tuple(local.region)
    assert np.array_equal(patched(image, result), apply_patch(image, local.region, local.patch))
    masks = {m.name: np.frombuffer(m.data, np.uint8).reshape(r.height, r.width) == 255 for m in result.masks}
    assert set(masks) == {"object", "edge"} and np.array_equal(masks["object"], mask[local.region.slices])
    assert result.iterations == 0 and result.dilation_px == 1
    assert "recolor" in {t.stage for t in result.timings}
    assert list(stub.GetInfo(pb.GetInfoRequest()).edits) == ["remove", "move", "replace", "add", "recolor"]
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    roi = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    error = np.abs(patched(image, result).astype(float) - after)[roi].mean()
    untouched = np.abs(image.astype(float) - after)[roi].mean()
    assert error < 0.15 * untouched, (error, untouched)  # measured 4.0 against 48.2


def test_strength_lightness_and_edge_reach_the_pipeline(stub, scene):
    image, _, mask = scene
    request = recolor_request(image, mask_target(mask), strength=0.5, lightness=0.0)
    request.options.dilation_px = 3
    _, result = run_edit(stub, request)
    local = recolor_object(image, mask, RecolorOptions(colour=BLUE, strength=0.5, lightness=0.0, edge_px=3))
    assert np.array_equal(patched(image, result), apply_patch(image, local.region, local.patch))
    assert result.dilation_px == 3


def test_recolor_by_class_uses_the_detected_mask(detection_server_address, scene):
    image, _, _ = scene
    channel = grpc.insecure_channel(detection_server_address)
    detector = pb_grpc.SemanticEditStub(channel)
    target = pb.Target(class_target=pb.ClassTarget(name="person:1"), detection=pb.DetectionOptions(max_objects=3))
    _, result = run_edit(detector, recolor_request(image, target))
    graph = detector.DetectObjects(pb.DetectRequest(image=recolor_request(image, target).image,
                                                    detection=pb.DetectionOptions(max_objects=3)))
    channel.close()
    chosen = next(o for o in graph.objects if o.instance == 1)
    assert list(result.object_ids) == [chosen.id]
    m = chosen.mask.region
    full = np.zeros(image.shape[:2], bool)
    full[m.y:m.y + m.height, m.x:m.x + m.width] = np.frombuffer(chosen.mask.data, np.uint8).reshape(
        m.height, m.width) == 255
    local = recolor_object(image, full, RecolorOptions(colour=BLUE))
    assert np.array_equal(patched(image, result), apply_patch(image, local.region, local.patch))


@pytest.mark.parametrize("change, words", [
    (lambda r: r.recolor.ClearField("color"), "recolor needs a colour"),
    (lambda r: setattr(r.recolor.color, "red", 300), "0..255"),
    (lambda r: setattr(r.recolor, "strength", 1.5), "strength must be a number between 0 and 1"),
    (lambda r: setattr(r.recolor, "lightness", float("nan")), "lightness"),
    (lambda r: setattr(r.options, "dilation_px", 99), "edge width"),
    (lambda r: r.recolor.target.mask.ClearField("data"), "mask data has 0 bytes"),
])
def test_bad_recolor_requests_are_invalid_argument(stub, scene, change, words):
    image, _, mask = scene
    request = recolor_request(image, mask_target(mask))
    change(request)
    with pytest.raises(grpc.RpcError) as raised:
        run_edit(stub, request)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert words in raised.value.details()


def test_empty_mask_is_refused_with_a_recolour_sentence(stub, scene):
    image, _, mask = scene
    with pytest.raises(grpc.RpcError) as raised:
        run_edit(stub, recolor_request(image, mask_target(np.zeros_like(mask))))
    assert "mark the object to recolour" in raised.value.details()


def test_cli_recolor_in_process_equals_through_a_server(scene, server_address, tmp_path, capsys):
    image, _, mask = scene
    Image.fromarray(image).save(tmp_path / "scene.png")
    Image.fromarray(mask.astype(np.uint8) * 255).save(tmp_path / "mask.png")
    common = ["recolor", str(tmp_path / "scene.png"), "--mask", str(tmp_path / "mask.png"), "--color", "#2a4bd7"]
    assert main([*common, "-o", str(tmp_path / "local.png"), "--save-masks", str(tmp_path / "masks")]) == EXIT_OK
    assert main([*common, "-o", str(tmp_path / "remote.png"), "--server", server_address]) == EXIT_OK
    local, remote = (np.asarray(Image.open(tmp_path / name)) for name in ("local.png", "remote.png"))
    assert np.array_equal(local, remote)
    expected = recolor_object(image, mask, RecolorOptions(colour=BLUE))
    assert np.array_equal(local, apply_patch(image, expected.region, expected.patch))
    assert np.array_equal(np.asarray(Image.open(tmp_path / "masks" / "object-mask.png")) == 255, mask)
    assert main([*common[:-1], "chartreuse-ish", "-o", str(tmp_path / "x.png")]) == EXIT_BAD_INPUT
    assert "unknown colour name" in capsys.readouterr().err
