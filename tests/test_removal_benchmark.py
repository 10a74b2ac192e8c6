"""The removal benchmark's parts (tests/benchmarks/removal_benchmark.py) on tiny images: the hole generator, the
sharpness metric, the xphoto baselines' mask convention, the win/loss and smooth-case tables, the method registry
and the command line."""
from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import ndimage
from skimage import color, filters

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))
import removal_benchmark as bench  # noqa: E402

CPU = torch.device("cpu")


def texture(height: int = 80, width: int = 96, seed: int = 0) -> np.ndarray:
    """A smooth-ish random colour texture: (H, W, 3) uint8."""
    noise = np.random.default_rng(seed).uniform(0, 255, size=(height, width, 3))
    return np.clip(ndimage.gaussian_filter(noise, sigma=(1.5, 1.5, 0)) * 2 - 128, 0, 255).astype(np.uint8)


# ---- holes ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("placement", ["random", "smooth spot", "hand-picked"])
@pytest.mark.parametrize("seed", range(4))
def test_holes_are_object_sized_blobs_inside_the_image(placement, seed):
    image = texture()
    mask = bench.photo_hole(image, bench.hole_rng("tiny", seed), placement, spot=(0.9, 0.1))
    height, width = mask.shape
    assert bench.HOLE_FRACTION[0] <= mask.mean() <= bench.HOLE_FRACTION[1]
    x0, y0, x1, y1 = bench.bounding_box(mask)
    margin = bench.HOLE_MARGIN_PX
    assert x0 >= margin and y0 >= margin and x1 <= width - margin and y1 <= height - margin
    assert ndimage.label(mask)[1] == 1


def test_holes_are_deterministic_per_seed():
    image = texture()
    first = bench.photo_hole(image, bench.hole_rng("tiny", 3), "random")
    again = bench.photo_hole(image, bench.hole_rng("tiny", 3), "random")
    other = bench.photo_hole(image, bench.hole_rng("tiny", 4), "random")
    elsewhere = bench.photo_hole(image, bench.hole_rng("other photo", 3), "random")
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other) and not np.array_equal(first, elsewhere)


def test_the_smooth_spot_finds_the_flat_part():
    """Left half a gentle ramp (smooth), right half noise: the smooth-spot hole lies in the left half and the case is
    tagged smooth; a hand-picked hole in the noise is tagged texture."""
    image = texture(80, 160)
    ramp = np.linspace(90, 110, 80)[None, :, None]
    image[:, :80] = np.broadcast_to(ramp, (80, 80, 3)).astype(np.uint8)
    mask = bench.photo_hole(image, bench.hole_rng("tiny", 0), "smooth spot")
    assert bench.bounding_box(mask)[2] <= 80
    assert bench.smoothness(image, mask) == "smooth"
    noisy = bench.photo_hole(image, bench.hole_rng("tiny", 1), "hand-picked", spot=(0.8, 0.5))
    assert bench.smoothness(image, noisy) == "texture"


def test_photo_cases_at_native_resolution():
    cases = bench.photo_cases(["chelsea"], 2, [("chelsea", 0.5, 0.5, 0.02)])
    assert [c.placement for c in cases] == ["smooth spot", "random", "hand-picked"]
    for case in cases:
        assert case.image.shape == (300, 451, 3) and case.truth is case.image and case.size == 451
        assert case.kind in ("smooth", "texture")
    assert abs(cases[2].mask.mean() - 0.02) < 0.001
    again = bench.photo_cases(["chelsea"], 2, [])
    assert all(np.array_equal(a.mask, b.mask) for a, b in zip(cases, again))


def test_parse_spot():
    assert bench.parse_spot("rocket:0.25,0.3") == ("rocket", 0.25, 0.3, None)
    assert bench.parse_spot("astronaut:0.6,0.1:0.012") == ("astronaut", 0.6, 0.1, 0.012)
    with pytest.raises(Exception):
        bench.parse_spot("camera:0.5,0.5")  # grey, not in the set


# ---- sharpness ------------------------------------------------------------------------------------------------

def test_mean_gradient_by_hand():
    image = texture()
    mask = np.zeros(image.shape[:2], dtype=bool)
    mask[0:10, 30:50] = True  # touches the border: the crop must see the same border as the whole image
    mask[40:52, 60:70] = True
    by_hand = filters.sobel(color.rgb2gray(image))[mask].mean()
    assert bench.mean_gradient(image, mask) == pytest.approx(by_hand, rel=1e-9)
    flat = np.full_like(image, 77)
    assert bench.mean_gradient(flat, mask) == pytest.approx(0.0, abs=1e-12)


def test_sharpness():
    truth = texture()
    mask = np.zeros(truth.shape[:2], dtype=bool)
    mask[20:50, 30:70] = True
    blurred = ndimage.gaussian_filter(truth, sigma=(2, 2, 0))
    assert bench.sharpness(truth, truth, mask) == pytest.approx(1.0)
    assert bench.sharpness(blurred, truth, mask) < 0.6
    assert bench.sharpness(np.full_like(truth, 100), truth, mask) == pytest.approx(0.0, abs=1e-9)
    assert math.isnan(bench.sharpness(truth, np.full_like(truth, 100), mask))


def test_scores_of_a_perfect_and_a_wrong_fill():
    truth = texture()
    mask = np.zeros(truth.shape[:2], dtype=bool)
    mask[20:30, 30:40] = True
    image = truth.copy()
    image[mask] = 0
    case = bench.Case("photos", "tiny", 96, "texture", image, mask, truth, bench.bounding_box(mask))
    perfect = {**bench.hole_scores(truth, case), **bench.score(truth, case)}
    assert perfect["hole_mae"] == 0 and perfect["hole_psnr"] == bench.PSNR_CAP_DB and perfect["roi_ssim"] == 100
    wrong = truth.copy()
    wrong[mask] = 0
    wrong[0, 0] += 1
    scores = bench.hole_scores(wrong, case)
    assert scores["hole_mae"] == pytest.approx(truth[mask].mean())
    assert scores["changed_outside_mask_px"] == 1


# ---- methods --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["telea", "navier-stokes", "fsr-fast", "fsr-best", "shift-map"])
def test_classical_methods_fill_a_flat_hole_with_its_colour(name):
    """The hole is painted green in a flat orange image: a method that took the mask the wrong way round would
    keep the green (xphoto's mask marks the KNOWN pixels)."""
    colour = np.array([200, 60, 30], dtype=np.uint8)
    truth = np.broadcast_to(colour, (40, 48, 3)).copy()
    mask = np.zeros((40, 48), dtype=bool)
    mask[15:25, 18:30] = True
    image = truth.copy()
    image[mask] = (0, 255, 0)
    methods, skipped = bench.build_methods([name], CPU)
    result, _ = methods[name].run(image, mask)
    assert not skipped and result.dtype == np.uint8 and result.shape == image.shape
    assert np.abs(result[mask].astype(int) - colour).max() <= 3
    assert np.array_equal(result[~mask], image[~mask])


def test_registry_names_every_known_method_for_an_unknown_one():
    with pytest.raises(SystemExit) as stop:
        bench.build_methods(["telea", "no-such-method"], CPU)
    message = str(stop.value)
    for name in ("telea", "fsr-best", "shift-map", "plain-dip", "gimp-heal",
                 *(f"ours-{preset}" for preset in bench.PRESETS)):
        assert name in message


def test_gimp_heal_is_skipped_with_its_reason(monkeypatch):
    def unavailable():
        raise bench.Unavailable("no GIMP here")
    monkeypatch.setattr(bench, "gimp_heal_module", unavailable)
    methods, skipped = bench.build_methods(["telea", "gimp-heal"], CPU)
    assert list(methods) == ["telea"] and skipped == {"gimp-heal": "no GIMP here"}


def test_a_failing_batch_method_is_left_out_and_reported():
    def broken(cases):
        raise RuntimeError("GIMP crashed")
    image = texture(32, 32)
    mask = np.zeros((32, 32), dtype=bool)
    mask[10:20, 10:20] = True
    case = bench.Case("photos", "tiny", 32, "texture", image, mask, image, bench.bounding_box(mask))
    methods = {"telea": bench.Method("baseline", bench.opencv_method(0)),
               "gimp-heal": bench.Method("baseline", batch=broken)}
    skipped = {}
    rows = bench.run_cases([case], methods, None, skipped)
    assert [row["method"] for row in rows] == ["telea"] and "GIMP crashed" in skipped["gimp-heal"]


def test_plain_dip_is_the_smallest_preset_without_additions():
    options = bench.plain_dip_options()
    assert options.quality == bench.smallest_preset() and options.quality in bench.PRESETS
    assert (options.guidance_weight, options.dilation_px, options.max_fit_side, options.iterations) == (0, 0, 0, 300)


# ---- tables ---------------------------------------------------------------------------------------------------

def row(case: str, method: str, hole_mae: float, roi_ssim: float, kind: str = "texture", family: str = "baseline",
        sharpness: float = 1.0) -> dict:
    return {"dataset": "photos", "case": case, "size": 64, "kind": kind, "method": method, "family": family,
            "hole_mae": hole_mae, "roi_ssim": roi_ssim, "hole_psnr": 30.0, "sharpness": sharpness,
            "changed_outside_mask_px": 0, "seconds": 1.0, "iterations": 0, "mae": 0.1, "ssim": 99.0,
            "roi_mae": 1.0, "hole_px": 100, "truth_gradient": 0.005, "width": 64, "height": 64}


def test_win_loss_counts_case_by_case():
    rows = [row("a", "ours", 1.0, 90, family="ours"), row("a", "telea", 2.0, 80),
            row("b", "ours", 3.0, 70, family="ours"), row("b", "telea", 2.0, 70),
            row("c", "ours", 1.0, 95, family="ours"), row("c", "telea", 1.0, 90),
            row("d", "telea", 0.5, 99)]  # ours did not run on d: not counted
    [entry] = bench.win_loss(rows, "ours")
    assert entry["method"] == "telea" and entry["cases"] == 3
    assert (entry["mae_wins"], entry["mae_losses"], entry["mae_ties"]) == (1, 1, 1)
    assert (entry["ssim_wins"], entry["ssim_losses"], entry["ssim_ties"]) == (2, 0, 1)
    assert entry["mae_win_share"] == pytest.approx(1 / 3) and entry["ssim_win_share"] == pytest.approx(2 / 3)


def test_smooth_check_takes_the_best_baseline_per_case():
    rows = [row("a", "ours", 3.0, 90, "smooth", "ours"), row("a", "telea", 2.0, 80, "smooth"),
            row("a", "fsr-best", 4.0, 80, "smooth"), row("a", "ours-fast", 0.1, 99, "smooth", "ours"),
            row("b", "ours", 1.0, 90, "smooth", "ours"), row("b", "telea", 2.0, 80, "smooth"),
            row("c", "ours", 9.0, 90, "texture", "ours"), row("c", "telea", 1.0, 80, "texture")]
    check = bench.smooth_check(rows, "ours")
    assert [(c["case"], c["best_baseline"], c["ratio"]) for c in check["cases"]] == [("a", "telea", 1.5),
                                                                                   ("b", "telea", 0.5)]
    assert check["worst_ratio"] == 1.5 and check["worst_case"] == "a"


def test_summary_and_targets():
    rows = [row("a", "ours", 1.0, 90, family="ours", sharpness=0.9),
            row("a", "telea", 2.0, 80, sharpness=0.3),
            row("b", "ours", 3.0, 70, family="ours", sharpness=math.nan),
            row("b", "telea", 4.0, 60, sharpness=0.5)]
    summary = {e["method"]: e for e in bench.method_summary(rows)}
    assert summary["ours"]["hole_mae"] == 2.0 and summary["ours"]["sharpness_median"] == 0.9
    assert summary["telea"]["sharpness_median"] == pytest.approx(0.4)
    checks = bench.target_checks(rows, "ours", "photos")
    assert checks and all(holds for _, holds in checks)
    assert "| ours |" in bench.markdown_summary(bench.method_summary(rows), "t")
    text, summaries = bench.dataset_report(rows, "photos", "ours")
    assert "against each method" in text and summaries["win_loss"][0]["mae_win_share"] == 1.0


def test_crop_strip_is_cropped_around_the_hole():
    image = texture(200, 300)
    mask = np.zeros((200, 300), dtype=bool)
    mask[100:120, 150:190] = True  # 40 x 20: the crop is 60 x 30
    case = bench.Case("photos", "tiny", 300, "texture", image, mask, image, bench.bounding_box(mask))
    strip = bench.crop_strip(case, {"a": image, "b": image})
    assert strip.shape[0] == 30 + 18 and strip.shape[1] == 4 * 60 + 3 * 4


def test_help_runs():
    done = subprocess.run([sys.executable, "-m", "tests.benchmarks.removal_benchmark", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "--holes-per-photo" in done.stdout and "gimp-heal" in done.stdout
