"""`semantic-edit detect` and `semantic-edit remove --object/--box`, in-process (--weights) and through a server.

The model is the rigged checkpoint of segmentation_checkpoints.py (every proposal a 'person', masks fill their box).
"""
from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
from PIL import Image

from conftest import DETECTION_SIZE
from inference_server.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, main
from inference_server.pipeline.masks import dilate
from synthetic_images import textured_background

FAST = ["--quality", "fast", "--iterations", "3", "--dilate", "1"]


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    image = textured_background(56, 64, seed=9)
    Image.fromarray(image).save(folder / "photo.png")
    return folder / "photo.png", image


@pytest.fixture
def model(rigged_weights):
    return ["--weights", str(rigged_weights), "--detection-size", str(DETECTION_SIZE), "--max-objects", "3"]


def detect_json(args, capsys) -> dict:
    assert main(["detect", *args, "--json"]) == EXIT_OK
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def detected(photo, rigged_weights, tmp_path_factory):
    """The in-process detect answer (JSON) and the folder of its saved masks."""
    path, _ = photo
    masks = tmp_path_factory.mktemp("masks")
    buffer = io.StringIO()  # a module fixture cannot use capsys
    with contextlib.redirect_stdout(buffer):
        assert main(["detect", str(path), "--weights", str(rigged_weights), "--detection-size", str(DETECTION_SIZE),
                     "--max-objects", "3", "--json", "--save-masks", str(masks)]) == EXIT_OK
    return json.loads(buffer.getvalue()), masks


def test_detect_prints_objects_and_relations_and_saves_masks(photo, detected):
    path, image = photo
    answer, masks = detected
    assert answer["model"] == "maskrcnn_resnet50_fpn_v2"
    objects = answer["objects"]
    assert [o["id"] for o in objects] == [0, 1, 2] and {o["class_name"] for o in objects} == {"person"}
    by_centre = sorted(objects, key=lambda o: ((o["box"][0] + o["box"][2]) / 2, (o["box"][1] + o["box"][3]) / 2))
    assert [o["instance"] for o in by_centre] == [1, 2, 3]
    for o in objects:
        saved = np.asarray(Image.open(masks / f"object-{o['id']}-person-{o['instance']}.png"))
        assert saved.shape == image.shape[:2] and int((saved == 255).sum()) == o["mask_pixels"] > 0
    assert answer["relations"] and all({"subject", "predicate", "reference"} <= set(r) for r in answer["relations"])


def test_detect_through_a_server_equals_in_process_and_prints_a_table(photo, detected, detection_server_address,
                                                                     capsys):
    path, _ = photo
    remote = detect_json([str(path), "--max-objects", "3", "--server", detection_server_address], capsys)
    local = dict(detected[0])
    for answer in (local, remote):
        answer.pop("seconds")
    assert remote == local
    assert main(["detect", str(path), "--max-objects", "3", "--server", detection_server_address]) == EXIT_OK
    table = capsys.readouterr().out
    assert "3 object(s) found by maskrcnn_resnet50_fpn_v2" in table and "person 2" in table


@pytest.mark.parametrize("through_server", [False, True])
def test_remove_by_object_changes_only_that_objects_hole(photo, model, detected, tmp_path, detection_server_address,
                                                         capsys, through_server):
    path, image = photo
    where = ["--server", detection_server_address, "--max-objects", "3"] if through_server else model
    out = tmp_path / "out.png"
    assert main(["remove", str(path), "--object", "person:2", "-o", str(out), *where, *FAST]) == EXIT_OK
    assert "objects " in capsys.readouterr().out
    mask_file = next(detected[1].glob("object-*-person-2.png"))
    mask = np.asarray(Image.open(mask_file)) == 255
    edited = np.asarray(Image.open(out))
    hole = dilate(mask, 1)
    assert np.array_equal(edited[~hole], image[~hole])
    assert not np.array_equal(edited[mask], image[mask])


def test_remove_needs_exactly_one_kind_of_target(photo, model, tmp_path, capsys):
    path, _ = photo
    out = str(tmp_path / "out.png")
    assert main(["remove", str(path), "-o", out, *model, *FAST]) == EXIT_BAD_INPUT
    assert "--object CLASS[:N]" in capsys.readouterr().err
    Image.fromarray(np.full((56, 64), 255, np.uint8)).save(tmp_path / "mask.png")
    assert main(["remove", str(path), "--mask", str(tmp_path / "mask.png"), "--object", "person", "-o", out,
                 *FAST]) == EXIT_BAD_INPUT
    assert "not both" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["remove", str(path), "--box", "10,10,5,20", "-o", out])
    assert "X0 < X1" in capsys.readouterr().err


def test_unknown_class_and_missing_weights_are_sentences(photo, model, tmp_path, capsys):
    path, _ = photo
    out = str(tmp_path / "out.png")
    assert main(["remove", str(path), "--object", "unicorn", "-o", out, *model, *FAST]) == EXIT_BAD_INPUT
    assert "does not know the class 'unicorn'" in capsys.readouterr().err
    assert main(["detect", str(path), "--weights", str(tmp_path / "none.pth")]) == EXIT_FAILED
    assert "./install.sh --weights FILE" in capsys.readouterr().err
