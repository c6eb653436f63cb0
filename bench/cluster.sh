#!/usr/bin/env bash
# Cluster figures side by side: lxdts (3 members in network namespaces, bench/cluster-lxdts.mjs) and real LXD 5.0.2
# (the 3-member anchor cluster of /work/shared/anchors: lxd-cluster-up.sh + lxd-cluster-bench.sh, PHASES
# "writes failover"). Medians and the ratio lxdts / LXD (for rates: LXD / lxdts, so lower is better everywhere):
#   failover_write_ok_s        SIGKILL of the leader -> first write acknowledged through a survivor   (target <= 0.25)
#   failover_marked_offline_s  SIGKILL -> the dead member shown OFFLINE by a survivor                 (target <= 0.25)
#   write_keepalive_per_s_*    POST /1.0/profiles on one kept-alive connection, via leader / follower (target: 2x LXD)
#
#   sudo bench/cluster.sh [OUTDIR]      (build first: npm run build)
# Env: DAEMONS="lxdts lxd", ROUNDS=5 (lxdts failover rounds), FAILOVER_ROUNDS=3 (LXD's), WRITE_N=200,
#      ANCHORS=/work/shared/anchors, LXD_RESULTS=DIR (reuse an earlier lxd-cluster-bench.sh output instead of
#      running it). Output: OUTDIR (default bench/results/cluster-<timestamp>) with lxdts.txt,
#      lxd/raw.tsv and summary.txt.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${1:-$HERE/results/cluster-$(date -u +%Y%m%dT%H%M%SZ)}
ANCHORS=${ANCHORS:-/work/shared/anchors}
read -r -a DAEMON_LIST <<<"${DAEMONS:-lxdts lxd}"
export WRITE_N=${WRITE_N:-200} ROUNDS=${ROUNDS:-5}
mkdir -p "$OUT"
log() { printf '[cluster-bench] %s\n' "$*" >&2; }

for d in "${DAEMON_LIST[@]}"; do
  case $d in
    lxdts)
      log "lxdts: 3 members in network namespaces"
      node "$HERE/cluster-lxdts.mjs" | tee "$OUT/lxdts.txt" >&2 ;;
    lxd)
      if [ -n "${LXD_RESULTS:-}" ]; then cp -r "$LXD_RESULTS" "$OUT/lxd"; continue; fi
      log "LXD 5.0.2: anchor cluster (lxd-cluster-up.sh is idempotent)"
      bash "$ANCHORS/lxd-cluster-up.sh" >"$OUT/lxd-up.log" 2>&1
      PHASES="writes failover" FAILOVER_ROUNDS=${FAILOVER_ROUNDS:-3} WRITE_N=$WRITE_N \
        bash "$ANCHORS/lxd-cluster-bench.sh" "$OUT/lxd" >"$OUT/lxd-bench.log" 2>&1 ;;
    *) log "unknown daemon $d"; exit 2 ;;
  esac
done

python3 - "$OUT" <<'PY' | tee "$OUT/summary.txt"
import os, statistics, sys
out = sys.argv[1]
def median(v): return statistics.median(v) if v else None
ours, theirs = {}, {}
if os.path.exists(f"{out}/lxdts.txt"):
    for line in open(f"{out}/lxdts.txt"):
        parts = line.split()
        if len(parts) >= 2:
            ours.setdefault(parts[0], []).append(float(parts[1]))
if os.path.exists(f"{out}/lxd/raw.tsv"):
    for line in open(f"{out}/lxd/raw.tsv"):
        parts = line.rstrip("\n").split("\t")
        if len(parts) == 3:
            try: theirs.setdefault(parts[0], []).append(float(parts[2]))
            except ValueError: pass
rows = [  # (label, our key, LXD key, kind)
    ("failover: first write after leader SIGKILL (s)", "failover_write_ok_s", "failover_write_ok", "time"),
    ("dead member shown OFFLINE (s)", "failover_marked_offline_s", "failover_marked_offline", "time"),
    ("writes/s, keep-alive, via leader", "write_keepalive_per_s_leader", "write_keepalive_per_s_leader", "rate"),
    ("writes/s, keep-alive, via follower", "write_keepalive_per_s_follower", "write_keepalive_per_s_nonleader", "rate"),
    ("join of the 2nd member (s)", "join_2nd_s", None, "time"),
    ("join of the 3rd member (s)", "join_3rd_s", None, "time"),
]
print(f"{'figure':48} {'lxdts':>9} {'LXD':>9} {'ratio':>7}  (ratio: lxdts/LXD for times, LXD/lxdts for rates; lower is better)")
for label, ok, lk, kind in rows:
    a = median(ours.get(ok, [])); b = median(theirs.get(lk, [])) if lk else None
    ratio = None
    if a and b: ratio = a / b if kind == "time" else b / a
    f = lambda x: "n/a" if x is None else f"{x:.3f}"
    print(f"{label:48} {f(a):>9} {f(b):>9} {f(ratio):>7}")
PY
