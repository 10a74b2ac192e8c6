"""The `semantic-edit` command: `serve` runs the gRPC server; `remove` edits files, in-process or via a server."""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from . import __version__
from .config import DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_PIXELS, DEFAULT_MAX_QUEUED_JOBS, DEFAULT_PORT, ServerConfig
from .device import DEVICE_CHOICES
from .errors import InvalidInputError, SemanticEditError
from .pipeline.options import PRESETS, GuidanceMode, GuidanceStatistic, RemoveOptions

log = logging.getLogger("semantic_edit")
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
THREADS_HELP = "CPU threads for PyTorch, 0 = one per core (use fewer when other programs keep the cores busy)"


def _add_serve(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser("serve", help="run the gRPC server",
                                description="Run the Semantic Edit gRPC server (loopback only by default).")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help="port, 0 = any free one (default: %(default)s)")
    serve.add_argument("--device", choices=DEVICE_CHOICES, default="auto",
                       help="auto = CUDA when present, else CPU (default: %(default)s)")
    serve.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS, help="largest image, width x height")
    serve.add_argument("--max-message-mb", type=int, default=DEFAULT_MAX_MESSAGE_BYTES // 2**20,
                       help="largest gRPC message in MiB, both directions (default: %(default)s)")
    serve.add_argument("--max-queued-jobs", type=int, default=DEFAULT_MAX_QUEUED_JOBS,
                       help="edits that may wait behind the running one (default: %(default)s)")
    serve.add_argument("--threads", type=int, default=0, help=THREADS_HELP)


def _add_remove(commands: argparse._SubParsersAction) -> None:
    remove = commands.add_parser("remove", help="remove an object from an image file",
                                 description="Remove the object marked by MASK from IMAGE and write the result.")
    remove.add_argument("image", type=Path, help="input image (PNG, JPEG or TIFF; 8-bit RGB or RGBA)")
    remove.add_argument("--mask", type=Path, required=True,
                        help="8-bit image of the same size, nonzero = the object to remove")
    remove.add_argument("-o", "--output", type=Path, required=True, help="output image (.png, .jpg or .tif)")
    remove.add_argument("--dilate", type=int, default=-1, metavar="PX",
                        help="grow the hole by PX pixels; -1 = from the object's size (default)")
    remove.add_argument("--quality", choices=list(PRESETS), default="balanced", help="default: %(default)s")
    remove.add_argument("--iterations", type=int, help="optimisation steps instead of the preset's")
    remove.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    remove.add_argument("--guidance-weight", type=float, default=0.1,
                        help="lambda of the background guidance, 0 = off (default: %(default)s)")
    remove.add_argument("--guidance-mode", choices=[m.value.replace("_", "-") for m in GuidanceMode],
                        default="whole-hole", help="compare the hole's colour as a whole or row by row")
    remove.add_argument("--guidance-statistic", choices=[s.value for s in GuidanceStatistic], default="median",
                        help="the background colour as the median (robust) or the mean (the paper) of its pixels")
    remove.add_argument("--save-masks", type=Path, metavar="DIR",
                        help="also write object-mask.png and hole-mask.png (full image size) into DIR")
    remove.add_argument("--server", metavar="HOST:PORT", help="use a running server instead of working in-process")
    remove.add_argument("--device", choices=DEVICE_CHOICES, default="auto", help="in-process only")
    remove.add_argument("--threads", type=int, default=0, help=THREADS_HELP + "; in-process only")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="semantic-edit", description="Edit photos by meaning.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_serve(commands)
    _add_remove(commands)
    info = commands.add_parser("info", help="show what a running server offers")
    info.add_argument("--server", metavar="HOST:PORT", default=f"127.0.0.1:{DEFAULT_PORT}")
    return parser


def serve(args: argparse.Namespace) -> int:
    from .device import choose_device, set_cpu_threads
    from .service.server import create_server

    config = ServerConfig(host=args.host, port=args.port, device=args.device, max_pixels=args.max_pixels,
                          max_message_bytes=args.max_message_mb * 2**20, max_queued_jobs=args.max_queued_jobs)
    set_cpu_threads(args.threads)
    device = choose_device(config.device)
    log.info("device: %s (%s)", device.kind, device.name)
    server, port = create_server(config, device)
    print(f"Semantic Edit {__version__} listening on {config.host}:{port} ({device.kind}: {device.name}); "
          "Ctrl+C stops it", flush=True)
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    stopped.wait()
    log.info("stopping")
    server.stop(grace=2).wait()
    return EXIT_OK


class _TerminalProgress:
    """A progress bar per stage on a terminal (tqdm hides itself when stderr is not a terminal)."""

    def __init__(self):
        from tqdm import tqdm

        self._tqdm = tqdm
        self._bar = None
        self._stage = None

    def __call__(self, stage: str, step: int, total: int, message: str) -> None:
        if stage != self._stage:
            self.close()
            self._stage = stage
            self._bar = self._tqdm(total=total or None, desc=stage, unit="step", disable=None, leave=False)
        if self._bar is not None and step:
            self._bar.update(step - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def remove(args: argparse.Namespace) -> int:
    from .image_files import output_format, read_image, read_mask, write_image
    from .pipeline.remove import apply_patch

    output_format(args.output)  # refuse an unwritable name before the work, not after
    image, mask = read_image(args.image), read_mask(args.mask)
    if mask.shape != image.shape[:2]:
        raise InvalidInputError(f"the mask {args.mask} is {mask.shape[1]}x{mask.shape[0]} but the image is "
                                f"{image.shape[1]}x{image.shape[0]}; masks are not resized: give one of the same size")
    options = RemoveOptions(
        dilation_px=None if args.dilate == -1 else args.dilate, quality=args.quality, iterations=args.iterations,
        seed=args.seed, guidance_weight=args.guidance_weight,
        guidance_mode=GuidanceMode(args.guidance_mode.replace("-", "_")),
        guidance_statistic=GuidanceStatistic(args.guidance_statistic)).validated()
    progress = _TerminalProgress()
    try:
        if args.server:
            from .remote import remove_remotely

            result = remove_remotely(args.server, image, mask, options, progress)
        else:
            from .device import choose_device, set_cpu_threads
            from .pipeline.remove import remove_object

            set_cpu_threads(args.threads)
            result = remove_object(image, mask, options, device=choose_device(args.device).torch_device,
                                   progress=progress)
    finally:
        progress.close()
    write_image(args.output, apply_patch(image, result.region, result.patch))
    if args.save_masks:
        import numpy as np

        for name, crop in (("object-mask", result.object_mask), ("hole-mask", result.hole_mask)):
            full = np.zeros(image.shape[:2], dtype=np.uint8)
            full[result.region.slices] = crop.astype(np.uint8) * 255
            write_image(args.save_masks / f"{name}.png", full)
    r = result.region
    timings = ", ".join(f"{stage} {seconds:.2f} s" for stage, seconds in result.timings.items())
    print(f"wrote {args.output}: changed {r.width}x{r.height} px at ({r.x}, {r.y}), dilation {result.dilation_px} px, "
          f"{result.iterations} steps; {timings}")
    return EXIT_OK


def info(args: argparse.Namespace) -> int:
    from google.protobuf import json_format

    from .remote import get_info

    print(json_format.MessageToJson(get_info(args.server)))
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return {"serve": serve, "remove": remove, "info": info}[args.command](args)
    except InvalidInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except SemanticEditError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
