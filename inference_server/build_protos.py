"""Generates the Python gRPC code from protos/ (run by install.sh; never edit the output by hand).

    python -m inference_server.build_protos [--out DIR]

The output is the package `semantic_edit.v1` (semantic_edit_pb2.py, semantic_edit_pb2_grpc.py, .pyi stubs), written
under DIR (default: the repository root), mirroring the proto package so that every client imports it the same way.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = REPO_ROOT / "protos"
PROTO_FILES = ("semantic_edit/v1/semantic_edit.proto",)
GENERATED_PACKAGES = ("semantic_edit", "semantic_edit/v1")


def generate(out_dir: Path) -> list[Path]:
    """Runs protoc (from grpcio-tools) on every proto file; returns the files written."""
    from grpc_tools import protoc  # imported here: only the build needs grpcio-tools
    import importlib.resources

    out_dir.mkdir(parents=True, exist_ok=True)
    well_known = importlib.resources.files("grpc_tools") / "_proto"
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *PROTO_FILES,
    ]
    if protoc.main(args) != 0:
        raise RuntimeError(f"protoc failed on {', '.join(PROTO_FILES)}; see the messages above")
    written = []
    for package in GENERATED_PACKAGES:
        init = out_dir / package / "__init__.py"
        init.write_text('"""Generated from protos/ by inference_server.build_protos; do not edit."""\n')
        written.append(init)
    for proto in PROTO_FILES:
        stem = out_dir / proto[: -len(".proto")]
        written += [stem.with_name(stem.name + suffix) for suffix in ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")]
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT, help="folder to write the semantic_edit package into")
    args = parser.parse_args(argv)
    for path in generate(args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
