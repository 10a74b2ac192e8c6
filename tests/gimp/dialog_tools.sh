#!/usr/bin/env bash
# Adds what the dialog test needs to a GIMP 3 root folder: a virtual X screen (xvfb), a screenshot tool
# (imagemagick's `import`), xdotool and xwininfo (x11-utils) to find and measure windows, and a font.
#
# Usage: tests/gimp/dialog_tools.sh [ROOT]
#   ROOT defaults to ${SEMANTIC_EDIT_GIMP_ROOT:-$HOME/.cache/semantic-edit/gimp3-root}; built first by
#   build_gimp_root.sh when missing. Needs root (chroot, mount). Idempotent: when every tool is there already it
#   changes nothing. Works for any Debian root (trixie's GIMP 3.0, sid's 3.2).
set -euo pipefail

ROOT="${1:-${SEMANTIC_EDIT_GIMP_ROOT:-$HOME/.cache/semantic-edit/gimp3-root}}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PACKAGES=(xvfb imagemagick xdotool x11-utils fonts-dejavu-core)
TOOLS=(Xvfb import xdotool xwininfo)

log() { echo "dialog_tools: $*" >&2; }
die() { log "$*"; exit 1; }

have_all() {  # looked up inside the root: some tools are links through the root's /etc/alternatives
    [[ -d "$ROOT/usr/share/fonts/truetype/dejavu" ]] \
        && chroot "$ROOT" /usr/bin/env -i PATH=/usr/bin:/bin \
            sh -c "for t in ${TOOLS[*]}; do command -v \$t || exit 1; done" >/dev/null 2>&1
}

if [[ -x "$ROOT/usr/bin/env" ]] && [[ "$(id -u)" == 0 ]] && have_all; then
    log "reusing $ROOT: ${TOOLS[*]} are there"
    exit 0
fi
[[ "$(id -u)" == 0 ]] || die "needs root (chroot, mount); run it as root"
if [[ ! -x "$ROOT/usr/bin/gimp-console-3.0" && ! -x "$ROOT/usr/bin/gimp-console" ]]; then
    bash "$HERE/build_gimp_root.sh" "$ROOT" || die "could not build the GIMP root $ROOT (see above)"
fi

MOUNTED=()
unmount_all() {
    for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do umount -l "${MOUNTED[i]}" || true; done
}
trap unmount_all EXIT
for spec in "proc:$ROOT/proc" "/dev:$ROOT/dev"; do
    src="${spec%%:*}" dst="${spec#*:}"
    mountpoint -q "$dst" && continue
    if [[ "$src" == proc ]]; then mount -t proc proc "$dst"; else mount --bind "$src" "$dst"; fi \
        && MOUNTED+=("$dst") || log "warning: could not mount $dst; going on without it"
done

log "installing ${PACKAGES[*]} into $ROOT"
APT_LOG="$ROOT/tmp/dialog-tools-apt.log"
chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 \
    sh -c "install='apt-get install -y -q --no-install-recommends ${PACKAGES[*]}';
           { \$install || { apt-get -o Acquire::Check-Valid-Until=false update -q && \$install; }; } \
           && apt-get clean" >"$APT_LOG" 2>&1 \
    || { tail -n 30 "$APT_LOG" >&2; die "apt-get install of ${PACKAGES[*]} inside $ROOT failed"; }
rm -f "$APT_LOG"
have_all || die "installed ${PACKAGES[*]}, but one of ${TOOLS[*]} is still missing in $ROOT/usr/bin"
log "done"
