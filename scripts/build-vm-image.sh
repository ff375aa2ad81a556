#!/bin/bash
# Build the micro-VM guests of the qemu detector runtime (testbed/runtimes/qemu/):
#
#   build/vm/vmlinuz                Debian's kernel (package linux-image-amd64), as installed
#   build/vm/vmlinux                the same, uncompressed (PVH entry; boots faster under TCG)
#   build/vm/initramfs-tiny.cpio.gz busybox-static, the virtio-net and 9p modules, /init:
#                                   the smallest guest (busybox traceroute)
#   build/vm/initramfs-utnt.cpio.gz the same plus uTNT and a minimal Python: Debian's
#                                   /usr/bin/python3.11, the shared libraries it links, and only
#                                   the standard-library modules uTNT imports (found by
#                                   scripts/vm_stdlib.py, compiled into one zip)
#   build/vm/initramfs-tnt.cpio.gz  the tiny guest plus the original TNT's scamper + sc_tnt, only
#                                   when /opt/tnt-peer/bin has them (a local build packed at build
#                                   time, never committed)
#   build/vm/micro/vmlinux, bzImage the micro guest's kernel (scripts/build-guest-kernel.sh, make
#                                   guest-kernel), copied from its cache, only when it is built
#   build/vm/initramfs-utnt-micro.cpio  with it: /init (testbed/runtimes/qemu/guest-init.c, no
#                                   shell), the same Python and uTNT; the standard library as
#                                   sourceless .pyc files; compressed as $MICRO_COMPRESS says
#   build/vm/image.json             sizes, kernel version, modules, what each image holds
#
# Usage: scripts/build-vm-image.sh [OUT_DIR]     (make vm-image; needs `make vm` first)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$ROOT/build/vm}
PY=/usr/bin/python3.11
TNT_BIN=${TNT_PEER_BIN:-/opt/tnt-peer/bin}
# the micro guest's kernel (build-guest-kernel.sh's cache) and its initramfs compression:
# none (the kernel unpacks it fastest under TCG) | gzip | zstd | xz (smallest, slowest to unpack)
MICRO_KERNEL=${UTNT_GUEST_KERNEL:-${UTNT_CACHE:-$HOME/.cache/utnt-lab}/guest-kernel/current}
MICRO_COMPRESS=${MICRO_COMPRESS:-zstd}

die() { echo "build-vm-image: $*" >&2; exit 1; }
KERNEL=$(ls /boot/vmlinuz-*-amd64 2>/dev/null | sort -V | tail -1 || true)
[ -n "$KERNEL" ] || die "no Debian kernel in /boot; install it with: make vm (apt-get install linux-image-amd64)"
KVER=${KERNEL#/boot/vmlinuz-}
[ -d /lib/modules/$KVER ] || die "/lib/modules/$KVER missing; reinstall linux-image-$KVER"
[ -x /bin/busybox ] || die "/bin/busybox missing; install it with: make vm (apt-get install busybox-static)"
file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' || ldd /bin/busybox 2>&1 | grep -q 'not a dynamic' \
    || die "/bin/busybox is not static; install busybox-static"
[ -x $PY ] || die "$PY missing (Debian's python3.11; apt-get install python3.11)"
command -v cpio >/dev/null || die "cpio missing (apt-get install cpio)"

mkdir -p "$OUT"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# ------------------------------------------------------------------ the tiny guest
base() {   # $1: root folder
    local R=$1
    mkdir -p $R/bin $R/sbin $R/proc $R/sys $R/dev $R/out $R/tmp $R/lib/modules
    cp /bin/busybox $R/bin/busybox
    # virtio-mmio (microvm) and virtio-pci (pc) transports, virtio-net, 9p over virtio
    for m in virtio_mmio virtio_pci virtio_net 9pnet_virtio 9p; do
        modprobe -S $KVER --show-depends $m 2>/dev/null
    done | awk '$1 == "insmod" {print $2}' | awk '!seen[$0]++' > $WORK/mods
    [ -s $WORK/mods ] || die "modprobe found no virtio/9p modules for $KVER"
    : > $R/lib/modules/order
    while read -r m; do
        cp "$m" $R/lib/modules/
        basename "$m" >> $R/lib/modules/order
    done < $WORK/mods
    cp "$ROOT/testbed/runtimes/qemu/guest-init.sh" $R/init
    chmod 755 $R/init
}
pack() {   # $1: root folder, $2: output file, $3: compressor (gzip by default)
    (cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | case ${3:-gzip} in
        gzip) gzip -9 ;; zstd) zstd -q -19 -T1 ;; xz) xz -q -9 --check=crc32 ;; none) cat ;;
        *) die "MICRO_COMPRESS=$3: choose none, gzip, zstd or xz" ;; esac > "$2"
}

echo "build-vm-image: kernel $KERNEL" >&2
cp "$KERNEL" "$OUT/vmlinuz"
$PY -S "$ROOT/scripts/vm_kernel.py" "$OUT/vmlinuz" "$OUT/vmlinux" || rm -f "$OUT/vmlinux"
T=$WORK/tiny
base $T
pack $T "$OUT/initramfs-tiny.cpio.gz"

# ------------------------------------------------------------------ the uTNT guest
U=$WORK/utnt
base $U
mkdir -p $U/usr/bin $U/usr/lib/python3.11/lib-dynload $U/app $U/lib64 $U/lib/x86_64-linux-gnu
cp $PY $U/usr/bin/python3
for lib in $(ldd $PY | awk '/=>/ {print $3} /ld-linux/ {print $1}'); do
    cp -L "$lib" "$U$lib"
done
# the detector: uTNT; and, only while uTNT still imports it, the testbed's wire package (its
# checksum and ICMP parser); nothing else of the testbed goes in
cp -r "$ROOT/utnt" $U/app/utnt
if grep -rqE '^\s*(from|import) testbed' "$ROOT/utnt"; then
    mkdir -p $U/app/testbed
    cp "$ROOT/testbed/__init__.py" $U/app/testbed/
    cp -r "$ROOT/testbed/wire" $U/app/testbed/wire
    echo "build-vm-image: uTNT imports testbed.wire: the guest carries testbed/wire too" >&2
fi
find $U/app -name __pycache__ -prune -exec rm -rf {} +
# the standard library modules uTNT needs (scripts/vm_stdlib.py), compiled into one zip
$PY -S "$ROOT/scripts/vm_stdlib.py" "$U/app" "$U/usr/lib/python311.zip" "$U/usr/lib/python3.11/lib-dynload" \
    > $WORK/stdlib.txt
# uTNT itself as compiled bytecode as well (sources stay: tracebacks name lines), at the
# optimization level the guest runs it (0): an -O2 .pyc would be ignored and every boot would
# compile uTNT again
$PY -S -m compileall -q $U/app >/dev/null
pack $U "$OUT/initramfs-utnt.cpio.gz"

# ------------------------------------------------------------------ the micro uTNT guest
# Our own kernel (no modules: virtio, 9p and packet sockets built in) and an /init in C: no
# busybox, no shell; the same Python and uTNT as the uTNT guest, its stdlib as plain .pyc files.
# build/vm/snap: warm snapshots of the micro guest (testbed/runtimes/qemu), made from the image they
# were booted from: a new image, new snapshots
rm -rf "$OUT/micro" "$OUT"/initramfs-utnt-micro.cpio* "$OUT/snap"
MICRO=no
if [ -s "$MICRO_KERNEL/vmlinux" ] && [ -s "$MICRO_KERNEL/bzImage" ]; then
    command -v gcc >/dev/null || die "gcc missing: the micro guest's /init is C (apt-get install gcc)"
    [ "$MICRO_COMPRESS" = none ] || command -v "${MICRO_COMPRESS}" >/dev/null \
        || die "$MICRO_COMPRESS missing (apt-get install $MICRO_COMPRESS, or MICRO_COMPRESS=gzip)"
    mkdir -p "$OUT/micro"
    cp "$MICRO_KERNEL/vmlinux" "$MICRO_KERNEL/bzImage" "$OUT/micro/"
    cp "$MICRO_KERNEL/config" "$OUT/micro/config" 2>/dev/null || true
    M=$WORK/micro
    mkdir -p $M/proc $M/sys $M/dev $M/out $M/tmp $M/usr/bin $M/usr/lib/python3.11/lib-dynload $M/lib64 \
        $M/lib/x86_64-linux-gnu
    gcc -Os -Wall -Wextra -Werror -o $M/init "$ROOT/testbed/runtimes/qemu/guest-init.c"
    strip $M/init
    # everything /init and Python link must be in the image
    for lib in $(ldd $M/init | awk '/=>/ {print $3}'); do
        [ -e "$U$lib" ] || die "the micro /init links $lib, which the guest's Python does not carry"
    done
    cp -a $U/usr/bin $M/usr/
    cp -a $U/lib64 $U/lib $M/
    rm -rf $M/lib/modules
    cp -a $U/app $M/app
    cp -a $U/usr/lib/python3.11/lib-dynload/. $M/usr/lib/python3.11/lib-dynload/
    $PY -S "$ROOT/scripts/vm_stdlib.py" "$M/app" "$M/usr/lib/python3.11/" "$M/usr/lib/python3.11/lib-dynload" \
        > $WORK/stdlib-micro.txt
    EXT=$(case $MICRO_COMPRESS in gzip) echo .gz ;; zstd) echo .zst ;; xz) echo .xz ;; *) echo ;; esac)
    pack $M "$OUT/initramfs-utnt-micro.cpio$EXT" "$MICRO_COMPRESS"
    MICRO=initramfs-utnt-micro.cpio$EXT
    echo "build-vm-image: micro guest: kernel $(readlink -f "$MICRO_KERNEL"), initramfs $MICRO_COMPRESS" >&2
else
    echo "build-vm-image: no micro guest kernel in $MICRO_KERNEL (make guest-kernel builds it): no micro guest" >&2
fi

# ------------------------------------------------------------------ the TNT guest (optional)
WITH_TNT=no
rm -f "$OUT/initramfs-tnt.cpio.gz"
if [ -x "$TNT_BIN/scamper" ] && [ -x "$TNT_BIN/sc_tnt" ]; then
    X=$WORK/tnt
    base $X
    mkdir -p $X/opt/tnt/bin $X/lib64
    cp /lib64/ld-linux-x86-64.so.2 $X/lib64/
    for b in scamper sc_tnt; do
        cp "$TNT_BIN/$b" $X/opt/tnt/bin/
        for lib in $(ldd "$TNT_BIN/$b" | awk '/=>/ {print $3}'); do
            mkdir -p "$X$(dirname $lib)"; cp -L "$lib" "$X$lib"
        done
    done
    pack $X "$OUT/initramfs-tnt.cpio.gz"
    WITH_TNT=yes
    echo "build-vm-image: the original TNT from $TNT_BIN (a local build, packed here, never committed)" >&2
else
    echo "build-vm-image: no original TNT in $TNT_BIN: no TNT guest" >&2
fi

$PY -S - "$OUT" "$KVER" "$WITH_TNT" "$WORK/mods" "$WORK/stdlib.txt" "$MICRO" "$WORK/stdlib-micro.txt" <<'EOF'
import json, os, sys
out, kver, tnt, mods, std, micro, std_micro = sys.argv[1:8]
size = lambda f: os.path.getsize(os.path.join(out, f))
stdlib, _, ext = open(std).read().strip().partition(" | ")
doc = {"kernel": kver, "kernel_file": "vmlinuz", "kernel_bytes": size("vmlinuz"),
       "vmlinux_bytes": size("vmlinux") if os.path.exists(os.path.join(out, "vmlinux")) else None,
       "modules": [os.path.basename(l.strip()) for l in open(mods) if l.strip()],
       "images": {
           "tiny": {"initramfs": "initramfs-tiny.cpio.gz", "initramfs_bytes": size("initramfs-tiny.cpio.gz"),
                    "holds": "busybox-static, virtio and 9p modules, /init"},
           "utnt": {"initramfs": "initramfs-utnt.cpio.gz", "initramfs_bytes": size("initramfs-utnt.cpio.gz"),
                    "holds": "the tiny guest + Debian python3.11 with %d stdlib modules, uTNT"
                             % len(stdlib.split()),
                    "stdlib": stdlib.split(), "extensions": ext.split()}}}
if tnt == "yes":
    doc["images"]["tnt"] = {"initramfs": "initramfs-tnt.cpio.gz", "initramfs_bytes": size("initramfs-tnt.cpio.gz"),
                            "holds": "the tiny guest + the original TNT (scamper, sc_tnt) and their libraries"}
if micro != "no":
    cfg = os.path.join(out, "micro", "config")
    ver = None
    if os.path.exists(cfg):
        for ln in open(cfg):
            if ln.startswith("# Linux/x86"):
                ver = ln.split()[2]
    mstd = open(std_micro).read().strip().partition(" | ")[0].split()
    doc["images"]["utnt-micro"] = {
        "initramfs": micro, "initramfs_bytes": size(micro), "kernel": ver, "kernel_file": "micro/vmlinux",
        "kernel_bytes": size("micro/bzImage"), "vmlinux_bytes": size("micro/vmlinux"),
        "holds": "our kernel (tinyconfig + virtio-mmio, virtio-net, 9p, packet sockets; no modules), /init in C, "
                 "Debian python3.11 with %d stdlib modules as .pyc, uTNT" % len(mstd), "stdlib": mstd}
json.dump(doc, open(os.path.join(out, "image.json"), "w"), indent=2)
for k, v in doc["images"].items():
    kb = v.get("kernel_bytes", doc["kernel_bytes"])
    print(f"build-vm-image: {k}: kernel {kb/1e6:.2f} MB + initramfs {v['initramfs_bytes']/1e6:.2f} MB"
          f" = {(kb + v['initramfs_bytes'])/1e6:.2f} MB ({v['holds']})", file=sys.stderr)
EOF
echo "$OUT"
