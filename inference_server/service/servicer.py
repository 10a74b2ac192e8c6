"""SemanticEdit servicer: RPC methods mirror the proto; domain errors become gRPC status codes here, once."""
from __future__ import annotations

import logging
import queue
import re
import time
from pathlib import Path

import grpc
import torch

from semantic_edit.v1 import semantic_edit_pb2 as pb
from semantic_edit.v1 import semantic_edit_pb2_grpc as pb_grpc

from .. import __version__
from ..config import ServerConfig
from ..device import ComputeDevice
from ..errors import (InvalidInputError, JobCancelledError, QueueFullError, SemanticEditError,
                      ServerShuttingDownError)
from ..pipeline.detect import detect_scene
from ..pipeline.edit_spec import EDITS, EditModels, run_edit
from ..pipeline.options import DEFAULT_FILL, PRESETS, FillMethod
from ..pipeline.remove import STAGE_QUEUED
from ..placement.predict import PositionPredictor
from ..placement.vocabulary import PREDICATES
from ..segmentation import shadows
from ..segmentation.errors import ModelUnavailableError, NotFoundError
from ..segmentation.shadow_net import WEIGHTS_FILE
from . import convert, convert_edits, convert_scene
from .jobs import ERROR, PROGRESS, Job, JobQueue
from .reply_size import reply_too_large
from .segmenter_slot import SegmenterSlot

log = logging.getLogger(__name__)
ABSOLUTE_PATH = re.compile(r"(?<![^\s'\"(])((?:[A-Za-z]:)?[/\\][^\s'\"]+)")  # starts a word: not and/or
EVENT_POLL_SECONDS = 0.2  # how often a waiting handler checks that its client is still there
PROGRESS_INTERVAL_SECONDS = 0.1  # at most this often per stage, plus each stage's first and last step


def without_folders(text: str) -> str:
    """`text` with every absolute file path cut to its file name: GetInfo answers any client, and where the server
    keeps its files is the operator's business (the server's log names them in full)."""
    return ABSOLUTE_PATH.sub(lambda match: re.split(r"[/\\]", match.group(1).rstrip("/\\"))[-1], text)


def status_for(error: Exception) -> tuple[grpc.StatusCode, str]:
    """The status code and sentence a client receives for a failed edit."""
    if isinstance(error, InvalidInputError):
        return grpc.StatusCode.INVALID_ARGUMENT, str(error)
    if isinstance(error, NotFoundError):
        return grpc.StatusCode.NOT_FOUND, str(error)
    if isinstance(error, ModelUnavailableError):
        return grpc.StatusCode.FAILED_PRECONDITION, without_folders(str(error))
    if isinstance(error, QueueFullError):
        return grpc.StatusCode.RESOURCE_EXHAUSTED, str(error)
    if isinstance(error, JobCancelledError):
        return grpc.StatusCode.CANCELLED, str(error)
    if isinstance(error, ServerShuttingDownError):
        return grpc.StatusCode.UNAVAILABLE, str(error)
    if isinstance(error, torch.cuda.OutOfMemoryError):
        return (grpc.StatusCode.RESOURCE_EXHAUSTED,
                "the GPU ran out of memory for this edit; use quality 'fast' or a smaller object, or free the GPU")
    if isinstance(error, SemanticEditError):
        return grpc.StatusCode.FAILED_PRECONDITION, str(error)
    return grpc.StatusCode.INTERNAL, f"the edit failed inside the server ({type(error).__name__}); its log has details"


class _ThrottledProgress:
    """Forwards progress to the job, at most every PROGRESS_INTERVAL_SECONDS per stage (first and last always)."""

    def __init__(self, job: Job):
        self.job = job
        self.last_sent: dict[str, float] = {}

    def __call__(self, stage: str, step: int, total: int, message: str) -> None:
        now = time.monotonic()
        if step in (0, 1, total) or now - self.last_sent.get(stage, 0.0) >= PROGRESS_INTERVAL_SECONDS:
            self.last_sent[stage] = now
            self.job.report(stage, step, total, message)


class SemanticEditServicer(pb_grpc.SemanticEditServicer):
    def __init__(self, config: ServerConfig, device: ComputeDevice, jobs: JobQueue, segmentation: SegmenterSlot,
                 placement: PositionPredictor):
        self.config = config
        self.device = device
        self.jobs = jobs
        self.segmentation = segmentation
        self.placement = placement

    def _segmentation_info(self) -> pb.ModelInfo:
        slot = self.segmentation
        if not slot.available:
            return pb.ModelInfo(name=slot.name, task="segmentation", available=False,
                                detail=without_folders(str(slot.error)))
        segmenter = slot.require()
        weights = getattr(segmenter, "weights_path", None)
        return pb.ModelInfo(name=slot.name, task="segmentation", available=True,
                            detail=f"weights loaded from {Path(weights).name if weights else 'its own file'}",
                            classes=list(segmenter.class_names))

    def GetInfo(self, request: pb.GetInfoRequest, context: grpc.ServicerContext) -> pb.ServerInfo:
        return pb.ServerInfo(
            version=__version__,
            device=pb.DeviceInfo(kind=self.device.kind, name=self.device.name),
            edits=list(EDITS),
            models=[pb.ModelInfo(name="internal-synthesis", task="inpainting", available=True,
                                 detail="the default fill: harmonic and frequency extrapolation for the structure, "
                                        "the photo's own patches for the texture; needs no weights"),
                    pb.ModelInfo(name="background-guided-dip", task="inpainting", available=True,
                                 detail="fill 'dip': fitted to each image at request time; needs no weights"),
                    self._segmentation_info(),
                    pb.ModelInfo(name="position-lstm", task="placement", available=True,
                                 detail=f"weights loaded from {Path(self.placement.weights_path).name}"),
                    _shadow_info()],
            limits=pb.Limits(max_pixels=self.config.max_pixels, max_message_bytes=self.config.max_message_bytes,
                             max_queued_jobs=self.config.max_queued_jobs),
            quality_presets=list(PRESETS),
            predicates=list(PREDICATES),
            fill_methods=[DEFAULT_FILL.value, *(m.value for m in FillMethod if m != DEFAULT_FILL)],
        )

    def _submit(self, job: Job, context: grpc.ServicerContext) -> int:
        """Queues `job`, cancelled when its client goes; returns the jobs ahead (aborts when the queue is full)."""
        context.add_callback(job.cancel)  # runs when the client cancels or disconnects
        try:
            return self.jobs.submit(job)
        except (QueueFullError, ServerShuttingDownError) as error:
            context.abort(*status_for(error))

    def _events(self, job: Job, context: grpc.ServicerContext):
        """Yields the job's progress tuples, then its result; aborts with the job's error; stops if the client left."""
        while True:
            try:
                kind, payload = job.events.get(timeout=EVENT_POLL_SECONDS)
            except queue.Empty:
                if not context.is_active():
                    job.cancel()
                    return
                continue
            if kind == ERROR:
                code, sentence = status_for(payload)
                context.abort(code, sentence)
            yield kind, payload
            if kind != PROGRESS:
                return

    def _require_segmenter(self, context: grpc.ServicerContext):
        try:
            return self.segmentation.require()
        except ModelUnavailableError as error:
            context.abort(*status_for(error))

    def Edit(self, request: pb.EditRequest, context: grpc.ServicerContext):
        try:
            spec = convert_edits.edit_request_from_proto(request, self.config.max_pixels)
        except InvalidInputError as error:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
        too_large = reply_too_large(spec, self.config.max_message_bytes)
        if too_large:  # before any work: the answer could not be sent
            context.abort(grpc.StatusCode.OUT_OF_RANGE, too_large)
        segmenter = self._require_segmenter(context) if spec.needs_segmenter else None
        models = EditModels(segmenter, self.placement, self.device.torch_device)

        def work(job: Job) -> pb.EditResult:
            result = run_edit(spec, models, progress=_ThrottledProgress(job), should_stop=job.should_stop)
            return convert.result_to_proto(result, request.image.format)

        job = Job(work)
        ahead = self._submit(job, context)
        yield pb.EditEvent(progress=pb.Progress(
            stage=STAGE_QUEUED, step=0, total=ahead,
            message=f"Waiting for {ahead} edit(s) ahead" if ahead else "Starting"))
        for kind, payload in self._events(job, context):
            if kind == PROGRESS:
                stage, step, total, message = payload
                yield pb.EditEvent(progress=pb.Progress(stage=stage, step=step, total=total, message=message))
            else:
                yield pb.EditEvent(result=payload)

    def DetectObjects(self, request: pb.DetectRequest, context: grpc.ServicerContext) -> pb.SceneGraph:
        try:
            image = convert.image_from_proto(request.image, self.config.max_pixels)
            settings = convert_scene.detection_settings_from_proto(request.detection)
            relation_options = convert_scene.relation_options_from_proto(request.relations)
        except InvalidInputError as error:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
        segmenter = self._require_segmenter(context)

        def work(job: Job) -> pb.SceneGraph:
            scene = detect_scene(segmenter, image, settings, relation_options)
            return convert_scene.scene_to_proto(scene, self.segmentation.name)

        job = Job(work)
        self._submit(job, context)
        for kind, payload in self._events(job, context):
            if kind != PROGRESS:
                return payload
        context.abort(grpc.StatusCode.CANCELLED, "the detection was cancelled by its client")


def _shadow_info() -> pb.ModelInfo:
    """The shadow segmenter's entry: the weights shipped in the repository (no path), or why it is missing."""
    present = (shadows.WEIGHTS_DIR / WEIGHTS_FILE).is_file()
    detail = (f"removal takes the object's cast shadow too; weights {WEIGHTS_FILE} shipped with the server" if present
              else f"{WEIGHTS_FILE} is missing from the server's weights/shadow_segmenter folder: removal finds no "
                   "shadows; restore the file from the repository")
    return pb.ModelInfo(name="shadow-unet", task="shadow segmentation", available=present, detail=detail)
