"""Trains the scene Mask R-CNN (inference_server/segmentation/scene_maskrcnn.py) from scratch on synthetic scenes.

    .venv/bin/python training/train_scene_segmenter.py --out training/runs/scene_segmenter --steps 5000 \
        --batch 4 --threads 1 --workers 1          # about 70 min on 2 cores, see training/README.md
    ... the same command with --resume            # continues from OUT/checkpoint.pt

Reproducible: the weights start from --seed, sample g of the data stream is always the same scene (seed 1_000_000
+ g // reuse, see scene_training.py), step k trains on samples k*batch .. k*batch + batch - 1, and the checkpoint
keeps the optimizer and the random state, so a resumed run continues the same stream.

Every --checkpoint-every steps OUT/ gets checkpoint.pt (weights, optimizer, step, random state) and the model files
scene_maskrcnn_mobilenet_v3.pth (fp32 state dict) + .json (its config), each written to a temporary file first and
then renamed, so stopping the run at any moment leaves the last checkpoint whole and usable. At the end the model
files are written once more and evaluated on held-out scenes (seeds 0 .. --eval-scenes - 1) into metrics.json.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from inference_server.segmentation.scene_maskrcnn import (
    WEIGHTS_FILE, SceneMaskRCNNConfig, SceneMaskRCNNSegmenter, build_scene_maskrcnn, config_path)
from inference_server.segmentation.scene_training import (
    SceneTrainingSet, collate, evaluate, learning_rate, train_step)

CHECKPOINT_FILE = "checkpoint.pt"
METRICS_FILE = "metrics.json"
LOSS_NAMES = ("loss", "loss_classifier", "loss_box_reg", "loss_mask", "loss_objectness", "loss_rpn_box_reg")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Train the scene Mask R-CNN on scenes rendered on the fly.")
    parser.add_argument("--out", type=Path, required=True, help="folder for checkpoint.pt, the model files and "
                        "metrics.json")
    parser.add_argument("--steps", type=int, default=5000, help="optimisation steps in all; the learning rate "
                        "schedule spans them (default 5000)")
    parser.add_argument("--batch", type=int, default=4, help="scenes per step (default 4)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of the training process (default 1)")
    parser.add_argument("--workers", type=int, default=1, help="processes rendering scenes beside it; 0 = render "
                        "in the training process (default 1)")
    parser.add_argument("--lr", type=float, default=1e-3, help="AdamW's peak learning rate (default 1e-3)")
    parser.add_argument("--weight-decay", type=float, default=1e-4, help="AdamW's weight decay (default 1e-4)")
    parser.add_argument("--warmup", type=int, default=200, help="steps of linear warm-up (default 200)")
    parser.add_argument("--reuse", type=int, default=2, help="pictures made from each scene layout (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the initial weights and the sampling inside "
                        "Mask R-CNN (default 0)")
    parser.add_argument("--checkpoint-every", type=int, default=100, help="steps between checkpoints (default 100)")
    parser.add_argument("--log-every", type=int, default=20, help="steps per log line (default 20)")
    parser.add_argument("--eval-scenes", type=int, default=200, help="held-out scenes evaluated at the end "
                        "(default 200; 0 = none)")
    parser.add_argument("--eval-size", type=int, default=256, help="their side in px (default 256)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    parser.add_argument("--stop-at", type=int, default=None, help="stop after this step with a checkpoint (the "
                        "schedule still runs to --steps; continue later with --resume)")
    args = parser.parse_args(argv)
    if min(args.steps, args.batch, args.threads, args.checkpoint_every, args.log_every, args.reuse) < 1:
        parser.error("--steps, --batch, --threads, --checkpoint-every, --log-every and --reuse must be at least 1")
    return args


def atomic_save(write, path: Path) -> None:
    """Calls write(temporary path) and renames the result to `path`, so `path` is always whole."""
    partial = path.with_name(f".{path.name}.partial")
    write(partial)
    os.replace(partial, path)


def save_model(model: torch.nn.Module, config: SceneMaskRCNNConfig, out: Path) -> Path:
    """Writes OUT/WEIGHTS_FILE (fp32 state dict) and its config JSON; returns the weights path."""
    weights = out / WEIGHTS_FILE
    atomic_save(lambda path: torch.save(model.state_dict(), path), weights)
    atomic_save(lambda path: path.write_text(config.to_json(), encoding="utf-8"), config_path(weights))
    return weights


def save_checkpoint(model, optimizer, config: SceneMaskRCNNConfig, step: int, args, out: Path) -> None:
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
             "torch_rng": torch.get_rng_state(), "config": json.loads(config.to_json()),
             "steps": args.steps, "batch": args.batch, "reuse": args.reuse}
    atomic_save(lambda path: torch.save(state, path), out / CHECKPOINT_FILE)
    save_model(model, config, out)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    config = SceneMaskRCNNConfig()
    torch.manual_seed(args.seed)
    model = build_scene_maskrcnn(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    start = 0
    if args.resume:
        checkpoint_path = args.out / CHECKPOINT_FILE
        if not checkpoint_path.is_file():
            print(f"train: --resume needs {checkpoint_path}, which does not exist", file=sys.stderr)
            return 1
        state = torch.load(checkpoint_path, map_location="cpu", weights_only=True)
        saved = SceneMaskRCNNConfig.from_json(json.dumps(state["config"]))
        if saved != config or state["batch"] != args.batch or state["reuse"] != args.reuse:
            print(f"train: {checkpoint_path} was made with another config, --batch or --reuse; resume with the "
                  f"same ones (batch {state['batch']}, reuse {state['reuse']})", file=sys.stderr)
            return 1
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["torch_rng"])
        start = state["step"]
        print(f"resumed from {checkpoint_path} at step {start}", flush=True)
        if state["steps"] != args.steps:
            print(f"note: the checkpoint was made for --steps {state['steps']}; the learning rate now follows "
                  f"--steps {args.steps}", flush=True)

    data = SceneTrainingSet(config.image_size, config.classes, reuse=args.reuse)
    stop = min(args.stop_at or args.steps, args.steps)
    loader = DataLoader(data, batch_size=args.batch, sampler=range(start * args.batch, stop * args.batch),
                        num_workers=args.workers, collate_fn=collate, prefetch_factor=4 if args.workers else None,
                        generator=torch.Generator().manual_seed(args.seed))  # leaves the global random state alone
    params = sum(p.numel() for p in model.parameters())
    print(f"training {params / 1e6:.2f} M parameters, steps {start}..{stop} of {args.steps}, batch {args.batch}, "
          f"{config.image_size} px scenes, {args.threads} thread(s), {args.workers} worker(s)", flush=True)

    sums, count, waited = dict.fromkeys(LOSS_NAMES, 0.0), 0, 0.0
    window = last = time.perf_counter()  # start of the log window; end of the previous step
    for step, (images, targets) in enumerate(loader, start=start):
        waited += time.perf_counter() - last
        rate = learning_rate(step, args.steps, args.lr, args.warmup)
        for group in optimizer.param_groups:
            group["lr"] = rate
        losses = train_step(model, optimizer, images, targets)
        for name in LOSS_NAMES:
            sums[name] += losses[name]
        count += 1
        done = step + 1
        if done % args.log_every == 0 or done == stop:
            now = time.perf_counter()
            print(f"step {done}/{args.steps} " + " ".join(
                f"{name.removeprefix('loss_')} {sums[name] / count:.4f}" for name in LOSS_NAMES)
                + f" lr {rate:.2e} {(now - window) / count:.3f} s/step (data wait {waited / count:.3f})", flush=True)
            sums, count, waited, window = dict.fromkeys(LOSS_NAMES, 0.0), 0, 0.0, now
        if done % args.checkpoint_every == 0 or done == stop:
            save_checkpoint(model, optimizer, config, done, args, args.out)
        last = time.perf_counter()
    if stop < args.steps:
        print(f"stopped at step {stop} of {args.steps}; continue with --resume", flush=True)
        return 0
    weights = save_model(model.eval(), config, args.out)
    print(f"model saved to {weights} and {config_path(weights)}", flush=True)
    if args.eval_scenes:
        segmenter = SceneMaskRCNNSegmenter(torch.device("cpu"), weights_path=weights)
        metrics = evaluate(segmenter, range(args.eval_scenes), args.eval_size)
        metrics["steps"] = args.steps
        (args.out / METRICS_FILE).write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
        print(json.dumps(metrics), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
