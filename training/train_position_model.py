"""Trains the position model (inference_server/placement/position_model.py) on layouts from the scene generator.

    .venv/bin/python training/train_position_model.py --out training/runs/position_model     # see README.md

Data: random_scene seeds TRAIN_SEED_BASE .. + --train-scenes - 1 reduced to layouts (boxes by projection, every
holding relation; training_data.py), cached in OUT/layouts_train_<base>_<count>.json (making them is most of the
run: ~0.1 s each), each also mirrored left to right. From them a fixed pool of --samples-per-target samples per
object and layout: 1 to 5 triplets (SIMBIL A.2), the target's size given with probability --size-known-rate,
class names replaced by the unknown token with probability --unknown-class-rate. Steps draw batches from the pool.

Reproducible: the pool, the initial weights and the batch order all come from --seed; the same command gives the
same weights (on the same torch build and thread count). Writes OUT/position_lstm.pth (fp32 state dict),
OUT/position_lstm.json (its config) and OUT/metrics.json (evaluate_position_model.py's numbers on held-out seeds
0 .. --eval-scenes - 1), and a log line every --log-every steps.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from inference_server.placement.position_model import (NAME, PositionLSTM, PositionModelConfig, TripletBatch,
                                                       encode, position_loss)
from inference_server.placement.predict import PositionPredictor
from inference_server.placement.training_data import (draw_sample, layout_from_dict, layout_to_dict, mirrored,
                                                      predicate_weights, scene_layouts)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evaluate_position_model import evaluate, markdown  # noqa: E402

TRAIN_SEED_BASE = 2_000_000  # evaluation uses seeds 0 .. N-1; no overlap below 2 million scenes
METRICS_FILE = "metrics.json"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Train the position model on synthetic layouts.")
    parser.add_argument("--out", type=Path, required=True, help="folder for the layout cache, the model files and "
                        "metrics.json")
    parser.add_argument("--train-scenes", type=int, default=2000, help="training layouts (default 2000)")
    parser.add_argument("--samples-per-target", type=int, default=6, help="samples drawn per object of each "
                        "layout and its mirror image (default 6)")
    parser.add_argument("--size-known-rate", type=float, default=0.5, help="share of samples giving the target's "
                        "size (default 0.5)")
    parser.add_argument("--unknown-class-rate", type=float, default=0.15, help="share of class names replaced by "
                        "the unknown token (default 0.15)")
    parser.add_argument("--steps", type=int, default=6000, help="optimisation steps (default 6000)")
    parser.add_argument("--batch", type=int, default=256, help="samples per step (default 256)")
    parser.add_argument("--lr", type=float, default=3e-3, help="AdamW's peak learning rate (default 3e-3)")
    parser.add_argument("--weight-decay", type=float, default=1e-4, help="AdamW's weight decay (default 1e-4)")
    parser.add_argument("--warmup", type=int, default=200, help="steps of linear warm-up (default 200)")
    parser.add_argument("--nll-weight", type=float, default=0.01, help="weight of the mixture head's negative "
                        "log-likelihood beside the point head's MSE (default 0.01)")
    parser.add_argument("--hidden", type=int, default=PositionModelConfig.hidden, help="LSTM width")
    parser.add_argument("--components", type=int, default=PositionModelConfig.components, help="mixture size")
    parser.add_argument("--seed", type=int, default=0, help="seeds the pool, the weights and the batches")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--log-every", type=int, default=250, help="steps per log line (default 250)")
    parser.add_argument("--eval-scenes", type=int, default=300, help="held-out scenes evaluated at the end "
                        "(default 300; 0 = none)")
    return parser.parse_args(argv)


def training_layouts(out: Path, count: int) -> list:
    """The training layouts, from OUT's cache when it holds the same seeds."""
    cache = out / f"layouts_train_{TRAIN_SEED_BASE}_{count}.json"
    if cache.is_file():
        return [layout_from_dict(data) for data in json.loads(cache.read_text(encoding="utf-8"))]
    layouts = scene_layouts(range(TRAIN_SEED_BASE, TRAIN_SEED_BASE + count))
    _write_atomically(cache, json.dumps([layout_to_dict(layout) for layout in layouts]).encode())
    return layouts


def sample_pool(layouts: list, args: argparse.Namespace) -> tuple[list, torch.Tensor]:
    """The fixed pool of (request, true box) of the module docstring."""
    rng = np.random.default_rng(args.seed)
    weights = predicate_weights(layouts)
    both = [view for layout in layouts for view in (layout, mirrored(layout))]
    requests, boxes = [], []
    for _ in range(args.samples_per_target):
        for layout in both:
            for target in range(len(layout.classes)):
                drawn = draw_sample(layout, target, rng, weights=weights,
                                    size_known=bool(rng.random() < args.size_known_rate),
                                    unknown_class_rate=args.unknown_class_rate)
                if drawn is not None:
                    requests.append(drawn[0])
                    boxes.append(drawn[1])
    return requests, torch.tensor(boxes, dtype=torch.float32)


def learning_rate(step: int, args: argparse.Namespace) -> float:
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    progress = (step - args.warmup) / max(args.steps - args.warmup, 1)
    return 1e-5 + (args.lr - 1e-5) * 0.5 * (1.0 + math.cos(math.pi * progress))


def _rows(batch: TripletBatch, index: torch.Tensor) -> TripletBatch:
    return TripletBatch(*(tensor[index] for tensor in (batch.subject, batch.predicate, batch.object,
                                                       batch.reference_box, batch.indicator, batch.target_size,
                                                       batch.lengths)))


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    layouts = training_layouts(args.out, args.train_scenes)
    print(f"{len(layouts)} training layouts ready after {time.perf_counter() - started:.0f} s", flush=True)
    requests, boxes = sample_pool(layouts, args)
    all_boxes = np.concatenate([layout.boxes for layout in layouts])
    config = PositionModelConfig(hidden=args.hidden, components=args.components,
                                 mean_box=tuple(round(float(v), 6) for v in all_boxes.mean(axis=0)))
    pool = encode(requests, config)
    print(f"{len(requests)} samples in the pool after {time.perf_counter() - started:.0f} s; mean box "
          f"{config.mean_box}", flush=True)

    torch.manual_seed(args.seed)
    model = PositionLSTM(config)
    print(f"{sum(p.numel() for p in model.parameters())} parameters", flush=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    generator = torch.Generator().manual_seed(args.seed)
    train_start, sums = time.perf_counter(), np.zeros(3)
    for step in range(args.steps):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, args)
        index = torch.randint(len(requests), (args.batch,), generator=generator)
        loss, mse, nll = position_loss(model(_rows(pool, index)), boxes[index], nll_weight=args.nll_weight)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        sums += (loss.item(), mse.item(), nll.item())
        if (step + 1) % args.log_every == 0 or step + 1 == args.steps:
            count = (step % args.log_every) + 1
            loss_mean, mse_mean, nll_mean = sums / count
            print(f"step {step + 1}/{args.steps} loss {loss_mean:.5f} mse {mse_mean:.5f} "
                  f"(~{256 * math.sqrt(mse_mean):.1f} px rms) nll {nll_mean:.3f} lr {learning_rate(step, args):.2e} "
                  f"{(time.perf_counter() - train_start) / (step + 1) * 1000:.1f} ms/step", flush=True)
            sums[:] = 0
    model.eval()
    weights_path = args.out / f"{NAME}.pth"
    temporary = weights_path.with_name(weights_path.name + ".tmp")
    torch.save(model.state_dict(), temporary)
    os.replace(temporary, weights_path)
    _write_atomically(weights_path.with_suffix(".json"), config.to_json().encode())
    seconds = time.perf_counter() - started
    print(f"wrote {weights_path} and {weights_path.with_suffix('.json').name}; {seconds:.0f} s from the start",
          flush=True)

    if args.eval_scenes:
        eval_layouts = scene_layouts(range(args.eval_scenes))
        metrics = evaluate(PositionPredictor.from_model(model), eval_layouts)
        metrics["training"] = {"train_scenes": args.train_scenes, "train_seeds": [TRAIN_SEED_BASE,
                               TRAIN_SEED_BASE + args.train_scenes - 1], "eval_seeds": [0, args.eval_scenes - 1],
                               "samples": len(requests), "steps": args.steps, "batch": args.batch,
                               "seed": args.seed, "threads": args.threads,
                               "seconds_to_weights": round(seconds)}
        _write_atomically(args.out / METRICS_FILE, (json.dumps(metrics, indent=2) + "\n").encode())
        print(markdown(metrics))
    return 0


if __name__ == "__main__":
    sys.exit(main())
