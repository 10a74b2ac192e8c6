#!/usr/bin/env bash
# Runs a GIMP 3 with its interface on a virtual 1366x768 screen inside the GIMP root folder and opens each Semantic
# Edit dialog there (tests/gimp/dialog_batch.py), reading and photographing it (tests/gimp/dialog_probe.py).
#
# Usage: tests/gimp/dialog_session.sh ROOT WORK
#   ROOT  the root folder (tests/gimp/build_gimp_root.sh, with tests/gimp/dialog_tools.sh's X tools)
#   WORK  a folder inside the root, as the root sees it (e.g. /tmp/semantic-edit-dialogs-1), holding
#         plug-ins/semantic-edit (the installed plug-in), dialog_batch.py, dialog_probe.py, batch.json (what
#         dialog_batch.py opens) and variants.json; the results go to WORK/out and GIMP's log to WORK/gimp.log.
# Needs root (chroot). GIMP runs with its own profile (WORK/profile), so the user's is left alone, and Xvfb picks
# a free display number itself. Environment: GIMP_BINARY (default: gimp-3.0, else gimp-3.2, else gimp inside the
# root), SCREEN (default 1366x768x24), GIMP_TIMEOUT_S (default 300).
set -euo pipefail

ROOT="$1"
WORK="$2"
SCREEN="${SCREEN:-1366x768x24}"
GIMP_TIMEOUT_S="${GIMP_TIMEOUT_S:-300}"

log() { echo "dialog_session: $*" >&2; }
die() { log "$*"; exit 1; }

[[ -d "$ROOT$WORK/plug-ins/semantic-edit" ]] || die "no plug-in at $ROOT$WORK/plug-ins/semantic-edit"
if [[ -z "${GIMP_BINARY:-}" ]]; then
    for candidate in gimp-3.0 gimp-3.2 gimp; do
        [[ -e "$ROOT/usr/bin/$candidate" ]] && { GIMP_BINARY="$candidate"; break; }
    done
fi
[[ -n "${GIMP_BINARY:-}" ]] || die "no gimp (with interface) in $ROOT/usr/bin"

mkdir -p "$ROOT$WORK/out" "$ROOT$WORK/profile"
# The plug-in from WORK first, then GIMP's own (python-fu-eval runs the batch).
printf '(plug-in-path "%s/plug-ins:${gimp_dir}/plug-ins:${gimp_plug_in_dir}/plug-ins")\n' "$WORK" \
    >"$ROOT$WORK/profile/gimprc"

in_root() {
    chroot "$ROOT" /usr/bin/env -i HOME=/root USER=root PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
        LANG=C.UTF-8 TERM=dumb "$@"
}

DISPLAY_FILE="$ROOT$WORK/display"
: >"$DISPLAY_FILE"
in_root Xvfb -displayfd 3 -screen 0 "$SCREEN" -nolisten tcp 3>"$DISPLAY_FILE" \
    >"$ROOT$WORK/xvfb.log" 2>&1 &
XVFB_PID=$!
trap 'kill "$XVFB_PID" 2>/dev/null || true; wait "$XVFB_PID" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    [[ -s "$DISPLAY_FILE" ]] && break
    kill -0 "$XVFB_PID" 2>/dev/null || die "Xvfb stopped: $(tail -n 20 "$ROOT$WORK/xvfb.log")"
    sleep 0.1
done
NUMBER="$(tr -dc 0-9 <"$DISPLAY_FILE")"
[[ -n "$NUMBER" ]] || die "Xvfb gave no display number in 10 s: $(tail -n 20 "$ROOT$WORK/xvfb.log")"
log "Xvfb on :$NUMBER ($SCREEN); $GIMP_BINARY opens the dialogs"

set +e
timeout --kill-after=10 "$GIMP_TIMEOUT_S" chroot "$ROOT" /usr/bin/env -i HOME=/root USER=root \
    PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin LANG=C.UTF-8 TERM=dumb DISPLAY=":$NUMBER" \
    GIMP3_DIRECTORY="$WORK/profile" NO_AT_BRIDGE=1 \
    SEMANTIC_EDIT_DIALOG_PROBE="$WORK/dialog_probe.py" SEMANTIC_EDIT_DIALOG_OUT="$WORK/out" \
    SEMANTIC_EDIT_DIALOG_VARIANTS="$WORK/variants.json" SEMANTIC_EDIT_DIALOG_BATCH="$WORK/batch.json" \
    "$GIMP_BINARY" --no-splash --batch-interpreter=python-fu-eval \
    -b "exec(open('$WORK/dialog_batch.py').read())" --quit >"$ROOT$WORK/gimp.log" 2>&1
rc=$?
set -e
log "$GIMP_BINARY exited $rc"
exit "$rc"
