"""The skip encoder-decoder of Deep Image Prior (Ulyanov et al.), the generator SIMBIL fits to each image (A.3).

Input: a fixed noise map z (1, input_channels, H, W) with H and W multiples of 2**depth.
Output: an image (1, output_channels, H, W) in [0, 1].
Each level: stride-2 conv down, the deeper levels, bilinear upsample, concatenated with a 1x1 skip branch.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class SkipNetConfig:
    """Network size. The DIP paper's inpainting net is depth 5, 128 channels, 4 skip channels, 32 noise channels."""

    depth: int = 5
    channels: int = 128
    skip_channels: int = 4
    input_channels: int = 32
    output_channels: int = 3

    @property
    def size_multiple(self) -> int:
        """Input height and width must be multiples of this."""
        return 2**self.depth

    @property
    def min_input_side(self) -> int:
        """The deepest level needs 2 px after its stride-2 conv for reflection padding."""
        return 2 ** (self.depth + 1)


def _conv_block(in_channels: int, out_channels: int, kernel: int, stride: int = 1) -> nn.Sequential:
    """Reflection-padded conv + batch norm + LeakyReLU(0.2), as in DIP."""
    return nn.Sequential(
        nn.ReflectionPad2d(kernel // 2),
        nn.Conv2d(in_channels, out_channels, kernel, stride=stride, bias=True),
        nn.BatchNorm2d(out_channels),
        nn.LeakyReLU(0.2, inplace=True),
    )


class _Level(nn.Module):
    """One encoder-decoder level; `deeper` is the rest of the network below it (None at the bottom)."""

    def __init__(self, in_channels: int, config: SkipNetConfig, deeper: nn.Module | None):
        super().__init__()
        c, s = config.channels, config.skip_channels
        self.skip = _conv_block(in_channels, s, 1) if s else None
        self.down = nn.Sequential(_conv_block(in_channels, c, 3, stride=2), _conv_block(c, c, 3))
        self.deeper = deeper
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.merge = nn.Sequential(nn.BatchNorm2d(c + s), _conv_block(c + s, c, 3), _conv_block(c, c, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.down(x)  # (B, c, H/2, W/2)
        if self.deeper is not None:
            y = self.deeper(y)
        y = self.up(y)  # (B, c, H, W)
        if self.skip is not None:
            y = torch.cat([self.skip(x), y], dim=1)  # (B, s + c, H, W)
        return self.merge(y)


class SkipEncoderDecoder(nn.Module):
    def __init__(self, config: SkipNetConfig):
        super().__init__()
        self.config = config
        level: nn.Module | None = None
        for index in reversed(range(config.depth)):
            in_channels = config.input_channels if index == 0 else config.channels
            level = _Level(in_channels, config, level)
        self.body = level
        self.head = nn.Conv2d(config.channels, config.output_channels, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z: (B, input_channels, H, W), H and W multiples of 2**depth -> (B, output_channels, H, W) in [0, 1]."""
        m = self.config.size_multiple
        if z.shape[-2] % m or z.shape[-1] % m:
            raise ValueError(f"Expected height and width divisible by {m}, but found {tuple(z.shape[-2:])}")
        return torch.sigmoid(self.head(self.body(z)))
