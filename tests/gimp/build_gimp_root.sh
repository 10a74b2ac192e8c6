#!/usr/bin/env bash
# Builds (or reuses) a Debian 13 "trixie" root folder with GIMP 3 and its Python, for the real-GIMP end-to-end test.
#
# Usage: tests/gimp/build_gimp_root.sh [ROOT]
#   ROOT defaults to ${SEMANTIC_EDIT_GIMP_ROOT:-$HOME/.cache/semantic-edit/gimp3-root}; keep it outside the checkout.
#
# The host stays untouched (trixie's libc never enters it): debootstrap a minbase trixie from the host's own Debian
# mirror, then apt-get GIMP inside with chroot. Needs root. About 90 s and 820 MB the first time; a finished root
# (marked by .semantic-edit-gimp-root) is reused as is. See docs/gimp3-headless.md for the recipe this follows.
set -euo pipefail

ROOT="${1:-${SEMANTIC_EDIT_GIMP_ROOT:-$HOME/.cache/semantic-edit/gimp3-root}}"
MARKER="$ROOT/.semantic-edit-gimp-root"
PACKAGES="gimp python3-gi gir1.2-gimp-3.0 gir1.2-gegl-0.4 gir1.2-babl-0.1"

log() { echo "build_gimp_root: $*" >&2; }

if [[ -f "$MARKER" && -x "$ROOT/usr/bin/gimp-console-3.0" ]]; then
    log "reusing $ROOT ($(cat "$MARKER"))"
    exit 0
fi
if [[ "$(id -u)" != 0 ]]; then
    log "needs root (debootstrap and chroot); run it as root or set SEMANTIC_EDIT_GIMP_ROOT to a ready root"
    exit 2
fi

if ! command -v debootstrap >/dev/null; then
    log "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y debootstrap >/dev/null \
        || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y debootstrap >/dev/null; }
fi

# The host's own Debian mirror when the host is Debian (deb822 sources first, then the one-line format); else the
# public one (e.g. on an Ubuntu CI runner, whose own mirror has no trixie).
MIRROR=""
if grep -qs '^ID=debian' /etc/os-release; then
    if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
        MIRROR=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
    fi
    if [[ -z "$MIRROR" && -f /etc/apt/sources.list ]]; then
        MIRROR=$(awk '$1=="deb" && $0 !~ /security/ {for (i=2;i<=NF;i++) if ($i ~ /^https?:/) {print $i; exit}}' \
            /etc/apt/sources.list)
    fi
fi
MIRROR="${MIRROR:-http://deb.debian.org/debian}"

# An older debootstrap (or a non-Debian host's) may not know trixie by name: its sid script works for it. A non-Debian
# host needs Debian's archive keyring to check the packages.
DEBOOTSTRAP_ARGS=(--variant=minbase)
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
if [[ ! -f "$KEYRING" ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y debian-archive-keyring >/dev/null 2>&1 || true
fi
[[ -f "$KEYRING" ]] && DEBOOTSTRAP_ARGS+=(--keyring="$KEYRING")
SCRIPT=()
if [[ ! -e /usr/share/debootstrap/scripts/trixie && -e /usr/share/debootstrap/scripts/sid ]]; then
    SCRIPT=(/usr/share/debootstrap/scripts/sid)
fi

# Build beside the final folder, then rename: an interrupted build never looks finished.
WORK="$ROOT.partial"
unmount_all() {
    for m in "$WORK/dev/pts" "$WORK/dev" "$WORK/proc"; do
        if mountpoint -q "$m" 2>/dev/null; then umount -l "$m" || true; fi
    done
}
trap unmount_all EXIT

unmount_all
rm -rf "$WORK"
mkdir -p "$(dirname "$ROOT")"
start=$(date +%s)
log "debootstrap trixie from $MIRROR into $WORK"
debootstrap "${DEBOOTSTRAP_ARGS[@]}" trixie "$WORK" "$MIRROR" "${SCRIPT[@]}" >"$WORK.debootstrap.log" 2>&1 \
    || { tail -n 30 "$WORK.debootstrap.log" >&2; exit 1; }
rm -f "$WORK.debootstrap.log"

cp /etc/resolv.conf "$WORK/etc/resolv.conf" 2>/dev/null || true
# apt and dpkg want /proc and /dev; a container without the right to mount still gets through, with warnings.
mount -t proc proc "$WORK/proc" || log "warning: could not mount /proc in the root; going on without it"
mount --bind /dev "$WORK/dev" || log "warning: could not bind /dev in the root; going on without it"
log "apt-get install $PACKAGES"
chroot "$WORK" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 \
    sh -c "apt-get update -q && apt-get install -y -q --no-install-recommends $PACKAGES && apt-get clean" \
    >"$WORK.apt.log" 2>&1 || { tail -n 30 "$WORK.apt.log" >&2; exit 1; }
rm -f "$WORK.apt.log"
unmount_all

version=$(chroot "$WORK" /usr/bin/env -i PATH=/usr/bin:/bin LANG=C.UTF-8 dpkg-query -W -f='${Version}' gimp)
python=$(chroot "$WORK" /usr/bin/env -i PATH=/usr/bin:/bin LANG=C.UTF-8 python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
echo "gimp $version, python $python, built $(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$WORK/.semantic-edit-gimp-root"
rm -rf "$ROOT"
mv "$WORK" "$ROOT"
log "built $ROOT in $(( $(date +%s) - start )) s: $(cat "$MARKER")"
