"""Semantic Edit inference server: edits a photo by meaning (SIMBIL: segmentation, placement, background-guided DIP)."""

__version__ = "0.1.0"
