"""The `semantic-edit` command: `serve` runs the gRPC server; `remove`, `move`, `replace`, `add`, `recolor` and
`detect` work on files, in-process or through a server (file_commands.py); `info` shows what a server offers."""
from __future__ import annotations

import argparse
import ipaddress
import logging
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from . import __version__
from .config import (DEFAULT_MAX_INFLIGHT_BYTES, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_PIXELS,
                     DEFAULT_MAX_QUEUED_JOBS, DEFAULT_PORT, DEFAULT_SEGMENTER, ServerConfig)
from .credentials import read_pem, read_token
from .device import DEVICE_CHOICES
from .errors import InvalidInputError, SemanticEditError, quoted
from .pipeline.options import DEFAULT_FILL, PRESETS, REPLACE_FITS, FillMethod, GuidanceMode, GuidanceStatistic

log = logging.getLogger("semantic_edit")
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
MAX_MESSAGE_MB = 2047  # gRPC's message sizes are 32-bit signed byte counts
MAX_QUEUED_JOBS = 1000  # each waiting job holds an RPC thread
MAX_THREADS = 1024
THREADS_HELP = "CPU threads for PyTorch, 0 = one per core (use fewer when other programs keep the cores busy)"


def parse_box(text: str) -> tuple[int, int, int, int]:
    """'X0,Y0,X1,Y1' (pixels, ends exclusive) -> a box; argparse's `type` for --box."""
    parts = text.replace(" ", "").split(",")
    if len(parts) != 4 or not all(part.isdigit() for part in parts):
        raise argparse.ArgumentTypeError(f"'{text}' is not a box: give X0,Y0,X1,Y1 in pixels, e.g. 10,20,110,180")
    x0, y0, x1, y1 = map(int, parts)
    if not (x0 < x1 and y0 < y1):
        raise argparse.ArgumentTypeError(f"the box {text} is empty: it needs X0 < X1 and Y0 < Y1")
    return x0, y0, x1, y1


def whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """argparse's `type` for a whole number from `low` to `high` (no upper bound when None)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{quoted(text)} is not a whole number") from None
        if value < low or (high is not None and value > high):
            span = f"from {low} to {high}" if high is not None else f"of {low} or more"
            raise argparse.ArgumentTypeError(f"{value} is out of range: give a whole number {span}")
        return value
    return parse


def _model_options() -> argparse.ArgumentParser:
    """--segmenter, --weights, --detection-size: the segmentation model (for serve, and in-process detection)."""
    model = argparse.ArgumentParser(add_help=False)
    group = model.add_argument_group("segmentation model (finding objects by class)")
    group.add_argument("--segmenter", default=DEFAULT_SEGMENTER, help="model name (default: %(default)s)")
    group.add_argument("--weights", type=Path, metavar="FILE",
                       help="its weights file (default: the one ./install.sh put into models/)")
    group.add_argument("--detection-size", type=int, metavar="PX",
                       help="shorter image side the model looks at (default: the model's, 800 for Mask R-CNN); "
                            "smaller is faster and misses more small objects")
    return model


def _detection_options() -> argparse.ArgumentParser:
    detection = argparse.ArgumentParser(add_help=False)
    group = detection.add_argument_group("detection")
    group.add_argument("--score-threshold", type=float, default=0.5,
                       help="keep objects scoring above this, 0..1 (default: %(default)s)")
    group.add_argument("--max-objects", type=int, default=0, help="keep the N best objects, 0 = all (default)")
    return detection


def _add_serve(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser("serve", help="run the gRPC server", parents=[_model_options()],
                                description="Run the Semantic Edit gRPC server (loopback only by default).")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s); beyond "
                       "this machine only with --tls-cert, --tls-key and --token-file (or --insecure-remote)")
    serve.add_argument("--tls-cert", type=Path, metavar="FILE", help="the server's certificate (PEM): serve TLS only")
    serve.add_argument("--tls-key", type=Path, metavar="FILE", help="the private key of --tls-cert (PEM)")
    serve.add_argument("--token-file", type=Path, metavar="FILE",
                       help="a file holding the token every client must send (its first line, 16+ characters)")
    serve.add_argument("--insecure-remote", action="store_true",
                       help="allow a --host other machines can reach without TLS and a token")
    serve.add_argument("--port", type=whole_number(0, 65535), default=DEFAULT_PORT,
                       help="port, 1-65535, 0 = any free one (default: %(default)s)")
    serve.add_argument("--device", choices=DEVICE_CHOICES, default="auto",
                       help="auto = CUDA when present, else CPU (default: %(default)s)")
    serve.add_argument("--max-pixels", type=whole_number(1), default=DEFAULT_MAX_PIXELS,
                       help="largest image, width x height")
    serve.add_argument("--max-message-mb", type=whole_number(1, MAX_MESSAGE_MB),
                       default=DEFAULT_MAX_MESSAGE_BYTES // 2**20,
                       help=f"largest gRPC message in MiB, both directions, 1-{MAX_MESSAGE_MB} (default: %(default)s)")
    serve.add_argument("--max-inflight-mb", type=whole_number(1, 1 << 20), default=DEFAULT_MAX_INFLIGHT_BYTES // 2**20,
                       help="request MiB received or parsed at once; calls beyond it (at least 2 at once) are "
                            "refused before their bytes are read (default: %(default)s)")
    serve.add_argument("--max-queued-jobs", type=whole_number(0, MAX_QUEUED_JOBS), default=DEFAULT_MAX_QUEUED_JOBS,
                       help="edits that may wait behind the running one (default: %(default)s)")
    serve.add_argument("--threads", type=whole_number(0, MAX_THREADS), default=0, help=THREADS_HELP)


def _add_remove(commands: argparse._SubParsersAction) -> None:
    remove = commands.add_parser(
        "remove", help="remove an object from an image file", parents=[_model_options(), _detection_options()],
        description="Remove an object from IMAGE and write the result. Name the object with a mask, or by class "
                    "(found by the segmentation model): --object person (every person), --object person:2 (the 2nd "
                    "from the left), --box X0,Y0,X1,Y1 (the object overlapping the box most), or both.")
    _add_target(remove, "remove")
    _add_fill_options(remove)
    _add_run_options(remove, "object-mask.png, hole-mask.png and shadow-mask.png (when a shadow was removed)")


def _add_fill_options(parser: argparse.ArgumentParser) -> None:
    """How a hole is filled (remove, and the old place of a move)."""
    parser.add_argument("--dilate", type=int, default=-1, metavar="PX",
                        help="grow the hole by PX pixels; -1 = automatic (default): a --mask is used as drawn, an "
                             "object found by class or box grows by 8%% of its size")
    parser.add_argument("--quality", choices=list(PRESETS), default="balanced", help="default: %(default)s")
    parser.add_argument("--fill", choices=[m.value for m in FillMethod], default=DEFAULT_FILL.value,
                        help="synthesis: structure + the photo's own texture, seconds (default); dip: SIMBIL's "
                             "background-guided Deep Image Prior, minutes on a CPU")
    parser.add_argument("--texture", type=float, metavar="T",
                        help="synthesis: 0..1, how much detail from the photo's patches; 0 = smooth, lowest error "
                             "(default: the preset's, 0.75)")
    parser.add_argument("--keep-shadow", action="store_true",
                        help="remove the object alone; by default its cast shadow, when one is seen beside it, goes "
                             "too")
    parser.add_argument("--iterations", type=int,
                        help="steps instead of the preset's: DIP steps, or synthesis EM iterations per level")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parser.add_argument("--guidance-weight", type=float, default=0.1,
                        help="dip: lambda of the background guidance, 0 = off (default: %(default)s)")
    parser.add_argument("--guidance-mode", choices=[m.value.replace("_", "-") for m in GuidanceMode],
                        default="whole-hole", help="dip: compare the hole's colour as a whole or row by row")
    parser.add_argument("--guidance-statistic", choices=[s.value for s in GuidanceStatistic], default="median",
                        help="dip: the background colour as the median (robust) or the mean (the paper) of its "
                             "pixels")


def _add_target(parser: argparse.ArgumentParser, verb: str) -> None:
    parser.add_argument("image", type=Path, help="input image (PNG, JPEG or TIFF; 8-bit RGB or RGBA)")
    parser.add_argument("--mask", type=Path, help=f"8-bit image of the same size, nonzero = the object to {verb}")
    parser.add_argument("--object", metavar="CLASS[:N]",
                        help=f"the class to {verb}, e.g. person; CLASS:N = the N-th from the left, from 1")
    parser.add_argument("--box", type=parse_box, metavar="X0,Y0,X1,Y1",
                        help="a rough box around the object (pixels): the detected object overlapping it most")
    _add_output(parser)


def _add_output(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", type=Path, required=True, help="output image (.png, .jpg or .tif)")
    parser.add_argument("--overwrite", action="store_true",
                        help="allow -o to name an input file (it is replaced only once the edit has succeeded)")


def _add_move(commands: argparse._SubParsersAction) -> None:
    move = commands.add_parser(
        "move", help="move an object where relations hold", parents=[_model_options(), _detection_options()],
        description="Move an object of IMAGE so that each --to relation holds (e.g. --to 'left of' 'blue sphere'): "
                    "it is cut out, its old place filled as by remove, its new place and size predicted by the "
                    "position model, and it is pasted there. Name the object as for remove.")
    _add_target(move, "move")
    _add_relations(move, "moved")
    _add_fill_options(move)
    _add_run_options(move, "object-mask.png, hole-mask.png, shadow-mask.png, placed-mask.png and "
                     "placed-shadow-mask.png")


def _add_relations(parser: argparse.ArgumentParser, what: str) -> None:
    """--to (repeatable), --object-class, --candidates, --candidate, --keep-size: where a moved or added object
    goes."""
    parser.add_argument("--to", nargs=2, action="append", required=True, metavar=("PREDICATE", "REFERENCE"),
                        help="a relation to an object in the image: PREDICATE is left of, right of, above, below, "
                             "in front of, behind, next to, near, on or under; REFERENCE a class (blue sphere, "
                             "person:2, found by the segmentation model) or mask:FILE; repeat for several")
    parser.add_argument("--object-class", default="", metavar="NAME",
                        help=f"the {what} object's class for the position model (default: "
                             f"{'the detected one' if what == 'moved' else 'some object'})")
    parser.add_argument("--candidates", type=int, default=4, help="placements to rank, 1..16 (default: %(default)s)")
    parser.add_argument("--candidate", type=int, default=0, help="which to use, 0 = the best (default)")
    parser.add_argument("--keep-size", action="store_true",
                        help="keep the object's own size (no scaling to the predicted size)")


def _add_source(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--with", dest="source", type=Path, required=True, metavar="PICTURE",
                        help="the new object: a picture whose transparency marks it (PNG with alpha), or any "
                             "picture with --with-mask")
    parser.add_argument("--with-mask", dest="source_mask", type=Path, metavar="MASK",
                        help="8-bit image of the picture's size, nonzero = the object")


def _add_run_options(parser: argparse.ArgumentParser, mask_files: str) -> None:
    """--save-masks, --server, --device, --threads."""
    parser.add_argument("--save-masks", type=Path, metavar="DIR",
                        help=f"also write {mask_files} (full image size) into DIR")
    _add_client_options(parser)
    parser.add_argument("--device", choices=DEVICE_CHOICES, default="auto", help="in-process only")
    parser.add_argument("--threads", type=whole_number(0, MAX_THREADS), default=0,
                        help=THREADS_HELP + "; in-process only")


def _add_replace(commands: argparse._SubParsersAction) -> None:
    replace = commands.add_parser(
        "replace", help="replace an object by another one", parents=[_model_options(), _detection_options()],
        description="Replace an object of IMAGE by the object in PICTURE: the old one is removed as by remove, the "
                    "new one scaled to fit its box (aspect kept), standing on the same ground line, and pasted. "
                    "Name the old object as for remove.")
    _add_target(replace, "replace")
    _add_source(replace)
    replace.add_argument("--fit", choices=list(REPLACE_FITS), default="inside",
                         help="size the new object from the old one's box (aspect kept): as large as fits inside it "
                              "(default), as wide (the same footprint) or as tall")
    _add_fill_options(replace)
    _add_run_options(replace, "object-mask.png, hole-mask.png and placed-mask.png")


def _add_add(commands: argparse._SubParsersAction) -> None:
    add = commands.add_parser(
        "add", help="add an object where relations hold", parents=[_model_options(), _detection_options()],
        description="Add the object in PICTURE to IMAGE so that each --to relation holds (e.g. --to on table): "
                    "the position model predicts its place and size, and it is pasted there. Nothing is removed.")
    add.add_argument("image", type=Path, help="input image (PNG, JPEG or TIFF; 8-bit RGB or RGBA)")
    _add_output(add)
    _add_source(add)
    _add_relations(add, "added")
    add.add_argument("--seed", type=int, default=0, help="random seed of the placements (default: %(default)s)")
    add.add_argument("--no-shadow", action="store_true",
                     help="paste without a shadow; by default, when a reference object casts one, the new object "
                          "casts one like it")
    _add_run_options(add, "placed-mask.png and placed-shadow-mask.png (when a shadow was cast)")


def _add_recolor(commands: argparse._SubParsersAction) -> None:
    recolor = commands.add_parser(
        "recolor", help="give an object in an image file a new colour",
        parents=[_model_options(), _detection_options()],
        description="Give an object in IMAGE a new colour (hue and chroma in CIE LCh; its shading and highlights "
                    "stay) and write the result. Name the object as for remove: --mask, --object, --box.")
    _add_target(recolor, "recolour")
    recolor.add_argument("--color", required=True, metavar="COLOR",
                         help="the new colour: a name (red, blue, yellow, ...) or #rrggbb")
    recolor.add_argument("--strength", type=float, default=1.0, help="0..1, how far to go (default: %(default)s)")
    recolor.add_argument("--lightness", type=float, default=1.0,
                         help="0..1: 1 gives the object the colour's lightness (keeping its shading), 0 keeps each "
                              "pixel's lightness (default: %(default)s)")
    recolor.add_argument("--edge", type=int, default=1, metavar="PX",
                         help="soft edge beyond the mask, px (default: %(default)s)")
    _add_run_options(recolor, "object-mask.png and edge-mask.png")


def _add_detect(commands: argparse._SubParsersAction) -> None:
    detect = commands.add_parser(
        "detect", help="list the objects in an image and their relations",
        parents=[_model_options(), _detection_options()],
        description="Find the objects in IMAGE (class, score, box) and the relations between them (left of, "
                    "above, in front of, near, on, ...). Ids and 'class N' names are what remove accepts.")
    detect.add_argument("image", type=Path, help="input image (PNG, JPEG or TIFF)")
    detect.add_argument("--json", action="store_true", help="print JSON instead of a table")
    detect.add_argument("--save-masks", type=Path, metavar="DIR",
                        help="also write each object's mask as DIR/object-ID-CLASS-N.png")
    _add_client_options(detect)
    detect.add_argument("--device", choices=DEVICE_CHOICES, default="auto", help="in-process only")
    detect.add_argument("--threads", type=whole_number(0, MAX_THREADS), default=0,
                        help=THREADS_HELP + "; in-process only")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="semantic-edit", description="Edit photos by meaning.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_serve(commands)
    _add_remove(commands)
    _add_move(commands)
    _add_replace(commands)
    _add_add(commands)
    _add_recolor(commands)
    _add_detect(commands)
    info = commands.add_parser("info", help="show what a running server offers")
    _add_client_options(info, default=f"127.0.0.1:{DEFAULT_PORT}")
    return parser


def _add_client_options(parser: argparse.ArgumentParser, default: str | None = None) -> None:
    """--server, --tls-ca, --token-file: which running server, and how to reach it."""
    parser.add_argument("--server", metavar="HOST:PORT", default=default,
                        help="the running server to use" if default else
                        "use a running server instead of working in-process")
    parser.add_argument("--tls-ca", type=Path, metavar="FILE",
                        help="with --server: speak TLS, trusting the certificate authority in FILE (PEM; for a "
                             "self-signed server, its certificate)")
    parser.add_argument("--token-file", type=Path, metavar="FILE", help="with --server: send the token in FILE")


def is_loopback(host: str) -> bool:
    """Whether `host` is reachable from this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name or an unparsable address: assume the network can reach it


REMOTE_REFUSAL = ("listening on {host} without {missing} lets anyone who can reach this machine {risk}; give "
                  "--tls-cert FILE --tls-key FILE --token-file FILE (README: Sharing one GPU server), or serve on "
                  "127.0.0.1 and reach it through an SSH tunnel (ssh -L 50051:127.0.0.1:50051 THIS-MACHINE), or add "
                  "--insecure-remote on a network you trust")


def security_settings(args: argparse.Namespace) -> dict:
    """The TLS certificate, key and token `serve` was given, read and checked; raises InvalidInputError."""
    if (args.tls_cert is None) != (args.tls_key is None):
        raise InvalidInputError("TLS needs both --tls-cert FILE and --tls-key FILE")
    settings = {}
    if args.tls_cert is not None:
        settings["tls_certificate"] = read_pem(args.tls_cert, "certificate")
        settings["tls_key"] = read_pem(args.tls_key, "private key")
    if args.token_file is not None:
        settings["token"] = read_token(args.token_file)
    return settings


def serve(args: argparse.Namespace) -> int:
    from .device import choose_device, set_cpu_threads
    from .service.server import create_server

    try:
        security = security_settings(args)
    except InvalidInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not is_loopback(args.host):
        wanted = (("TLS", "tls_key" in security), ("a token", "token" in security))
        missing = " and ".join(name for name, given in wanted if not given)
        if missing and not args.insecure_remote:
            risk = ("read the photos and results on the way" if "token" in security
                    else "run edits" + (", unencrypted" if "tls_key" not in security else ""))
            print(f"error: {REMOTE_REFUSAL.format(host=args.host, missing=missing, risk=risk)}", file=sys.stderr)
            return EXIT_BAD_INPUT
        if missing:
            log.warning("listening on %s without %s (--insecure-remote)", args.host, missing)

    config = ServerConfig(host=args.host, port=args.port, device=args.device, max_pixels=args.max_pixels,
                          max_message_bytes=args.max_message_mb * 2**20, max_queued_jobs=args.max_queued_jobs,
                          segmenter=args.segmenter, weights=args.weights, detection_size=args.detection_size,
                          max_inflight_bytes=args.max_inflight_mb * 2**20, **security)
    set_cpu_threads(args.threads)
    device = choose_device(config.device)
    log.info("device: %s (%s)", device.kind, device.name)
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):  # before "listening": a signal right after it stops cleanly
        signal.signal(signum, lambda *_: stopped.set())
    server, port = create_server(config, device)
    print(f"Semantic Edit {__version__} listening on {config.host}:{port} ({device.kind}: {device.name}); "
          "Ctrl+C stops it", flush=True)
    stopped.wait()
    log.info("stopping")
    server.stop(grace=2).wait()
    return EXIT_OK


def work_on_files(args: argparse.Namespace) -> int:
    """remove, move, replace, add, recolor and detect: file_commands.py's function of the same name (imported on use: it loads
    torch)."""
    from . import file_commands

    getattr(file_commands, args.command)(args)
    return EXIT_OK


def info(args: argparse.Namespace) -> int:
    from google.protobuf import json_format

    from .remote import connection, get_info

    print(json_format.MessageToJson(get_info(connection(args.server, args.tls_ca, args.token_file))))
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return {"serve": serve, "info": info}.get(args.command, work_on_files)(args)
    except InvalidInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except SemanticEditError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as error:  # a file the command reads or writes: a sentence, never a traceback
        print(f"error: {error.filename or 'a file'}: {error.strerror or error}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
