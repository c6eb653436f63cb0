#!/bin/bash
# Builds the lxdts test image from Debian's busybox-static (/bin/busybox), offline.
#
# Usage: build-busybox-image.sh OUTDIR
# Writes:
#   OUTDIR/busybox.tar.xz      unified image: metadata.yaml + templates/ + rootfs/
#   OUTDIR/meta.tar.xz         split image, metadata part: metadata.yaml + templates/
#   OUTDIR/rootfs.squashfs     split image, rootfs part (squashfs, as LXD's compression_squashfs)
#   OUTDIR/rootfs.tar.xz       split image, rootfs part as a tarball (alternative to the squashfs)
#
# With SOURCE_DATE_EPOCH set, the outputs are byte-for-byte reproducible (same tools, same busybox): it becomes the
# metadata creation_date and every file's mtime, entries are sorted and owned by 0:0.
#
# Init: PID 1 is busybox init reading etc/inittab. It needs no shell: sysinit sets the hostname, and init itself
# stays up with no children. Stop signals (verified against busybox 1.35 init as PID 1 of a PID namespace):
#   SIGPWR  -> halt      SIGUSR1 -> halt      SIGUSR2 -> poweroff     SIGTERM -> reboot
#   SIGINT  -> runs the ::ctrlaltdel: entry (here: poweroff)          SIGHUP  -> re-reads inittab
# Each of halt/poweroff/reboot runs the ::shutdown: entries, sends TERM then KILL to all processes and calls
# reboot(2), which ends the PID namespace (init seen killed by SIGINT for halt/poweroff, by SIGHUP for reboot, which
# LXC reads as "restart"). So LXC's default halt signal (SIGPWR) gives a clean stop and no lxc.signal.halt override
# is needed; never stop such a container with SIGTERM. Checked with LXD 5.0.2: launch, templated hostname, and
# `lxc stop` halting in about 2 s (busybox waits 1 s between TERM and KILL).
set -euo pipefail

OUT=${1:?usage: build-busybox-image.sh OUTDIR}
BB=${BUSYBOX:-/bin/busybox}
ARCH=${ARCH:-$(uname -m)}
EPOCH=${SOURCE_DATE_EPOCH:-$(date +%s)}

for tool in tar xz mksquashfs; do
  command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 1; }
done
[ -x "$BB" ] || { echo "missing $BB (apt-get install busybox-static)" >&2; exit 1; }
if ldd "$BB" >/dev/null 2>&1; then
  echo "$BB is dynamically linked; the image needs busybox-static" >&2
  exit 1
fi

BANNER=$("$BB" 2>&1 || true)
VERSION=$(printf '%s\n' "$BANNER" | sed -n '1s/^BusyBox v\([0-9][0-9.]*\).*/\1/p')
RELEASE=$(echo "$VERSION" | cut -d. -f1-2)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/lxdts-bbimg.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
ROOT=$WORK/unified/rootfs
META=$WORK/unified

# --- rootfs ------------------------------------------------------------------------------------------------------
mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,etc,dev,proc,sys,tmp,root,mnt,run,var/log}
chmod 0755 "$ROOT" "$ROOT"/{bin,sbin,usr,usr/bin,usr/sbin,etc,dev,proc,sys,mnt,run,var,var/log}
chmod 1777 "$ROOT/tmp"
chmod 0700 "$ROOT/root"
install -m 0755 "$BB" "$ROOT/bin/busybox"

# One relative symlink per applet (bin/sh, sbin/init, usr/bin/env, ...), so the tree also works when inspected from
# the host.
"$BB" --list-full | while read -r applet; do
  [ "$applet" = bin/busybox ] && continue
  dir=$(dirname "$applet")
  mkdir -p "$ROOT/$dir"
  up=$(echo "$dir" | sed -e 's#[^/][^/]*#..#g')
  ln -sfn "$up/bin/busybox" "$ROOT/$applet"
done
[ -L "$ROOT/sbin/init" ] || { echo "busybox has no init applet" >&2; exit 1; }

cat >"$ROOT/etc/inittab" <<'EOF'
# busybox init, PID 1 of the container. No shell involved.
::sysinit:/bin/hostname -F /etc/hostname
# SIGINT (ctrl-alt-del) means power off; SIGPWR/SIGUSR1 halt, SIGUSR2 powers off, SIGTERM reboots.
::ctrlaltdel:/sbin/poweroff
::shutdown:/bin/sync
EOF

# udhcpc's event script (Debian busybox's default path), for containers on a managed bridge: `udhcpc -i eth0` configures
# the address, the default route and resolv.conf from the lease. Nothing runs it on its own.
mkdir -p "$ROOT/etc/udhcpc"
cat >"$ROOT/etc/udhcpc/default.script" <<'EOF'
#!/bin/sh
case "$1" in
  deconfig) ip -4 addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    [ -n "$router" ] && ip route replace default via "${router%% *}" dev "$interface"
    : >/etc/resolv.conf
    [ -n "$domain" ] && echo "search $domain" >>/etc/resolv.conf
    for d in $dns; do echo "nameserver $d" >>/etc/resolv.conf; done ;;
esac
exit 0
EOF
chmod 0755 "$ROOT/etc/udhcpc/default.script"

printf 'root:x:0:0:root:/root:/bin/sh\n' >"$ROOT/etc/passwd"
printf 'root:x:0:\n' >"$ROOT/etc/group"
printf 'busybox\n' >"$ROOT/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$ROOT/etc/hosts"
printf 'export PATH=/bin:/sbin:/usr/bin:/usr/sbin\n' >"$ROOT/etc/profile"
chmod 0644 "$ROOT"/etc/{inittab,passwd,group,hostname,hosts,profile}

# --- metadata ----------------------------------------------------------------------------------------------------
mkdir -p "$META/templates"
cat >"$META/metadata.yaml" <<EOF
architecture: $ARCH
creation_date: $EPOCH
properties:
  architecture: $ARCH
  description: Busybox $VERSION (lxdts test image)
  name: busybox
  os: busybox
  release: "$RELEASE"
templates:
  /etc/hostname:
    when:
      - create
      - copy
    create_only: false
    template: hostname.tpl
    properties: {}
  /etc/hosts:
    when:
      - create
      - copy
    create_only: false
    template: hosts.tpl
    properties: {}
EOF
printf '{{ container.name }}\n' >"$META/templates/hostname.tpl"
printf '127.0.0.1\tlocalhost\n127.0.1.1\t{{ container.name }}\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' \
  >"$META/templates/hosts.tpl"
chmod 0755 "$META/templates"
chmod 0644 "$META/metadata.yaml" "$META"/templates/*.tpl

# --- archives ----------------------------------------------------------------------------------------------------
# Reproducible tar: sorted names, fixed owner and mtime, GNU format (no pax headers carrying atimes or pids).
rtar() {
  local dir=$1 out=$2
  shift 2
  tar --format=gnu --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$EPOCH" \
    -C "$dir" -cf - "$@" | xz -c -T1 -6 >"$out.tmp"
  mv "$out.tmp" "$out"
}

mkdir -p "$OUT"
rtar "$META" "$OUT/busybox.tar.xz" metadata.yaml templates rootfs
rtar "$META" "$OUT/meta.tar.xz" metadata.yaml templates
rtar "$ROOT" "$OUT/rootfs.tar.xz" .
rm -f "$OUT/rootfs.squashfs"
# mksquashfs reads SOURCE_DATE_EPOCH itself and refuses the equivalent options alongside it.
times=()
[ -n "${SOURCE_DATE_EPOCH:-}" ] || times=(-mkfs-time "$EPOCH" -all-time "$EPOCH")
mksquashfs "$ROOT" "$OUT/rootfs.squashfs" -comp xz -all-root -no-xattrs -noappend -quiet "${times[@]}" >/dev/null

(cd "$OUT" && sha256sum busybox.tar.xz meta.tar.xz rootfs.squashfs rootfs.tar.xz)
unified=$(sha256sum "$OUT/busybox.tar.xz" | cut -d' ' -f1)
split=$(cat "$OUT/meta.tar.xz" "$OUT/rootfs.squashfs" | sha256sum | cut -d' ' -f1)
echo "fingerprint unified:         $unified"
echo "fingerprint split (squashfs): $split"
