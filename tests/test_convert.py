"""The proto <-> numpy boundary: what a client sends is what the pipeline receives."""
from __future__ import annotations

import numpy as np

from inference_server.pipeline.masks import Region
from inference_server.pipeline.options import GuidanceMode, GuidanceStatistic, RemoveOptions
from inference_server.pipeline.remove import RemoveResult
from inference_server.service.convert import (
    edit_request_from_proto, edit_request_to_proto, result_from_proto, result_to_proto)
from semantic_edit.v1 import semantic_edit_pb2 as pb
from synthetic_images import disc_scene


def test_every_option_survives_the_round_trip():
    image, mask, _ = disc_scene(32, radius=6)
    options = RemoveOptions(dilation_px=7, quality="best", iterations=12, seed=99, guidance_weight=2.5,
                            guidance_mode=GuidanceMode.PER_ROW, guidance_statistic=GuidanceStatistic.MEAN)
    received = edit_request_from_proto(edit_request_to_proto(image, mask, options), max_pixels=10**6)
    assert received.options == options
    assert np.array_equal(received.image, image)
    assert np.array_equal(received.object_mask, mask)
    assert received.pixel_format == pb.PIXEL_FORMAT_RGB8


def test_unset_options_take_the_documented_defaults():
    image, mask, _ = disc_scene(32, radius=6)
    request = edit_request_to_proto(image, mask, RemoveOptions())
    request.options.Clear()
    options = edit_request_from_proto(request, max_pixels=10**6).options
    assert options == RemoveOptions(dilation_px=None, quality="balanced", iterations=None, seed=0,
                                    guidance_weight=0.1, guidance_mode=GuidanceMode.WHOLE_HOLE,
                                    guidance_statistic=GuidanceStatistic.MEDIAN)


def test_result_round_trip_keeps_region_patch_and_masks():
    rng = np.random.default_rng(1)
    region = Region(3, 4, 5, 6)
    result = RemoveResult(region=region, patch=rng.integers(0, 256, (6, 5, 4), dtype=np.uint8),
                          object_mask=rng.random((6, 5)) > 0.5, hole_mask=rng.random((6, 5)) > 0.3,
                          dilation_px=2, iterations=17, timings={"prepare": 0.5, "inpaint": 2.0})
    back = result_from_proto(result_to_proto(result, pb.PIXEL_FORMAT_RGBA8))
    assert back.region == region
    assert np.array_equal(back.patch, result.patch)
    assert np.array_equal(back.object_mask, result.object_mask)
    assert np.array_equal(back.hole_mask, result.hole_mask)
    assert (back.dilation_px, back.iterations, back.timings) == (2, 17, result.timings)
