"""Finding an object's cast shadow for removal: the shadow segmenter, confirmed by the photo's own light.

    shadow = find_shadow(image, object_mask, valid, device)       # (H, W) bool, empty when there is none
    shadow = find_with("rule" | "net" | "hybrid", image, object_mask, valid, device)

Two ways are measured side by side (tests/benchmarks/shadow_benchmark.py, docs/BENCHMARKS.md "Shadows"):
- rule: cast_shadow.py's photometric rule (a region touching the object, darker than the ground's estimate with the
  ground's colour); no model;
- net: shadow_net.py's small U-Net conditioned on the object's mask, trained on the scene generator's shadow masks;
- hybrid (the default, `find_shadow`): the net's shadow, each connected region of it kept whole only when the photo
  confirms it: it touches the object and holds a core darker than the ground estimated around it, with the ground's
  colour (cast_shadow.confirmed_darker). The net knows the shadows' shapes and soft edges; the check keeps it from
  calling anything a shadow that does not darken the ground (on photos unlike its training scenes, a wrong shadow
  would erase real content).
Without the net's weights (weights/shadow_segmenter/) nothing is found: the rule alone marks shadows where there are
none too often to be the default.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from .cast_shadow import confirmed_darker, find_cast_shadow
from .shadow_net import CONFIG_FILE, WEIGHTS_FILE, ShadowUNet, load_shadow_net, predict_shadow

WEIGHTS_DIR = Path(__file__).resolve().parents[2] / "weights" / "shadow_segmenter"  # shipped in the repository
NET_THRESHOLD = 0.5
FINDERS = ("rule", "net", "hybrid")


@lru_cache(maxsize=4)
def shipped_net(device_name: str) -> ShadowUNet | None:
    """The repository's shadow segmenter on `device_name`, loaded once; None when its files are missing."""
    if not (WEIGHTS_DIR / WEIGHTS_FILE).is_file() or not (WEIGHTS_DIR / CONFIG_FILE).is_file():
        return None
    return load_shadow_net(WEIGHTS_DIR, torch.device(device_name))


def find_with(finder: str, image: np.ndarray, object_mask: np.ndarray, valid: np.ndarray,
              device: torch.device | None = None) -> np.ndarray:
    """The object's cast shadow as `finder` ("rule", "net" or "hybrid") finds it: (H, W) bool outside the object."""
    if finder not in FINDERS:
        raise ValueError(f"Expected a finder among {FINDERS}, but found '{finder}'")
    if finder == "rule":
        return find_cast_shadow(image, object_mask, valid)
    net = shipped_net(str(device or torch.device("cpu")))
    if net is None:  # the rule alone calls too much a shadow (docs/BENCHMARKS.md): nothing rather than a wrong one
        return np.zeros(object_mask.shape, bool)
    proposed = (predict_shadow(net, image, object_mask) >= NET_THRESHOLD) & valid & ~object_mask
    if finder == "net" or not proposed.any():
        return proposed
    return confirmed_darker(image, object_mask, proposed, valid)


def find_shadow(image: np.ndarray, object_mask: np.ndarray, valid: np.ndarray,
                device: torch.device | None = None) -> np.ndarray:
    """The default finder (hybrid): (H, W) bool, the object's cast shadow outside it; empty when none is seen."""
    return find_with("hybrid", image, object_mask, valid, device)
