"""A light shadow segmenter conditioned on the object: given the photo and the object's mask, the object's cast shadow.

    net = load_shadow_net(folder, device)                     # weights/shadow_segmenter/ (shadow_unet.pth + .json)
    probability = predict_shadow(net, image, object_mask)     # (H, W) float32 in [0, 1], 0 outside the window

A small U-Net (0.2 M parameters) sees a window around the object (the object's box grown by `reach_share` of
its longer side, the same window as the photometric rule, cast_shadow.py), resized to `side` x `side`, as four
channels: RGB and the object's mask. It answers the shadow's share of each pixel. Trained on the scene generator's
ground-truth shadow masks (training/train_shadow_segmenter.py), mirrored left to right so that light from either side
is seen. numpy -> tensor conversion happens here only.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

WEIGHTS_FILE = "shadow_unet.pth"
CONFIG_FILE = "shadow_unet.json"


@dataclass(frozen=True)
class ShadowNetConfig:
    """side: the window's size for the net (px). widths: channels per U-Net level. reach_share: the window reaches
    this share of the object's longer side beyond its box."""

    side: int = 80
    widths: tuple[int, ...] = (12, 24, 48, 64)
    reach_share: float = 1.0


def _block(channels_in: int, channels_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(channels_in, channels_out, 3, padding=1), nn.BatchNorm2d(channels_out),
                         nn.ReLU(inplace=True), nn.Conv2d(channels_out, channels_out, 3, padding=1),
                         nn.BatchNorm2d(channels_out), nn.ReLU(inplace=True))


class ShadowUNet(nn.Module):
    """(N, 4, S, S) RGB in [-0.5, 0.5] + object mask in {0, 1} -> (N, 1, S, S) shadow logits."""

    def __init__(self, config: ShadowNetConfig) -> None:
        super().__init__()
        self.config = config
        widths = config.widths
        self.down = nn.ModuleList([_block(4 if i == 0 else widths[i - 1], w) for i, w in enumerate(widths)])
        self.up = nn.ModuleList([_block(widths[i + 1] + widths[i], widths[i]) for i in range(len(widths) - 1)])
        self.head = nn.Conv2d(widths[0], 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for index, block in enumerate(self.down):
            x = block(x if index == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        for index in range(len(self.up) - 1, -1, -1):
            x = F.interpolate(x, size=skips[index].shape[-2:], mode="bilinear", align_corners=False)
            x = self.up[index](torch.cat([x, skips[index]], dim=1))
        return self.head(x)


def shadow_window(object_mask: np.ndarray, reach_share: float) -> tuple[slice, slice]:
    """The object's box grown by `reach_share` of its longer side (at least 8 px), clipped to the image."""
    rows, cols = np.nonzero(object_mask)
    size = max(rows.max() - rows.min() + 1, cols.max() - cols.min() + 1)
    margin = max(8, round(reach_share * size))
    height, width = object_mask.shape
    return (slice(max(0, rows.min() - margin), min(height, rows.max() + 1 + margin)),
            slice(max(0, cols.min() - margin), min(width, cols.max() + 1 + margin)))


def net_input(image: np.ndarray, object_mask: np.ndarray, window: tuple[slice, slice], side: int) -> torch.Tensor:
    """(4, side, side): the window's RGB (area-resized, in [-0.5, 0.5]) and the object's share of each cell."""
    rgb = torch.from_numpy(np.array(image[window][..., :3])).permute(2, 0, 1).float() / 255 - 0.5
    mask = torch.from_numpy(object_mask[window].astype(np.float32))[None]
    both = torch.cat([rgb, mask])[None]
    return F.interpolate(both, size=(side, side), mode="area")[0]


def load_shadow_net(folder: Path, device: torch.device) -> ShadowUNet:
    """The net from `folder`'s config and weights (weights_only: no unpickling)."""
    raw = json.loads((Path(folder) / CONFIG_FILE).read_text())
    config = ShadowNetConfig(side=int(raw["side"]), widths=tuple(int(w) for w in raw["widths"]),
                             reach_share=float(raw["reach_share"]))
    net = ShadowUNet(config)
    net.load_state_dict(torch.load(Path(folder) / WEIGHTS_FILE, map_location="cpu", weights_only=True))
    return net.to(device).eval()


def save_shadow_net(net: ShadowUNet, folder: Path) -> None:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({key: value.detach().cpu() for key, value in net.state_dict().items()}, folder / WEIGHTS_FILE)
    (folder / CONFIG_FILE).write_text(json.dumps(asdict(net.config), indent=2) + "\n")


@torch.no_grad()
def predict_shadow(net: ShadowUNet, image: np.ndarray, object_mask: np.ndarray) -> np.ndarray:
    """(H, W) float32: the net's shadow probability in the object's window (0 elsewhere and on the object)."""
    out = np.zeros(object_mask.shape, np.float32)
    if not object_mask.any():
        return out
    window = shadow_window(object_mask, net.config.reach_share)
    device = next(net.parameters()).device
    x = net_input(image, object_mask, window, net.config.side)[None].to(device)
    logits = net(x)
    height, width = object_mask[window].shape
    probability = torch.sigmoid(F.interpolate(logits, size=(height, width), mode="bilinear", align_corners=False))
    out[window] = probability[0, 0].cpu().numpy()
    out[object_mask] = 0.0
    return out
