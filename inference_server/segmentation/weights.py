"""Local model weights: where they live, reading them safely, and checking they fit the architecture.

Weights are never downloaded here (fetch_weights.py is the installer's tool). A file is read with
`torch.load(..., weights_only=True)`, so it can hold tensors but no code.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, fields
from pathlib import Path
from typing import ClassVar

import torch
from torch import nn

from .errors import ModelUnavailableError, WeightsFileError

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"  # the project's models/ folder (not in git)
INSTALL_FIX = ("run ./install.sh to fetch them (where the network allows), or ./install.sh --weights FILE with a copy "
               "downloaded elsewhere, or start the server with semantic-edit serve --weights FILE")
MAX_KEYS_NAMED = 3  # keys quoted per kind of mismatch; the rest are counted


def find_weights(file_name: str, *, explicit: Path | None = None, models_dir: Path | None = None,
                 title: str = "model") -> Path:
    """The weights file to load: `explicit` when given, else models_dir / file_name (models_dir defaults to
    MODELS_DIR). Raises ModelUnavailableError, naming the path and the install flag, when it is not a file."""
    path = Path(explicit) if explicit is not None else Path(models_dir or MODELS_DIR) / file_name
    if path.is_file():
        return path
    if explicit is not None:
        raise ModelUnavailableError(
            f"the {title} weights file {path} does not exist; give the path of a downloaded checkpoint, or "
            f"{INSTALL_FIX}")
    raise ModelUnavailableError(f"no {title} weights at {path}; {INSTALL_FIX}")


def read_state_dict(path: Path, *, title: str = "model") -> dict[str, torch.Tensor]:
    """The state dict saved in `path` (tensors on the CPU). Raises WeightsFileError when the file is unreadable,
    corrupt, or holds something other than a {name: tensor} dict."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except OSError as error:
        raise WeightsFileError(
            f"the {title} weights file {path} cannot be read ({error.strerror or error}); check its permissions, "
            f"or {INSTALL_FIX}") from error
    except Exception as error:  # torch.load raises many types for a damaged or foreign file
        raise WeightsFileError(
            f"the {title} weights file {path} is not a PyTorch checkpoint or is damaged "
            f"({type(error).__name__}); delete it and {INSTALL_FIX}") from error
    if not isinstance(state, Mapping) or not state or not all(
            isinstance(key, str) and isinstance(value, torch.Tensor) for key, value in state.items()):
        raise WeightsFileError(
            f"the {title} weights file {path} holds a {type(state).__name__}, not a state dict of tensors (as "
            f"torch.save(model.state_dict()) writes); {INSTALL_FIX}")
    return dict(state)


def _named(keys: list[str]) -> str:
    shown = ", ".join(keys[:MAX_KEYS_NAMED])
    return shown + (f" and {len(keys) - MAX_KEYS_NAMED} more" if len(keys) > MAX_KEYS_NAMED else "")


def check_state_dict(state_dict: Mapping[str, torch.Tensor], expected: Mapping[str, torch.Tensor], path: Path, *,
                     title: str = "model") -> None:
    """Raises WeightsFileError naming `path` unless `state_dict` has exactly the keys of `expected` (a model's
    state_dict()) with the same shapes."""
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    mismatched = sorted(key for key in set(expected) & set(state_dict)
                        if tuple(state_dict[key].shape) != tuple(expected[key].shape))
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing ({_named(missing)})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected ({_named(unexpected)})")
    if mismatched:
        first = mismatched[0]
        problems.append(
            f"{len(mismatched)} of another shape ({_named(mismatched)}; e.g. {first} is "
            f"{tuple(state_dict[first].shape)}, expected {tuple(expected[first].shape)})")
    if problems:
        raise WeightsFileError(
            f"the {title} weights file {path} was made for another architecture: of its tensors, "
            f"{'; '.join(problems)}; replace it: {INSTALL_FIX}")


def load_weights(build: Callable[[], nn.Module], path: Path, *, title: str = "model") -> nn.Module:
    """A model from `build()` with the weights of `path`, checked against its architecture. The file is read
    before the model is built, so a damaged file fails at once. The model is built on the meta device (no random
    initialisation: a ResNet-50 Mask R-CNN starts in 0.1 s instead of 1.7 s on a CPU) and takes the file's tensors."""
    state_dict = read_state_dict(path, title=title)
    with torch.device("meta"):
        model = build()
    check_state_dict(state_dict, model.state_dict(), path, title=title)
    model.load_state_dict(state_dict, strict=True, assign=True)
    left = [name for name, tensor in [*model.named_parameters(), *model.named_buffers()] if tensor.is_meta]
    if left:
        raise RuntimeError(f"Expected every tensor of the {title} to come from {path}, but {left[:3]} did not")
    return model


def config_path(weights_path: Path) -> Path:
    """The config JSON that describes `weights_path`: same folder and name, suffix .json."""
    return Path(weights_path).with_suffix(".json")


class ArchitectureConfig:
    """Mixin for the frozen dataclass that describes a net trained here, saved as JSON beside its weights
    (config_path) under its `architecture` name, so the two files together describe the model."""

    architecture: ClassVar[str]

    def to_json(self) -> str:
        return json.dumps({"architecture": self.architecture, **asdict(self)}, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str):
        """The config in `text` (as to_json writes). Raises ValueError on anything else."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.pop("architecture", None) != cls.architecture:
            raise ValueError(f"Expected a JSON object with \"architecture\": \"{cls.architecture}\"")
        names = {field.name for field in fields(cls)}
        if set(data) != names:
            raise ValueError(f"Expected the fields {sorted(names)}, but found {sorted(data)}")
        return cls(**{key: tuple(value) if isinstance(value, list) else value for key, value in data.items()})

    @classmethod
    def read(cls, path: Path, *, title: str, fix: str):
        """The config saved in `path`. Raises ModelUnavailableError when it is missing, WeightsFileError when it is
        not a config of this architecture; both name the file and end with `fix`."""
        path = Path(path)
        if not path.is_file():
            raise ModelUnavailableError(f"the {title} config {path} (the JSON beside its weights) does not exist; "
                                        f"{fix}")
        try:
            return cls.from_json(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError, TypeError) as error:
            raise WeightsFileError(f"the {title} config {path} is not a config of this model ({error}); "
                                   f"{fix}") from error
