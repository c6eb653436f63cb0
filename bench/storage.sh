#!/usr/bin/env bash
# Storage operations on a btrfs loop pool, side by side: lxdts (own daemon on a temp LXD_DIR) and the real LXD 5.0.2
# anchor (/var/lib/lxd-anchor), through the real `lxc` client, same image, same pool settings on both:
#   launch     lxc launch bench-sbb bench-tI -p bench-sprof     (busybox, root disk on pool bench-bt)
#   snapshot   lxc snapshot bench-tI s0                          (running busybox)
#   copy       lxc copy --instance-only bench-tI bench-uI        (running busybox)
#   export     lxc export --instance-only bench-tI FILE          (gzip, LXD's default)
#   big_*      the same three on one container holding 200 MB of random data (BIG_MB), NB samples each
#   tar_gzip   `tar -cf - -C <rootfs> . | gzip -c > FILE` of the big container's rootfs on the host (the floor
#              an export is compared with), on the lxdts side
# Medians per op, ratio lxdts/LXD (target <= 0.5 for launch, snapshot, copy) and export / tar|gzip (target <= 1).
# Pool `bench-bt` (btrfs, size=$POOL_SIZE, a loop file), profile `bench-sprof`, image alias `bench-sbb` and
# bench-t*/bench-u*/bench-big are created on each daemon and removed at the end, also on failure or ^C.
# Env: N=5, NB=3, BIG_MB=200, POOL_SIZE=4GiB, DAEMONS="lxdts lxd", LXD_ANCHOR_DIR, ANCHOR_UP.
# Tools: bash, lxc 5.0.2, python3 (statistics), node (the lxdts daemon), tar, gzip.
set -euo pipefail
export LC_ALL=C
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
CLI="$REPO/apps/api/dist/cli/main.js"
N=${1:-${N:-5}}
NB=${NB:-3}
BIG_MB=${BIG_MB:-200}
POOL_SIZE=${POOL_SIZE:-4GiB}
read -r -a DAEMON_LIST <<<"${DAEMONS:-lxdts lxd}"
ANCHOR=${LXD_ANCHOR_DIR:-/var/lib/lxd-anchor}
ANCHOR_UP=${ANCHOR_UP:-/work/shared/anchors/lxd-up.sh}
ALIAS=bench-sbb
PROFILE=bench-sprof
POOL=bench-bt

for t in lxc python3 node tar gzip mkfs.btrfs; do command -v "$t" >/dev/null || { echo "missing tool: $t" >&2; exit 2; }; done
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RUN_DIR="$REPO/bench/results/storage-$STAMP"
mkdir -p "$RUN_DIR"
RAW="$RUN_DIR/raw.tsv"
FAILS="$RUN_DIR/failures.txt"
printf 'daemon\top\ti\tus\trc\n' >"$RAW"
: >"$FAILS"
WORK=$(mktemp -d /tmp/lxdts-bench-storage.XXXXXX)
chmod 711 "$WORK"
ERRF="$WORK/last.err"
TS_DIR="$WORK/lxd"
TS_PID=""
ANCHOR_FP=""
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"

timed() { # OP I CMD...
  local op=$1 i=$2 t0 t1 rc=0
  shift 2
  t0=${EPOCHREALTIME/./}
  "$@" >/dev/null 2>"$ERRF" </dev/null || rc=$?
  t1=${EPOCHREALTIME/./}
  printf '%s\t%s\t%s\t%s\t%s\n' "$DAEMON" "$op" "$i" "$((t1 - t0))" "$rc" >>"$RAW"
  [ "$rc" = 0 ] || printf '%s %s #%s rc=%s: %s\n' "$DAEMON" "$op" "$i" "$rc" "$(head -c 400 "$ERRF" | tr '\n' ' ')" >>"$FAILS"
  return 0
}

delete_bench_objects() {
  local names
  names=$(L list --format csv -c n 2>/dev/null </dev/null | grep -E '^bench-(t|u|big)' || true)
  # shellcheck disable=SC2086
  [ -z "$names" ] || L delete --force $names >/dev/null 2>&1 </dev/null || true
  Lq profile delete "$PROFILE" || true
  if [ "$DAEMON" = lxd ]; then
    [ -n "$ANCHOR_FP" ] && { Lq image delete "$ANCHOR_FP" || true; }
    Lq image alias delete "$ALIAS" || true
  fi
  Lq storage delete "$POOL" || true
}
cleanup() {
  set +e
  trap - EXIT INT TERM
  local d
  for d in "${DAEMON_LIST[@]}"; do
    DAEMON=$d
    if [ "$d" = lxd ]; then DIR=$ANCHOR; else DIR=$TS_DIR; fi
    if [ "$d" = lxdts ] && { [ -z "$TS_PID" ] || ! kill -0 "$TS_PID" 2>/dev/null; }; then continue; fi
    [ -S "$DIR/unix.socket" ] && delete_bench_objects
  done
  stop_lxdts
  # A pool the daemon could not delete: unmount it (its loop device goes with it).
  for m in $(findmnt -rn -o TARGET | grep "^$WORK" | sort -r); do umount "$m" || umount -l "$m"; done
  if findmnt -rn -o TARGET | grep -q "^$WORK"; then log "mounts left under $WORK; not removing it"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

build_bench_image

prepare() {
  if Lq storage show "$POOL" || Lq profile show "$PROFILE" || Lq image alias show "$ALIAS"; then
    echo "$DAEMON: pool $POOL, profile $PROFILE or alias $ALIAS already exist (another run?)" >&2
    return 1
  fi
  L storage create "$POOL" btrfs size="$POOL_SIZE" >/dev/null </dev/null || return 1
  import_bench_image "$ALIAS" || return 1
  L profile create "$PROFILE" >/dev/null </dev/null || return 1
  L profile device add "$PROFILE" root disk path=/ pool="$POOL" >/dev/null </dev/null || return 1
}
pool_dir() { if [ "$DAEMON" = lxd ]; then echo "$ANCHOR/storage-pools/$POOL"; else echo "$TS_DIR/storage-pools/$POOL"; fi; }

scenario() {
  local i out="$WORK/export-$DAEMON.tar.gz"
  # Warm-up (untimed): the image is unpacked into the pool once.
  Lq launch "$ALIAS" bench-tw -p "$PROFILE" || true
  Lq delete --force bench-tw || true
  log "$DAEMON: launch, snapshot, copy, export x$N (busybox)"
  for ((i = 1; i <= N; i++)); do timed launch "$i" L launch "$ALIAS" "bench-t$i" -p "$PROFILE"; done
  for ((i = 1; i <= N; i++)); do timed snapshot "$i" L snapshot "bench-t$i" s0; done
  for ((i = 1; i <= N; i++)); do timed copy "$i" L copy --instance-only "bench-t$i" "bench-u$i"; done
  for ((i = 1; i <= N; i++)); do timed export "$i" L export --instance-only "bench-t$i" "$out"; rm -f "$out"; done
  log "$DAEMON: $BIG_MB MB container: snapshot, copy, export x$NB"
  L launch "$ALIAS" bench-big -p "$PROFILE" >/dev/null </dev/null
  L exec bench-big -- dd if=/dev/urandom of=/root/big bs=1M count="$BIG_MB" >/dev/null 2>&1 </dev/null
  sync
  for ((i = 1; i <= NB; i++)); do timed big_snapshot "$i" L snapshot bench-big "s$i"; done
  for ((i = 1; i <= NB; i++)); do timed big_copy "$i" L copy --instance-only bench-big "bench-ubig$i"; done
  for ((i = 1; i <= NB; i++)); do timed big_export "$i" L export --instance-only bench-big "$out"; rm -f "$out"; done
  if [ "$DAEMON" = lxdts ]; then
    local rootfs
    rootfs="$(pool_dir)/containers/bench-big/rootfs"
    for ((i = 1; i <= NB; i++)); do timed tar_gzip "$i" bash -c "tar -cf - -C '$rootfs' . | gzip -c > '$out'"; rm -f "$out"; done
  fi
}

for d in "${DAEMON_LIST[@]}"; do
  DAEMON=$d
  if [ "$d" = lxd ]; then
    ensure_anchor
    DIR=$ANCHOR
  else
    start_lxdts || { tail -30 "$WORK/lxdts-daemon.log" >&2; exit 1; }
    DIR=$TS_DIR
  fi
  prepare
  scenario
  delete_bench_objects
  [ "$d" = lxdts ] && stop_lxdts
done

python3 - "$RAW" "$RUN_DIR" "$BIG_MB" <<'PY'
import collections, json, os, statistics, sys
raw, run_dir, big = sys.argv[1], sys.argv[2], sys.argv[3] + " MB"
ok, bad, daemons = collections.defaultdict(list), collections.Counter(), []
for line in list(open(raw))[1:]:
    d, op, i, us, rc = line.rstrip("\n").split("\t")
    if d not in daemons: daemons.append(d)
    (ok[(d, op)].append(int(us) / 1000) if rc == "0" else bad.update([(d, op)]))
OPS = [("launch", "lxc launch (busybox)"), ("snapshot", "lxc snapshot (busybox)"), ("copy", "lxc copy (busybox)"),
       ("export", "lxc export (busybox)"), ("big_snapshot", f"lxc snapshot ({big})"), ("big_copy", f"lxc copy ({big})"),
       ("big_export", f"lxc export ({big})"), ("tar_gzip", f"tar | gzip ({big} rootfs)")]
res = {"ops": {}, "ratios": {}}
print(f"{'op':<28}" + "".join(f"{d + ' median ms':>20}{'n':>4}" for d in daemons))
for op, label in OPS:
    row = f"{label:<28}"
    for d in daemons:
        v = sorted(ok.get((d, op), []))
        e = {"ok": len(v), "failed": bad.get((d, op), 0)}
        if v: e["median_ms"] = statistics.median(v)
        res["ops"].setdefault(op, {})[d] = e
        row += f"{(e['median_ms'] if v else float('nan')):>20.1f}{len(v):>4}" if v else f"{'':>20}{'-':>4}"
    print(row)
if "lxdts" in daemons and "lxd" in daemons:
    print()
    print(f"{'op':<28}{'lxdts/LXD':>12}  target")
    for op, label in OPS[:-1]:
        a, b = res["ops"][op].get("lxdts", {}), res["ops"][op].get("lxd", {})
        if "median_ms" in a and "median_ms" in b:
            q = a["median_ms"] / b["median_ms"]; res["ratios"][op] = q
            target = "<= 0.5 " + ("yes" if q <= 0.5 else "NO") if "export" not in op else "-"
            print(f"{label:<28}{q:>12.2f}  {target}")
    e, t = res["ops"]["big_export"].get("lxdts", {}), res["ops"]["tar_gzip"].get("lxdts", {})
    if "median_ms" in e and "median_ms" in t:
        q = e["median_ms"] / t["median_ms"]; res["ratios"]["export_vs_tar_gzip"] = q
        print(f"{'lxdts export / tar|gzip':<28}{q:>12.2f}  <= 1 " + ("yes" if q <= 1 else "NO"))
json.dump(res, open(os.path.join(run_dir, "summary.json"), "w"), indent=1)
PY
if [ -s "$FAILS" ]; then echo "failures:"; head -20 "$FAILS"; fi
echo "results: $RUN_DIR"
