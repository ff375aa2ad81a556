#!/bin/bash
# Build the uTNT guest kernel: Debian's kernel source (package linux-source-6.1), `make tinyconfig`
# plus scripts/guest-kernel.config (virtio-mmio, virtio-net, 9p, packet sockets, PVH; no modules).
# About 10 minutes on 2 cores the first time; cached outside the repository afterwards:
#
#   $UTNT_CACHE/guest-kernel/<key>/vmlinux   the kernel with its PVH entry (QEMU's microvm loads it)
#   $UTNT_CACHE/guest-kernel/<key>/bzImage   the same, compressed (the boot protocol)
#   $UTNT_CACHE/guest-kernel/<key>/config    the full configuration
#   $UTNT_CACHE/guest-kernel/current         -> <key>  (what scripts/build-vm-image.sh picks up)
#
# <key> is the source package's version and a hash of the configuration fragment: changing
# either builds a new kernel; an unchanged one is not rebuilt. UTNT_CACHE defaults to
# ~/.cache/utnt-lab. Usage: scripts/build-guest-kernel.sh   (make guest-kernel)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${UTNT_CACHE:-$HOME/.cache/utnt-lab}
FRAG=$ROOT/scripts/guest-kernel.config
TAR=$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -1 || true)
die() { echo "build-guest-kernel: $*" >&2; exit 1; }
[ -n "$TAR" ] || die "no kernel source in /usr/src; install it with: apt-get install linux-source-6.1 (make guest-kernel does)"
for t in gcc make flex bison bc; do command -v $t >/dev/null || die "$t missing (apt-get install build-essential flex bison bc libelf-dev)"; done
VER=$(dpkg-query -W -f='${Version}' "$(basename "$TAR" .tar.xz)" 2>/dev/null || stat -c %Y "$TAR")
KEY=$(basename "$TAR" .tar.xz)-$VER-$( (cat "$FRAG"; echo "$VER") | sha256sum | cut -c1-12)
DEST=$CACHE/guest-kernel/$KEY
if [ -s "$DEST/vmlinux" ] && [ -s "$DEST/bzImage" ]; then
    ln -sfn "$KEY" "$CACHE/guest-kernel/current"
    echo "build-guest-kernel: cached $DEST" >&2; echo "$DEST"; exit 0
fi
SRC=$CACHE/guest-kernel/src-$(basename "$TAR" .tar.xz)-$VER
if [ ! -f "$SRC/.unpacked" ]; then
    echo "build-guest-kernel: unpacking $TAR into $SRC" >&2
    rm -rf "$SRC"; mkdir -p "$SRC"
    tar -xJf "$TAR" -C "$SRC" --strip-components=1
    touch "$SRC/.unpacked"
fi
BUILD=$CACHE/guest-kernel/build-$KEY
mkdir -p "$BUILD"
JOBS=${JOBS:-$(nproc)}
M="make -s -C $SRC O=$BUILD ARCH=x86_64"
start=$(date +%s)
$M tinyconfig >/dev/null
"$SRC/scripts/kconfig/merge_config.sh" -m -O "$BUILD" "$BUILD/.config" "$FRAG" >/dev/null
$M olddefconfig >/dev/null
# every line of the fragment must have survived olddefconfig (a dependency missing drops it silently)
# (an option switched off may also vanish: its own dependencies are off)
bad=$(grep -E '^(CONFIG_[A-Z0-9_]+=.*|# CONFIG_[A-Z0-9_]+ is not set)$' "$FRAG" | while read -r l; do
        case "$l" in
            "# "*) o=${l#\# }; o=${o%% *}; ! grep -q "^$o=" "$BUILD/.config" || echo "$l" ;;
            *) grep -qxF "$l" "$BUILD/.config" || echo "$l" ;;
        esac; done)
[ -z "$bad" ] || die "the configuration dropped: $(echo $bad) (scripts/guest-kernel.config: a dependency is missing)"
echo "build-guest-kernel: building in $BUILD with $JOBS jobs (about 10 minutes on 2 cores)" >&2
nice -n 10 $M -j"$JOBS" vmlinux bzImage
mkdir -p "$DEST.tmp"
cp "$BUILD/vmlinux" "$DEST.tmp/vmlinux"
strip --strip-debug "$DEST.tmp/vmlinux" 2>/dev/null || true
cp "$BUILD/arch/x86/boot/bzImage" "$DEST.tmp/bzImage"
cp "$BUILD/.config" "$DEST.tmp/config"
echo "{\"source\": \"$(basename "$TAR")\", \"version\": \"$VER\", \"seconds\": $(( $(date +%s) - start ))}" > "$DEST.tmp/build.json"
rm -rf "$DEST"; mv "$DEST.tmp" "$DEST"
ln -sfn "$KEY" "$CACHE/guest-kernel/current"
echo "build-guest-kernel: $DEST (vmlinux $(stat -c %s "$DEST/vmlinux") B, bzImage $(stat -c %s "$DEST/bzImage") B)" >&2
echo "$DEST"
