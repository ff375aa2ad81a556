#!/bin/busybox sh
# /init of the qemu detector runtime's guests (packed by scripts/build-vm-image.sh).
#
# Kernel command line, the uTNT paper's convention:
#   netdev.ipv4_addr=A netdev.ipv4_gw_addr=G netdev.ipv4_subnet_mask=M -- <program> <args>
# <program>: traceroute (busybox, the kernel's stack), utnt (uTNT's own stack on a packet
# socket: the guest kernel holds no address) or tnt (the original TNT, when the image has it).
# Results go to the 9p share tagged fs0 (mounted on /out): result.txt or result.json, stderr.txt,
# status (the program's exit status). Then the guest powers itself off.
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
say() { echo "utnt-guest: $* uptime=$(cut -d' ' -f1 /proc/uptime)"; }
say init
for m in $(cat /lib/modules/order); do insmod /lib/modules/$m 2>/dev/null; done
for kv in $(cat /proc/cmdline); do
    case "$kv" in
        netdev.ipv4_addr=*) ADDR=${kv#*=} ;;
        netdev.ipv4_gw_addr=*) GW=${kv#*=} ;;
        netdev.ipv4_subnet_mask=*) MASK=${kv#*=} ;;
    esac
done
eval "$(ipcalc -p "$ADDR" "$MASK")"
OUT=/out
if ! mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 fs0 /out 2>/dev/null; then
    say "no 9p share fs0: results on the console only"
    OUT=/tmp
fi
ip link set lo up
ip link set eth0 up || say "no eth0"
say net
PROG=$1
[ $# -gt 0 ] && shift
case "$PROG" in
    traceroute)
        ip addr add "$ADDR/$PREFIX" dev eth0
        ip route add default via "$GW"
        say start
        traceroute -n "$@" > $OUT/result.txt 2> $OUT/stderr.txt
        echo $? > $OUT/status ;;
    utnt)
        MAC=$(cat /sys/class/net/eth0/address)
        say start
        PYTHONHOME=/usr PYTHONPATH=/app PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 -S -m utnt.cli \
            --iface eth0 --ip "$ADDR/$PREFIX" --gw "$GW" --mac "$MAC" --json "$@" \
            > $OUT/result.json 2> $OUT/stderr.txt
        echo $? > $OUT/status ;;
    tnt)
        ip addr add "$ADDR/$PREFIX" dev eth0
        ip route add default via "$GW"
        say start
        if [ -x /opt/tnt/bin/sc_tnt ]; then
            # scamper's privilege separation wants a user to drop to and /var/empty to chroot to
            mkdir -p /etc /var/empty
            echo 'root:x:0:0:root:/:/bin/sh' > /etc/passwd
            echo 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >> /etc/passwd
            printf 'root:x:0:\nnogroup:x:65534:\n' > /etc/group
            # and resolves "localhost" as it starts: without /etc/hosts the lookup goes to DNS,
            # fails, and scamper dies of a segfault (exit 139) before it opens its socket
            printf '127.0.0.1 localhost\n::1 localhost\n' > /etc/hosts
            # scamper listens on a control socket on the guest's own /tmp (a unix socket
            # cannot live on the 9p share), in the foreground as a job of ours rather than
            # detached by -D (which sends its errors to /dev/null: its death went unseen),
            # and sc_tnt waits for the socket rather than a fixed `sleep 1`
            SOCK=/tmp/scamper.sock
            /opt/tnt/bin/scamper -U $SOCK -p 1000 > $OUT/scamper.txt 2>&1 &
            SCAMPER=$!
            n=0
            while [ ! -S $SOCK ] && kill -0 $SCAMPER 2>/dev/null && [ $n -lt 600 ]; do
                sleep 0.1; n=$((n + 1))
            done
            if [ -S $SOCK ]; then
                say "scamper ready"
                /opt/tnt/bin/sc_tnt -U $SOCK -o $OUT/out.warts "$@" > $OUT/result.txt 2> $OUT/stderr.txt
                echo $? > $OUT/status
                kill $SCAMPER 2>/dev/null
                /opt/tnt/bin/sc_tnt -d 1 $OUT/out.warts >> $OUT/result.txt 2>> $OUT/stderr.txt
            else
                kill -0 $SCAMPER 2>/dev/null && { kill $SCAMPER; RC=running; } || { wait $SCAMPER; RC=$?; }
                echo "scamper's control socket $SOCK did not appear within $((n / 10)) s (scamper:" \
                    "$RC) $(tail -n 3 $OUT/scamper.txt | tr '\n' ' ')" > $OUT/stderr.txt
                echo 125 > $OUT/status
            fi
        else
            echo "this image holds no original TNT" > $OUT/stderr.txt; echo 127 > $OUT/status
        fi ;;
    *)
        echo "unknown program '$PROG' (traceroute, utnt or tnt)" > $OUT/stderr.txt
        echo 127 > $OUT/status ;;
esac
say "result status=$(cat $OUT/status)"
if [ "$OUT" = /tmp ]; then
    echo "----- utnt-guest output -----"; cat /tmp/result.* /tmp/stderr.txt 2>/dev/null
    echo "----- utnt-guest end -----"
fi
sync
umount /out 2>/dev/null
poweroff -f
