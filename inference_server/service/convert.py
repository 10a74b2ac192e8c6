"""The one boundary between protobuf messages and numpy arrays, for both the server and the CLI's client.

Server side: `edit_request_from_proto` (validates, raising InvalidInputError with a sentence), `result_to_proto`.
Client side: `edit_request_to_proto`, `result_from_proto`. Targets other than masks and scene graphs are
converted in convert_scene.py.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from semantic_edit.v1 import semantic_edit_pb2 as pb

from ..errors import InvalidInputError
from ..pipeline.detect import DetectionSettings
from ..pipeline.masks import Region
from ..pipeline.options import DEFAULT_PRESET, GuidanceMode, GuidanceStatistic, RemoveOptions
from ..pipeline.move import MoveOptions, MoveResult
from ..pipeline.recolor import DEFAULT_EDGE_PX, RecolorOptions, RecolorResult, validate_recolor_input
from ..pipeline.remove import RemoveResult, validate_remove_input
from ..scene_graph.targets import TargetQuery
from ..placement.vocabulary import check_predicate
from .convert_scene import detection_settings_from_proto, target_query_from_proto, target_to_proto

CHANNELS = {pb.PIXEL_FORMAT_RGB8: 3, pb.PIXEL_FORMAT_RGBA8: 4}
FORMAT_NAMES = {pb.PIXEL_FORMAT_RGB8: "RGB8", pb.PIXEL_FORMAT_RGBA8: "RGBA8"}
GUIDANCE_MODES = {
    pb.GUIDANCE_MODE_UNSPECIFIED: GuidanceMode.WHOLE_HOLE,
    pb.GUIDANCE_MODE_WHOLE_HOLE: GuidanceMode.WHOLE_HOLE,
    pb.GUIDANCE_MODE_PER_ROW: GuidanceMode.PER_ROW,
}
GUIDANCE_STATISTICS = {
    pb.GUIDANCE_STATISTIC_UNSPECIFIED: GuidanceStatistic.MEDIAN,
    pb.GUIDANCE_STATISTIC_MEDIAN: GuidanceStatistic.MEDIAN,
    pb.GUIDANCE_STATISTIC_MEAN: GuidanceStatistic.MEAN,
}
EDITS = ("remove", "move", "recolor")  # the EditRequest.edit fields this server runs
EditOptionsOf = RemoveOptions | MoveOptions | RecolorOptions
EditResultOf = RemoveResult | MoveResult | RecolorResult
DEFAULT_CANDIDATES = 4


@dataclass(frozen=True)
class ParsedTarget:
    """A target: `mask` ((H, W) bool) given as such, or `query` resolved with `detection`."""

    mask: np.ndarray | None
    query: TargetQuery | None
    detection: DetectionSettings


@dataclass(frozen=True)
class ParsedRelation:
    """A move's requested relation: predicate (checked), the reference target, its class ("" = detected or
    unknown), and which side of the predicate the reference is on."""

    predicate: str
    reference: ParsedTarget
    reference_class: str
    reference_is_subject: bool


@dataclass(frozen=True)
class ParsedEdit:
    """A checked EditRequest. kind: one of EDITS; options: RemoveOptions or RecolorOptions to match. Exactly one of
    object_mask (a mask target) and query (object ids, class, hint box: needs detection) is set."""

    kind: str
    image: np.ndarray  # (H, W, 3|4) uint8
    object_mask: np.ndarray | None  # (H, W) bool
    query: TargetQuery | None
    detection: DetectionSettings  # how objects are found for `query`
    options: EditOptionsOf
    pixel_format: int  # pb.PIXEL_FORMAT_*
    object_class: str = ""  # move: the moved object's class for the position model ("" = detected or unknown)
    relations: tuple[ParsedRelation, ...] = ()  # move: where it goes


def image_from_proto(image: pb.Image, max_pixels: int) -> np.ndarray:
    width, height = image.width, image.height
    if width == 0 or height == 0:
        raise InvalidInputError(f"the image is {width}x{height}: width and height must be at least 1 px")
    if width * height > max_pixels:
        raise InvalidInputError(
            f"the image is {width}x{height} = {width * height:,} pixels, over this server's limit of "
            f"{max_pixels:,}; scale it down, or start the server with a larger --max-pixels")
    if image.format not in CHANNELS:
        raise InvalidInputError(
            f"unknown pixel format {image.format}: send 8-bit RGB (PIXEL_FORMAT_RGB8) or RGBA (PIXEL_FORMAT_RGBA8)")
    channels = CHANNELS[image.format]
    expected = width * height * channels
    if len(image.data) != expected:
        raise InvalidInputError(
            f"the image data has {len(image.data):,} bytes but a {width}x{height} {FORMAT_NAMES[image.format]} "
            f"image needs {expected:,} (width x height x {channels})")
    return np.frombuffer(image.data, dtype=np.uint8).reshape(height, width, channels)


def mask_from_proto(mask: pb.Mask, width: int, height: int) -> np.ndarray:
    if (mask.width, mask.height) != (width, height):
        raise InvalidInputError(
            f"the mask is {mask.width}x{mask.height} but the image is {width}x{height}; "
            "give a mask of the image's size")
    if len(mask.data) != width * height:
        raise InvalidInputError(
            f"the mask data has {len(mask.data):,} bytes but a {width}x{height} mask needs {width * height:,} "
            "(one byte per pixel)")
    return np.frombuffer(mask.data, dtype=np.uint8).reshape(height, width) != 0


def options_from_proto(options: pb.EditOptions) -> RemoveOptions:
    dilation = options.dilation_px if options.HasField("dilation_px") else -1
    weight = options.guidance_weight if options.HasField("guidance_weight") else 0.1
    if options.guidance_mode not in GUIDANCE_MODES:
        raise InvalidInputError(
            f"unknown guidance mode {options.guidance_mode}: use GUIDANCE_MODE_WHOLE_HOLE or GUIDANCE_MODE_PER_ROW")
    if options.guidance_statistic not in GUIDANCE_STATISTICS:
        raise InvalidInputError(f"unknown guidance statistic {options.guidance_statistic}: use "
                                "GUIDANCE_STATISTIC_MEDIAN or GUIDANCE_STATISTIC_MEAN")
    return RemoveOptions(
        dilation_px=None if dilation == -1 else dilation,
        quality=options.quality or DEFAULT_PRESET,
        iterations=options.iterations or None,
        seed=options.seed,
        guidance_weight=float(weight),
        guidance_mode=GUIDANCE_MODES[options.guidance_mode],
        guidance_statistic=GUIDANCE_STATISTICS[options.guidance_statistic],
    ).validated()


def recolor_options_from_proto(recolor: pb.RecolorEdit, options: pb.EditOptions) -> RecolorOptions:
    if not recolor.HasField("color"):
        raise InvalidInputError("recolor needs a colour: set recolor.color (red, green, blue, 0..255 each)")
    c = recolor.color
    return RecolorOptions(
        colour=(c.red, c.green, c.blue),
        strength=recolor.strength if recolor.HasField("strength") else 1.0,
        lightness=recolor.lightness if recolor.HasField("lightness") else 1.0,
        edge_px=options.dilation_px if options.HasField("dilation_px") and options.dilation_px != -1
        else DEFAULT_EDGE_PX).validated()


def _target_from_proto(target: pb.Target, image: np.ndarray, validate) -> ParsedTarget:
    if target.WhichOneof("kind") == "mask":
        mask = mask_from_proto(target.mask, image.shape[1], image.shape[0])
        validate(image, mask)
        return ParsedTarget(mask, None, DetectionSettings())
    return ParsedTarget(None, target_query_from_proto(target), detection_settings_from_proto(target.detection))


def _validate_reference(image: np.ndarray, mask: np.ndarray) -> None:
    if not mask.any():
        raise InvalidInputError("a relation's reference mask is empty: mark the reference object (nonzero = object)")


def move_options_from_proto(move: pb.MoveEdit, options: pb.EditOptions) -> MoveOptions:
    return MoveOptions(remove=options_from_proto(options), candidates=move.candidates or DEFAULT_CANDIDATES,
                       candidate=move.candidate, keep_size=move.keep_size).validated()


def _relations_from_proto(move: pb.MoveEdit, image: np.ndarray) -> tuple[ParsedRelation, ...]:
    if not move.relations:
        raise InvalidInputError("move needs at least one relation: say where the object goes, e.g. predicate "
                                "'left of' with the reference object as its target")
    return tuple(ParsedRelation(check_predicate(relation.predicate),
                                _target_from_proto(relation.reference, image, _validate_reference),
                                relation.reference_class, relation.reference_is_subject)
                 for relation in move.relations)


def edit_request_from_proto(request: pb.EditRequest, max_pixels: int) -> ParsedEdit:
    """Checks every part of an edit request; raises InvalidInputError naming what is wrong."""
    kind = request.WhichOneof("edit")
    if kind not in EDITS:
        raise InvalidInputError(f"the request names no edit: set one of {', '.join(EDITS)}")
    image = image_from_proto(request.image, max_pixels)
    edit = getattr(request, kind)
    relations: tuple[ParsedRelation, ...] = ()
    if kind == "remove":
        options, validate = options_from_proto(request.options), validate_remove_input
    elif kind == "move":
        options, validate = move_options_from_proto(edit, request.options), validate_remove_input
        relations = _relations_from_proto(edit, image)
    else:
        options, validate = recolor_options_from_proto(edit, request.options), validate_recolor_input
    target = _target_from_proto(edit.target, image, validate)
    return ParsedEdit(kind, image, target.mask, target.query, target.detection, options, request.image.format,
                      object_class=getattr(edit, "object_class", ""), relations=relations)


def _region_to_proto(region: Region) -> pb.Region:
    return pb.Region(x=region.x, y=region.y, width=region.width, height=region.height)


def _result_masks(result: EditResultOf) -> dict[str, np.ndarray]:
    if isinstance(result, RecolorResult):
        return {"object": result.object_mask, "edge": result.edge_mask}
    if isinstance(result, MoveResult):
        return {"object": result.object_mask, "hole": result.hole_mask, "placed": result.placed_mask}
    return {"object": result.object_mask, "hole": result.hole_mask}


def _placement_to_proto(box01, width: int, height: int, all_hold: bool) -> pb.Placement:
    x0, y0, x1, y1 = box01
    left, top = round(x0 * width), round(y0 * height)
    return pb.Placement(box=pb.Region(x=left, y=top, width=max(1, round(x1 * width) - left),
                                      height=max(1, round(y1 * height) - top)), all_relations_hold=all_hold)


def result_to_proto(result: EditResultOf, pixel_format: int) -> pb.EditResult:
    region = _region_to_proto(result.region)
    masks = [pb.RegionMask(name=name, region=region, data=(mask.astype(np.uint8) * 255).tobytes())
             for name, mask in _result_masks(result).items()]
    iterations, dilation_px = ((0, result.edge_px) if isinstance(result, RecolorResult)
                               else (result.iterations, result.dilation_px))
    patch = pb.Image(width=result.region.width, height=result.region.height, format=pixel_format,
                     data=np.ascontiguousarray(result.patch).tobytes())
    timings = [pb.StageTiming(stage=stage, seconds=seconds) for stage, seconds in result.timings.items()]
    placements = ([_placement_to_proto(p.box, result.image_size[0], result.image_size[1], p.all_satisfied)
                   for p in result.candidates] if isinstance(result, MoveResult) else [])
    return pb.EditResult(region=region, patch=patch, masks=masks, timings=timings, iterations=iterations,
                         dilation_px=dilation_px, object_ids=list(result.object_ids), placements=placements)


def image_to_proto(image: np.ndarray) -> pb.Image:
    """An (H, W, 3|4) uint8 array as an RGB8 / RGBA8 Image."""
    height, width, channels = image.shape
    pixel_format = pb.PIXEL_FORMAT_RGBA8 if channels == 4 else pb.PIXEL_FORMAT_RGB8
    return pb.Image(width=width, height=height, format=pixel_format, data=np.ascontiguousarray(image).tobytes())


def _edit_options_to_proto(options: RemoveOptions) -> pb.EditOptions:
    mode = {GuidanceMode.WHOLE_HOLE: pb.GUIDANCE_MODE_WHOLE_HOLE, GuidanceMode.PER_ROW: pb.GUIDANCE_MODE_PER_ROW}
    statistic = {GuidanceStatistic.MEDIAN: pb.GUIDANCE_STATISTIC_MEDIAN,
                 GuidanceStatistic.MEAN: pb.GUIDANCE_STATISTIC_MEAN}
    proto_options = pb.EditOptions(
        dilation_px=-1 if options.dilation_px is None else options.dilation_px,
        quality=options.quality, seed=options.seed, guidance_weight=options.guidance_weight,
        guidance_mode=mode[options.guidance_mode], guidance_statistic=statistic[options.guidance_statistic])
    if options.iterations is not None:
        proto_options.iterations = options.iterations
    return proto_options


def _target_to_proto(target: np.ndarray | TargetQuery, detection: DetectionSettings) -> pb.Target:
    if isinstance(target, TargetQuery):
        return target_to_proto(target, detection)
    height, width = target.shape
    return pb.Target(mask=pb.Mask(width=width, height=height, data=(target != 0).astype(np.uint8).tobytes()))


def edit_request_to_proto(image: np.ndarray, target: np.ndarray | TargetQuery, options: EditOptionsOf,
                          detection: DetectionSettings = DetectionSettings(), *, object_class: str = "",
                          relations: Sequence[tuple[str, np.ndarray | TargetQuery]] = ()) -> pb.EditRequest:
    """A remove (RemoveOptions), move (MoveOptions, with object_class and relations: (predicate, reference))
    or recolor (RecolorOptions) request. target and each reference: an (H, W) mask (nonzero = object), or a
    TargetQuery found with `detection`."""
    proto_target = _target_to_proto(target, detection)
    if isinstance(options, MoveOptions):
        move = pb.MoveEdit(
            target=proto_target, object_class=object_class, candidates=options.candidates,
            candidate=options.candidate, keep_size=options.keep_size,
            relations=[pb.PlacementRelation(predicate=predicate, reference=_target_to_proto(reference, detection))
                       for predicate, reference in relations])
        return pb.EditRequest(image=image_to_proto(image), move=move, options=_edit_options_to_proto(options.remove))
    if isinstance(options, RecolorOptions):
        options = options.validated()
        red, green, blue = options.colour
        recolor = pb.RecolorEdit(target=proto_target, color=pb.Color(red=red, green=green, blue=blue),
                                 strength=options.strength, lightness=options.lightness)
        return pb.EditRequest(image=image_to_proto(image), recolor=recolor,
                              options=pb.EditOptions(dilation_px=options.edge_px))
    return pb.EditRequest(image=image_to_proto(image), remove=pb.RemoveEdit(target=proto_target),
                          options=_edit_options_to_proto(options))


def result_from_proto(result: pb.EditResult) -> EditResultOf:
    """A MoveResult when the masks hold "placed" (without the placements: see the proto), a RecolorResult when
    they hold "edge", else a RemoveResult."""
    r = result.region
    region = Region(r.x, r.y, r.width, r.height)
    channels = CHANNELS[result.patch.format]
    patch = np.frombuffer(result.patch.data, dtype=np.uint8).reshape(r.height, r.width, channels)
    masks = {m.name: np.frombuffer(m.data, dtype=np.uint8).reshape(r.height, r.width) != 0 for m in result.masks}
    timings = {t.stage: t.seconds for t in result.timings}
    if "placed" in masks:
        return MoveResult(region=region, patch=patch, object_mask=masks["object"], hole_mask=masks["hole"],
                          placed_mask=masks["placed"], placement=None, candidates=[], image_size=(0, 0),
                          dilation_px=result.dilation_px, iterations=result.iterations, timings=timings,
                          object_ids=tuple(result.object_ids))
    if "edge" in masks:
        return RecolorResult(region=region, patch=patch, object_mask=masks["object"], edge_mask=masks["edge"],
                             target_lch=(0.0, 0.0, 0.0), object_chroma=0.0, edge_px=result.dilation_px,
                             timings=timings, object_ids=tuple(result.object_ids))
    return RemoveResult(region=region, patch=patch, object_mask=masks["object"], hole_mask=masks["hole"],
                        dilation_px=result.dilation_px, iterations=result.iterations,
                        timings=timings, object_ids=tuple(result.object_ids))
