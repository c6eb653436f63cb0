#!/usr/bin/env bash
# GET /1.0 latency over ONE kept-alive unix-socket connection: lxdts vs real LXD 5.0.2.
#
#   bench/get-1.0-keepalive.sh [N]          (default N=5000 requests per daemon, after 200 warm-up requests)
#
# lxdts: a temporary daemon on a fresh LXD_DIR (started and stopped here), unless LXDTS_SOCKET is set.
# LXD:   LXD_SOCKET (default /var/lib/lxd-anchor/unix.socket, the reference daemon); skipped when absent.
# ROUNDS (default 2) alternates the daemons A B A B… so that drift of the machine's speed hits both.
# Client: bench/ka_client.py (python3 standard library only); BENCH_CLIENT=curl uses curl's `time_total` instead.
# Output: a summary on stdout, JSON and raw samples in bench/results/ (git-ignored).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
N=${1:-5000}
ROUNDS=${ROUNDS:-2}
WARMUP=${WARMUP:-200}
CLIENT=${BENCH_CLIENT:-python}
LXD_SOCK=${LXD_SOCKET:-/var/lib/lxd-anchor/unix.socket}
OUT="$REPO/bench/results"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
RUN_DIR="$OUT/get-1.0-keepalive-$STAMP"
mkdir -p "$RUN_DIR"

TMP=""
PID=""
cleanup() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    LXD_DIR="$TMP/lxd" timeout 30 node "$REPO/apps/api/dist/cli/main.js" shutdown --timeout=20 >/dev/null 2>&1 || true
    for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$PID" 2>/dev/null && kill -KILL "$PID" 2>/dev/null || true
  fi
  [ -n "$TMP" ] && rm -rf "$TMP"
  return 0
}
trap cleanup EXIT INT TERM

if [ -n "${LXDTS_SOCKET:-}" ]; then
  TS_SOCK=$LXDTS_SOCKET
else
  [ -f "$REPO/apps/api/dist/cli/main.js" ] || { echo "build first: npm run build" >&2; exit 1; }
  TMP=$(mktemp -d /tmp/lxdts-bench.XXXXXX)
  LXD_DIR="$TMP/lxd" node "$REPO/apps/api/dist/cli/main.js" daemon >"$TMP/daemon.log" 2>&1 </dev/null &
  PID=$!
  LXD_DIR="$TMP/lxd" timeout 90 node "$REPO/apps/api/dist/cli/main.js" waitready --timeout=60
  TS_SOCK="$TMP/lxd/unix.socket"
fi

measure() { # name socket round → JSON line on stdout, samples in RUN_DIR
  local name=$1 sock=$2 round=$3 samples="$RUN_DIR/$1-round$3.samples"
  if [ "$CLIENT" = curl ]; then
    local urls=() i
    # One -o per URL (curl applies each -o to one URL); all URLs share one kept-alive connection.
    for ((i = 0; i < WARMUP + N; i++)); do urls+=(-o /dev/null "http://unix.socket/1.0"); done
    curl -s --unix-socket "$sock" -w '%{time_total}\n' "${urls[@]}" | tail -n "$N" \
      | awk '{printf "%.4f\n", $1 * 1000}' >"$samples"
    python3 - "$samples" "$sock" "$N" <<'PY'
import json, statistics, sys
v = sorted(float(x) for x in open(sys.argv[1]) if x.strip())
def pct(p):
    k = (len(v) - 1) * p / 100; lo = int(k); hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)
print(json.dumps({"socket": sys.argv[2], "requests": int(sys.argv[3]), "client": "curl", "median_ms": statistics.median(v),
                  "p10_ms": pct(10), "p90_ms": pct(90), "p99_ms": pct(99), "mean_ms": statistics.fmean(v)}))
PY
  else
    python3 "$HERE/ka_client.py" "$sock" -n "$N" --warmup "$WARMUP" --samples "$samples"
  fi
}

declare -a NAMES=(lxdts)
declare -A SOCKS=([lxdts]="$TS_SOCK")
if [ -S "$LXD_SOCK" ]; then
  NAMES+=(lxd)
  SOCKS[lxd]=$LXD_SOCK
else
  echo "note: no LXD socket at $LXD_SOCK (run the reference daemon or set LXD_SOCKET): measuring lxdts only" >&2
fi

for ((r = 1; r <= ROUNDS; r++)); do
  for name in "${NAMES[@]}"; do
    measure "$name" "${SOCKS[$name]}" "$r" >"$RUN_DIR/$name-round$r.json"
  done
done

python3 - "$RUN_DIR" "$N" "$ROUNDS" "$CLIENT" "${NAMES[@]}" <<'PY' | tee "$RUN_DIR/summary.txt"
import glob, json, os, statistics, sys
run_dir, n, rounds, client, names = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5:]
def pct(v, p):
    k = (len(v) - 1) * p / 100; lo = int(k); hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)
res = {}
print(f"GET /1.0, one kept-alive unix-socket connection, {n} requests x {rounds} rounds per daemon ({client} client), ms")
print(f"{'daemon':8} {'median':>8} {'p10':>8} {'p90':>8} {'p99':>8}  per-round medians")
for name in names:
    v = []
    meds = []
    for f in sorted(glob.glob(os.path.join(run_dir, f"{name}-round*.samples"))):
        s = [float(x) for x in open(f) if x.strip()]
        meds.append(statistics.median(s)); v += s
    v.sort()
    res[name] = {"median_ms": statistics.median(v), "p10_ms": pct(v, 10), "p90_ms": pct(v, 90), "p99_ms": pct(v, 99),
                 "round_medians_ms": meds, "samples": len(v)}
    r = res[name]
    print(f"{name:8} {r['median_ms']:8.3f} {r['p10_ms']:8.3f} {r['p90_ms']:8.3f} {r['p99_ms']:8.3f}  "
          + " ".join(f"{m:.3f}" for m in meds))
if "lxd" in res:
    ratio = res["lxdts"]["median_ms"] / res["lxd"]["median_ms"]
    res["ratio_median_lxdts_over_lxd"] = ratio
    print(f"ratio lxdts/LXD (median): {ratio:.2f}")
json.dump(res, open(os.path.join(run_dir, "summary.json"), "w"), indent=1)
PY
echo "results: $RUN_DIR"
