"""Automatic dilation: a mask the user gives is filled as drawn; a mask the segmentation model found is grown."""
from __future__ import annotations

import numpy as np
import torch

from inference_server.pipeline.edit_spec import EditModels, EditSpec, TargetSpec, drawn_mask_options, run_edit
from inference_server.pipeline.masks import auto_dilation_px
from inference_server.pipeline.move import MoveOptions
from inference_server.pipeline.options import RemoveOptions
from inference_server.pipeline.recolor import RecolorOptions
from inference_server.pipeline.remove import remove_object
from inference_server.pipeline.replace import ReplaceOptions
from synthetic_images import disc_scene


def test_a_mask_target_is_filled_as_drawn():
    image, mask, _ = disc_scene(64, radius=10)
    result = run_edit(EditSpec("remove", image, RemoveOptions(quality="fast"), target=TargetSpec(mask=mask)),
                      EditModels(segmenter=None, predictor=None, device=torch.device("cpu")))
    assert result.dilation_px == 0
    hole = np.zeros_like(mask)
    hole[result.region.slices] = result.hole_mask
    assert np.array_equal(hole, mask)


def test_an_explicit_dilation_is_kept_for_a_mask_target():
    image, mask, _ = disc_scene(64, radius=10)
    result = run_edit(EditSpec("remove", image, RemoveOptions(quality="fast", dilation_px=3),
                               target=TargetSpec(mask=mask)),
                      EditModels(segmenter=None, predictor=None, device=torch.device("cpu")))
    assert result.dilation_px == 3


def test_remove_object_grows_a_mask_by_the_automatic_rule():
    """What a mask found by the segmentation model gets (run_edit passes those on unchanged)."""
    image, mask, _ = disc_scene(64, radius=10)
    result = remove_object(image, mask, RemoveOptions(quality="fast"))
    assert result.dilation_px == auto_dilation_px(mask) >= 2
    assert result.hole_mask.sum() > mask.sum()


def test_drawn_mask_options_reach_the_hole_of_move_and_replace_and_leave_recolor_alone():
    assert drawn_mask_options(MoveOptions()).remove.dilation_px == 0
    assert drawn_mask_options(ReplaceOptions()).remove.dilation_px == 0
    assert drawn_mask_options(MoveOptions(remove=RemoveOptions(dilation_px=5))).remove.dilation_px == 5
    recolor = RecolorOptions(colour=(255, 0, 0))
    assert drawn_mask_options(recolor) is recolor
