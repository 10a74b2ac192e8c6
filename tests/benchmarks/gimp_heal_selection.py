"""GIMP 3's own "Heal Selection" (the resynthesizer engine) as a baseline, run inside a real GIMP 3, headless.

The GIMP 3 root folder (Debian 13, chroot) comes from tests/gimp/build_gimp_root.sh, and the resynthesizer from
tests/gimp/add_resynthesizer.sh (Debian sid's gimp-plugin-registry, which registers `plug-in-resynthesizer` but no
heal-selection wrapper). Heal Selection is done here as the GIMP 2 plug-in did it: duplicate the image, corpus = the
selection grown by 50 px minus the selection, the engine on the original layer with use-context 1 (random order,
sampling all around), map-weight 0, autism 0.117, neighbourhood 16, trys 500; then drop the duplicate.

All cases run in ONE GIMP process (a start costs 4-12 s): the images go in as PNGs (GIMP's own loader) and the masks as
raw bytes, into a temporary folder in the root's /tmp; the batch script sets the selection to exactly the mask's
pixels (0 or 255, no feathering), heals, times the heal with time.perf_counter, and writes the layer's pixels back as
raw bytes (bit-exact, no PNG export options in the way) and a JSON of timings.

    heal_selection([(image, mask), ...], root=None) -> [(healed, seconds), ...]
    heal_selection_available(root=None) -> None, or a sentence saying why not

Needs Linux, root (chroot) and a root folder with the resynthesizer. Manual check, from the repository root:

    .venv/bin/python -m tests.benchmarks.gimp_heal_selection IMAGE.png MASK.png OUT.png [--root ROOT]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

DEFAULT_ROOT = Path(os.environ.get("SEMANTIC_EDIT_GIMP_ROOT")
                    or Path.home() / ".cache" / "semantic-edit" / "gimp3-root")
RESYNTHESIZER_GLOB = "usr/lib/*/gimp/3.0/plug-ins/resynthesizer/resynthesizer"
GIMP_HOME = "/root"  # HOME inside the root
DEFAULT_TIMEOUT_S = 3600.0
STDERR_TAIL = 4000  # characters of GIMP's output quoted in an error

# Heal Selection's settings (GIMP 2's plugin-heal-selection.py defaults: 50 px, all around, random order).
SAMPLING_RADIUS_PX = 50
ENGINE_ARGS = {"vtile": 0, "htile": 0, "use-context": 1, "inmask": -1, "outmask": -1, "map-weight": 0.0,
               "autism": 0.117, "neighbourhood": 16, "trys": 500}
ERROR_PREFIX = "gimp_heal_selection: ERROR "

# Runs inside GIMP's Python (python-fu-eval), with the path of the job's JSON in HEAL_SELECTION_JOB.
BATCH_SCRIPT = r'''
import json, os, sys, time
import gi
gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gimp, Gegl, Gio

def log(*words):
    print("gimp_heal_selection:", *words, file=sys.stderr, flush=True)

def fail(message):
    log("ERROR " + message)
    raise RuntimeError(message)

job = json.load(open(os.environ["HEAL_SELECTION_JOB"]))
pdb = Gimp.get_pdb()
engine = pdb.lookup_procedure("plug-in-resynthesizer")
if engine is None:
    fail("the procedure plug-in-resynthesizer is not registered in this GIMP "
         "(run tests/gimp/add_resynthesizer.sh on the root)")
results = {"gimp_version": Gimp.version(), "cases": []}
for case in job["cases"]:
    w, h = case["width"], case["height"]
    started = time.perf_counter()
    image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(case["image"]))
    layers = image.get_layers()
    if len(layers) != 1 or (image.get_width(), image.get_height()) != (w, h):
        fail("%s loaded as %d layer(s), %dx%d" % (case["image"], len(layers), image.get_width(), image.get_height()))
    layer = layers[0]
    if layer.has_alpha() or not layer.is_rgb() or (layer.get_offsets()[1:] != (0, 0)):
        fail("%s did not load as one RGB layer without alpha at 0,0" % case["image"])
    rect = Gegl.Rectangle.new(0, 0, w, h)
    mask = open(case["mask"], "rb").read()
    selection = image.get_selection().get_buffer()
    selection.set(rect, "Y' u8", mask)
    selection.flush()
    image.get_selection().update(0, 0, w, h)
    if image.get_selection().get_buffer().get(rect, 1.0, "Y' u8", Gegl.AbyssPolicy.CLAMP) != mask:
        fail("the selection of case %d is not exactly its mask" % case["index"])
    loaded = time.perf_counter()

    # Heal Selection: a duplicate whose selection is the corpus (a ring around the hole), then the engine.
    tmp = image.duplicate()
    hole = Gimp.Selection.save(tmp)
    Gimp.Selection.grow(tmp, job["sampling_radius"])
    tmp.select_item(Gimp.ChannelOps.SUBTRACT, hole)
    config = engine.create_config()
    config.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
    config.set_property("image", image)
    config.set_core_object_array("drawables", [layer])
    config.set_property("corpus", tmp.get_layers()[0].get_id())
    for name, value in job["engine"].items():
        config.set_property(name, value)
    engine_started = time.perf_counter()
    answer = engine.run(config)
    engine_seconds = time.perf_counter() - engine_started
    tmp.delete()
    heal_seconds = time.perf_counter() - loaded
    status = answer.index(0)
    if status != Gimp.PDBStatusType.SUCCESS:
        error = answer.index(1) if answer.length() > 1 else ""
        fail("plug-in-resynthesizer on case %d answered %s: %s" % (case["index"], status.value_nick, error))

    pixels = layer.get_buffer().get(rect, 1.0, "R'G'B' u8", Gegl.AbyssPolicy.CLAMP)
    with open(case["result"], "wb") as out:
        out.write(pixels)
    image.delete()
    record = {"index": case["index"], "heal_seconds": heal_seconds, "engine_seconds": engine_seconds,
              "load_seconds": loaded - started, "io_seconds": time.perf_counter() - started - heal_seconds}
    results["cases"].append(record)
    log("case %d (%dx%d, %d px hole): heal %.2f s (engine %.2f s)"
        % (case["index"], w, h, mask.count(b"\xff"), heal_seconds, engine_seconds))
    with open(job["results"], "w") as out:
        json.dump(results, out)
'''


def gimp_command(root: Path, env: dict[str, str], code: str) -> list[str]:
    """The one place that says how GIMP runs: chroot into `root`, a clean environment (LANG=C.UTF-8: another LANG
    makes GIMP rescan every plug-in), gimp-console-3.0 with --quit (a failing batch would otherwise wait forever)."""
    return ["chroot", str(root), "/usr/bin/env", "-i", f"HOME={GIMP_HOME}", "USER=root",
            "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "LANG=C.UTF-8", "TERM=dumb",
            *(f"{key}={value}" for key, value in env.items()),
            "gimp-console-3.0", "-i", "--quit", "--batch-interpreter=python-fu-eval", "-b", code]


def heal_selection_available(root: Path | None = None) -> str | None:
    """None when heal_selection can run with this root; else a sentence saying why not (nothing is started)."""
    root = Path(root) if root is not None else DEFAULT_ROOT
    if not sys.platform.startswith("linux"):
        return "GIMP's Heal Selection baseline needs Linux (a Debian root folder entered with chroot)."
    if os.geteuid() != 0:
        return "GIMP's Heal Selection baseline needs root (it enters the GIMP 3 root folder with chroot)."
    if shutil.which("chroot") is None:
        return "GIMP's Heal Selection baseline needs the chroot command, which this machine lacks."
    if not (root / "usr" / "bin" / "gimp-console-3.0").is_file():
        return (f"There is no GIMP 3 root at {root}: build it with tests/gimp/build_gimp_root.sh {root} "
                f"(or tests/gimp/add_resynthesizer.sh {root}, which builds it and adds the resynthesizer).")
    if not list(root.glob(RESYNTHESIZER_GLOB)):
        return f"The GIMP 3 root at {root} has no resynthesizer: run tests/gimp/add_resynthesizer.sh {root}."
    return None


def _check_case(index: int, image: np.ndarray, mask: np.ndarray) -> None:
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"case {index}: the image must be (H, W, 3) uint8 RGB, not {image.shape} {image.dtype}")
    if mask.shape != image.shape[:2]:
        raise ValueError(f"case {index}: the mask is {mask.shape}, the image {image.shape[:2]}")
    if not mask.any():
        raise ValueError(f"case {index}: the mask is empty (nothing to heal)")
    if mask.all():
        raise ValueError(f"case {index}: the mask covers the whole image (nothing to heal from)")


def heal_selection(cases: list[tuple[np.ndarray, np.ndarray]], root: Path | None = None, *,
                   timeout_s: float = DEFAULT_TIMEOUT_S, keep_workdir: bool = False
                   ) -> list[tuple[np.ndarray, float]]:
    """Heals each (image (H, W, 3) uint8 RGB, mask (H, W) bool, True = fill) with GIMP 3's Heal Selection, all in one
    GIMP process. Returns (healed (H, W, 3) uint8, seconds) per case; seconds is the heal inside GIMP (duplicate,
    corpus ring, engine), without loading the image or reading the result."""
    root = Path(root) if root is not None else DEFAULT_ROOT
    if not cases:
        return []
    why_not = heal_selection_available(root)
    if why_not:
        raise RuntimeError(why_not)
    masks = []
    for index, (image, mask) in enumerate(cases):
        mask = np.asarray(mask).astype(bool)
        _check_case(index, np.asarray(image), mask)
        masks.append(mask)

    (root / "tmp").mkdir(exist_ok=True)
    host = Path(tempfile.mkdtemp(prefix="heal-selection-", dir=root / "tmp"))
    inside = "/tmp/" + host.name
    try:
        host.chmod(0o755)
        job_cases = []
        for index, ((image, _), mask) in enumerate(zip(cases, masks)):
            Image.fromarray(np.ascontiguousarray(image), "RGB").save(host / f"{index}.png", compress_level=1)
            (host / f"{index}.mask").write_bytes((mask.astype(np.uint8) * 255).tobytes())
            job_cases.append({"index": index, "width": mask.shape[1], "height": mask.shape[0],
                              "image": f"{inside}/{index}.png", "mask": f"{inside}/{index}.mask",
                              "result": f"{inside}/{index}.rgb"})
        (host / "job.json").write_text(json.dumps({
            "cases": job_cases, "results": f"{inside}/results.json", "sampling_radius": SAMPLING_RADIUS_PX,
            "engine": ENGINE_ARGS}))
        (host / "batch.py").write_text(BATCH_SCRIPT)
        command = gimp_command(root, {"HEAL_SELECTION_JOB": f"{inside}/job.json"},
                               f"exec(open('{inside}/batch.py').read())")
        # Its own process group: on a timeout (or Ctrl-C) GIMP and its plug-in processes all go.
        gimp = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                errors="replace", start_new_session=True)
        try:
            log, _ = gimp.communicate(timeout=timeout_s)
        except BaseException as error:
            os.killpg(gimp.pid, signal.SIGKILL)
            log, _ = gimp.communicate()
            if isinstance(error, subprocess.TimeoutExpired):
                raise RuntimeError(f"GIMP's Heal Selection ran past {timeout_s:.0f} s on {len(cases)} case(s) and "
                                   f"was stopped; its output ended with:\n{log[-STDERR_TAIL:]}") from None
            raise
        errors = [line[len(ERROR_PREFIX):] for line in log.splitlines() if line.startswith(ERROR_PREFIX)]
        results_file = host / "results.json"
        done = json.loads(results_file.read_text())["cases"] if results_file.is_file() else []
        if gimp.returncode != 0 or errors or len(done) != len(cases):
            reason = errors[0] if errors else \
                f"GIMP exited {gimp.returncode} after {len(done)} of {len(cases)} case(s)"
            raise RuntimeError(f"GIMP's Heal Selection failed: {reason}. GIMP's output ended with:\n"
                               f"{log[-STDERR_TAIL:]}")
        healed = []
        for record, mask in zip(done, masks):
            pixels = np.fromfile(host / f"{record['index']}.rgb", np.uint8)
            healed.append((pixels.reshape(*mask.shape, 3), float(record["heal_seconds"])))
        return healed
    finally:
        if not keep_workdir:
            shutil.rmtree(host, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="GIMP 3's Heal Selection (resynthesizer) on one image, headless.")
    parser.add_argument("image", type=Path, help="the photo (any format PIL reads; made RGB)")
    parser.add_argument("mask", type=Path, help="the hole: a mask image, pixels >= 128 (grey) are healed")
    parser.add_argument("output", type=Path, help="where the healed image goes (PNG)")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help=f"the GIMP 3 root (default {DEFAULT_ROOT})")
    args = parser.parse_args(argv)
    image = np.asarray(Image.open(args.image).convert("RGB"))
    mask = np.asarray(Image.open(args.mask).convert("L")) >= 128
    started = time.monotonic()
    [(healed, seconds)] = heal_selection([(image, mask)], args.root)
    Image.fromarray(healed).save(args.output)
    print(f"healed {mask.sum()} px of {image.shape[1]}x{image.shape[0]} in {seconds:.2f} s inside GIMP "
          f"({time.monotonic() - started:.1f} s with GIMP's start); wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
