"""Putting the Mask R-CNN weights into models/: download them (the installer's job) or take a file given.

    python -m inference_server.segmentation.fetch_weights [--out models/]          # download, hash checked
    python -m inference_server.segmentation.fetch_weights --from FILE [--out DIR]  # check and copy a local file

The download goes through torchvision's weights URL and torch.hub (the SHA-256 prefix in the file name is checked),
then the state dict is checked against the architecture before it replaces models/maskrcnn_resnet50_fpn_v2_coco.pth.
The server never calls this: it only reads models/ (weights.py).
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
import tempfile
import urllib.error
from pathlib import Path
from urllib.parse import urlparse

import torch

from ..errors import SemanticEditError
from .errors import ModelUnavailableError, WeightsFileError
from .maskrcnn import COCO_WEIGHTS, TITLE, WEIGHTS_FILE, build_maskrcnn
from .weights import MODELS_DIR, check_state_dict, read_state_dict

NETWORK_TIMEOUT_S = 60  # per connection attempt and per read, not for the whole download


def _check(path: Path) -> None:
    """Raises WeightsFileError unless `path` is a Mask R-CNN state dict (any MaskRCNNSettings share its keys)."""
    check_state_dict(read_state_dict(path, title=TITLE), build_maskrcnn().state_dict(), path, title=TITLE)


def has_valid_weights(out_dir: Path = MODELS_DIR) -> bool:
    """Whether out_dir / WEIGHTS_FILE exists and is a checkpoint of the architecture."""
    try:
        _check(Path(out_dir) / WEIGHTS_FILE)
    except WeightsFileError:
        return False
    return True


def install_weights_file(source: Path, out_dir: Path = MODELS_DIR) -> Path:
    """Checks `source` and copies it to out_dir / WEIGHTS_FILE (replacing what was there); returns that path."""
    source = Path(source)
    if not source.is_file():
        raise ModelUnavailableError(f"the {TITLE} weights file {source} does not exist; give the path of the "
                                    f"downloaded {Path(urlparse(COCO_WEIGHTS.url).path).name}")
    _check(source)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / WEIGHTS_FILE
    with tempfile.NamedTemporaryFile(dir=out_dir, prefix=".copy-", delete=False) as partial:
        staged = Path(partial.name)
    try:
        shutil.copyfile(source, staged)
        os.replace(staged, target)
    finally:
        staged.unlink(missing_ok=True)
    return target


def fetch_maskrcnn_weights(out_dir: Path = MODELS_DIR, *, progress: bool = True) -> Path:
    """Downloads the COCO weights with torchvision's URL and hash, checks them and saves them as out_dir /
    WEIGHTS_FILE; returns that path. Raises ModelUnavailableError with a sentence when the network is unreachable,
    WeightsFileError when the download fails its hash or architecture check."""
    url = COCO_WEIGHTS.url
    file_name = Path(urlparse(url).path).name  # e.g. maskrcnn_resnet50_fpn_v2_coco-73cbd019.pth: hash prefix inside
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".download-") as staging:
        downloaded = Path(staging) / file_name
        try:
            state_dict = torch.hub.load_state_dict_from_url(
                url, model_dir=staging, map_location="cpu", progress=progress, check_hash=True, weights_only=True)
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", None) or error
            raise ModelUnavailableError(
                f"could not download the {TITLE} weights from {url} ({reason}); this machine cannot reach it: "
                f"download that file elsewhere and run ./install.sh --weights FILE") from error
        except RuntimeError as error:  # torch.hub: "invalid hash value (expected ..., got ...)"
            raise WeightsFileError(
                f"the downloaded {TITLE} weights from {url} failed their check ({error}); run the download again, "
                f"or download the file elsewhere and run ./install.sh --weights FILE") from error
        check_state_dict(state_dict, build_maskrcnn().state_dict(), downloaded, title=TITLE)
        target = out_dir / WEIGHTS_FILE
        os.replace(downloaded, target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m inference_server.segmentation.fetch_weights",
        description=f"Put the {TITLE} (ResNet-50 FPN v2, COCO) weights into the models folder.")
    parser.add_argument("--out", type=Path, default=MODELS_DIR, help=f"folder to write {WEIGHTS_FILE} to "
                        "(default: the project's models/)")
    parser.add_argument("--from", dest="source", type=Path, default=None,
                        help="a checkpoint downloaded elsewhere: check it and copy it instead of downloading")
    parser.add_argument("--force", action="store_true", help="download even when valid weights are already there")
    args = parser.parse_args(argv)
    socket.setdefaulttimeout(NETWORK_TIMEOUT_S)  # a blocked network must not hang the installer
    try:
        if args.source is not None:
            target = install_weights_file(args.source, args.out)
        elif not args.force and has_valid_weights(args.out):
            print(f"{TITLE} weights are already in {args.out / WEIGHTS_FILE}")
            return 0
        else:
            target = fetch_maskrcnn_weights(args.out)
    except SemanticEditError as error:
        print(f"fetch_weights: {error}", file=sys.stderr)
        return 1
    print(f"{TITLE} weights saved to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
