"""The structure probe: copies of the hole cut from known pixels decide how much to trust each structure model."""
import numpy as np
import pytest
import torch

from inference_server.errors import InvalidInputError
from inference_server.inpainting.internal_fill import InternalFillSettings
from inference_server.inpainting.structure_probe import best_share, choose_extrapolation_share, probe_offsets
from inference_server.pipeline.options import RemoveOptions
from inference_server.pipeline.remove import apply_patch, remove_object

CPU = torch.device("cpu")


def square_hole(size: int, top: int, left: int, side: int) -> np.ndarray:
    hole = np.zeros((size, size), bool)
    hole[top:top + side, left:left + side] = True
    return hole


def test_probes_are_the_hole_moved_a_hole_plus_a_gap_away_sides_first():
    hole = square_hole(100, 45, 45, 10)
    assert probe_offsets(~hole, hole, gap=5) == [(0, -15), (0, 15), (-15, 0)]
    assert probe_offsets(~hole, hole, gap=5, limit=8) == [(0, -15), (0, 15), (-15, 0), (15, 0),
                                                          (-15, -15), (-15, 15), (15, -15), (15, 15)]


def test_probes_stay_inside_the_image_and_on_known_pixels():
    hole = square_hole(100, 45, 5, 10)  # 5 px from the left border: no room on the left
    known = ~hole
    known[45:55, 20:30] = False  # where the right probe would land: not known (another object, transparency)
    offsets = probe_offsets(known, hole, gap=5)
    assert (0, -15) not in offsets and (0, 15) not in offsets
    assert offsets == [(-15, 0), (15, 0), (-15, 15)]  # then the diagonals (the left ones leave the image)
    assert probe_offsets(~hole, np.zeros_like(hole), gap=5) == []


def test_best_share_is_the_blend_closest_to_the_truth():
    harmonic = torch.zeros(3, 4, 4)
    extrapolated = torch.ones(3, 4, 4)
    probe = torch.zeros(4, 4, dtype=torch.bool)
    probe[1:3, 1:3] = True
    truth = torch.full((3, 4, 4), 0.9)
    truth[:, ~probe] = 0.0  # pixels outside the probe do not count
    assert best_share(harmonic, extrapolated, truth, probe) == 0.875  # the grid point nearest 0.9
    assert best_share(harmonic, extrapolated, torch.full((3, 4, 4), 0.1), probe) == 0.125


def _grey(values: np.ndarray) -> np.ndarray:
    return np.repeat(values[..., None], 3, axis=2).round().clip(0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def disc_hole() -> np.ndarray:
    yy, xx = np.mgrid[0:240, 0:240]
    return (yy - 120) ** 2 + (xx - 120) ** 2 < 10 ** 2


def test_stripes_choose_the_extrapolation(disc_hole):
    xx = np.mgrid[0:240, 0:240][1]
    stripes = _grey(127 + 100 * np.sin(2 * np.pi * xx / 10))  # harmonic interpolation would smear them grey
    share = choose_extrapolation_share(stripes, ~disc_hole, disc_hole, InternalFillSettings(), CPU)
    assert share is not None and share >= 0.75


def test_a_smooth_ramp_chooses_the_harmonic_fill(disc_hole):
    yy, xx = np.mgrid[0:240, 0:240]
    ramp = _grey(40 + 0.8 * xx + 0.4 * yy)  # harmonic: exact on a linear ramp
    share = choose_extrapolation_share(ramp, ~disc_hole, disc_hole, InternalFillSettings(), CPU)
    assert share is not None and share <= 0.25


def test_no_room_for_a_probe_means_no_choice():
    hole = square_hole(64, 16, 16, 32)  # no shifted copy fits in a 64 px image
    image = _grey(np.full((64, 64), 100.0))
    assert choose_extrapolation_share(image, ~hole, hole, InternalFillSettings(), CPU) is None


def test_remove_measures_the_mix_unless_told(disc_hole):
    xx = np.mgrid[0:240, 0:240][1]
    stripes = _grey(127 + 100 * np.sin(2 * np.pi * xx / 10))

    def hole_error(**options) -> float:
        result = remove_object(stripes, disc_hole, RemoveOptions(quality="fast", texture=0.0, dilation_px=0,
                                                                  **options), device=CPU)
        out = apply_patch(stripes, result.region, result.patch)
        return float(np.abs(out[disc_hole].astype(int) - stripes[disc_hole]).mean())

    measured, harmonic_only = hole_error(), hole_error(structure_mix=0.0)
    assert harmonic_only > 40  # the stripes smeared grey
    assert measured < harmonic_only / 3  # the probes chose the extrapolation, which carries them across


def test_a_given_structure_mix_is_used_as_is():
    preset = RemoveOptions(structure_mix=0.3).validated().resolved_preset()
    assert (preset.synthesis.extrapolation_share, preset.synthesis.probe_share) == (0.3, False)
    assert RemoveOptions().resolved_preset().synthesis.probe_share
    with pytest.raises(InvalidInputError, match="structure mix must be a number between 0 and 1"):
        RemoveOptions(structure_mix=1.5).validated()
