"""EditRequest <-> EditSpec, edit by edit: targets, relations, source objects, recolour settings.

Server side: `edit_request_from_proto` (validates every part, raising InvalidInputError with a sentence).
Client side: `edit_request_to_proto`. Images, masks and fitting options are converted in convert.py.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from semantic_edit.v1 import semantic_edit_pb2 as pb

from ..errors import InvalidInputError
from ..pipeline.add import AddOptions
from ..pipeline.edit_spec import EDITS, EditSpec, RelationSpec, SourceSpec, TargetSpec, check_reference_mask
from ..pipeline.move import MoveOptions
from ..pipeline.pasting import source_cutout
from ..pipeline.recolor import DEFAULT_EDGE_PX, RecolorOptions, validate_recolor_input
from ..pipeline.remove import validate_remove_input
from ..pipeline.replace import ReplaceOptions
from ..placement.vocabulary import check_predicate
from .convert import (image_from_proto, image_to_proto, mask_from_proto, mask_to_proto, options_from_proto,
                      options_to_proto)
from .convert_scene import detection_settings_from_proto, target_query_from_proto, target_to_proto

DEFAULT_CANDIDATES = 4
REPLACE_FITS = {pb.REPLACE_FIT_UNSPECIFIED: "inside", pb.REPLACE_FIT_INSIDE: "inside", pb.REPLACE_FIT_WIDTH: "width",
                pb.REPLACE_FIT_HEIGHT: "height"}
REPLACE_FIT_FIELDS = {"inside": pb.REPLACE_FIT_INSIDE, "width": pb.REPLACE_FIT_WIDTH, "height": pb.REPLACE_FIT_HEIGHT}
Validate = Callable[[np.ndarray, np.ndarray], None]


# Server side: proto -> EditSpec.

def _target_from_proto(target: pb.Target, image: np.ndarray, validate: Validate) -> TargetSpec:
    if target.WhichOneof("kind") == "mask":
        mask = mask_from_proto(target.mask, image.shape[1], image.shape[0])
        validate(image, mask)
        return TargetSpec(mask=mask)
    return TargetSpec(query=target_query_from_proto(target),
                      detection=detection_settings_from_proto(target.detection))


def _relations_from_proto(relations, image: np.ndarray) -> tuple[RelationSpec, ...]:
    """The relations, checked one by one (that move and add have at least one: EditSpec.validated)."""
    return tuple(RelationSpec(check_predicate(relation.predicate),
                              _target_from_proto(relation.reference, image, check_reference_mask),
                              relation.reference_class, relation.reference_is_subject)
                 for relation in relations)


def _source_from_proto(source: pb.SourceObject, max_pixels: int) -> SourceSpec:
    picture = image_from_proto(source.image, max_pixels, what="the source picture")
    mask = (mask_from_proto(source.mask, picture.shape[1], picture.shape[0], what="the source picture")
            if source.HasField("mask") else None)
    source_cutout(picture, mask)  # raises InvalidInputError when it does not say which pixels are the object
    return SourceSpec(picture, mask)


def _remove_from_proto(edit: pb.RemoveEdit, options: pb.EditOptions, image: np.ndarray, max_pixels: int) -> EditSpec:
    return EditSpec("remove", image, options_from_proto(options),
                    target=_target_from_proto(edit.target, image, validate_remove_input))


def _move_from_proto(edit: pb.MoveEdit, options: pb.EditOptions, image: np.ndarray, max_pixels: int) -> EditSpec:
    move_options = MoveOptions(remove=options_from_proto(options), candidates=edit.candidates or DEFAULT_CANDIDATES,
                               candidate=edit.candidate, keep_size=edit.keep_size).validated()
    return EditSpec("move", image, move_options, target=_target_from_proto(edit.target, image, validate_remove_input),
                    object_class=edit.object_class, relations=_relations_from_proto(edit.relations, image))


def _replace_from_proto(edit: pb.ReplaceEdit, options: pb.EditOptions, image: np.ndarray,
                        max_pixels: int) -> EditSpec:
    if not edit.HasField("source"):
        raise InvalidInputError("replace needs a source object: set replace.source (an RGBA picture of the new "
                                "object, or a picture with a mask)")
    if edit.fit not in REPLACE_FITS:
        raise InvalidInputError(f"unknown replace fit {edit.fit}: use REPLACE_FIT_INSIDE, REPLACE_FIT_WIDTH or "
                                "REPLACE_FIT_HEIGHT")
    replace_options = ReplaceOptions(remove=options_from_proto(options), fit=REPLACE_FITS[edit.fit]).validated()
    return EditSpec("replace", image, replace_options,
                    target=_target_from_proto(edit.target, image, validate_remove_input),
                    object_class=edit.source.object_class, source=_source_from_proto(edit.source, max_pixels))


def _add_from_proto(edit: pb.AddEdit, options: pb.EditOptions, image: np.ndarray, max_pixels: int) -> EditSpec:
    if not edit.HasField("source"):
        raise InvalidInputError("add needs a source object: set add.source (an RGBA picture of the new object, or "
                                "a picture with a mask)")
    add_options = AddOptions(candidates=edit.candidates or DEFAULT_CANDIDATES, candidate=edit.candidate,
                             seed=options.seed, keep_size=edit.keep_size,
                             cast_shadow=not edit.no_shadow).validated()
    return EditSpec("add", image, add_options, object_class=edit.source.object_class,
                    relations=_relations_from_proto(edit.relations, image),
                    source=_source_from_proto(edit.source, max_pixels))


def _recolor_from_proto(edit: pb.RecolorEdit, options: pb.EditOptions, image: np.ndarray,
                        max_pixels: int) -> EditSpec:
    if not edit.HasField("color"):
        raise InvalidInputError("recolor needs a colour: set recolor.color (red, green, blue, 0..255 each)")
    c = edit.color
    recolor_options = RecolorOptions(
        colour=(c.red, c.green, c.blue),
        strength=edit.strength if edit.HasField("strength") else 1.0,
        lightness=edit.lightness if edit.HasField("lightness") else 1.0,
        edge_px=options.dilation_px if options.HasField("dilation_px") and options.dilation_px != -1
        else DEFAULT_EDGE_PX).validated()
    return EditSpec("recolor", image, recolor_options,
                    target=_target_from_proto(edit.target, image, validate_recolor_input))


FROM_PROTO = {"remove": _remove_from_proto, "move": _move_from_proto, "replace": _replace_from_proto,
              "add": _add_from_proto, "recolor": _recolor_from_proto}


def edit_request_from_proto(request: pb.EditRequest, max_pixels: int) -> EditSpec:
    """Checks every part of an edit request; raises InvalidInputError naming what is wrong."""
    kind = request.WhichOneof("edit")
    if kind not in EDITS:
        raise InvalidInputError(f"the request names no edit: set one of {', '.join(EDITS)}")
    image = image_from_proto(request.image, max_pixels)
    return FROM_PROTO[kind](getattr(request, kind), request.options, image, max_pixels).validated()


# Client side: EditSpec -> proto.

def _target_to_proto(target: TargetSpec) -> pb.Target:
    if target.query is not None:
        return target_to_proto(target.query, target.detection)
    return pb.Target(mask=mask_to_proto(target.mask))


def _relations_to_proto(spec: EditSpec) -> list[pb.PlacementRelation]:
    return [pb.PlacementRelation(predicate=r.predicate, reference=_target_to_proto(r.reference),
                                 reference_class=r.reference_class, reference_is_subject=r.reference_is_subject)
            for r in spec.relations]


def _source_to_proto(spec: EditSpec) -> pb.SourceObject:
    source = pb.SourceObject(image=image_to_proto(spec.source.picture), object_class=spec.object_class)
    if spec.source.mask is not None:
        source.mask.CopyFrom(mask_to_proto(spec.source.mask))
    return source


def _remove_to_proto(spec: EditSpec):
    return pb.RemoveEdit(target=_target_to_proto(spec.target)), options_to_proto(spec.options)


def _move_to_proto(spec: EditSpec):
    o = spec.options
    move = pb.MoveEdit(target=_target_to_proto(spec.target), object_class=spec.object_class,
                       relations=_relations_to_proto(spec), candidates=o.candidates, candidate=o.candidate,
                       keep_size=o.keep_size)
    return move, options_to_proto(o.remove)


def _replace_to_proto(spec: EditSpec):
    replace = pb.ReplaceEdit(target=_target_to_proto(spec.target), source=_source_to_proto(spec),
                             fit=REPLACE_FIT_FIELDS[spec.options.fit])
    return replace, options_to_proto(spec.options.remove)


def _add_to_proto(spec: EditSpec):
    o = spec.options
    add = pb.AddEdit(source=_source_to_proto(spec), relations=_relations_to_proto(spec), candidates=o.candidates,
                     candidate=o.candidate, keep_size=o.keep_size, no_shadow=not o.cast_shadow)
    return add, pb.EditOptions(seed=o.seed)


def _recolor_to_proto(spec: EditSpec):
    o = spec.options.validated()
    red, green, blue = o.colour
    recolor = pb.RecolorEdit(target=_target_to_proto(spec.target), color=pb.Color(red=red, green=green, blue=blue),
                             strength=o.strength, lightness=o.lightness)
    return recolor, pb.EditOptions(dilation_px=o.edge_px)


TO_PROTO = {"remove": _remove_to_proto, "move": _move_to_proto, "replace": _replace_to_proto, "add": _add_to_proto,
            "recolor": _recolor_to_proto}


def edit_request_to_proto(spec: EditSpec) -> pb.EditRequest:
    """The request for `spec`."""
    spec = spec.validated()
    edit, options = TO_PROTO[spec.kind](spec)
    return pb.EditRequest(image=image_to_proto(spec.image), options=options, **{spec.kind: edit})

