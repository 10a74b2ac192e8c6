"""Semantic Edit inference server: edits a photo by meaning (SIMBIL: segmentation, placement, background-guided DIP)."""

import os

__version__ = "0.1.0"

# OpenMP threads that spin while they wait make PyTorch on the CPU many times slower whenever another program keeps a
# core busy (one DIP step: 1.55 s spinning, 0.14 s sleeping, measured on 2 cores). OpenMP reads this once, when torch
# loads, so it is set here, before any module of the package imports torch; a value the user set is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
