"""Trains the shadow segmenter (inference_server/segmentation/shadow_net.py) on the scene generator's shadow masks.

    .venv/bin/python training/train_shadow_segmenter.py --out training/runs/shadow_segmenter    # see README.md

Data: random_scene seeds TRAIN_SEED_BASE .. + --train-scenes - 1, each rendered at 256 or 384 px (drawn per seed),
a share --no-shadow-rate of them under diffuse light (no shadows: the net must learn to answer nothing). Every
object with at least 64 visible pixels is one sample: the net's input window (shadow_net.net_input) and, as the
target, the share of each cell covered by that object's own shadow mask (alpha > 0, outside the object). A share
--with-shadow-rate of the objects come with their shadow already in the mask (a selection holding both), and their
target is what lies beyond it: nothing; without them the net, given such a mask, marks the ground's next dark patch
(another object's shadow) as this one's. Cached in OUT/samples_<base>_<count>_<rate>.npz. Batches are mirrored left to right at random (light from either side).
Loss: binary cross-entropy plus soft Dice. Reproducible from --seed.

Writes OUT/shadow_unet.pth, OUT/shadow_unet.json and OUT/metrics.json (mean mask IoU at 0.5 on held-out seeds
0 .. --eval-scenes - 1 at 256 px, the same numbers tests/benchmarks/shadow_benchmark.py prints).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from inference_server.scenes.layout import random_scene
from inference_server.scenes.renderer import render_scene
from inference_server.segmentation.shadow_net import (ShadowNetConfig, ShadowUNet, net_input, predict_shadow,
                                                      save_shadow_net, shadow_window)

TRAIN_SEED_BASE = 3_000_000  # evaluation uses seeds 0 .. N-1
MIN_OBJECT_PX = 64


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Train the shadow segmenter on synthetic scenes.")
    parser.add_argument("--out", type=Path, required=True, help="folder for the sample cache and the model files")
    parser.add_argument("--train-scenes", type=int, default=2000, help="training scenes (default 2000)")
    parser.add_argument("--no-shadow-rate", type=float, default=0.15, help="share of scenes rendered without "
                        "shadows (default 0.15)")
    parser.add_argument("--with-shadow-rate", type=float, default=0.25, help="share of objects given with their "
                        "shadow already in the mask, to be answered with nothing more (default 0.25)")
    parser.add_argument("--steps", type=int, default=2500, help="optimisation steps (default 2500)")
    parser.add_argument("--batch", type=int, default=32, help="samples per step (default 32)")
    parser.add_argument("--lr", type=float, default=3e-3, help="AdamW's peak learning rate (default 3e-3)")
    parser.add_argument("--eval-scenes", type=int, default=200, help="held-out scenes for metrics.json")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    return parser.parse_args(argv)


def scene_samples(seed: int, no_shadow_rate: float, config: ShadowNetConfig,
                  with_shadow_rate: float = 0.0) -> list[tuple[np.ndarray, np.ndarray]]:
    """(input (4, S, S), target (S, S)) for every large enough object of scene `seed`; a share `with_shadow_rate`
    of the objects are given with their shadow already in the mask (a selection that holds both), whose target is
    what the shadow mask holds beyond it: nothing."""
    rng = np.random.default_rng(seed)
    size = int(rng.choice([256, 384]))
    scene = render_scene(random_scene(seed), size, size, shadows=bool(rng.random() >= no_shadow_rate))
    samples = []
    for index in range(len(scene.spec.objects)):
        obj = scene.object_masks[index]
        if obj.sum() < MIN_OBJECT_PX:
            continue
        if rng.random() < with_shadow_rate:
            obj = obj | scene.shadow_masks[index]
        window = shadow_window(obj, config.reach_share)
        x = net_input(scene.image, obj, window, config.side)
        target = torch.from_numpy((scene.shadow_masks[index] & ~obj)[window].astype(np.float32))[None, None]
        y = F.interpolate(target, size=(config.side, config.side), mode="area")[0, 0]
        samples.append((x.numpy().astype(np.float16), y.numpy().astype(np.float16)))
    return samples


def load_samples(out: Path, count: int, no_shadow_rate: float, with_shadow_rate: float,
                 config: ShadowNetConfig) -> tuple[np.ndarray, ...]:
    cache = out / f"samples_{TRAIN_SEED_BASE}_{count}_{with_shadow_rate:g}.npz"
    if cache.exists():
        data = np.load(cache)
        return data["inputs"], data["targets"]
    inputs, targets = [], []
    started = time.perf_counter()
    for number, seed in enumerate(range(TRAIN_SEED_BASE, TRAIN_SEED_BASE + count)):
        for x, y in scene_samples(seed, no_shadow_rate, config, with_shadow_rate):
            inputs.append(x)
            targets.append(y)
        if (number + 1) % 200 == 0:
            print(f"scenes {number + 1}/{count}: {len(inputs)} samples, {time.perf_counter() - started:.0f} s",
                  flush=True)
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cache, inputs=np.stack(inputs), targets=np.stack(targets))
    return np.stack(inputs), np.stack(targets)


def shadow_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy plus soft Dice (the Dice term keeps small shadows from being ignored)."""
    bce = F.binary_cross_entropy_with_logits(logits, target)
    probability = torch.sigmoid(logits)
    overlap = (probability * target).sum(dim=(1, 2, 3))
    total = probability.sum(dim=(1, 2, 3)) + target.sum(dim=(1, 2, 3))
    dice = 1 - (2 * overlap + 1) / (total + 1)
    return bce + dice.mean()


def evaluate(net: ShadowUNet, scenes: int, size: int = 256) -> dict[str, float]:
    """Mean IoU of the net's mask (probability >= 0.5) against the removed object's shadow, one object per scene
    (index seed mod count, as tests/benchmarks/shadow_benchmark.py picks it)."""
    ious = []
    for seed in range(scenes):
        spec = random_scene(seed)
        scene = render_scene(spec, size, size)
        index = seed % len(spec.objects)
        obj = scene.object_masks[index]
        if not obj.any():
            continue
        truth = scene.shadow_masks[index] & ~obj
        found = predict_shadow(net, scene.image, obj) >= 0.5
        ious.append((found & truth).sum() / max(1, (found | truth).sum()))
    return {"scenes": len(ious), "size": size, "mean_iou": float(np.mean(ious))}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    config = ShadowNetConfig()
    inputs, targets = load_samples(args.out, args.train_scenes, args.no_shadow_rate, args.with_shadow_rate, config)
    print(f"{len(inputs)} samples", flush=True)
    net = ShadowUNet(config)
    optimizer = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=args.steps)
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    net.train()
    for step in range(1, args.steps + 1):
        pick = rng.integers(0, len(inputs), args.batch)
        x = torch.from_numpy(inputs[pick].astype(np.float32))
        y = torch.from_numpy(targets[pick].astype(np.float32))[:, None]
        if rng.random() < 0.5:
            x, y = x.flip(-1), y.flip(-1)
        loss = shadow_loss(net(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % 100 == 0:
            print(f"step {step}/{args.steps}: loss {loss.item():.4f}, {time.perf_counter() - started:.0f} s",
                  flush=True)
    net.eval()
    save_shadow_net(net, args.out)
    metrics = evaluate(net, args.eval_scenes)
    metrics.update(train_scenes=args.train_scenes, steps=args.steps, samples=len(inputs), seed=args.seed)
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps(metrics), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
