"""The proto <-> numpy boundary: what a client sends is what the pipeline receives."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

import pytest

from inference_server.errors import InvalidInputError
from inference_server.pipeline.add import AddOptions
from inference_server.pipeline.detect import DetectionSettings
from inference_server.pipeline.edit_spec import EditSpec, RelationSpec, SourceSpec, TargetSpec
from inference_server.pipeline.masks import Region
from inference_server.pipeline.move import MoveOptions
from inference_server.pipeline.options import FillMethod, GuidanceMode, GuidanceStatistic, RemoveOptions
from inference_server.pipeline.pasting import PasteResult
from inference_server.pipeline.recolor import RecolorOptions
from inference_server.pipeline.remove import RemoveResult
from inference_server.pipeline.replace import ReplaceOptions
from inference_server.placement.predict import Placement
from inference_server.scene_graph.targets import TargetQuery
from inference_server.service.convert import result_from_proto, result_to_proto
from inference_server.service.convert_edits import edit_request_from_proto, edit_request_to_proto
from semantic_edit.v1 import semantic_edit_pb2 as pb
from synthetic_images import disc_scene


def test_every_option_survives_the_round_trip():
    image, mask, _ = disc_scene(32, radius=6)
    for options in (RemoveOptions(dilation_px=7, quality="best", iterations=12, seed=99, guidance_weight=2.5,
                                  guidance_mode=GuidanceMode.PER_ROW, guidance_statistic=GuidanceStatistic.MEAN,
                                  fill=FillMethod.DIP),
                    RemoveOptions(quality="fast", fill=FillMethod.SYNTHESIS, texture=0.25, guidance_weight=0.5,
                                  keep_shadow=True)):
        request = edit_request_to_proto(EditSpec("remove", image, options, target=TargetSpec(mask=mask)))
        received = edit_request_from_proto(request, max_pixels=10**6)
        assert received.options == options
    assert np.array_equal(received.image, image)
    assert np.array_equal(received.target.mask, mask)
    assert request.image.format == pb.PIXEL_FORMAT_RGB8


def test_unset_options_take_the_documented_defaults():
    image, mask, _ = disc_scene(32, radius=6)
    request = edit_request_to_proto(EditSpec("remove", image, RemoveOptions(), target=TargetSpec(mask=mask)))
    request.options.Clear()
    options = edit_request_from_proto(request, max_pixels=10**6).options
    assert options == RemoveOptions(dilation_px=None, quality="balanced", iterations=None, seed=0,
                                    guidance_weight=0.1, guidance_mode=GuidanceMode.WHOLE_HOLE,
                                    guidance_statistic=GuidanceStatistic.MEDIAN, fill=FillMethod.SYNTHESIS,
                                    texture=None, keep_shadow=False)
    assert options.resolved_preset().synthesis.texture == 0.75  # the documented default texture


@pytest.mark.parametrize(("change", "words"), [
    (lambda options: setattr(options, "fill", 7), "unknown fill method 7"),
    (lambda options: setattr(options, "texture", 1.5), "texture must be a number between 0 and 1"),
    (lambda options: setattr(options, "texture", float("nan")), "texture must be a number between 0 and 1"),
])
def test_bad_fill_options_are_refused_with_a_sentence(change, words):
    image, mask, _ = disc_scene(32, radius=6)
    request = edit_request_to_proto(EditSpec("remove", image, RemoveOptions(), target=TargetSpec(mask=mask)))
    change(request.options)
    with pytest.raises(InvalidInputError, match=words):
        edit_request_from_proto(request, max_pixels=10**6)


def test_result_round_trip_keeps_region_patch_and_masks():
    rng = np.random.default_rng(1)
    region = Region(3, 4, 5, 6)
    result = RemoveResult(region=region, patch=rng.integers(0, 256, (6, 5, 4), dtype=np.uint8),
                          object_mask=rng.random((6, 5)) > 0.5, hole_mask=rng.random((6, 5)) > 0.3,
                          dilation_px=2, iterations=17, timings={"prepare": 0.5, "inpaint": 2.0},
                          shadow_mask=rng.random((6, 5)) > 0.7)
    proto = result_to_proto(result, pb.PIXEL_FORMAT_RGBA8)
    assert [mask.name for mask in proto.masks] == ["object", "hole", "shadow"]
    back = result_from_proto(proto, (40, 30))
    assert back.region == region
    assert np.array_equal(back.patch, result.patch)
    assert np.array_equal(back.object_mask, result.object_mask)
    assert np.array_equal(back.hole_mask, result.hole_mask)
    assert np.array_equal(back.shadow_mask, result.shadow_mask)
    no_shadow = result_to_proto(replace(result, shadow_mask=None), pb.PIXEL_FORMAT_RGBA8)
    assert [mask.name for mask in no_shadow.masks] == ["object", "hole"]  # no empty "shadow" layer
    assert (back.dilation_px, back.iterations, back.timings) == (2, 17, result.timings)


def _picture(rng, width=7, height=5):
    picture = rng.integers(0, 256, (height, width, 4), dtype=np.uint8)
    picture[..., 3] = 0
    picture[1:4, 2:6, 3] = 255
    return picture


def test_move_replace_add_and_recolor_survive_the_round_trip():
    rng = np.random.default_rng(2)
    image, mask, _ = disc_scene(32, radius=6)
    reference = np.zeros(mask.shape, bool)
    reference[2:6, 20:30] = True
    by_class = TargetSpec(query=TargetQuery(class_target="person:2"),
                          detection=DetectionSettings(score_threshold=0.75))  # exact in float32, as sent
    relations = (RelationSpec("left of", TargetSpec(mask=reference), "blue sphere"),
                 RelationSpec("on", by_class, "", reference_is_subject=True))
    source_mask = rng.random((5, 7)) > 0.4
    specs = [
        EditSpec("move", image, MoveOptions(remove=RemoveOptions(dilation_px=3, seed=5, guidance_weight=0.5),
                                            candidates=6, candidate=2, keep_size=True),
                 target=TargetSpec(mask=mask), object_class="red cube", relations=relations),
        EditSpec("replace", image, ReplaceOptions(RemoveOptions(quality="fast", iterations=9, guidance_weight=0.25),
                                                  fit="height"), target=by_class,
                 source=SourceSpec(_picture(rng), source_mask), object_class="lamp"),
        EditSpec("add", image, AddOptions(candidates=3, candidate=1, seed=11, keep_size=True), object_class="lamp",
                 relations=relations, source=SourceSpec(_picture(rng))),
        EditSpec("recolor", image, RecolorOptions(colour=(10, 200, 30), strength=0.5, lightness=0.25, edge_px=2),
                 target=TargetSpec(mask=mask)),
    ]
    for spec in specs:
        back = edit_request_from_proto(edit_request_to_proto(spec), max_pixels=10**6)
        assert (back.kind, back.options, back.object_class) == (spec.kind, spec.options, spec.object_class)
        assert np.array_equal(back.image, image)
        for sent, received in zip(spec.targets, back.targets):
            assert (received.query, received.detection) == (sent.query, sent.detection)
            assert (received.mask is None) == (sent.mask is None)
            assert sent.mask is None or np.array_equal(received.mask, sent.mask)
        assert [(r.predicate, r.reference_class, r.reference_is_subject) for r in back.relations] == [
            (r.predicate, r.reference_class, r.reference_is_subject) for r in spec.relations]
        if spec.source is not None:
            assert np.array_equal(back.source.picture, spec.source.picture)
            assert (back.source.mask is None) == (spec.source.mask is None)
            assert spec.source.mask is None or np.array_equal(back.source.mask, spec.source.mask)


@pytest.mark.parametrize("breaks, message", [
    (lambda r: r.add.ClearField("relations"), "add needs at least one relation"),
    (lambda r: r.add.ClearField("source"), "add needs a source object"),
    (lambda r: r.add.source.image.CopyFrom(pb.Image(width=7, height=5, format=pb.PIXEL_FORMAT_RGB8,
                                                     data=bytes(105))), "no mask"),
    (lambda r: r.add.source.image.CopyFrom(pb.Image(width=7, height=5, format=pb.PIXEL_FORMAT_RGBA8,
                                                     data=bytes(140))), "source object is empty"),
    (lambda r: r.add.source.mask.CopyFrom(pb.Mask(width=3, height=3, data=bytes(9))), "the source picture is 7x5"),
    (lambda r: setattr(r.add, "candidate", 9), "candidate 9 does not exist"),
    (lambda r: setattr(r.add.relations[0], "predicate", "inside"), "use one of: left of"),
])
def test_a_bad_add_request_is_refused_with_a_sentence(breaks, message):
    rng = np.random.default_rng(3)
    image, mask, _ = disc_scene(32, radius=6)
    spec = EditSpec("add", image, AddOptions(), relations=(RelationSpec("above", TargetSpec(mask=mask)),),
                    source=SourceSpec(_picture(rng)))
    request = edit_request_to_proto(spec)
    breaks(request)
    with pytest.raises(InvalidInputError, match=message):
        edit_request_from_proto(request, max_pixels=10**6)


def test_a_replace_without_a_source_is_refused():
    image, mask, _ = disc_scene(32, radius=6)
    request = pb.EditRequest(image=pb.Image(width=32, height=32, format=pb.PIXEL_FORMAT_RGB8, data=image.tobytes()),
                             replace=pb.ReplaceEdit(target=pb.Target(mask=pb.Mask(
                                 width=32, height=32, data=mask.astype(np.uint8).tobytes()))))
    with pytest.raises(InvalidInputError, match="replace needs a source object"):
        edit_request_from_proto(request, max_pixels=10**6)


def test_a_paste_result_round_trip_keeps_masks_and_placements():
    rng = np.random.default_rng(4)
    region = Region(10, 20, 8, 6)
    placements = [Placement((0.25, 0.5, 0.5, 0.75), (True, True), 1.0, "point"),
                  Placement((0.0, 0.1, 0.2, 0.3), (True, False), 0.5, "sample")]
    add = PasteResult(region=region, patch=rng.integers(0, 256, (6, 8, 3), dtype=np.uint8), object_mask=None,
                      hole_mask=None, placed_mask=rng.random((6, 8)) > 0.5, placement=placements[0],
                      candidates=placements, image_size=(40, 80))
    proto = result_to_proto(add, pb.PIXEL_FORMAT_RGB8)
    assert [m.name for m in proto.masks] == ["placed"]
    assert [(p.box.x, p.box.y, p.box.width, p.box.height, p.all_relations_hold) for p in proto.placements] == [
        (10, 40, 10, 20, True), (0, 8, 8, 16, False)]
    back = result_from_proto(proto, (40, 80))
    assert isinstance(back, PasteResult) and back.object_mask is None and back.hole_mask is None
    assert np.array_equal(back.placed_mask, add.placed_mask) and np.array_equal(back.patch, add.patch)
    assert [p.box for p in back.candidates] == [p.box for p in placements]
    assert [p.all_satisfied for p in back.candidates] == [True, False]
