#!/usr/bin/env bash
# Sets up Semantic Edit in this folder: a Python virtual environment (.venv) with the pinned dependencies, the gRPC
# code generated from protos/, the `semantic-edit` command, and the GIMP 3 plug-in when GIMP 3 is found.
# Safe to run again: it installs only what is missing or changed. The Python side needs no root.
set -euo pipefail
cd "$(dirname "$0")"

usage() {
  cat <<'TXT'
Usage: ./install.sh [options]
  --dev                        also install what the tests and benchmarks need (pytest, OpenCV with contrib)
  --python PY                  Python (3.10 or newer) to build .venv with (default: python3)
  --no-plugin                  do not install the GIMP plug-in
  --gimp-plugins-dir DIR       install the plug-in into DIR (e.g. a GIMP in another root, a Flatpak's folder)
  --gimp-python X.Y            the Python version that GIMP runs, for the plug-in's gRPC libraries
  --weights FILE               the Mask R-CNN COCO weights, downloaded elsewhere: checked, then copied to models/
                               (without it the installer downloads them, hash checked, where the network allows)
  --no-weights                 do not download the segmentation weights (editing by mask or selection only)
  --uninstall                  remove the GIMP plug-in (delete .venv to remove the rest)
  -h, --help                   this text
TXT
}

DEV=0 PLUGIN=1 UNINSTALL=0 PYTHON=python3 WEIGHTS="" FETCH_WEIGHTS=1
PLUGIN_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dev) DEV=1 ;;
    --python) PYTHON="$2"; shift ;;
    --no-plugin) PLUGIN=0 ;;
    --uninstall) UNINSTALL=1 ;;
    --weights) [ $# -ge 2 ] || { echo "install.sh: --weights needs a file" >&2; exit 2; }; WEIGHTS="$2"; shift ;;
    --no-weights) FETCH_WEIGHTS=0 ;;
    --gimp-plugins-dir|--gimp-python) PLUGIN_ARGS+=("$1" "$2"); shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

VENV=.venv
PY="$VENV/bin/python"

if [ "$UNINSTALL" = 1 ]; then
  gimp_plugin/install_plugin.sh --uninstall "${PLUGIN_ARGS[@]}"
  exit 0
fi

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
  echo "install.sh: '$PYTHON' is missing or older than Python 3.10; install python3 (3.10+) with venv, or pass --python" >&2
  exit 1
fi
if [ ! -x "$PY" ]; then
  echo "== Creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi

echo "== Installing pinned dependencies (PyTorch is large: several GB on the first run)"
PIP=("$PY" -m pip install --disable-pip-version-check -q -c constraints.txt)
"${PIP[@]}" -r requirements.txt -r requirements-build.txt
if [ "$DEV" = 1 ]; then
  # The benchmarks' OpenCV is opencv-contrib-python-headless (xphoto's FSR and shift-map); it replaces, never joins,
  # the plain opencv-python-headless an older checkout installed: two OpenCVs in one venv break each other.
  if "$PY" -m pip show -q opencv-python-headless >/dev/null 2>&1; then
    "$PY" -m pip uninstall -y -q opencv-python-headless
  fi
  "${PIP[@]}" -r requirements-dev.txt
fi

echo "== Generating the gRPC code from protos/"
"$PY" -m inference_server.build_protos > /dev/null

echo "== Installing the semantic-edit command"
"${PIP[@]}" --no-deps --no-build-isolation -e .

echo "== Segmentation weights (Mask R-CNN ResNet-50 FPN v2, COCO) in models/"
if [ -n "$WEIGHTS" ]; then
  "$PY" -m inference_server.segmentation.fetch_weights --from "$WEIGHTS" \
    || { echo "install.sh: $WEIGHTS was not installed (see above)" >&2; exit 1; }
elif [ "$FETCH_WEIGHTS" = 1 ]; then
  "$PY" -m inference_server.segmentation.fetch_weights \
    || echo "install.sh: no segmentation weights yet: removing by mask or selection works; for objects by class" \
            "name, run ./install.sh --weights FILE with the file named above" >&2
fi

if [ "$PLUGIN" = 1 ]; then
  echo "== GIMP plug-in"
  gimp_plugin/install_plugin.sh --python "$PY" "${PLUGIN_ARGS[@]}" \
    || echo "install.sh: the GIMP plug-in was not installed (see above); the server works without it" >&2
fi

cat <<TXT

Semantic Edit is installed. Next:
  $VENV/bin/semantic-edit serve                      # start the server (127.0.0.1:50051)
  $VENV/bin/semantic-edit remove IMAGE --mask MASK -o OUT.png
  $VENV/bin/semantic-edit detect IMAGE               # the objects and relations found (needs the weights)
  $VENV/bin/python -m pytest                         # run the tests (after ./install.sh --dev)
In GIMP 3: Filters > Semantic Edit > Detect, Remove, Move, Replace, Add and Recolor Object... (with the server running).
TXT
