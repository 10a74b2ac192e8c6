#!/usr/bin/env bash
# Adds the resynthesizer (Debian sid's gimp-plugin-registry, ported to GIMP 3) to the GIMP 3 root folder, so that a
# benchmark can run GIMP's own "Heal Selection" (tests/benchmarks/gimp_heal_selection.py).
#
# Usage: tests/gimp/add_resynthesizer.sh [ROOT]
#   ROOT defaults to ${SEMANTIC_EDIT_GIMP_ROOT:-$HOME/.cache/semantic-edit/gimp3-root}; built first by
#   build_gimp_root.sh when missing. Needs root. Idempotent: a root marked by .semantic-edit-resynthesizer is left
#   as is. The .deb comes from the sid pool of the host's Debian mirror (trixie has no resynthesizer), or from
#   $RESYNTHESIZER_DEB when that names a local gimp-plugin-registry .deb.
set -euo pipefail

ROOT="${1:-${SEMANTIC_EDIT_GIMP_ROOT:-$HOME/.cache/semantic-edit/gimp3-root}}"
MARKER="$ROOT/.semantic-edit-resynthesizer"
PACKAGE="gimp-plugin-registry"
DEB="${PACKAGE}_9.20240811_amd64.deb"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

log() { echo "add_resynthesizer: $*" >&2; }
die() { log "$*"; exit 1; }

if [[ -f "$MARKER" ]] && ls "$ROOT"/usr/lib/*/gimp/3.0/plug-ins/resynthesizer/resynthesizer >/dev/null 2>&1; then
    log "reusing $ROOT ($(cat "$MARKER"))"
    exit 0
fi
[[ "$(id -u)" == 0 ]] || { log "needs root (chroot, mount); run it as root"; exit 2; }
bash "$HERE/build_gimp_root.sh" "$ROOT" || die "could not build the GIMP root $ROOT (see above)"

MIRROR=""
[[ -f /etc/apt/sources.list.d/debian.sources ]] \
    && MIRROR=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
POOL="$MIRROR/pool/main/g/$PACKAGE"
fetch() { if command -v curl >/dev/null; then curl -fsSL -o "$2" "$1"; else wget -q -O "$2" "$1"; fi; }

TMPDIR_IN_ROOT="$ROOT/tmp/resynthesizer-deb"
MOUNTED=()
unmount_all() {
    for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do umount -l "${MOUNTED[i]}" || true; done
    rm -rf "$TMPDIR_IN_ROOT"
}
trap unmount_all EXIT
rm -rf "$TMPDIR_IN_ROOT" && mkdir -p "$TMPDIR_IN_ROOT"
if [[ -n "${RESYNTHESIZER_DEB:-}" ]]; then
    [[ -f "$RESYNTHESIZER_DEB" ]] || die "RESYNTHESIZER_DEB=$RESYNTHESIZER_DEB is not a file"
    DEB=$(basename "$RESYNTHESIZER_DEB") && cp "$RESYNTHESIZER_DEB" "$TMPDIR_IN_ROOT/$DEB"
elif ! fetch "$POOL/$DEB" "$TMPDIR_IN_ROOT/$DEB" 2>/dev/null; then
    # Another version may have replaced it in sid: take the newest amd64 one the pool folder lists.
    DEB=$(fetch "$POOL/" - 2>/dev/null | grep -o "${PACKAGE}_[^\"/]*_amd64\.deb" | sort -uV | tail -n 1 || true)
    [[ -n "$DEB" ]] || die "no $PACKAGE .deb at $POOL/ (the mirror has no sid pool, or lists no folders);" \
        "download one from a Debian sid mirror and pass it as RESYNTHESIZER_DEB=/path/to/${PACKAGE}_..._amd64.deb"
    fetch "$POOL/$DEB" "$TMPDIR_IN_ROOT/$DEB" || die "could not download $POOL/$DEB"
fi
log "installing $DEB into $ROOT"
for spec in "proc:$ROOT/proc" "/dev:$ROOT/dev"; do
    src="${spec%%:*}" dst="${spec#*:}"
    mountpoint -q "$dst" && continue
    if [[ "$src" == proc ]]; then mount -t proc proc "$dst"; else mount --bind "$src" "$dst"; fi \
        && MOUNTED+=("$dst") || log "warning: could not mount $dst; going on without it"
done

chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 \
    sh -c "install='apt-get install -y -q --no-install-recommends /tmp/resynthesizer-deb/$DEB';
           { \$install || { apt-get update -q && \$install; }; } && apt-get clean" \
    >"$ROOT/tmp/resynthesizer-apt.log" 2>&1 \
    || { tail -n 30 "$ROOT/tmp/resynthesizer-apt.log" >&2; die "apt-get install of $DEB inside $ROOT failed"; }
rm -f "$ROOT/tmp/resynthesizer-apt.log"
ls "$ROOT"/usr/lib/*/gimp/3.0/plug-ins/resynthesizer/resynthesizer >/dev/null 2>&1 \
    || die "$DEB installed, but no resynthesizer plug-in appeared in $ROOT/usr/lib/*/gimp/3.0/plug-ins"
version=$(chroot "$ROOT" /usr/bin/env -i PATH=/usr/bin:/bin LANG=C.UTF-8 dpkg-query -W -f='${Version}' "$PACKAGE")
echo "$PACKAGE $version, added $(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$MARKER"
log "done: $(cat "$MARKER")"
