"""The edits that paste an object: move, replace and add, as requests for semantic_edit_client's client.

Plain data checked before anything is sent, like RemoveRequest; `to_proto(pb)` builds the EditRequest with the
generated API module the client loaded (so this module, too, imports without grpc, protobuf or numpy).

    relation = PlacementRelation("left of", mask=reference_mask)              # or target=ObjectTarget("person", 2)
    result = client.move(MoveRequest(width, height, 3, pixels, mask=object_mask, relations=(relation,)))
    result.placements  # every place considered, best first
    source = SourceObject(w, h, 4, rgba)                                     # its alpha is the object's shape
    result = client.replace(ReplaceRequest(width, height, 3, pixels, mask=object_mask, source=source))
    result = client.add(AddRequest(width, height, 3, pixels, source=source, relations=(relation,)))
"""
from __future__ import annotations

from dataclasses import dataclass

from semantic_edit_client import (
    InvalidRequestError, ObjectTarget, _check_fill, _check_image, _check_quality, _check_target,
    fill_options_to_proto, image_to_proto, request_image_to_proto, target_to_proto)

# The relations the position model knows (ServerInfo.predicates).
PREDICATES = ("left of", "right of", "above", "below", "in front of", "behind", "next to", "near", "on", "under")
MAX_RELATIONS = 5
MAX_CANDIDATES = 16
DEFAULT_CANDIDATES = 4


@dataclass(frozen=True)
class PlacementRelation:
    """Where the object goes: "<object> <predicate> <reference>" (reference_is_subject turns it around).

    predicate: one of PREDICATES.
    mask: the reference object's pixels, width x height bytes of the request image, nonzero = reference; or None
        with a `target` (the server finds the reference by class and instance, e.g. ObjectTarget("person", 2)).
    reference_class: the reference's class for the position model, e.g. "blue sphere"; "" = the detected class
        for a target, else "some object".
    """

    predicate: str
    mask: bytes | None = None
    target: ObjectTarget | None = None
    reference_class: str = ""
    reference_is_subject: bool = False

    def check(self, width: int, height: int) -> None:
        if self.predicate not in PREDICATES:
            raise InvalidRequestError(f"Unknown relation '{self.predicate}'; use one of: {', '.join(PREDICATES)}")
        _check_target(width, height, self.mask, self.target, f"relation '{self.predicate}'")
        if self.mask is not None and not self.mask.strip(b"\0"):
            raise InvalidRequestError(f"The reference mask of the relation '{self.predicate}' is empty: mark the "
                                      "reference object (nonzero = object)")

    def to_proto(self, pb, width: int, height: int):
        return pb.PlacementRelation(predicate=self.predicate,
                                    reference=target_to_proto(pb, width, height, self.mask, self.target),
                                    reference_class=self.reference_class,
                                    reference_is_subject=self.reference_is_subject)


@dataclass(frozen=True)
class SourceObject:
    """The object to paste, as a picture of its own size (any size within the server's limits).

    channels 4: the alpha channel is the object's shape (0 = not the object, partial = a soft edge); channels 3:
    `mask` is required. mask: width x height bytes, nonzero = object; with RGBA it is combined with the alpha.
    object_class: its class for the position model (add), e.g. "lamp"; "" = "some object".
    """

    width: int
    height: int
    channels: int
    pixels: bytes
    mask: bytes | None = None
    object_class: str = ""

    def check(self) -> None:
        _check_image(self.width, self.height, self.channels, self.pixels)
        if self.mask is not None and len(self.mask) != self.width * self.height:
            raise InvalidRequestError(f"The source mask must have one byte per pixel of the {self.width}x"
                                      f"{self.height} source picture ({self.width * self.height}); got "
                                      f"{len(self.mask)}")
        if self.channels == 3 and self.mask is None:
            raise InvalidRequestError("The source picture has no alpha channel and no mask, so nothing says which "
                                      "pixels are the object: give an RGBA picture or a mask")

    @property
    def payload_bytes(self) -> int:
        return len(self.pixels) + len(self.mask or b"")

    def to_proto(self, pb):
        source = pb.SourceObject(image=image_to_proto(pb, self.width, self.height, self.channels, self.pixels),
                                 object_class=self.object_class)
        if self.mask is not None:
            source.mask.CopyFrom(pb.Mask(width=self.width, height=self.height, data=self.mask))
        return source


def _check_placing(width: int, height: int, relations, candidates: int, candidate: int, edit: str) -> None:
    if not relations:
        raise InvalidRequestError(f"{edit} needs at least one relation saying where the object goes, e.g. 'left "
                                  "of' a reference object")
    if len(relations) > MAX_RELATIONS:
        raise InvalidRequestError(f"{edit} takes at most {MAX_RELATIONS} relations; got {len(relations)}")
    for relation in relations:
        relation.check(width, height)
    if not 1 <= candidates <= MAX_CANDIDATES:
        raise InvalidRequestError(f"Candidates must be 1 to {MAX_CANDIDATES}; got {candidates}")
    if not 0 <= candidate < candidates:
        raise InvalidRequestError(f"Candidate {candidate} does not exist among {candidates}: give 0 (the best) to "
                                  f"{candidates - 1}")


def _check_source(source: SourceObject | None, edit: str) -> None:
    if source is None:
        raise InvalidRequestError(f"{edit} needs a source object: the picture of the object to paste")
    source.check()


@dataclass(frozen=True)
class MoveRequest:
    """Move the target to where `relations` hold: it is cut out, its old place filled as by a removal, its new box
    predicted by the position model (nearer = larger, unless keep_size) and it is pasted there.

    width, height, channels, pixels, mask, target, dilation_px, quality, fill, texture, keep_shadow, iterations,
        seed: as RemoveRequest's (the seed also picks the placements: the same seed gives the same list; a shadow
        removed with the object is cast again at its new place).
    relations: 1..MAX_RELATIONS PlacementRelation, all to hold.
    object_class: the object's class for the position model; "" = the detected class (target), else "some object".
    candidates: how many ranked placements to consider, 1..MAX_CANDIDATES; candidate: which one to use, 0 = the best.
    keep_size: paste at the object's present size.
    """

    width: int
    height: int
    channels: int
    pixels: bytes
    mask: bytes | None = None
    target: ObjectTarget | None = None
    relations: tuple[PlacementRelation, ...] = ()
    object_class: str = ""
    candidates: int = DEFAULT_CANDIDATES
    candidate: int = 0
    keep_size: bool = False
    dilation_px: int | None = None
    quality: str = "balanced"
    iterations: int | None = None
    seed: int = 0
    fill: str | None = None
    texture: float | None = None
    keep_shadow: bool = False

    def check(self) -> None:
        _check_image(self.width, self.height, self.channels, self.pixels)
        _check_target(self.width, self.height, self.mask, self.target, "move")
        _check_placing(self.width, self.height, self.relations, self.candidates, self.candidate, "A move")
        _check_quality(self.quality)
        _check_fill(self.fill, self.texture)

    @property
    def payload_bytes(self) -> int:
        return len(self.pixels) + len(self.mask or b"") + sum(len(r.mask or b"") for r in self.relations)

    def to_proto(self, pb):
        move = pb.MoveEdit(target=target_to_proto(pb, self.width, self.height, self.mask, self.target),
                           object_class=self.object_class,
                           relations=[r.to_proto(pb, self.width, self.height) for r in self.relations],
                           candidates=self.candidates, candidate=self.candidate, keep_size=self.keep_size)
        return pb.EditRequest(image=request_image_to_proto(pb, self), move=move, options=fill_options_to_proto(
            pb, self.quality, self.seed, self.dilation_px, self.iterations, self.fill, self.texture,
            self.keep_shadow))


REPLACE_FITS = ("inside", "width", "height")  # ReplaceEdit.fit: REPLACE_FIT_INSIDE, _WIDTH, _HEIGHT


@dataclass(frozen=True)
class ReplaceRequest:
    """Replace the target by `source`: the target is removed as by a removal, the source scaled from the target's
    box by `fit` (aspect kept: "inside" as large as fits inside it, "width" as wide, "height" as tall), standing on
    its bottom edge, and pasted with its alpha.

    width, height, channels, pixels, mask, target, dilation_px, quality, fill, texture, iterations, seed: as
        RemoveRequest's (the old object's shadow always stays).
    """

    width: int
    height: int
    channels: int
    pixels: bytes
    mask: bytes | None = None
    target: ObjectTarget | None = None
    source: SourceObject | None = None
    dilation_px: int | None = None
    quality: str = "balanced"
    iterations: int | None = None
    seed: int = 0
    fit: str = "inside"
    fill: str | None = None
    texture: float | None = None

    def check(self) -> None:
        _check_image(self.width, self.height, self.channels, self.pixels)
        _check_target(self.width, self.height, self.mask, self.target, "replacement")
        _check_source(self.source, "A replacement")
        _check_quality(self.quality)
        _check_fill(self.fill, self.texture)
        if self.fit not in REPLACE_FITS:
            raise InvalidRequestError(f"Unknown fit '{self.fit}'; use one of: {', '.join(REPLACE_FITS)}")

    @property
    def payload_bytes(self) -> int:
        return len(self.pixels) + len(self.mask or b"") + self.source.payload_bytes

    def to_proto(self, pb):
        replace = pb.ReplaceEdit(target=target_to_proto(pb, self.width, self.height, self.mask, self.target),
                                 source=self.source.to_proto(pb),
                                 fit=getattr(pb, f"REPLACE_FIT_{self.fit.upper()}"))
        return pb.EditRequest(image=request_image_to_proto(pb, self), replace=replace, options=fill_options_to_proto(
            pb, self.quality, self.seed, self.dilation_px, self.iterations, self.fill, self.texture))


@dataclass(frozen=True)
class AddRequest:
    """Add `source` where `relations` hold: the position model predicts its box (nearer = larger, unless keep_size:
    the picture's own size), the source is scaled to the box's height and pasted. Nothing is removed.

    relations, candidates, candidate: as MoveRequest's. seed: picks the placements. cast_shadow: when a reference
    object casts a shadow, the new object casts one like it (the result's mask "placed shadow").
    """

    width: int
    height: int
    channels: int
    pixels: bytes
    source: SourceObject | None = None
    relations: tuple[PlacementRelation, ...] = ()
    candidates: int = DEFAULT_CANDIDATES
    candidate: int = 0
    keep_size: bool = False
    seed: int = 0
    cast_shadow: bool = True

    def check(self) -> None:
        _check_image(self.width, self.height, self.channels, self.pixels)
        _check_source(self.source, "An addition")
        _check_placing(self.width, self.height, self.relations, self.candidates, self.candidate, "An addition")

    @property
    def payload_bytes(self) -> int:
        return len(self.pixels) + self.source.payload_bytes + sum(len(r.mask or b"") for r in self.relations)

    def to_proto(self, pb):
        add = pb.AddEdit(source=self.source.to_proto(pb),
                         relations=[r.to_proto(pb, self.width, self.height) for r in self.relations],
                         candidates=self.candidates, candidate=self.candidate, keep_size=self.keep_size,
                         no_shadow=not self.cast_shadow)
        return pb.EditRequest(image=request_image_to_proto(pb, self), add=add, options=pb.EditOptions(seed=self.seed))
