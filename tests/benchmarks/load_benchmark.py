"""Many clients at once against a real server: every call is served or refused with RESOURCE_EXHAUSTED, none fails
otherwise, and the server's memory stays bounded.

    .venv/bin/python -m tests.benchmarks.load_benchmark [--clients 64] [--side 256] [--largest]
        [--max-message-mb 64] [--max-inflight-mb 256] [--max-queued-jobs 4] [--json OUT]

Starts `semantic-edit serve` as its own process on a free loopback port (CPU), then --clients threads each send one
removal at once (quality fast, one EM iteration, a 16 px square hole): a --side x --side RGB image, or with
--largest the largest one the server accepts (its answer, the image plus three masks, within --max-message-mb).
Counts the answers by status, and reads the server's resident memory from /proc (Linux): before the load and its
peak (VmHWM). The bound to compare with is the server's own footprint plus --max-inflight-mb (the request bytes it
receives or parses at once) times the copies a request makes while it is converted. Prints a markdown table.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import grpc
import numpy as np

from inference_server.service.reply_size import MASKS_PER_EDIT, REPLY_OVERHEAD_BYTES
from inference_server.service.server import message_size_options
from semantic_edit.v1 import semantic_edit_pb2 as pb
from semantic_edit.v1 import semantic_edit_pb2_grpc as pb_grpc

REPOSITORY = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (peak) of process `pid`, in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields


def request_for(side: int) -> pb.EditRequest:
    image = np.full((side, side, 3), 120, np.uint8)
    mask = np.zeros((side, side), np.uint8)
    mask[side // 2 - 8:side // 2 + 8, side // 2 - 8:side // 2 + 8] = 1
    return pb.EditRequest(image=pb.Image(width=side, height=side, format=pb.PIXEL_FORMAT_RGB8, data=image.tobytes()),
                          remove=pb.RemoveEdit(target=pb.Target(mask=pb.Mask(width=side, height=side,
                                                                             data=mask.tobytes()))),
                          options=pb.EditOptions(quality="fast", iterations=1, dilation_px=0, keep_shadow=True))


def largest_side(max_message_mb: int) -> int:
    """The side of the largest square RGB removal whose answer fits the message limit."""
    per_pixel = 3 + MASKS_PER_EDIT["remove"]
    return int(math.isqrt((max_message_mb * 2 ** 20 - REPLY_OVERHEAD_BYTES) // per_pixel))


def wait_until_serving(address: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with grpc.insecure_channel(address) as channel:
                pb_grpc.SemanticEditStub(channel).GetInfo(pb.GetInfoRequest(), timeout=2)
            return
        except grpc.RpcError:
            time.sleep(0.5)
    raise RuntimeError(f"no server answered at {address} within {timeout:.0f} s")


def run(args: argparse.Namespace) -> dict:
    port = free_port()
    address = f"127.0.0.1:{port}"
    side = largest_side(args.max_message_mb) if args.largest else args.side
    command = [sys.executable, "-m", "inference_server.cli", "serve", "--port", str(port), "--device", "cpu",
               "--max-message-mb", str(args.max_message_mb), "--max-inflight-mb", str(args.max_inflight_mb),
               "--max-queued-jobs", str(args.max_queued_jobs), "--max-pixels", str(max(side * side, 1)),
               "--threads", "2"]
    server = subprocess.Popen(command, cwd=REPOSITORY, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        wait_until_serving(address)
        before = memory_mb(server.pid)
        request = request_for(side)
        statuses: Counter[str] = Counter()
        details: Counter[str] = Counter()
        lock = threading.Lock()
        start = threading.Barrier(args.clients)

        def client() -> None:
            with grpc.insecure_channel(address, options=message_size_options(args.max_message_mb * 2 ** 20)) as ch:
                stub = pb_grpc.SemanticEditStub(ch)
                start.wait()
                try:
                    events = list(stub.Edit(request, timeout=600))
                    status = "OK" if events and events[-1].HasField("result") else "NO RESULT"
                    detail = ""
                except grpc.RpcError as error:
                    status, detail = error.code().name, error.details() or ""
            with lock:
                statuses[status] += 1
                if detail:
                    details[f"{status}: {detail}"] += 1

        started = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
        after = memory_mb(server.pid)
        with grpc.insecure_channel(address) as channel:  # still serving after the load
            pb_grpc.SemanticEditStub(channel).GetInfo(pb.GetInfoRequest(), timeout=10)
    finally:
        server.terminate()
        server.wait(timeout=30)
    request_mb = request.ByteSize() / 2 ** 20
    return {"clients": args.clients, "side": side, "request_mb": request_mb, "max_message_mb": args.max_message_mb,
            "max_inflight_mb": args.max_inflight_mb, "max_queued_jobs": args.max_queued_jobs,
            "statuses": dict(statuses), "details": dict(details), "seconds": seconds,
            "rss_before_mb": before["VmRSS"], "rss_peak_mb": after["VmHWM"],
            "client_bytes_sent_mb": request_mb * args.clients}


def markdown(result: dict) -> str:
    statuses = result["statuses"]
    other = sum(n for status, n in statuses.items() if status not in ("OK", "RESOURCE_EXHAUSTED"))
    lines = ["| clients | image | request MB | served | RESOURCE_EXHAUSTED | other errors | server RSS before MB | "
             "peak MB | peak - before MB | in-flight cap MB | all requests MB | s |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
             f"| {result['clients']} | {result['side']}x{result['side']} RGB | {result['request_mb']:.1f} | "
             f"{statuses.get('OK', 0)} | {statuses.get('RESOURCE_EXHAUSTED', 0)} | {other} | "
             f"{result['rss_before_mb']:.0f} | {result['rss_peak_mb']:.0f} | "
             f"{result['rss_peak_mb'] - result['rss_before_mb']:.0f} | {result['max_inflight_mb']} | "
             f"{result['client_bytes_sent_mb']:.0f} | {result['seconds']:.1f} |"]
    for detail, count in result["details"].items():
        lines.append(f"\n{count} x {detail}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--side", type=int, default=256, help="image side in px (default 256)")
    parser.add_argument("--largest", action="store_true", help="the largest image the limits accept instead")
    parser.add_argument("--max-message-mb", type=int, default=64)
    parser.add_argument("--max-inflight-mb", type=int, default=256)
    parser.add_argument("--max-queued-jobs", type=int, default=4)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    result = run(args)
    print(markdown(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    other = sum(n for status, n in result["statuses"].items() if status not in ("OK", "RESOURCE_EXHAUSTED"))
    return 1 if other else 0


if __name__ == "__main__":
    raise SystemExit(main())
