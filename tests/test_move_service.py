"""Move through the API: a real server moves a scene's object next to a reference, answers the masks and the
placements it considered, and refuses bad relations with sentences."""
from __future__ import annotations

import grpc
import numpy as np
import pytest

from inference_server.pipeline.move import MoveOptions, move_object
from inference_server.pipeline.options import RemoveOptions
from inference_server.placement.predict import PositionPredictor
from inference_server.placement.vocabulary import Triplet
from semantic_edit.v1 import semantic_edit_pb2 as pb
from conftest import SCENE_SIZE as SIZE
from test_move import box01
from test_service import run_edit

OPTIONS = pb.EditOptions(quality="fast", iterations=20, dilation_px=2)



@pytest.fixture
def scene(two_object_scene):
    return two_object_scene

def mask_target(mask: np.ndarray) -> pb.Target:
    return pb.Target(mask=pb.Mask(width=mask.shape[1], height=mask.shape[0], data=mask.astype(np.uint8).tobytes()))


def move_request(scene, *relations: pb.PlacementRelation, **move) -> pb.EditRequest:
    image = scene.image
    return pb.EditRequest(
        image=pb.Image(width=SIZE, height=SIZE, format=pb.PIXEL_FORMAT_RGB8, data=image.tobytes()),
        move=pb.MoveEdit(target=mask_target(scene.object_masks[0]), object_class=scene.classes[0],
                         relations=list(relations), **move),
        options=OPTIONS)


def left_of_reference(scene, predicate: str = "left of") -> pb.PlacementRelation:
    return pb.PlacementRelation(predicate=predicate, reference=mask_target(scene.object_masks[1]),
                                reference_class=scene.classes[1])


def test_move_answers_the_pipelines_pixels_masks_and_placements(stub, scene):
    progress, result = run_edit(stub, move_request(scene, left_of_reference(scene)))
    local = move_object(scene.image, scene.object_masks[0], scene.classes[0],
                        [Triplet("left of", scene.classes[1], box01(scene.boxes[1]))], PositionPredictor(),
                        MoveOptions(remove=RemoveOptions(quality="fast", iterations=20, dilation_px=2)))
    r = result.region
    assert (r.x, r.y, r.width, r.height) == tuple(local.region)
    assert np.array_equal(np.frombuffer(result.patch.data, np.uint8).reshape(r.height, r.width, 3), local.patch)
    masks = {m.name: np.frombuffer(m.data, np.uint8).reshape(r.height, r.width) == 255 for m in result.masks}
    assert set(masks) == {"object", "hole", "shadow", "placed", "placed shadow"}  # the scene's objects cast shadows
    assert all(np.array_equal(masks[name], getattr(local, f"{name.replace(' ', '_')}_mask")) for name in masks)
    assert len(result.placements) == 4 and result.placements[0].all_relations_hold
    best = result.placements[0].box
    assert best.x + best.width / 2 < (scene.boxes[1, 0] + scene.boxes[1, 2]) / 2
    stages = [p.stage for p in progress]
    assert stages.index("place") < stages.index("inpaint") < stages.index("paste")
    info = stub.GetInfo(pb.GetInfoRequest())
    assert "move" in info.edits and "next to" in info.predicates
    assert any(m.task == "placement" and m.available for m in info.models)


def test_another_candidate_lands_elsewhere(stub, scene):
    _, first = run_edit(stub, move_request(scene, left_of_reference(scene)))
    _, second = run_edit(stub, move_request(scene, left_of_reference(scene), candidate=1))
    assert [p.box for p in first.placements] == [p.box for p in second.placements]
    placed = [next(m for m in result.masks if m.name == "placed") for result in (first, second)]
    assert placed[0].data != placed[1].data or first.region != second.region


@pytest.mark.parametrize("change, words", [
    (lambda r: r.move.relations[0].__setattr__("predicate", "beside-ish"), "left of, right of"),
    (lambda r: r.move.ClearField("relations"), "at least one relation"),
    (lambda r: r.move.__setattr__("candidate", 4), "candidate 4 does not exist"),
    (lambda r: r.move.__setattr__("candidates", 17), "candidates must be 1 to 16"),
    (lambda r: r.move.relations[0].reference.mask.__setattr__("data", bytes(SIZE * SIZE)), "reference mask is empty"),
])
def test_bad_moves_are_invalid_argument(stub, scene, change, words):
    request = move_request(scene, left_of_reference(scene))
    change(request)
    with pytest.raises(grpc.RpcError) as raised:
        run_edit(stub, request)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert words in raised.value.details()


def test_a_class_reference_without_weights_is_a_failed_precondition(stub, scene):
    relation = pb.PlacementRelation(predicate="left of", reference=pb.Target(class_target=pb.ClassTarget(name="car")))
    with pytest.raises(grpc.RpcError) as raised:
        run_edit(stub, move_request(scene, relation))
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_cli_move_in_process_equals_through_a_server(scene, server_address, tmp_path, capsys):
    from PIL import Image

    from inference_server.cli import EXIT_BAD_INPUT, EXIT_OK, main

    Image.fromarray(scene.image).save(tmp_path / "scene.png")
    for name, mask in (("object", scene.object_masks[0]), ("reference", scene.object_masks[1])):
        Image.fromarray(mask.astype(np.uint8) * 255).save(tmp_path / f"{name}.png")
    common = ["move", str(tmp_path / "scene.png"), "--mask", str(tmp_path / "object.png"),
              "--to", "left of", f"mask:{tmp_path / 'reference.png'}", "--object-class", scene.classes[0],
              "--quality", "fast", "--iterations", "20", "--dilate", "2"]
    assert main([*common, "-o", str(tmp_path / "local.png"), "--save-masks", str(tmp_path / "masks")]) == EXIT_OK
    assert "placement 1 of 4" in capsys.readouterr().out
    assert main([*common, "-o", str(tmp_path / "remote.png"), "--server", server_address]) == EXIT_OK
    local, remote = (np.asarray(Image.open(tmp_path / name)) for name in ("local.png", "remote.png"))
    assert np.array_equal(local, remote) and not np.array_equal(local, scene.image)
    placed = np.asarray(Image.open(tmp_path / "masks" / "placed-mask.png")) == 255
    cols = np.flatnonzero(placed.any(axis=0))
    assert (cols[0] + cols[-1] + 1) / 2 < (scene.boxes[1, 0] + scene.boxes[1, 2]) / 2
    assert main([*common[:5], "sideways", *common[6:], "-o", str(tmp_path / "x.png")]) == EXIT_BAD_INPUT
    assert "left of, right of" in capsys.readouterr().err
