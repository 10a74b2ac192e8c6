"""The boundary between protobuf messages and numpy arrays, for both the server and the CLI's client: images,
masks, the fitting options and results (`result_to_proto` on the server, `result_from_proto` in the client).

Requests are converted in convert_edits.py (each edit's fields, on top of these), detection targets and scene
graphs in convert_scene.py.
"""
from __future__ import annotations

import math

import numpy as np

from semantic_edit.v1 import semantic_edit_pb2 as pb

from ..errors import InvalidInputError
from ..pipeline.edit_spec import EditResultOf, result_masks
from ..pipeline.masks import Region
from ..pipeline.options import DEFAULT_FILL, DEFAULT_PRESET, FillMethod, GuidanceMode, GuidanceStatistic, RemoveOptions
from ..pipeline.pasting import PasteResult
from ..pipeline.recolor import RecolorResult
from ..pipeline.remove import RemoveResult
from ..placement.predict import Placement

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
FILL_METHODS = {
    pb.FILL_METHOD_UNSPECIFIED: DEFAULT_FILL,
    pb.FILL_METHOD_SYNTHESIS: FillMethod.SYNTHESIS,
    pb.FILL_METHOD_DIP: FillMethod.DIP,
}


def image_from_proto(image: pb.Image, max_pixels: int, what: str = "the image") -> np.ndarray:
    width, height = image.width, image.height
    if width == 0 or height == 0:
        raise InvalidInputError(f"{what} is {width}x{height}: width and height must be at least 1 px")
    if width * height > max_pixels:
        raise InvalidInputError(
            f"{what} is {width}x{height} = {width * height:,} pixels, over this server's limit of "
            f"{max_pixels:,}; scale it down, or start the server with a larger --max-pixels")
    if image.format not in CHANNELS:
        raise InvalidInputError(
            f"unknown pixel format {image.format} of {what}: send 8-bit RGB (PIXEL_FORMAT_RGB8) or RGBA "
            "(PIXEL_FORMAT_RGBA8)")
    channels = CHANNELS[image.format]
    expected = width * height * channels
    if len(image.data) != expected:
        raise InvalidInputError(
            f"the data of {what} has {len(image.data):,} bytes but a {width}x{height} {FORMAT_NAMES[image.format]} "
            f"image needs {expected:,} (width x height x {channels})")
    return np.frombuffer(image.data, dtype=np.uint8).reshape(height, width, channels)


def mask_from_proto(mask: pb.Mask, width: int, height: int, what: str = "the image") -> np.ndarray:
    if (mask.width, mask.height) != (width, height):
        raise InvalidInputError(
            f"the mask is {mask.width}x{mask.height} but {what} is {width}x{height}; give a mask of its size")
    if len(mask.data) != width * height:
        raise InvalidInputError(
            f"the mask data has {len(mask.data):,} bytes but a {width}x{height} mask needs {width * height:,} "
            "(one byte per pixel)")
    return np.frombuffer(mask.data, dtype=np.uint8).reshape(height, width) != 0


def mask_to_proto(mask: np.ndarray) -> pb.Mask:
    height, width = mask.shape
    return pb.Mask(width=width, height=height, data=(mask != 0).astype(np.uint8).tobytes())


def image_to_proto(image: np.ndarray) -> pb.Image:
    """An (H, W, 3|4) uint8 array as an RGB8 / RGBA8 Image."""
    height, width, channels = image.shape
    pixel_format = pb.PIXEL_FORMAT_RGBA8 if channels == 4 else pb.PIXEL_FORMAT_RGB8
    return pb.Image(width=width, height=height, format=pixel_format, data=np.ascontiguousarray(image).tobytes())


def options_from_proto(options: pb.EditOptions) -> RemoveOptions:
    dilation = options.dilation_px if options.HasField("dilation_px") else -1
    weight = options.guidance_weight if options.HasField("guidance_weight") else 0.1
    if options.guidance_mode not in GUIDANCE_MODES:
        raise InvalidInputError(
            f"unknown guidance mode {options.guidance_mode}: use GUIDANCE_MODE_WHOLE_HOLE or GUIDANCE_MODE_PER_ROW")
    if options.guidance_statistic not in GUIDANCE_STATISTICS:
        raise InvalidInputError(f"unknown guidance statistic {options.guidance_statistic}: use "
                                "GUIDANCE_STATISTIC_MEDIAN or GUIDANCE_STATISTIC_MEAN")
    if options.fill not in FILL_METHODS:
        raise InvalidInputError(f"unknown fill method {options.fill}: use FILL_METHOD_SYNTHESIS or FILL_METHOD_DIP")
    return RemoveOptions(
        dilation_px=None if dilation == -1 else dilation,
        quality=options.quality or DEFAULT_PRESET,
        fill=FILL_METHODS[options.fill],
        texture=float(options.texture) if options.HasField("texture") else None,
        keep_shadow=options.keep_shadow,
        iterations=options.iterations or None,
        seed=options.seed,
        guidance_weight=float(weight),
        guidance_mode=GUIDANCE_MODES[options.guidance_mode],
        guidance_statistic=GUIDANCE_STATISTICS[options.guidance_statistic],
    ).validated()


def options_to_proto(options: RemoveOptions) -> pb.EditOptions:
    mode = {GuidanceMode.WHOLE_HOLE: pb.GUIDANCE_MODE_WHOLE_HOLE, GuidanceMode.PER_ROW: pb.GUIDANCE_MODE_PER_ROW}
    statistic = {GuidanceStatistic.MEDIAN: pb.GUIDANCE_STATISTIC_MEDIAN,
                 GuidanceStatistic.MEAN: pb.GUIDANCE_STATISTIC_MEAN}
    fill = {FillMethod.SYNTHESIS: pb.FILL_METHOD_SYNTHESIS, FillMethod.DIP: pb.FILL_METHOD_DIP}
    proto_options = pb.EditOptions(
        dilation_px=-1 if options.dilation_px is None else options.dilation_px,
        quality=options.quality, seed=options.seed, guidance_weight=options.guidance_weight,
        guidance_mode=mode[options.guidance_mode], guidance_statistic=statistic[options.guidance_statistic],
        fill=fill[options.fill], keep_shadow=options.keep_shadow)
    if options.iterations is not None:
        proto_options.iterations = options.iterations
    if options.texture is not None:
        proto_options.texture = options.texture
    return proto_options


def _region_to_proto(region: Region) -> pb.Region:
    return pb.Region(x=region.x, y=region.y, width=region.width, height=region.height)


def _placement_to_proto(placement: Placement, width: int, height: int) -> pb.Placement:
    x0, y0, x1, y1 = placement.box
    left, top = round(x0 * width), round(y0 * height)
    return pb.Placement(box=pb.Region(x=left, y=top, width=max(1, round(x1 * width) - left),
                                      height=max(1, round(y1 * height) - top)),
                        all_relations_hold=placement.all_satisfied)


def _placement_from_proto(placement: pb.Placement, width: int, height: int) -> Placement:
    b = placement.box
    return Placement((b.x / width, b.y / height, (b.x + b.width) / width, (b.y + b.height) / height),
                     (placement.all_relations_hold,), math.nan, "server")


def result_to_proto(result: EditResultOf, pixel_format: int) -> pb.EditResult:
    region = _region_to_proto(result.region)
    masks = [pb.RegionMask(name=name, region=region, data=(mask.astype(np.uint8) * 255).tobytes())
             for name, mask in result_masks(result).items()]
    iterations, dilation_px = ((0, result.edge_px) if isinstance(result, RecolorResult)
                               else (result.iterations, result.dilation_px))
    patch = pb.Image(width=result.region.width, height=result.region.height, format=pixel_format,
                     data=np.ascontiguousarray(result.patch).tobytes())
    timings = [pb.StageTiming(stage=stage, seconds=seconds) for stage, seconds in result.timings.items()]
    placements = ([_placement_to_proto(p, *result.image_size) for p in result.candidates]
                  if isinstance(result, PasteResult) else [])
    return pb.EditResult(region=region, patch=patch, masks=masks, timings=timings, iterations=iterations,
                         dilation_px=dilation_px, object_ids=list(result.object_ids), placements=placements)


def result_from_proto(result: pb.EditResult, image_size: tuple[int, int]) -> EditResultOf:
    """The result of an edit of a (width, height) image: a PasteResult when the masks hold "placed" (move,
    replace, add; placements as 0..1 boxes, the chosen one unknown: see the request), a RecolorResult when they
    hold "edge", else a RemoveResult."""
    r = result.region
    region = Region(r.x, r.y, r.width, r.height)
    channels = CHANNELS[result.patch.format]
    patch = np.frombuffer(result.patch.data, dtype=np.uint8).reshape(r.height, r.width, channels)
    masks = {m.name: np.frombuffer(m.data, dtype=np.uint8).reshape(r.height, r.width) != 0 for m in result.masks}
    timings = {t.stage: t.seconds for t in result.timings}
    common = dict(region=region, patch=patch, timings=timings, object_ids=tuple(result.object_ids))
    if "placed" in masks:
        candidates = [_placement_from_proto(p, *image_size) for p in result.placements]
        return PasteResult(object_mask=masks.get("object"), hole_mask=masks.get("hole"),
                           shadow_mask=masks.get("shadow"), placed_mask=masks["placed"],
                           placed_shadow_mask=masks.get("placed shadow"), placement=None, candidates=candidates,
                           image_size=image_size, dilation_px=result.dilation_px, iterations=result.iterations,
                           **common)
    if "edge" in masks:
        return RecolorResult(object_mask=masks["object"], edge_mask=masks["edge"], target_lch=(0.0, 0.0, 0.0),
                             object_chroma=0.0, edge_px=result.dilation_px, **common)
    return RemoveResult(object_mask=masks["object"], hole_mask=masks["hole"], shadow_mask=masks.get("shadow"),
                        dilation_px=result.dilation_px,
                        iterations=result.iterations, **common)
