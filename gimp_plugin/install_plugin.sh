#!/usr/bin/env bash
# Installs (or removes) the Semantic Edit plug-in into GIMP 3's user plug-in folder(s). Safe to run again.
#
#   gimp_plugin/install_plugin.sh --python PY                      GIMP 3.x found on this machine (~/.config/GIMP/3.*)
#   gimp_plugin/install_plugin.sh --gimp-plugins-dir DIR --gimp-python X.Y --python PY
#                                                                  any plug-in folder: a GIMP in another root, Flatpak
#   gimp_plugin/install_plugin.sh --uninstall [--gimp-plugins-dir DIR]
#
# PY is a Python with grpcio-tools and this checkout's inference_server importable (the project's virtualenv): it
# downloads grpcio + protobuf wheels built for the Python GIMP runs (X.Y) into <plug-in>/vendor and generates the API
# code there. No GIMP 3 found: says so and exits 0 (the server works without it).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$HERE")"
NAME="semantic-edit"
SOURCE="$HERE/$NAME"
DEFAULT_GIMP_PYTHON="3.13"
FALLBACK_GRPCIO="1.85.1"
FALLBACK_PROTOBUF="7.36.2"

usage() { sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
say() { echo "install_plugin: $*"; }
die() { echo "install_plugin: error: $*" >&2; exit 1; }

UNINSTALL=0
PLUGIN_DIRS=()
GIMP_PYTHON=""
PY=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --uninstall) UNINSTALL=1; shift ;;
        --gimp-plugins-dir) [[ $# -ge 2 ]] || die "--gimp-plugins-dir needs a folder"; PLUGIN_DIRS+=("$2"); shift 2 ;;
        --gimp-python) [[ $# -ge 2 ]] || die "--gimp-python needs a version such as 3.13"; GIMP_PYTHON="$2"; shift 2 ;;
        --python) [[ $# -ge 2 ]] || die "--python needs the path of a Python"; PY="$2"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument '$1'" ;;
    esac
done
if [[ -n "$GIMP_PYTHON" && ! "$GIMP_PYTHON" =~ ^3\.[0-9]+$ ]]; then
    die "--gimp-python must look like 3.13; got '$GIMP_PYTHON'"
fi

# GIMP 3's user plug-in folders on this machine: ~/.config/GIMP/3.0 and 3.2 (and Flatpak's) when GIMP 3 exists.
gimp_binary() {
    local candidate
    for candidate in gimp-console-3.2 gimp-3.2 gimp-console-3.0 gimp-3.0 gimp-console-3 gimp-3 gimp-console gimp; do
        if command -v "$candidate" >/dev/null 2>&1 \
            && "$candidate" --version 2>/dev/null | grep -Eq 'version 3\.'; then
            echo "$candidate"; return 0
        fi
    done
    return 1
}

find_plugin_dirs() {
    local config="${XDG_CONFIG_HOME:-$HOME/.config}" flatpak="$HOME/.var/app/org.gimp.GIMP/config/GIMP" version found=0
    for version in 3.0 3.2; do
        if [[ -d "$config/GIMP/$version" ]]; then echo "$config/GIMP/$version/plug-ins"; found=1; fi
        if [[ -d "$flatpak/$version" ]]; then echo "$flatpak/$version/plug-ins"; found=1; fi
    done
    if [[ $found == 0 ]] && gimp_binary >/dev/null; then
        echo "$config/GIMP/3.0/plug-ins"  # GIMP 3 is installed but has not run yet
    fi
}

# The Python version GIMP runs plug-ins with: its pygimp.interp names the interpreter; else the system python3.
detect_gimp_python() {
    local interp python
    for interp in /usr/lib/*/gimp/3.*/interpreters/pygimp.interp /usr/lib/gimp/3.*/interpreters/pygimp.interp \
                  /usr/local/lib/*/gimp/3.*/interpreters/pygimp.interp /usr/local/lib/gimp/3.*/interpreters/pygimp.interp; do
        [[ -f "$interp" ]] || continue
        python=$(awk -F= '$1=="python" || $1=="python3" {print $2; exit}' "$interp")
        if [[ -n "$python" && -x "$python" ]]; then
            "$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' && return 0
        fi
    done
    if command -v python3 >/dev/null 2>&1 && gimp_binary >/dev/null; then
        python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' && return 0
    fi
    return 1
}

explicit_dirs=1
if [[ ${#PLUGIN_DIRS[@]} -eq 0 ]]; then
    explicit_dirs=0
    mapfile -t PLUGIN_DIRS < <(find_plugin_dirs)
fi
if [[ ${#PLUGIN_DIRS[@]} -eq 0 ]]; then
    say "no GIMP 3 found (no ~/.config/GIMP/3.0 or 3.2, no gimp-3.0 on PATH); skipping the plug-in."
    say "The server works without it. After installing GIMP 3, run: $0 --python ${PY:-.venv/bin/python}"
    exit 0
fi

if [[ $UNINSTALL == 1 ]]; then
    for dir in "${PLUGIN_DIRS[@]}"; do
        if [[ -e "$dir/$NAME" ]]; then rm -rf "${dir:?}/$NAME"; say "removed $dir/$NAME"; else say "nothing to remove in $dir"; fi
    done
    exit 0
fi

[[ -n "$PY" ]] || die "--python PY is required (the project's virtualenv Python, e.g. .venv/bin/python)"
[[ -x "$PY" ]] || command -v "$PY" >/dev/null || die "--python '$PY' is not a Python on this machine"

if [[ -z "$GIMP_PYTHON" ]]; then
    # A Flatpak GIMP runs its own runtime's Python, which this machine's files do not tell.
    if [[ $explicit_dirs == 0 ]] && ! printf '%s\n' "${PLUGIN_DIRS[@]}" | grep -q '/\.var/app/' \
        && GIMP_PYTHON=$(detect_gimp_python); then
        say "GIMP runs plug-ins with Python $GIMP_PYTHON"
    else
        GIMP_PYTHON="$DEFAULT_GIMP_PYTHON"
        say "note: could not tell which Python GIMP uses; assuming $GIMP_PYTHON (pass --gimp-python X.Y to choose)"
    fi
fi

# The vendored runtime matches the one that generates the code (the virtualenv's), so they always load together.
GRPCIO_VERSION=$("$PY" -c 'import grpc; print(grpc.__version__)' 2>/dev/null || echo "$FALLBACK_GRPCIO")
PROTOBUF_VERSION=$("$PY" -c 'import google.protobuf as p; print(p.__version__)' 2>/dev/null || echo "$FALLBACK_PROTOBUF")
case "$(uname -m)" in
    x86_64|amd64) PLATFORM=manylinux2014_x86_64 ;;
    aarch64|arm64) PLATFORM=manylinux2014_aarch64 ;;
    *) die "no grpcio wheels for $(uname -m); install grpcio and protobuf into GIMP's Python by hand" ;;
esac
STAMP="python $GIMP_PYTHON $PLATFORM grpcio==$GRPCIO_VERSION protobuf==$PROTOBUF_VERSION"

install_into() {
    local dir="$1" target="$1/$NAME" vendor_new
    mkdir -p "$dir"
    mkdir -p "$target"
    # The plug-in's own files, replaced every time (removed ones go too); vendor/ is kept when it still fits.
    find "$target" -mindepth 1 -maxdepth 1 ! -name vendor -exec rm -rf {} +
    find "$SOURCE" -maxdepth 1 -type f \( -name '*.py' -o -name '*.md' \) -exec cp {} "$target/" \;
    chmod 755 "$target/$NAME.py"

    if [[ -f "$target/vendor/.installed" && "$(cat "$target/vendor/.installed")" == "$STAMP" ]]; then
        say "vendor/ already holds $STAMP"
    else
        say "downloading $STAMP into $target/vendor"
        vendor_new="$target/vendor.new"
        rm -rf "$vendor_new"
        if ! "$PY" -m pip install --quiet --disable-pip-version-check --no-compile --target "$vendor_new" \
                --python-version "$GIMP_PYTHON" --platform "$PLATFORM" --implementation cp --only-binary=:all: \
                "grpcio==$GRPCIO_VERSION" "protobuf==$PROTOBUF_VERSION"; then
            rm -rf "$vendor_new"
            die "could not download grpcio $GRPCIO_VERSION / protobuf $PROTOBUF_VERSION for Python $GIMP_PYTHON \
(no network, or no wheel for that Python?); the plug-in is copied but will say gRPC is missing"
        fi
        rm -rf "$target/vendor"
        mv "$vendor_new" "$target/vendor"
        echo "$STAMP" >"$target/vendor/.installed"
    fi
    # The API code, generated fresh from protos/ (cheap; keeps it in step with the server of this checkout).
    (cd "$REPO" && "$PY" -m inference_server.build_protos --out "$target/vendor" >/dev/null) \
        || die "could not generate the API code with $PY (is it the project's virtualenv, with grpcio-tools?)"
    say "installed $target (Python $GIMP_PYTHON); restart GIMP, then use Filters > Semantic Edit > Remove Object... or Detect Objects..."
}

for dir in "${PLUGIN_DIRS[@]}"; do
    install_into "$dir"
done
