"""Choosing the compute device once, at start-up."""
from __future__ import annotations

import logging
import platform
from dataclasses import dataclass

import torch

from .errors import DeviceUnavailableError

log = logging.getLogger(__name__)
DEVICE_CHOICES = ("auto", "cuda", "cpu")


@dataclass(frozen=True)
class ComputeDevice:
    torch_device: torch.device
    kind: str  # "cuda" or "cpu"
    name: str  # e.g. "NVIDIA H100 80GB HBM3", or the CPU's name


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "CPU"


def set_cpu_threads(threads: int) -> None:
    """Threads PyTorch uses on the CPU; 0 keeps its default (one per core). On a machine whose cores are busy with
    other work, fewer threads than cores avoids OpenMP threads waiting on each other (tens of times slower)."""
    if threads < 0:
        raise DeviceUnavailableError(f"--threads must be 0 (one per core) or more; got {threads}")
    if threads:
        torch.set_num_threads(threads)


def choose_device(requested: str = "auto") -> ComputeDevice:
    """`auto` takes CUDA when present, else the CPU (with a warning); `cuda` without a GPU is an error."""
    if requested not in DEVICE_CHOICES:
        raise DeviceUnavailableError(f"unknown device '{requested}'; use one of: {', '.join(DEVICE_CHOICES)}")
    if requested in ("auto", "cuda") and torch.cuda.is_available():
        device = torch.device("cuda", torch.cuda.current_device())
        torch.backends.cudnn.benchmark = False  # same seed + same device => same pixels
        torch.backends.cudnn.deterministic = True
        return ComputeDevice(device, "cuda", torch.cuda.get_device_name(device))
    if requested == "cuda":
        raise DeviceUnavailableError(
            "--device cuda was asked for but PyTorch sees no CUDA GPU; check `nvidia-smi` and the driver, "
            "or start with --device cpu")
    if requested == "auto":
        log.warning("no CUDA GPU found: running on the CPU, where edits take minutes instead of seconds")
    return ComputeDevice(torch.device("cpu"), "cpu", _cpu_name())
