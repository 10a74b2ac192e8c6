"""What `semantic-edit remove`, `move`, `replace`, `add`, `recolor` and `detect` do with files, in-process or
through a server."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from .errors import InvalidInputError
from .image_files import check_output, read_image, read_mask, write_image
from .pipeline.add import AddOptions
from .pipeline.detect import DetectedScene, DetectionSettings
from .pipeline.edit_spec import EditResultOf, EditSpec, RelationSpec, SourceSpec, TargetSpec, result_masks
from .pipeline.move import MoveOptions
from .pipeline.options import FillMethod, GuidanceMode, GuidanceStatistic, RemoveOptions
from .pipeline.pasting import PasteResult, source_cutout
from .pipeline.recolor import RecolorOptions
from .pipeline.replace import ReplaceOptions
from .placement.vocabulary import check_predicate
from .scene_graph.relations import RelationOptions
from .scene_graph.targets import TargetQuery


class TerminalProgress:
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


def load_segmenter_for(args: argparse.Namespace):
    """The segmenter named by --segmenter/--weights/--detection-size on --device, in this process."""
    from .device import choose_device, set_cpu_threads
    from .segmentation.registry import load_segmenter

    set_cpu_threads(args.threads)
    return load_segmenter(args.segmenter, choose_device(args.device).torch_device, weights_path=args.weights,
                          detection_size=args.detection_size)


def _settings(args: argparse.Namespace) -> DetectionSettings:
    return DetectionSettings(score_threshold=args.score_threshold, max_objects=args.max_objects).validated()


def _image(args: argparse.Namespace) -> np.ndarray:
    """The input image; first refuses an output that cannot be written or would replace an input (before the
    work, not after)."""
    inputs = [args.image] + [getattr(args, name, None) for name in ("mask", "source", "source_mask")]
    check_output(args.output, inputs, overwrite=args.overwrite)
    return read_image(args.image)


def _target(args: argparse.Namespace, image: np.ndarray) -> TargetSpec:
    if args.mask is not None:
        if args.object is not None or args.box is not None:
            raise InvalidInputError("give --mask, or --object and/or --box, not both")
        mask = read_mask(args.mask)
        if mask.shape != image.shape[:2]:
            raise InvalidInputError(
                f"the mask {args.mask} is {mask.shape[1]}x{mask.shape[0]} but the image is {image.shape[1]}x"
                f"{image.shape[0]}; masks are not resized: give one of the same size")
        return TargetSpec(mask=mask)
    if args.object is None and args.box is None:
        raise InvalidInputError("name the object: --mask MASK, --object CLASS[:N] (e.g. person:2), or --box "
                                "X0,Y0,X1,Y1 around it")
    return TargetSpec(query=TargetQuery(class_target=args.object, hint_box=args.box), detection=_settings(args))


def _remove_options(args: argparse.Namespace) -> RemoveOptions:
    return RemoveOptions(
        dilation_px=None if args.dilate == -1 else args.dilate, quality=args.quality, fill=FillMethod(args.fill),
        texture=args.texture, keep_shadow=args.keep_shadow, iterations=args.iterations, seed=args.seed, guidance_weight=args.guidance_weight,
        guidance_mode=GuidanceMode(args.guidance_mode.replace("-", "_")),
        guidance_statistic=GuidanceStatistic(args.guidance_statistic))


def _reference(args: argparse.Namespace, text: str, image: np.ndarray) -> TargetSpec:
    """A relation's reference: 'mask:FILE' (a mask image of the image's size) or a class target ('blue sphere',
    'person:2')."""
    if text.startswith("mask:"):
        mask = read_mask(Path(text[len("mask:"):]))
        if mask.shape != image.shape[:2]:
            raise InvalidInputError(f"the reference mask {text[5:]} is {mask.shape[1]}x{mask.shape[0]} but the image "
                                    f"is {image.shape[1]}x{image.shape[0]}; give one of the same size")
        return TargetSpec(mask=mask)
    return TargetSpec(query=TargetQuery(class_target=text), detection=_settings(args))


def _relations(args: argparse.Namespace, image: np.ndarray) -> tuple[RelationSpec, ...]:
    return tuple(RelationSpec(check_predicate(predicate), _reference(args, reference, image))
                 for predicate, reference in args.to)


def _source(args: argparse.Namespace) -> SourceSpec:
    """--with PICTURE (its alpha is the object) and --with-mask MASK (for a picture without alpha)."""
    picture = read_image(args.source)
    mask = read_mask(args.source_mask) if args.source_mask is not None else None
    source_cutout(picture, mask)  # says now, before any work, when they do not mark an object
    return SourceSpec(picture, mask)


def remove(args: argparse.Namespace) -> None:
    image = _image(args)
    _run(args, EditSpec("remove", image, _remove_options(args), target=_target(args, image)))


def move(args: argparse.Namespace) -> None:
    image = _image(args)
    options = MoveOptions(remove=_remove_options(args), candidates=args.candidates, candidate=args.candidate,
                          keep_size=args.keep_size)
    _run(args, EditSpec("move", image, options, target=_target(args, image), object_class=args.object_class,
                        relations=_relations(args, image)))


def replace(args: argparse.Namespace) -> None:
    image = _image(args)
    options = ReplaceOptions(remove=_remove_options(args), fit=args.fit)
    _run(args, EditSpec("replace", image, options, target=_target(args, image),
                        source=_source(args)))


def add(args: argparse.Namespace) -> None:
    image = _image(args)
    options = AddOptions(candidates=args.candidates, candidate=args.candidate, seed=args.seed,
                         keep_size=args.keep_size, cast_shadow=not args.no_shadow)
    _run(args, EditSpec("add", image, options, object_class=args.object_class, relations=_relations(args, image),
                        source=_source(args)))


def recolor(args: argparse.Namespace) -> None:
    image = _image(args)
    options = RecolorOptions(colour=args.color, strength=args.strength, lightness=args.lightness, edge_px=args.edge)
    _run(args, EditSpec("recolor", image, options, target=_target(args, image)))


def _summary(spec: EditSpec, result: EditResultOf) -> str:
    r = result.region
    timings = ", ".join(f"{stage} {seconds:.2f} s" for stage, seconds in result.timings.items())
    objects = f"objects {', '.join(map(str, result.object_ids))}; " if result.object_ids else ""
    if spec.kind == "recolor":
        work = f"edge {result.edge_px} px"
    elif spec.kind == "add":
        work = "no fill"
    else:
        work = f"dilation {result.dilation_px} px, {result.iterations} steps"
    if isinstance(result, PasteResult) and result.candidates:
        work += f", placement {spec.options.candidate + 1} of {len(result.candidates)}"
    return f"changed {r.width}x{r.height} px at ({r.x}, {r.y}), {objects}{work}; {timings}"


def _run(args: argparse.Namespace, spec: EditSpec) -> None:
    """Runs `spec` (through --server, or here), writes --output and --save-masks, prints a summary."""
    from .pipeline.remove import apply_patch

    spec = spec.validated()
    progress = TerminalProgress()
    try:
        if args.server:
            from .remote import connection, edit_remotely

            result = edit_remotely(connection(args.server, args.tls_ca, args.token_file), spec, progress)
        else:
            result = _run_here(args, spec, progress)
    finally:
        progress.close()
    write_image(args.output, apply_patch(spec.image, result.region, result.patch))
    if args.save_masks:
        for name, crop in result_masks(result).items():
            full = np.zeros(spec.image.shape[:2], dtype=np.uint8)
            full[result.region.slices] = crop.astype(np.uint8) * 255
            write_image(args.save_masks / f"{name.replace(' ', '-')}-mask.png", full)  # placed-shadow-mask.png
    print(f"wrote {args.output}: {_summary(spec, result)}")


def _run_here(args: argparse.Namespace, spec: EditSpec, progress: TerminalProgress) -> EditResultOf:
    from .device import choose_device, set_cpu_threads
    from .pipeline.edit_spec import EditModels, run_edit
    from .placement.predict import PositionPredictor

    segmenter = load_segmenter_for(args) if spec.needs_segmenter else None
    set_cpu_threads(args.threads)
    device = choose_device(args.device).torch_device
    predictor = PositionPredictor(device) if spec.kind in ("move", "add") else None
    return run_edit(spec, EditModels(segmenter, predictor, device), progress=progress)


def scene_as_json(scene: DetectedScene, model: str) -> dict:
    objects = [{"id": i, "class_name": d.class_name, "instance": scene.instances[i], "score": round(d.score, 4),
                "box": list(d.box), "mask_pixels": int(d.mask.sum())} for i, d in enumerate(scene.detections)]
    relations = [{"subject": r.subject, "predicate": r.predicate, "reference": r.reference} for r in scene.relations]
    return {"model": model, "seconds": round(scene.seconds, 3), "objects": objects, "relations": relations}


def scene_as_text(scene: DetectedScene, model: str) -> str:
    names = [f"{d.class_name} {scene.instances[i]}" for i, d in enumerate(scene.detections)]
    lines = [f"{len(names)} object(s) found by {model} in {scene.seconds:.2f} s"]
    if names:
        lines.append(f"{'id':>4}  {'object':<24} {'score':>5}  box (x0, y0, x1, y1)")
        lines += [f"{i:>4}  {names[i]:<24} {d.score:5.2f}  {d.box}" for i, d in enumerate(scene.detections)]
    if scene.relations:
        lines.append("relations:")
        lines += [f"  {names[r.subject]} {r.predicate} {names[r.reference]}" for r in scene.relations]
    return "\n".join(lines)


def detect(args: argparse.Namespace) -> None:
    image = read_image(args.image)
    settings, relation_options = _settings(args), RelationOptions()
    if args.server:
        from .remote import connection, detect_remotely, get_info

        server = connection(args.server, args.tls_ca, args.token_file)
        scene = detect_remotely(server, image, settings, relation_options)
        model = next((m.name for m in get_info(server).models if m.task == "segmentation"), "the server")
    else:
        from .pipeline.detect import detect_scene

        scene = detect_scene(load_segmenter_for(args), image, settings, relation_options)
        model = args.segmenter
    print(json.dumps(scene_as_json(scene, model), indent=1) if args.json else scene_as_text(scene, model))
    if args.save_masks:
        for i, d in enumerate(scene.detections):
            name = f"object-{i}-{d.class_name.replace(' ', '-')}-{scene.instances[i]}.png"
            write_image(Path(args.save_masks) / name, d.mask.astype(np.uint8) * 255)
