"""One edit as asked for, wherever it runs (the server, the command line in-process), and the one function that
runs it: resolve the targets (masks as given, or found by the segmentation model), then call the edit.

    spec = EditSpec("move", image, MoveOptions(), target=TargetSpec(mask=mask), object_class="red cube",
                    relations=(RelationSpec("left of", TargetSpec(query=TargetQuery(class_target="blue sphere"))),))
    result = run_edit(spec, EditModels(segmenter, predictor, device))
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch

from ..errors import InvalidInputError, quoted
from ..placement.predict import PositionPredictor
from ..placement.vocabulary import UNKNOWN, Triplet
from ..scene_graph.targets import TargetQuery
from ..segmentation.segmenter import Segmenter
from .add import AddOptions, add_object
from .detect import DetectionSettings, ResolvedTarget, TargetResolver
from .masks import bounding_region
from .move import MoveOptions, move_object
from .options import RemoveOptions
from .pasting import PasteResult, box01_of, source_cutout
from .recolor import STAGE_RECOLOR, RecolorOptions, RecolorResult, recolor_object
from .remove import ProgressReport, RemoveResult, remove_object
from .replace import ReplaceOptions, replace_object

EDITS = ("remove", "move", "replace", "add", "recolor")
EditOptionsOf = RemoveOptions | MoveOptions | ReplaceOptions | AddOptions | RecolorOptions
EditResultOf = RemoveResult | PasteResult | RecolorResult
OPTIONS_OF = {"remove": RemoveOptions, "move": MoveOptions, "replace": ReplaceOptions, "add": AddOptions,
              "recolor": RecolorOptions}


@dataclass(frozen=True)
class TargetSpec:
    """An object of the image: `mask` ((H, W) bool) as given, or `query` (ids, class, hint box) found with
    `detection`."""

    mask: np.ndarray | None = None
    query: TargetQuery | None = None
    detection: DetectionSettings = DetectionSettings()


@dataclass(frozen=True)
class RelationSpec:
    """A relation the placed object must have: predicate, the reference object, its class for the position model
    ("" = the detected class, else unknown), and whether the reference is the triplet's subject."""

    predicate: str
    reference: TargetSpec
    reference_class: str = ""
    reference_is_subject: bool = False


@dataclass(frozen=True)
class SourceSpec:
    """An object to paste: `picture` ((h, w, 3|4) uint8; alpha = its shape) and/or `mask` ((h, w) bool)."""

    picture: np.ndarray
    mask: np.ndarray | None = None


@dataclass(frozen=True)
class EditSpec:
    """kind: one of EDITS; options: OPTIONS_OF[kind]; target: every edit but add; object_class: the moved or added
    object's class for the position model; relations: move and add; source: replace and add."""

    kind: str
    image: np.ndarray  # (H, W, 3|4) uint8
    options: EditOptionsOf
    target: TargetSpec | None = None
    object_class: str = ""
    relations: tuple[RelationSpec, ...] = ()
    source: SourceSpec | None = None

    def validated(self) -> EditSpec:
        """Checks that the parts the kind needs are there (the parts themselves are checked where they are used)."""
        if self.kind not in EDITS:
            raise InvalidInputError(f"unknown edit {quoted(self.kind)}: use one of {', '.join(EDITS)}")
        if not isinstance(self.options, OPTIONS_OF[self.kind]):
            raise ValueError(f"Expected {OPTIONS_OF[self.kind].__name__} for {self.kind}, "
                             f"but found {type(self.options).__name__}")
        if (self.target is None) != (self.kind == "add"):
            raise InvalidInputError("add places a new object and takes no target" if self.kind == "add" else
                                    f"{self.kind} needs a target: a mask, object ids, a class name or a hint box")
        if self.kind in ("move", "add") and not self.relations:
            raise InvalidInputError(f"{self.kind} needs at least one relation: say where the object goes, e.g. "
                                    "'left of' with the reference object as its target")
        if self.kind in ("replace", "add") and self.source is None:
            raise InvalidInputError(f"{self.kind} needs a source object: a picture with alpha, or with a mask")
        return self

    @property
    def targets(self) -> tuple[TargetSpec, ...]:
        """The target and every reference."""
        return ((self.target,) if self.target else ()) + tuple(r.reference for r in self.relations)

    @property
    def needs_segmenter(self) -> bool:
        return any(target.query is not None for target in self.targets)


@dataclass(frozen=True)
class EditModels:
    """What edits run with: the segmentation model (None when unavailable: only mask targets work), the position
    model (move, add) and the torch device for the fit."""

    segmenter: Segmenter | None
    predictor: PositionPredictor | None
    device: torch.device | None = None


def result_masks(result: EditResultOf) -> dict[str, np.ndarray]:
    """The masks a result carries, by name ("object", "hole", "shadow", "placed", "placed shadow", "edge"), each
    cropped to its region; a mask that is None is left out."""
    if isinstance(result, RecolorResult):
        return {"object": result.object_mask, "edge": result.edge_mask}
    masks = {"object": result.object_mask, "hole": result.hole_mask, "shadow": result.shadow_mask}
    if isinstance(result, PasteResult):
        masks["placed"] = result.placed_mask
        masks["placed shadow"] = result.placed_shadow_mask
    return {name: mask for name, mask in masks.items() if mask is not None}


def check_reference_mask(image: np.ndarray, mask: np.ndarray) -> None:
    """Raises InvalidInputError when a relation's reference marks no pixel (its box would be undefined)."""
    if not mask.any():
        raise InvalidInputError("a relation's reference mask is empty: mark the reference object (nonzero = object)")


def _resolve(resolver: TargetResolver, target: TargetSpec) -> ResolvedTarget:
    return resolver.resolve(target.mask, target.query, target.detection)


def _triplet(relation: RelationSpec, found: ResolvedTarget, image: np.ndarray) -> Triplet:
    """The relation as the position model reads it: the reference's box in 0..1 and its class."""
    image_size = (image.shape[1], image.shape[0])
    check_reference_mask(image, found.mask)
    return Triplet(relation.predicate, relation.reference_class or found.class_name or UNKNOWN,
                   box01_of(bounding_region(found.mask), image_size),
                   target_is_subject=not relation.reference_is_subject)


def _other_objects(resolver: TargetResolver, named: list[ResolvedTarget]) -> list[tuple[float, float, float, float]]:
    """Boxes (0..1) of the objects detection found besides the `named` ones (none when every target is a mask):
    a new place keeps clear of them."""
    height, width = resolver.image.shape[:2]
    return [(x0 / width, y0 / height, x1 / width, y1 / height) for x0, y0, x1, y1 in
            resolver.boxes_apart_from([t.mask for t in named if t.mask is not None])]


def drawn_mask_options(options: EditOptionsOf) -> EditOptionsOf:
    """The options for a target given as a mask: automatic dilation becomes none, the mask is used as drawn.

    Automatic dilation (8 % of the object's size, masks.auto_dilation_px) is for masks the segmentation model
    found: they miss the object's rim, and growing them removes it. A drawn mask or a selection is the area the user
    wants filled; on the removal benchmark growing exact masks raises the error on photos and scenes alike
    (docs/BENCHMARKS.md, "Dilation").
    """
    if isinstance(options, RemoveOptions):
        return replace(options, dilation_px=0) if options.dilation_px is None else options
    if isinstance(options, (MoveOptions, ReplaceOptions)):
        return replace(options, remove=drawn_mask_options(options.remove))
    return options


def run_edit(spec: EditSpec, models: EditModels, *, progress: ProgressReport | None = None,
             should_stop: Callable[[], bool] | None = None) -> EditResultOf:
    """Resolves the spec's targets (one detection for all of them) and runs the edit; the result's object_ids
    are the target's detections."""
    spec = spec.validated()
    report = progress or (lambda stage, step, total, message: None)
    image, options, device = spec.image, spec.options, models.device
    if spec.target is not None and spec.target.mask is not None:
        options = drawn_mask_options(options)
    resolver = TargetResolver(models.segmenter, image, report)
    target = _resolve(resolver, spec.target) if spec.target is not None else ResolvedTarget(None, (), None)
    references = [_resolve(resolver, relation.reference) for relation in spec.relations]
    triplets = [_triplet(relation, found, image) for relation, found in zip(spec.relations, references)]
    object_class = spec.object_class or target.class_name or UNKNOWN
    source = source_cutout(spec.source.picture, spec.source.mask) if spec.source is not None else None
    if spec.kind == "recolor":
        report(STAGE_RECOLOR, 0, 1, "Recolouring the object")
        result = recolor_object(image, target.mask, options)
        report(STAGE_RECOLOR, 1, 1, "Recolouring the object")
    elif spec.kind == "move":
        others = _other_objects(resolver, [target, *references])
        result = move_object(image, target.mask, object_class, triplets, models.predictor, options, device=device,
                             progress=progress, should_stop=should_stop, others=others)
    elif spec.kind == "replace":
        result = replace_object(image, target.mask, source, options, device=device, progress=progress,
                                should_stop=should_stop)
    elif spec.kind == "add":
        others = _other_objects(resolver, references)
        result = add_object(image, source, object_class, triplets, models.predictor, options, progress=progress,
                            others=others, reference_masks=[found.mask for found in references], device=device)
    else:
        result = remove_object(image, target.mask, options, device=device, progress=progress,
                               should_stop=should_stop)
    result.object_ids = target.object_ids
    return result
