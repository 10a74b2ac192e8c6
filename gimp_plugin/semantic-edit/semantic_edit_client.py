"""A plain gRPC client for the Semantic Edit server: bytes in, bytes out.

Imports without GIMP and without numpy (GIMP's Python may have neither numpy nor grpc): `grpc` and the generated
`semantic_edit.v1` code are imported when a client is made, and their absence becomes a GrpcMissingError that says
how to fix it. Every failure is a SemanticEditClientError whose str() is the sentence a person reads.

    client = SemanticEditClient("127.0.0.1:50051")
    result = client.remove(RemoveRequest(width, height, channels, pixels, mask, quality="fast"), on_progress=print)
    result.patch  # result.region.width x result.region.height x channels bytes
    result = client.remove(RemoveRequest(width, height, channels, pixels, target=ObjectTarget("person", 2)))
    result = client.recolor(RecolorRequest(width, height, channels, pixels, mask, color=(42, 75, 215)))
    scene = client.detect(DetectRequest(width, height, channels, pixels, max_objects=4))
    scene.objects[0].label, scene.objects[0].mask  # "person 1", mask_region.width x mask_region.height bytes

Move, replace and add (paste_requests.MoveRequest, ReplaceRequest, AddRequest) go through client.move(),
client.replace() and client.add(); their results carry `placements` (move, add) besides the masks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

DEFAULT_ADDRESS = "127.0.0.1:50051"
SERVE_COMMAND = "semantic-edit serve"
INFO_TIMEOUT_S = 5.0  # GetInfo is cheap and never queued
EDIT_TIMEOUT_S = 6 * 3600.0  # a "best" removal of a large object on a CPU can take long; the user cancels sooner
# The client's own message limits; the server's (ServerInfo.limits.max_message_bytes) are checked before sending.
CLIENT_MAX_MESSAGE_BYTES = 2**31 - 1
REQUEST_OVERHEAD_BYTES = 4096  # proto framing and options around the pixel and mask bytes
QUALITY_PRESETS = ("fast", "balanced", "best")
# EditOptions.fill, by name (ServerInfo.fill_methods), the server's default first: "synthesis" (structure and the
# photo's own texture, seconds on a CPU) or "dip" (SIMBIL's background-guided Deep Image Prior, minutes on a CPU).
FILL_METHODS = ("synthesis", "dip")
MAX_EDGE_PX = 64  # the server's limit on a recolour's soft edge (RecolorEdit, EditOptions.dilation_px)
# How much of the progress bar each stage fills: (start, end). "queued" stays at 0 while jobs wait ahead; "detect"
# runs only for targets named by class or box.
# "place" (move, add) is the position model's guess; "paste" (move, replace, add) comes last and takes milliseconds.
STAGE_SPANS = {"queued": (0.0, 0.0), "detect": (0.0, 0.04), "place": (0.04, 0.05), "prepare": (0.05, 0.1),
               "inpaint": (0.1, 0.95), "recolor": (0.1, 0.95), "composite": (0.95, 1.0), "paste": (1.0, 1.0)}
WAIT_POLL_S = 0.25  # how often detect() calls on_wait while the server works (a progress bar's pulse)


class SemanticEditClientError(Exception):
    """Base class: str(error) is a complete sentence saying what went wrong and what to do."""


class GrpcMissingError(SemanticEditClientError):
    """`grpc`, `google.protobuf` or the generated API code cannot be imported in this Python."""


class ServerNotRunningError(SemanticEditClientError):
    """Nothing answers at the address (UNAVAILABLE, or the connection timed out)."""


class InvalidRequestError(SemanticEditClientError):
    """The server refused the request (INVALID_ARGUMENT, OUT_OF_RANGE); the text is the server's sentence."""


class ObjectNotFoundError(SemanticEditClientError):
    """The target names a class the model knows, but the server found no such object (NOT_FOUND); the text is the
    server's sentence, which lists what it found."""


class SegmentationUnavailableError(SemanticEditClientError):
    """The server has no segmentation model (FAILED_PRECONDITION): detection and targets by class or box cannot
    run; the text holds the server's sentence, which names the install flag for the weights."""


class ConnectionRefusedByServerError(SemanticEditClientError):
    """The server wants a token this client did not send, or sent wrong (UNAUTHENTICATED); the token is never shown."""


class ServerBusyError(SemanticEditClientError):
    """The server's queue is full or it ran out of memory (RESOURCE_EXHAUSTED)."""


class EditCancelledError(SemanticEditClientError):
    """The edit was cancelled (CANCELLED)."""


class ServerError(SemanticEditClientError):
    """Any other failure inside the server or on the way (INTERNAL, DEADLINE_EXCEEDED, ...)."""


@dataclass(frozen=True)
class Region:
    """A rectangle in the request image's pixels: columns x .. x+width-1, rows y .. y+height-1."""

    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class Progress:
    """One progress event. fraction: 0..1 over the whole job, for a progress bar."""

    stage: str
    step: int
    total: int
    message: str
    fraction: float


@dataclass(frozen=True)
class ModelInfo:
    """A model the server knows. task: "inpainting" or "segmentation"; classes: what a segmentation model finds."""

    name: str
    task: str
    available: bool
    detail: str
    classes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServerInfo:
    version: str
    device_kind: str
    device_name: str
    edits: tuple[str, ...]
    quality_presets: tuple[str, ...]
    max_pixels: int
    max_message_bytes: int
    models: tuple[ModelInfo, ...] = ()
    fill_methods: tuple[str, ...] = ()  # empty: a server older than EditOptions.fill (it always fills by DIP)


def _check_image(width: int, height: int, channels: int, pixels: bytes) -> None:
    if width < 1 or height < 1:
        raise InvalidRequestError(f"The image is {width}x{height}; it must be at least 1x1 px")
    if channels not in (3, 4):
        raise InvalidRequestError(f"The image must have 3 (RGB) or 4 (RGBA) channels; got {channels}")
    expected = width * height * channels
    if len(pixels) != expected:
        raise InvalidRequestError(
            f"A {width}x{height} image with {channels} channels has {expected} bytes; got {len(pixels)}")


def _check_detection(score_threshold: float | None, max_objects: int) -> None:
    if score_threshold is not None and not 0.0 <= score_threshold <= 1.0:
        raise InvalidRequestError(f"The score threshold must be between 0 and 1; got {score_threshold}")
    if max_objects < 0:
        raise InvalidRequestError(f"Max objects must be 0 (all) or more; got {max_objects}")


@dataclass(frozen=True)
class ObjectTarget:
    """An object the server finds itself (its segmentation model), instead of a mask.

    class_name: a class the model knows, e.g. "person"; None or "" with a hint_box: any class.
    instance: which one of the class, from 1, counted left to right (as Detect numbers them); 0 = every one.
    hint_box: a rough box around the object, in the image's pixels (e.g. a selection's bounds): the object (of the
        class, if given) whose box overlaps it most. Not together with an instance number.
    score_threshold, max_objects: how objects are detected (None / 0: the server's defaults, 0.5 / all); the same
        values as a detect() call number the instances the same way.
    """

    class_name: str | None = None
    instance: int = 0
    hint_box: Region | None = None
    score_threshold: float | None = None
    max_objects: int = 0

    @property
    def server_name(self) -> str:
        """The ClassTarget name the server reads: "person", or "person:2" for an instance."""
        name = (self.class_name or "").strip()
        return f"{name}:{self.instance}" if self.instance else name

    def check(self) -> None:
        name = (self.class_name or "").strip()
        if not name and self.hint_box is None:
            raise InvalidRequestError("The target names no object: give a class name such as 'person', or a box")
        if self.instance < 0:
            raise InvalidRequestError(f"The instance must be 0 (every one) or a number from 1; got {self.instance}")
        if self.instance and self.hint_box is not None:
            raise InvalidRequestError(
                f"Give either an instance number ({name}:{self.instance}) or a box, not both")
        if not name and self.instance:
            raise InvalidRequestError(f"Instance {self.instance} of which class? Give a class name too")
        if self.hint_box is not None and (self.hint_box.width < 1 or self.hint_box.height < 1):
            raise InvalidRequestError(
                f"The box is {self.hint_box.width}x{self.hint_box.height} px; it must be at least 1x1")
        _check_detection(self.score_threshold, self.max_objects)


def _check_quality(quality: str) -> None:
    if quality not in QUALITY_PRESETS:
        raise InvalidRequestError(f"Unknown quality '{quality}'; use one of: {', '.join(QUALITY_PRESETS)}")


def _check_fill(fill: str | None, texture: float | None) -> None:
    if fill is not None and fill not in FILL_METHODS:
        raise InvalidRequestError(f"Unknown fill '{fill}'; use one of: {', '.join(FILL_METHODS)}")
    if texture is not None and not 0.0 <= texture <= 1.0:  # also refuses NaN
        raise InvalidRequestError(f"The texture must be between 0 and 1; got {texture}")


def _check_target(width: int, height: int, mask: bytes | None, target: ObjectTarget | None, edit: str) -> None:
    if (mask is None) == (target is None):
        raise InvalidRequestError(f"A {edit} needs exactly one of a mask and an object target")
    if target is not None:
        target.check()
    elif len(mask) != width * height:
        raise InvalidRequestError(f"The mask must have one byte per pixel ({width * height}); got {len(mask)}")


@dataclass(frozen=True)
class RemoveRequest:
    """A removal job.

    width, height: the image's size in pixels.
    channels: 3 (RGB, 8 bit) or 4 (RGBA, 8 bit, straight alpha).
    pixels: width x height x channels bytes, rows top to bottom, 8-bit sRGB.
    mask: width x height bytes, nonzero = the object to remove; or None with a `target`.
    target: the object named by class and/or box, found by the server; or None with a `mask`.
    dilation_px: how far the hole reaches beyond the object, 0..256; None lets the server choose.
    quality: "fast", "balanced" or "best".
    fill: how the hole is filled, one of FILL_METHODS ("synthesis", "dip"); None = the server's default (synthesis).
    texture: synthesis only, 0..1: how much detail copied from the photo's own patches replaces the smooth structure
        fill (0 = smooth, the lowest error; 1 = as detailed as the surroundings); None = the preset's (0.75).
    keep_shadow: remove the object alone; False = its cast shadow, when the server sees one, goes too (the result
        then carries the mask "shadow").
    iterations: steps instead of the preset's (the DIP's optimisation steps, or the synthesis' EM iterations per
        pyramid level); None keeps the preset's.
    seed: random seed; same seed, same device, same request: same pixels.
    """

    width: int
    height: int
    channels: int
    pixels: bytes
    mask: bytes | None = None
    dilation_px: int | None = None
    quality: str = "balanced"
    iterations: int | None = None
    seed: int = 0
    target: ObjectTarget | None = None
    fill: str | None = None
    texture: float | None = None
    keep_shadow: bool = False

    def check(self) -> None:
        """Raises InvalidRequestError when the sizes do not add up (caught here, before anything is sent)."""
        _check_image(self.width, self.height, self.channels, self.pixels)
        _check_target(self.width, self.height, self.mask, self.target, "removal")
        _check_quality(self.quality)
        _check_fill(self.fill, self.texture)

    @property
    def payload_bytes(self) -> int:
        """The pixel and mask bytes the request carries (what the server's message limit counts)."""
        return len(self.pixels) + len(self.mask or b"")


@dataclass(frozen=True)
class RecolorRequest:
    """A recolour job: the object's hue and chroma become the colour's, its shading and highlights stay.

    width, height, channels, pixels, mask, target: as RemoveRequest's (alpha passes through unchanged).
    color: the new colour, sRGB (red, green, blue), 0..255 each.
    strength: 0..1, how far each pixel moves to its new colour (1 = all the way).
    lightness: 0..1; 1 maps the object's lit lightness to the colour's (black and white highlights stay), 0 keeps
        every pixel's lightness (only hue and chroma change).
    edge_px: 0..MAX_EDGE_PX, the soft edge beyond the mask over which the change fades out; None = the server's (1).
    """

    width: int
    height: int
    channels: int
    pixels: bytes
    mask: bytes | None = None
    target: ObjectTarget | None = None
    color: tuple[int, int, int] = (0, 0, 255)
    strength: float = 1.0
    lightness: float = 1.0
    edge_px: int | None = None

    def check(self) -> None:
        """Raises InvalidRequestError when a size or a value is wrong (caught here, before anything is sent)."""
        _check_image(self.width, self.height, self.channels, self.pixels)
        _check_target(self.width, self.height, self.mask, self.target, "recolour")
        color = tuple(self.color)
        if len(color) != 3 or not all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 255
                                      for c in color):
            raise InvalidRequestError(f"The colour must be three integers 0..255 (red, green, blue); got {self.color}")
        for name, value in (("strength", self.strength), ("lightness", self.lightness)):
            if not 0.0 <= value <= 1.0:  # also refuses NaN
                raise InvalidRequestError(f"The {name} must be between 0 and 1; got {value}")
        if self.edge_px is not None and not 0 <= self.edge_px <= MAX_EDGE_PX:
            raise InvalidRequestError(f"The edge must be between 0 and {MAX_EDGE_PX} px; got {self.edge_px}")

    @property
    def payload_bytes(self) -> int:
        return len(self.pixels) + len(self.mask or b"")


@dataclass(frozen=True)
class Placement:
    """A place the position model proposed for a moved or added object: its box in the request image's pixels, and
    whether every requested relation holds there (in the image plane)."""

    box: Region
    all_relations_hold: bool


@dataclass(frozen=True)
class RemoveResult:
    """What the server sent back for an edit (removal, recolour, move, replace, add).

    region: the part of the image the edit changed; every pixel outside it is unchanged.
    patch: region.width x region.height x channels bytes, the edited pixels of `region`.
    masks: name -> region.width x region.height bytes, 255 = inside: "object" (the target as given), "hole" (removal,
        move, replace: what was filled), "placed" (move, replace, add: where the pasted object is now), "edge"
        (recolour: the object grown by the soft edge).
    iterations: the steps the fill ran: the DIP's optimisation steps, or the synthesis' EM iterations at the finest
        level (0 when it copied no texture); 0 for a recolour and an add.
    dilation_px: how far the hole reached beyond the object; for a recolour, the soft edge's width.
    placements: move and add: every placement the position model considered, best first; the request's
        `candidate` (or the last one, when the model found fewer) is the one used.
    """

    region: Region
    channels: int
    patch: bytes
    masks: dict[str, bytes] = field(default_factory=dict)
    iterations: int = 0
    dilation_px: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    object_ids: tuple[int, ...] = ()  # the detected objects a class or box target named (empty for a mask)
    placements: tuple[Placement, ...] = ()


EditResult = RemoveResult  # what every edit returns


@dataclass(frozen=True)
class DetectRequest:
    """Find the objects in an image. width, height, channels, pixels: as RemoveRequest's (alpha is ignored).

    score_threshold: keep objects scoring above it, 0..1; None = the server's default (0.5).
    max_objects: at most this many, highest score first; 0 = all.
    """

    width: int
    height: int
    channels: int
    pixels: bytes
    score_threshold: float | None = None
    max_objects: int = 0

    def check(self) -> None:
        _check_image(self.width, self.height, self.channels, self.pixels)
        _check_detection(self.score_threshold, self.max_objects)


@dataclass(frozen=True)
class DetectedObject:
    """One object the server found.

    id: its index in SceneGraph.objects (highest score first); names it in relations.
    instance: its number among the objects of its class, from 1, left to right (what ObjectTarget.instance counts).
    box: the pixels it spans. mask_region: where `mask` lies (may reach slightly past the box).
    mask: mask_region.width x mask_region.height bytes, 255 = object, 0 = not.
    """

    id: int
    class_name: str
    score: float
    instance: int
    box: Region
    mask_region: Region
    mask: bytes

    @property
    def label(self) -> str:
        """"person 2": the class and the instance number."""
        return f"{self.class_name} {self.instance}"


@dataclass(frozen=True)
class Relation:
    """subject <predicate> reference, e.g. object 0 "left of" object 2 (ids of SceneGraph.objects)."""

    subject_id: int
    predicate: str
    reference_id: int


@dataclass(frozen=True)
class SceneGraph:
    """The objects (id order) and every relation between them; model: the segmentation model's name; seconds: the
    server's detection time."""

    objects: tuple[DetectedObject, ...]
    relations: tuple[Relation, ...]
    model: str
    seconds: float

    def relation_text(self, relation: Relation) -> str:
        """"person 1 left of person 2"."""
        return (f"{self.objects[relation.subject_id].label} {relation.predicate} "
                f"{self.objects[relation.reference_id].label}")


def parse_address(text: str) -> str:
    """Checks a "host:port" string ("[::1]:50051" for IPv6) and returns it trimmed; raises InvalidRequestError."""
    address = text.strip()
    host, sep, port = address.rpartition(":")
    if not sep or not host or host in ("[", "[]"):
        raise InvalidRequestError(
            f"The server address '{text}' must be host:port, e.g. {DEFAULT_ADDRESS}")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise InvalidRequestError(
            f"The server address '{text}' has no valid port (1..65535) after the last ':', e.g. {DEFAULT_ADDRESS}")
    if ":" in host and not (host.startswith("[") and host.endswith("]")):
        raise InvalidRequestError(f"Write an IPv6 server address in brackets, e.g. [::1]:{port}; got '{text}'")
    return address


def progress_fraction(stage: str, step: int, total: int) -> float:
    """Where a stage's step puts the whole job, 0..1 (unknown stages keep the bar where the step says)."""
    start, end = STAGE_SPANS.get(stage, (0.0, 1.0))
    done = min(step / total, 1.0) if total > 0 else 0.0
    return start + (end - start) * done


def _sentence(text: str) -> str:
    """The server's sentence with a capital first letter and a full stop, as it starts the user's message."""
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _size_text(size: int) -> str:
    return f"{size / 2**20:.1f} MiB" if size >= 2**20 else f"{size / 2**10:.0f} KiB"


# Request parts as protobuf messages; `pb` is the generated semantic_edit_pb2 module the client loaded.

def image_to_proto(pb, width: int, height: int, channels: int, pixels: bytes):
    pixel_format = pb.PIXEL_FORMAT_RGB8 if channels == 3 else pb.PIXEL_FORMAT_RGBA8
    return pb.Image(width=width, height=height, format=pixel_format, data=pixels)


def request_image_to_proto(pb, request):
    """The image of any edit request (width, height, channels, pixels)."""
    return image_to_proto(pb, request.width, request.height, request.channels, request.pixels)


def target_to_proto(pb, width: int, height: int, mask: bytes | None, target: ObjectTarget | None):
    """A Target: the mask (width x height bytes) when given, else the object target's class and/or box."""
    if target is None:
        return pb.Target(mask=pb.Mask(width=width, height=height, data=mask))
    detection = pb.DetectionOptions(max_objects=target.max_objects)
    if target.score_threshold is not None:
        detection.score_threshold = target.score_threshold
    box = target.hint_box
    hint = pb.Region(x=box.x, y=box.y, width=box.width, height=box.height) if box is not None else None
    if not target.server_name:
        return pb.Target(hint_box=hint, detection=detection)
    class_target = pb.ClassTarget(name=target.server_name)
    if hint is not None:
        class_target.hint_box.CopyFrom(hint)
    return pb.Target(class_target=class_target, detection=detection)


def fill_options_to_proto(pb, quality: str, seed: int, dilation_px: int | None, iterations: int | None,
                          fill: str | None = None, texture: float | None = None, keep_shadow: bool = False):
    """EditOptions for the edits that fill a hole (remove, move, replace); None leaves a value to the server."""
    options = pb.EditOptions(quality=quality, seed=seed)
    if dilation_px is not None:
        options.dilation_px = dilation_px
    if iterations is not None:
        options.iterations = iterations
    if fill is not None:
        options.fill = getattr(pb, f"FILL_METHOD_{fill.upper()}")
    if texture is not None:
        options.texture = texture
    options.keep_shadow = keep_shadow
    return options


def _import_api():
    """Returns (grpc, pb, pb_grpc) or raises GrpcMissingError naming what is missing and how to fix it."""
    try:
        import grpc
        from semantic_edit.v1 import semantic_edit_pb2 as pb
        from semantic_edit.v1 import semantic_edit_pb2_grpc as pb_grpc
    except Exception as error:  # ImportError, or a protobuf runtime too old for the generated code
        import sys
        raise GrpcMissingError(
            f"The Semantic Edit plug-in cannot load gRPC in this Python ({sys.version.split()[0]}): {error}. "
            "Re-run ./install.sh from the Semantic Edit folder; it puts grpcio and protobuf built for GIMP's Python "
            "into the plug-in's vendor folder (gimp_plugin/install_plugin.sh --gimp-python X.Y to choose "
            "the version).") from error
    return grpc, pb, pb_grpc


CONNECTION_FILE_NAME = "semantic-edit-connection.json"
CONNECTION_FILE_HINT = (f"{CONNECTION_FILE_NAME} in GIMP's configuration folder, as "
                        '{"HOST:PORT": {"tls_ca_file": "/path/ca.pem", "token_file": "/path/token.txt"}}')
MIN_TOKEN_CHARS = 16


def connection_settings(path, address: str) -> dict:
    """The keyword arguments tls_ca and token of SemanticEditClient for `address`, from the JSON file `path`
    (CONNECTION_FILE_HINT); {} when the file or the address's entry is absent. Raises InvalidRequestError with a
    sentence (never holding the token) when the file or a file it names cannot be used."""
    import json
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        return {}
    try:
        entry = json.loads(path.read_text()).get(parse_address(address))
    except (OSError, ValueError, AttributeError) as error:
        raise InvalidRequestError(f"{path} is not a JSON object of server addresses ({error}); expected "
                                  f"{CONNECTION_FILE_HINT}") from None
    if entry is None:
        return {}
    settings = {}
    try:
        if entry.get("tls_ca_file"):
            settings["tls_ca"] = Path(entry["tls_ca_file"]).expanduser().read_bytes()
        if entry.get("token_file"):
            token = Path(entry["token_file"]).expanduser().read_text().strip().split("\n")[0].strip()
            if len(token) < MIN_TOKEN_CHARS:
                raise InvalidRequestError(f"The token file named in {path} holds no token of {MIN_TOKEN_CHARS}+ "
                                          "characters on its first line")
            settings["token"] = token
    except OSError as error:
        raise InvalidRequestError(f"A file named in {path} for {address} cannot be read: {error.strerror} "
                                  f"({error.filename})") from None
    return settings


class SemanticEditClient:
    """A connection to one server. Cheap to make; use as a context manager or call close()."""

    def __init__(self, address: str = DEFAULT_ADDRESS, *, info_timeout_s: float = INFO_TIMEOUT_S,
                 edit_timeout_s: float = EDIT_TIMEOUT_S, tls_ca: bytes | None = None, token: str | None = None):
        """tls_ca: PEM of the certificate authority that signed the server's certificate: speak TLS (None: plain
        text). token: sent as `authorization: Bearer <token>` with every call (never shown in a message)."""
        self.address = parse_address(address)
        self.info_timeout_s = info_timeout_s
        self.edit_timeout_s = edit_timeout_s
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self._grpc, self._pb, pb_grpc = _import_api()
        options = [("grpc.max_send_message_length", CLIENT_MAX_MESSAGE_BYTES),
                   ("grpc.max_receive_message_length", CLIENT_MAX_MESSAGE_BYTES)]
        if tls_ca is not None:
            credentials = self._grpc.ssl_channel_credentials(root_certificates=tls_ca)
            self._channel = self._grpc.secure_channel(self.address, credentials, options=options)
        else:
            self._channel = self._grpc.insecure_channel(self.address, options=options)
        self._stub = pb_grpc.SemanticEditStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> SemanticEditClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def get_info(self) -> ServerInfo:
        """The server's version, device and limits; raises ServerNotRunningError when nothing answers."""
        try:
            info = self._stub.GetInfo(self._pb.GetInfoRequest(), timeout=self.info_timeout_s,
                                      metadata=self._metadata)
        except self._grpc.RpcError as error:
            raise self._error_from_rpc(error, asking_info=True) from None
        return ServerInfo(
            version=info.version, device_kind=info.device.kind, device_name=info.device.name,
            edits=tuple(info.edits), quality_presets=tuple(info.quality_presets),
            max_pixels=info.limits.max_pixels, max_message_bytes=info.limits.max_message_bytes,
            models=tuple(ModelInfo(m.name, m.task, m.available, m.detail, tuple(m.classes)) for m in info.models),
            fill_methods=tuple(info.fill_methods))

    def _check_size(self, info: ServerInfo, size: int) -> None:
        if info.max_message_bytes and size > info.max_message_bytes:
            raise InvalidRequestError(
                f"This image needs a {_size_text(size)} request but the server accepts at most "
                f"{_size_text(info.max_message_bytes)}; scale the image down or restart the server with a "
                "larger message limit")

    def remove(self, request: RemoveRequest, on_progress: Callable[[Progress], None] | None = None) -> RemoveResult:
        """Runs one removal; calls on_progress for each progress event; returns the result.

        Raises a SemanticEditClientError subclass for every failure. If this process dies mid-job, the server sees
        the connection drop and stops the job.
        """
        return self._edit(request, "remove", "removal", on_progress)

    def recolor(self, request: RecolorRequest,
                on_progress: Callable[[Progress], None] | None = None) -> EditResult:
        """Runs one recolour (masks "object" and "edge"); otherwise as remove()."""
        return self._edit(request, "recolor", "recolouring", on_progress)

    def move(self, request, on_progress: Callable[[Progress], None] | None = None) -> EditResult:
        """Runs one move (a paste_requests.MoveRequest): masks "object", "hole", "placed"; result.placements lists
        the places considered. Otherwise as remove()."""
        return self._edit(request, "move", "moving objects", on_progress)

    def replace(self, request, on_progress: Callable[[Progress], None] | None = None) -> EditResult:
        """Runs one replacement (a paste_requests.ReplaceRequest): masks "object", "hole", "placed"."""
        return self._edit(request, "replace", "replacing objects", on_progress)

    def add(self, request, on_progress: Callable[[Progress], None] | None = None) -> EditResult:
        """Runs one addition (a paste_requests.AddRequest): mask "placed" and result.placements."""
        return self._edit(request, "add", "adding objects", on_progress)

    def _edit(self, request, edit: str, edit_text: str,
              on_progress: Callable[[Progress], None] | None) -> EditResult:
        request.check()
        info = self.get_info()  # fails fast, with the start command, when no server runs
        if edit not in info.edits:
            raise InvalidRequestError(
                f"The server at {self.address} (version {info.version}) does not offer {edit_text}; "
                f"it offers: {', '.join(info.edits) or 'nothing'}. Update the Semantic Edit server, or start one "
                "of this plug-in's version.")
        fill = getattr(request, "fill", None)
        if fill is not None and fill not in info.fill_methods:  # an older server ignores EditOptions.fill
            raise InvalidRequestError(
                f"The server at {self.address} (version {info.version}) does not offer the fill '{fill}'; it offers: "
                f"{', '.join(info.fill_methods) or 'only its own (an older server)'}. Update the Semantic Edit "
                "server, or start one of this plug-in's version.")
        self._check_size(info, request.payload_bytes + REQUEST_OVERHEAD_BYTES)
        stream = self._stub.Edit(self._request_to_proto(request), timeout=self.edit_timeout_s,
                                 metadata=self._metadata)
        try:
            for event in stream:
                if event.HasField("progress"):
                    p = event.progress
                    if on_progress is not None:
                        on_progress(Progress(p.stage, p.step, p.total, p.message,
                                             progress_fraction(p.stage, p.step, p.total)))
                elif event.HasField("result"):
                    return self._result_from_proto(event.result, request.channels)
        except self._grpc.RpcError as error:
            raise self._error_from_rpc(error) from None
        except BaseException:
            stream.cancel()  # e.g. KeyboardInterrupt or an exception from on_progress: stop the server's job
            raise
        raise ServerError(f"The server at {self.address} ended the edit without a result; its log may say why")

    def detect(self, request: DetectRequest, on_wait: Callable[[], None] | None = None) -> SceneGraph:
        """The objects in the image and the relations between them; calls on_wait every WAIT_POLL_S seconds while
        the server works (e.g. to pulse a progress bar). Raises a SemanticEditClientError subclass for every failure
        (SegmentationUnavailableError when the server has no segmentation weights)."""
        request.check()
        info = self.get_info()
        self._check_size(info, len(request.pixels) + REQUEST_OVERHEAD_BYTES)
        pb = self._pb
        detection = pb.DetectionOptions(max_objects=request.max_objects)
        if request.score_threshold is not None:
            detection.score_threshold = request.score_threshold
        call = self._stub.DetectObjects.future(
            pb.DetectRequest(image=image_to_proto(pb, request.width, request.height, request.channels,
                                                  request.pixels), detection=detection),
            timeout=self.edit_timeout_s, metadata=self._metadata)
        try:
            while True:
                try:
                    graph = call.result(timeout=WAIT_POLL_S if on_wait is not None else None)
                    break
                except self._grpc.FutureTimeoutError:
                    on_wait()
        except self._grpc.RpcError as error:
            raise self._error_from_rpc(error) from None
        except BaseException:
            call.cancel()  # e.g. an exception from on_wait: the server drops the job
            raise
        return self._scene_from_proto(graph, request.width, request.height)

    def _scene_from_proto(self, graph, width: int, height: int) -> SceneGraph:
        objects = []
        for index, obj in enumerate(graph.objects):
            r = obj.mask.region
            region = Region(r.x, r.y, r.width, r.height)
            if (obj.id != index or len(obj.mask.data) != r.width * r.height or r.x + r.width > width
                    or r.y + r.height > height):
                raise ServerError(
                    f"The server sent object {obj.id} (at place {index}) with a {r.width}x{r.height} mask of "
                    f"{len(obj.mask.data)} bytes at ({r.x}, {r.y}) for a {width}x{height} image; is it a matching "
                    "version?")
            b = obj.box
            objects.append(DetectedObject(id=obj.id, class_name=obj.class_name, score=obj.score,
                                          instance=obj.instance, box=Region(b.x, b.y, b.width, b.height),
                                          mask_region=region, mask=bytes(obj.mask.data)))
        relations = []
        for relation in graph.relations:
            if max(relation.subject_id, relation.reference_id) >= len(objects):
                raise ServerError(f"The server sent a relation between objects {relation.subject_id} and "
                                  f"{relation.reference_id} but only {len(objects)} objects")
            relations.append(Relation(relation.subject_id, relation.predicate, relation.reference_id))
        return SceneGraph(objects=tuple(objects), relations=tuple(relations), model=graph.model,
                          seconds=graph.seconds)

    def _request_to_proto(self, request):
        pb = self._pb
        if isinstance(request, RecolorRequest):
            red, green, blue = request.color
            recolor = pb.RecolorEdit(target=target_to_proto(pb, request.width, request.height, request.mask,
                                                            request.target),
                                     color=pb.Color(red=red, green=green, blue=blue),
                                     strength=request.strength, lightness=request.lightness)
            options = pb.EditOptions()
            if request.edge_px is not None:
                options.dilation_px = request.edge_px
            return pb.EditRequest(image=request_image_to_proto(pb, request), recolor=recolor, options=options)
        if isinstance(request, RemoveRequest):
            return pb.EditRequest(
                image=request_image_to_proto(pb, request),
                remove=pb.RemoveEdit(target=target_to_proto(pb, request.width, request.height, request.mask,
                                                            request.target)),
                options=fill_options_to_proto(pb, request.quality, request.seed, request.dilation_px,
                                              request.iterations, request.fill, request.texture,
                                              request.keep_shadow))
        return request.to_proto(pb)  # paste_requests: MoveRequest, ReplaceRequest, AddRequest

    def _result_from_proto(self, result, channels: int) -> RemoveResult:
        r = result.region
        region = Region(r.x, r.y, r.width, r.height)
        patch = result.patch
        expected = region.width * region.height * channels
        if (patch.width, patch.height) != (region.width, region.height) or len(patch.data) != expected:
            raise ServerError(
                f"The server sent a {patch.width}x{patch.height} patch of {len(patch.data)} bytes for a "
                f"{region.width}x{region.height} region with {channels} channels; is it a matching version?")
        masks = {}
        for mask in result.masks:
            if (mask.region.x, mask.region.y, mask.region.width, mask.region.height) != (
                    region.x, region.y, region.width, region.height) or len(mask.data) != region.width * region.height:
                raise ServerError(f"The server sent the '{mask.name}' mask for another region than the patch's")
            masks[mask.name] = bytes(mask.data)
        placements = tuple(Placement(Region(p.box.x, p.box.y, p.box.width, p.box.height), p.all_relations_hold)
                           for p in result.placements)
        return RemoveResult(region=region, channels=channels, patch=bytes(patch.data), masks=masks,
                            iterations=result.iterations, dilation_px=result.dilation_px,
                            timings={t.stage: t.seconds for t in result.timings},
                            object_ids=tuple(result.object_ids), placements=placements)

    def _error_from_rpc(self, error, asking_info: bool = False) -> SemanticEditClientError:
        """Maps a gRPC status to the error the user reads (a GetInfo that times out means nothing answers)."""
        code = error.code() if callable(getattr(error, "code", None)) else None
        details = (error.details() if callable(getattr(error, "details", None)) else None) or ""
        codes = self._grpc.StatusCode
        if code == codes.UNAVAILABLE or (code == codes.DEADLINE_EXCEEDED and asking_info):
            return ServerNotRunningError(
                f"No Semantic Edit server answers at {self.address}. Start it with `{SERVE_COMMAND}` "
                f"(add --host/--port to match), or correct the server address.")
        if code == codes.UNAUTHENTICATED:
            return ConnectionRefusedByServerError(
                f"The server at {self.address} refused this connection: it needs its token. Put the token file's "
                f"path in {CONNECTION_FILE_HINT}")
        if code in (codes.INVALID_ARGUMENT, codes.OUT_OF_RANGE):
            return InvalidRequestError(details or "The server refused the request")
        if code == codes.NOT_FOUND:
            return ObjectNotFoundError(_sentence(details or "The server found no such object in the image"))
        if code == codes.FAILED_PRECONDITION:
            return SegmentationUnavailableError(
                f"The server at {self.address} cannot find objects (by class or box) because its segmentation "
                f"model is not loaded: {details or 'no details'}. Then restart the server (`{SERVE_COMMAND}`). "
                "Editing a selected or masked object works without it.")
        if code == codes.RESOURCE_EXHAUSTED:
            return ServerBusyError(details or f"The server at {self.address} is busy; try again shortly")
        if code == codes.CANCELLED:
            return EditCancelledError(details or "The edit was cancelled")
        if code == codes.DEADLINE_EXCEEDED:
            return ServerError(f"The server at {self.address} did not finish in time; try the fill 'synthesis' or "
                               "quality 'fast'")
        if code == codes.UNIMPLEMENTED:
            return ServerError(f"The server at {self.address} is not a Semantic Edit server of a matching version")
        name = code.name if code is not None else "UNKNOWN"
        return ServerError(f"The server at {self.address} failed ({name}): {details or 'no details'}")
