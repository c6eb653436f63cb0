#!/usr/bin/env bash
# Time from `lxc launch` to the container holding an IPv4 lease on a managed bridge, side by side: lxdts (own daemon
# on a temp LXD_DIR) and the real LXD 5.0.2 anchor, same image (e2e/images/build-busybox-image.sh, whose udhcpc event
# script configures eth0), same bridge settings (ipv4.address=$SUBNET.1/24 ipv4.nat=true ipv6.address=none), one
# side after the other so both use the same subnet. A sample: `lxc launch IMG bench-nI -n bench-nbr` then
# `lxc exec bench-nI -- udhcpc -i eth0 -q -n` until the lease is bound, wall clock of both.
# Median of N per daemon and the ratio lxdts/LXD (issue 6's target: at most 0.5).
# Env: N=10, SUBNET=10.213.61, DAEMONS="lxdts lxd", LXD_ANCHOR_DIR, ANCHOR_UP. Results in bench/results/network-*.
# Tools: bash, lxc 5.0.2, python3 (statistics), node (lxdts).
set -euo pipefail
export LC_ALL=C
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
CLI="$REPO/apps/api/dist/cli/main.js"
N=${1:-${N:-10}}
SUBNET=${SUBNET:-10.213.61}
read -r -a DAEMON_LIST <<<"${DAEMONS:-lxdts lxd}"
ANCHOR=${LXD_ANCHOR_DIR:-/var/lib/lxd-anchor}
ANCHOR_UP=${ANCHOR_UP:-/work/shared/anchors/lxd-up.sh}
ALIAS=bench-nbb
NET=bench-nbr

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RUN_DIR="$REPO/bench/results/network-$STAMP"
mkdir -p "$RUN_DIR"
RAW="$RUN_DIR/raw.tsv"
printf 'daemon\ti\tms\trc\n' >"$RAW"
WORK=$(mktemp -d /tmp/lxdts-bench-net.XXXXXX)
chmod 711 "$WORK"
TS_DIR="$WORK/lxd"
TS_PID=""
ANCHOR_FP=""
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"

cleanup_side() {
  local names
  names=$(L list --format csv -c n 2>/dev/null </dev/null | grep '^bench-n' || true)
  # shellcheck disable=SC2086
  [ -z "$names" ] || L delete --force $names >/dev/null 2>&1 </dev/null || true
  Lq network delete "$NET" || true
  if [ "$DAEMON" = lxd ]; then
    [ -n "$ANCHOR_FP" ] && { Lq image delete "$ANCHOR_FP" || true; }
    Lq image alias delete "$ALIAS" || true
  fi
}
cleanup() {
  set +e
  trap - EXIT INT TERM
  for d in "${DAEMON_LIST[@]}"; do
    DAEMON=$d
    if [ "$d" = lxd ]; then DIR=$ANCHOR; else DIR=$TS_DIR; fi
    if [ "$d" = lxdts ] && { [ -z "$TS_PID" ] || ! kill -0 "$TS_PID" 2>/dev/null; }; then continue; fi
    [ -S "$DIR/unix.socket" ] && cleanup_side
  done
  stop_lxdts
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

build_bench_image

for d in "${DAEMON_LIST[@]}"; do
  DAEMON=$d
  if [ "$d" = lxd ]; then ensure_anchor; DIR=$ANCHOR; else start_lxdts || { tail -30 "$WORK/lxdts-daemon.log" >&2; exit 1; }; DIR=$TS_DIR; fi
  import_bench_image "$ALIAS"
  L network create "$NET" ipv4.address="$SUBNET.1/24" ipv4.nat=true ipv6.address=none >/dev/null </dev/null
  # Warm-up (untimed): the image unpacked, the first start done.
  Lq launch "$ALIAS" bench-nw -n "$NET" || true
  Lq delete --force bench-nw || true
  log "$d: launch -> lease x$N"
  for ((i = 1; i <= N; i++)); do
    rc=0
    t0=${EPOCHREALTIME/./}
    { L launch "$ALIAS" "bench-n$i" -n "$NET" && L exec "bench-n$i" -- udhcpc -i eth0 -q -n -t 20 -T 1; } >/dev/null 2>&1 </dev/null || rc=$?
    t1=${EPOCHREALTIME/./}
    printf '%s\t%s\t%s\t%s\n' "$d" "$i" "$(((t1 - t0) / 1000))" "$rc" >>"$RAW"
  done
  cleanup_side
  [ "$d" = lxdts ] && stop_lxdts
done

python3 - "$RAW" "$RUN_DIR" <<'PY'
import collections, json, os, statistics, sys
raw, run_dir = sys.argv[1], sys.argv[2]
ok = collections.defaultdict(list); bad = collections.Counter()
for line in list(open(raw))[1:]:
    d, i, ms, rc = line.rstrip("\n").split("\t")
    (ok[d].append(int(ms)) if rc == "0" else bad.update([d]))
res = {d: {"median_ms": statistics.median(v), "n": len(v), "failed": bad[d]} for d, v in ok.items() if v}
for d, r in res.items(): print(f"{d:<6} launch -> IPv4 lease: median {r['median_ms']:.0f} ms over {r['n']} ({r['failed']} failed)")
if "lxdts" in res and "lxd" in res:
    q = res["lxdts"]["median_ms"] / res["lxd"]["median_ms"]
    print(f"ratio lxdts/LXD: {q:.2f}  (target <= 0.5: {'yes' if q <= 0.5 else 'NO'})"); res["ratio"] = q
json.dump(res, open(os.path.join(run_dir, "summary.json"), "w"), indent=1)
PY
echo "results: $RUN_DIR"
