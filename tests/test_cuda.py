"""The removal's CUDA path. Deselected by default (pyproject.toml); tests/benchmarks/gpu_check.sh runs them with
`pytest -m cuda` on a machine with a GPU. The same code runs on the CPU in every other test."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from inference_server.inpainting.background_guided_dip import FitSettings, fit_window
from inference_server.inpainting.dip_network import SkipNetConfig
from inference_server.inpainting.frequency_extrapolation import ExtrapolationSettings, _fit_blocks, extrapolate
from inference_server.inpainting.harmonic import harmonic_fill
from inference_server.inpainting.internal_fill import InternalFillSettings, fill_window
from inference_server.inpainting.patch_match import random_field, search
from inference_server.inpainting.patch_synthesis import SynthesisSettings, _search_space, build_pyramid, vote
from inference_server.pipeline.options import FillMethod, RemoveOptions
from inference_server.pipeline.remove import apply_patch, remove_object

pytestmark = pytest.mark.cuda
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def gpu() -> torch.device:
    if not torch.cuda.is_available():
        pytest.fail("no CUDA GPU here: run the cuda-marked tests on a machine with one (tests/benchmarks/gpu_check.sh)")
    return torch.device("cuda")


def _disc(height: int, width: int, cy: float, cx: float, radius: float) -> np.ndarray:
    rows, cols = np.mgrid[0:height, 0:width]
    return (rows - cy) ** 2 + (cols - cx) ** 2 <= radius ** 2


def _scene(height: int = 96, width: int = 128, seed: int = 0) -> np.ndarray:
    """Stripes over a ramp with grain: structure and texture, (H, W, 3) uint8."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float64)
    stripes = 40 * np.sin(2 * np.pi * (cols * 0.8 + rows * 0.6) / 14)
    base = 90 + 0.6 * cols + stripes
    image = np.stack([base, 200 - 0.5 * base, np.full_like(base, 120)], axis=-1) + rng.normal(0, 6, (height, width, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


def test_structure_on_the_gpu_matches_the_cpu(gpu):
    image = torch.from_numpy(_scene()).permute(2, 0, 1).float() / 255
    hole = torch.from_numpy(_disc(96, 128, 48, 64, 18))
    for fill in (lambda img, h: harmonic_fill(img, h), lambda img, h: extrapolate(img, ~h)):
        on_cpu = fill(image, hole)
        on_gpu = fill(image.to(gpu), hole.to(gpu)).cpu()
        assert torch.equal(on_gpu[:, ~hole], image[:, ~hole])
        assert float((on_gpu - on_cpu)[:, hole].abs().mean()) < 2e-3


def test_fill_on_the_gpu_repeats_itself_and_keeps_a_flat_colour(gpu):
    image = _scene()
    hole = _disc(96, 128, 48, 64, 20)
    settings = InternalFillSettings(seed=3)
    first = fill_window(image, ~hole, hole, settings, gpu).fill
    second = fill_window(image, ~hole, hole, settings, gpu).fill
    assert np.array_equal(first, second)
    flat = np.empty_like(image)
    flat[:] = (92, 160, 220)
    flat[hole] = 0
    filled = fill_window(flat, ~hole, hole, settings, gpu).fill
    assert np.abs(filled[hole] * 255 - np.array([92, 160, 220])).max() < 1.0


def test_the_step_loops_never_wait_for_the_gpu(gpu):
    """One step of the frequency extrapolation and one PatchMatch round plus a vote run with no host sync."""
    image = torch.from_numpy(_scene()).permute(2, 0, 1).float().to(gpu) / 255
    hole = _disc(96, 128, 48, 64, 16)
    support = torch.rand(12, 64, 64, device=gpu)
    weights = torch.rand(12, 64, 64, device=gpu)
    steps = torch.full((12,), 40, device=gpu, dtype=torch.long)
    level = build_pyramid(image, ~hole, hole, SynthesisSettings())[0]
    space = _search_space(level, image, 3)
    hole_frame = torch.from_numpy(np.pad(hole, 3).reshape(-1)).to(gpu)
    generator = torch.Generator(device=gpu).manual_seed(0)
    match = random_field(space, generator)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        _fit_blocks(support, weights, steps, 40, ExtrapolationSettings())
        match, cost = search(space, match, 1, 16, generator)
        vote(space, match, cost, hole_frame)
    finally:
        torch.cuda.set_sync_debug_mode("default")


@pytest.mark.parametrize("fill", [FillMethod.SYNTHESIS, FillMethod.DIP])
def test_removal_on_the_gpu_changes_only_the_hole(gpu, fill):
    image = _scene()
    mask = _disc(96, 128, 48, 64, 14)
    result = remove_object(image, mask, RemoveOptions(fill=fill, quality="fast", iterations=20, dilation_px=2),
                           device=gpu)
    out = apply_patch(image, result.region, result.patch)
    hole = np.zeros_like(mask)
    hole[result.region.slices] = result.hole_mask
    assert np.array_equal(out[~hole], image[~hole])
    assert np.abs(out[mask].astype(int) - image[mask].astype(int)).mean() < 40


def test_dip_runs_its_convolutions_in_bf16_channels_last(gpu):
    seen = []

    def record(module, inputs, output):
        if isinstance(module, torch.nn.Conv2d):
            seen.append((output.dtype, inputs[0].is_contiguous(memory_format=torch.channels_last)))

    hook = torch.nn.modules.module.register_module_forward_hook(record)
    try:
        image = _scene(64, 64)
        hole = _disc(64, 64, 32, 32, 10)
        settings = FitSettings(network=SkipNetConfig(channels=16), iterations=2, min_iterations=2)
        fit_window(image, ~hole, hole, ~hole, settings, gpu)
    finally:
        hook.remove()
    assert seen and all(dtype == torch.bfloat16 for dtype, _ in seen)
    assert any(channels_last for _, channels_last in seen)


def test_the_shadow_finder_on_the_gpu_finds_what_it_finds_on_the_cpu(gpu):
    from inference_server.scenes.layout import random_scene
    from inference_server.scenes.renderer import render_scene
    from inference_server.segmentation.shadows import find_shadow

    spec = random_scene(5)
    scene = render_scene(spec, 256, 256)
    obj = scene.object_masks[0]
    valid = np.ones(obj.shape, bool)
    on_cpu, on_gpu = find_shadow(scene.image, obj, valid, CPU), find_shadow(scene.image, obj, valid, gpu)
    assert on_cpu.any()
    assert (on_cpu ^ on_gpu).sum() <= 0.01 * on_cpu.sum()  # the net's convolutions may round differently
