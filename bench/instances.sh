#!/usr/bin/env bash
# Container lifecycle latency through the real `lxc` client: lxdts vs real LXD 5.0.2, side by side on this machine.
#
#   bench/instances.sh [N]          (default N=10 samples per op and daemon)
#
# Ops (wall clock of one `lxc` process per call, ms):
#   launch        lxc launch bench-busybox bench-cI -p bench-prof      (create + start; I = 1..N)
#   exec          lxc exec bench-cI -- true                            (each of the N running containers once)
#   list_running  lxc list $LIST_ARGS, N times, with the N containers running
#   stop          lxc stop --force bench-cI
#   delete        lxc delete bench-cI                                  (stopped)
#   list_stopped  lxc list $LIST_ARGS, N times, with STOPPED (default 200) stopped containers
# Extra figures, from building the STOPPED set (not in the target table):
#   init          lxc init bench-busybox bench-sJ -p bench-prof        (create only, STOPPED samples)
#   snapshot      lxc snapshot bench-sI snap0                          (the first N of them, stopped)
#   copy          lxc copy --instance-only bench-sI bench-kI           (copies deleted untimed)
#   delete_many   lxc delete bench-sJ                                  (STOPPED samples; the first N hold a snapshot)
#
# Daemons (DAEMONS, default "lxdts lxd", run one after the other; ROUNDS>1 alternates the order):
#   lxdts  a fresh daemon on a temporary LXD_DIR (node apps/api/dist/cli/main.js daemon; LXDTS_DEBUG=1 adds --debug
#          and keeps its log in the results), `lxdts init --auto`; stopped with `lxdts shutdown`, kill by pid after.
#   lxd    the reference LXD 5.0.2 at LXD_ANCHOR_DIR (default /var/lib/lxd-anchor), started with lxd-up.sh
#          (ANCHOR_UP, default /work/shared/anchors/lxd-up.sh) when its socket does not answer.
# Both get the SAME image (built here with e2e/images/build-busybox-image.sh, unified tarball, alias bench-busybox)
# and the SAME profile bench-prof: root disk on pool `default` plus, with BENCH_NIC=bridge (default), an eth0
# `nic nictype=bridged parent=$BENCH_BRIDGE` (default ancbr0, the anchor's address-less bridge), so both daemons
# create and plug one veth pair per container. BENCH_NIC=none: root disk only (no network device on either side).
#
# A failing op does not stop the run: its samples are counted as failures and the op is reported as n/a when none
# succeeded (first error lines in failures.txt). Everything created is removed at the end, also on failure or ^C:
# bench-* containers, profile bench-prof and the image on the anchor; the lxdts daemon, its containers and temp dirs.
#
# Env: N, ROUNDS=1, STOPPED=200, WARMUP=1 (untimed launch/exec/stop/delete first), LIST_ARGS="--format csv"
#      (as the §3.3 baseline), BENCH_NIC=bridge|none, BENCH_BRIDGE=ancbr0, DAEMONS="lxdts lxd", LXDTS_DEBUG=0,
#      LXD_ANCHOR_DIR, ANCHOR_UP, BENCH_CLEAN_STALE=1 (remove bench-* leftovers on the anchor instead of refusing).
# Output: summary on stdout; raw samples (raw.tsv), summary.txt/json, failures.txt and the lxdts daemon log in
#         bench/results/instances-<timestamp>/ (git-ignored).
# Tools: bash (EPOCHREALTIME for timing), lxc 5.0.2, jq, python3 (statistics only), node (the lxdts daemon).
set -euo pipefail
export LC_ALL=C
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
CLI="$REPO/apps/api/dist/cli/main.js"
N=${1:-${N:-10}}
ROUNDS=${ROUNDS:-1}
STOPPED=${STOPPED:-200}
WARMUP=${WARMUP:-1}
read -r -a LIST_ARGS <<<"${LIST_ARGS:---format csv}"
NIC=${BENCH_NIC:-bridge}
BRIDGE=${BENCH_BRIDGE:-ancbr0}
read -r -a DAEMON_LIST <<<"${DAEMONS:-lxdts lxd}"
LXDTS_DEBUG=${LXDTS_DEBUG:-0}
ANCHOR=${LXD_ANCHOR_DIR:-/var/lib/lxd-anchor}
ANCHOR_UP=${ANCHOR_UP:-/work/shared/anchors/lxd-up.sh}
ALIAS=bench-busybox
PROFILE=bench-prof

for t in lxc jq python3 node; do command -v "$t" >/dev/null || { echo "missing tool: $t" >&2; exit 2; }; done
case $NIC in bridge | none) ;; *) echo "BENCH_NIC must be bridge or none" >&2; exit 2 ;; esac
[ "${EPOCHREALTIME:-}" ] || { echo "bash >= 5 needed (EPOCHREALTIME)" >&2; exit 2; }

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RUN_DIR="$REPO/bench/results/instances-$STAMP"
mkdir -p "$RUN_DIR"
RAW="$RUN_DIR/raw.tsv"
FAILS="$RUN_DIR/failures.txt"
META="$RUN_DIR/meta.txt"
printf 'round\tdaemon\top\ti\tus\trc\n' >"$RAW"
: >"$FAILS"

WORK=$(mktemp -d /tmp/lxdts-bench-inst.XXXXXX)
chmod 711 "$WORK" # unprivileged containers (host uid 1000000+) must traverse down to their rootfs
ERRF="$WORK/last.err"
TS_DIR="$WORK/lxd"
TS_PID=""
ANCHOR_FP="" # image fingerprint imported on the anchor by this run ("" = none)
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"

# timed ROUND OP I CMD... : one sample in raw.tsv (microseconds and exit code); never fails the script
timed() {
  local r=$1 op=$2 i=$3 t0 t1 rc=0
  shift 3
  t0=${EPOCHREALTIME/./}
  "$@" >/dev/null 2>"$ERRF" </dev/null || rc=$?
  t1=${EPOCHREALTIME/./}
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$DAEMON" "$op" "$i" "$((t1 - t0))" "$rc" >>"$RAW"
  if [ "$rc" != 0 ]; then
    printf '%s %s #%s rc=%s: %s\n' "$DAEMON" "$op" "$i" "$rc" "$(head -c 400 "$ERRF" | tr '\n' ' ')" >>"$FAILS"
  fi
  return 0
}

# ---- cleanup --------------------------------------------------------------------------------------------------
delete_bench_objects() { # current DAEMON/DIR: every bench-* container, the profile, our image
  local names
  names=$(L list --format csv -c n 2>/dev/null </dev/null | grep '^bench-' || true)
  if [ -n "$names" ]; then
    # shellcheck disable=SC2086
    L delete --force $names >/dev/null 2>&1 </dev/null || for n in $names; do Lq delete --force "$n" || true; done
  fi
  Lq profile delete "$PROFILE" || true
  if [ "$DAEMON" = lxd ]; then
    [ -n "$ANCHOR_FP" ] && { Lq image delete "$ANCHOR_FP" || true; }
    Lq image alias delete "$ALIAS" || true
  fi
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
  if [ -d "$TS_DIR/containers" ]; then
    # containers the daemon could not remove: stop them by name with liblxc's own tools, then report
    for c in $(lxc-ls -P "$TS_DIR/containers" 2>/dev/null); do
      log "leftover liblxc container $c: lxc-stop -k"
      lxc-stop -P "$TS_DIR/containers" -n "$c" -k >/dev/null 2>&1
    done
  fi
  [ -f "$WORK/lxdts-daemon.log" ] && [ "$LXDTS_DEBUG" = 1 ] && cp "$WORK/lxdts-daemon.log" "$RUN_DIR/" 2>/dev/null
  if findmnt -rn -o TARGET | grep -q "^$WORK"; then
    log "mounts left under $WORK; not removing it"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- image ----------------------------------------------------------------------------------------------------
build_bench_image

# ---- daemons --------------------------------------------------------------------------------------------------
prepare() { # current DAEMON/DIR: image + profile, refusing (or removing) leftovers
  local stale
  stale=$(L list --format csv -c n 2>/dev/null </dev/null | grep '^bench-' || true)
  if [ -n "$stale" ] || Lq image alias show "$ALIAS" || Lq profile show "$PROFILE"; then
    if [ "${BENCH_CLEAN_STALE:-0}" = 1 ]; then
      log "$DAEMON: removing leftovers of an earlier run"
      ANCHOR_FP=$(L image info "$ALIAS" 2>/dev/null </dev/null | sed -n 's/^Fingerprint: //p' || true)
      delete_bench_objects
      ANCHOR_FP=""
    else
      echo "$DAEMON: bench-* containers, image alias $ALIAS or profile $PROFILE already exist (another run?)." >&2
      echo "  Set BENCH_CLEAN_STALE=1 to remove them." >&2
      return 1
    fi
  fi
  import_bench_image "$ALIAS" || return 1
  L profile create "$PROFILE" >/dev/null </dev/null || return 1
  L profile device add "$PROFILE" root disk path=/ pool=default >/dev/null </dev/null || return 1
  if [ "$NIC" = bridge ]; then
    L profile device add "$PROFILE" eth0 nic nictype=bridged parent="$BRIDGE" name=eth0 >/dev/null </dev/null || return 1
  fi
}

note_counts() { # what `lxc list` saw: total and running instances
  local j
  j=$(L list --format json 2>/dev/null </dev/null || echo '[]')
  printf '%s %s: %s instances listed, %s running\n' "$DAEMON" "$1" "$(jq length <<<"$j")" \
    "$(jq '[.[] | select(.status == "Running")] | length' <<<"$j")" >>"$META"
}

scenario() { # ROUND: the timed run against the current DAEMON/DIR
  local r=$1 i
  if [ "$WARMUP" = 1 ]; then
    Lq launch "$ALIAS" bench-w -p "$PROFILE" || true
    Lq exec bench-w -- true || true
    Lq list "${LIST_ARGS[@]}" || true
    Lq stop --force bench-w || true
    Lq delete --force bench-w || true
  fi
  log "$DAEMON: launch x$N"
  for ((i = 1; i <= N; i++)); do timed "$r" launch "$i" L launch "$ALIAS" "bench-c$i" -p "$PROFILE"; done
  log "$DAEMON: exec x$N"
  for ((i = 1; i <= N; i++)); do timed "$r" exec "$i" L exec "bench-c$i" -- true; done
  note_counts "list_running (round $r)"
  log "$DAEMON: list (running) x$N"
  for ((i = 1; i <= N; i++)); do timed "$r" list_running "$i" L list "${LIST_ARGS[@]}"; done
  log "$DAEMON: stop --force x$N"
  for ((i = 1; i <= N; i++)); do timed "$r" stop "$i" L stop --force "bench-c$i"; done
  log "$DAEMON: delete x$N"
  for ((i = 1; i <= N; i++)); do timed "$r" delete "$i" L delete "bench-c$i"; done
  log "$DAEMON: init x$STOPPED"
  for ((i = 1; i <= STOPPED; i++)); do timed "$r" init "$i" L init "$ALIAS" "bench-s$i" -p "$PROFILE"; done
  note_counts "list_stopped (round $r)"
  log "$DAEMON: list ($STOPPED stopped) x$N"
  for ((i = 1; i <= N; i++)); do timed "$r" list_stopped "$i" L list "${LIST_ARGS[@]}"; done
  log "$DAEMON: snapshot and copy x$N (stopped)"
  for ((i = 1; i <= N; i++)); do timed "$r" snapshot "$i" L snapshot "bench-s$i" snap0; done
  for ((i = 1; i <= N; i++)); do timed "$r" copy "$i" L copy --instance-only "bench-s$i" "bench-k$i"; done
  for ((i = 1; i <= N; i++)); do Lq delete "bench-k$i" || true; done
  log "$DAEMON: delete x$STOPPED"
  for ((i = 1; i <= STOPPED; i++)); do timed "$r" delete_many "$i" L delete "bench-s$i"; done
  # anything a failed step left behind
  local left
  left=$(L list --format csv -c n 2>/dev/null </dev/null | grep '^bench-' || true)
  # shellcheck disable=SC2086
  [ -z "$left" ] || L delete --force $left >/dev/null 2>&1 </dev/null || true
}

{
  echo "date: $(date -u +%FT%TZ)  host: $(hostname) $(nproc) cpus, kernel $(uname -r)"
  echo "lxdts: $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo ?)$( [ -n "$(git -C "$REPO" status --porcelain 2>/dev/null | head -1)" ] && echo ' (+ uncommitted changes)'), debug=$LXDTS_DEBUG"
  echo "lxd: $ANCHOR (pid $(cat "$ANCHOR/anc-daemon.pid" 2>/dev/null || echo ?))"
  echo "N=$N ROUNDS=$ROUNDS STOPPED=$STOPPED WARMUP=$WARMUP LIST_ARGS=${LIST_ARGS[*]} NIC=$NIC bridge=$BRIDGE image=$IMG_FP"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$META"

declare -A READY=()
for d in "${DAEMON_LIST[@]}"; do
  DAEMON=$d
  case $d in
    lxdts) DIR=$TS_DIR; start_lxdts || { log "lxdts did not start"; tail -20 "$WORK/lxdts-daemon.log" >&2; continue; } ;;
    lxd) DIR=$ANCHOR; ensure_anchor || continue ;;
    *) echo "unknown daemon $d" >&2; exit 2 ;;
  esac
  if [ "$NIC" = bridge ] && [ ! -d "/sys/class/net/$BRIDGE/bridge" ]; then
    echo "bridge $BRIDGE missing (BENCH_BRIDGE, or BENCH_NIC=none)" >&2
    exit 2
  fi
  prepare || { log "$d: preparing the image/profile failed; skipping it"; continue; }
  READY[$d]=1
done

for ((r = 1; r <= ROUNDS; r++)); do
  order=("${DAEMON_LIST[@]}")
  if ((r % 2 == 0)); then order=(); for ((k = ${#DAEMON_LIST[@]} - 1; k >= 0; k--)); do order+=("${DAEMON_LIST[k]}"); done; fi
  for d in "${order[@]}"; do
    [ -n "${READY[$d]:-}" ] || continue
    DAEMON=$d
    if [ "$d" = lxd ]; then DIR=$ANCHOR; else DIR=$TS_DIR; fi
    log "round $r/$ROUNDS: $d"
    scenario "$r"
  done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$META"

python3 - "$RAW" "$RUN_DIR" "$N" "$STOPPED" "$ROUNDS" <<'PY' | tee "$RUN_DIR/summary.txt"
import collections, json, os, statistics, sys
raw, run_dir, n, stopped, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
ok, bad, per_round, daemons = collections.defaultdict(list), collections.Counter(), collections.defaultdict(list), []
for line in list(open(raw))[1:]:
    r, d, op, i, us, rc = line.rstrip("\n").split("\t")
    if d not in daemons: daemons.append(d)
    if rc == "0":
        ok[(d, op)].append(int(us) / 1000); per_round[(d, op, int(r))].append(int(us) / 1000)
    else: bad[(d, op)] += 1
def pct(v, p):
    k = (len(v) - 1) * p / 100; lo = int(k); hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)
MAIN = [("launch", "lxc launch (create+start)"), ("exec", "lxc exec c -- true"), ("stop", "lxc stop --force"),
        ("delete", "lxc delete (stopped)"), ("list_running", f"lxc list, {n} running"),
        ("list_stopped", f"lxc list, {stopped} stopped")]
EXTRA = [("init", "lxc init (create only)"), ("snapshot", "lxc snapshot (stopped)"), ("copy", "lxc copy --instance-only"),
         ("delete_many", f"lxc delete, one of {stopped}")]
res = {"ops": {}, "ratios": {}}
for op, _ in MAIN + EXTRA:
    for d in daemons:
        v = sorted(ok.get((d, op), []))
        e = {"ok": len(v), "failed": bad.get((d, op), 0)}
        if v:
            e.update(median_ms=statistics.median(v), p10_ms=pct(v, 10), p90_ms=pct(v, 90), min_ms=v[0], max_ms=v[-1],
                     round_medians_ms=[statistics.median(per_round[(d, op, r)]) for r in range(1, rounds + 1)
                                       if per_round.get((d, op, r))])
        res["ops"].setdefault(op, {})[d] = e
def fmt(e):
    if "median_ms" not in e: return f"{'n/a':>8} {'':>8} {'':>8} {e['ok']:>4} "
    return f"{e['median_ms']:8.1f} {e['p10_ms']:8.1f} {e['p90_ms']:8.1f} {e['ok']:>4}" + ("*" if e["failed"] else " ")
print(f"lxc wall-clock ms per call: median / p10 / p90 over the n successful samples ({n} per op and round, "
      f"{rounds} round{'s' if rounds > 1 else ''}; * = some samples failed)")
print(f"{'op':<28}" + "".join(f"{d + ' median':>17}{'p10':>9}{'p90':>9}{'n':>5} " for d in daemons))
for op, label in MAIN + [("", "")] + EXTRA:
    if not op: print("extra (building the stopped set):"); continue
    print(f"{label:<28}" + "".join(f"{'':>8}{fmt(res['ops'][op][d])}" for d in daemons))
if rounds > 1:
    print("per-round medians: " + "; ".join(
        f"{op} " + " ".join(f"{d}=" + "/".join(f"{m:.0f}" for m in res["ops"][op][d].get("round_medians_ms", [])) for d in daemons)
        for op, _ in MAIN))
if "lxdts" in daemons and "lxd" in daemons:
    print()
    print(f"{'op':<28}{'lxdts/LXD (median)':>20}  target <= 0.5")
    for op, label in MAIN + EXTRA:
        a, b = res["ops"][op]["lxdts"], res["ops"][op]["lxd"]
        if "median_ms" in a and "median_ms" in b:
            q = a["median_ms"] / b["median_ms"]; res["ratios"][op] = q
            verdict = ("yes" if q <= 0.5 else "NO") if op in dict(MAIN) else "-"
            print(f"{label:<28}{q:>20.2f}  {verdict}")
        else:
            res["ratios"][op] = None
            print(f"{label:<28}{'n/a':>20}  " + ("n/a" if op in dict(MAIN) else "-"))
json.dump(res, open(os.path.join(run_dir, "summary.json"), "w"), indent=1)
PY
cat "$META"
if [ -s "$FAILS" ]; then
  echo "failures (first per op; all in $FAILS):"
  awk '{k = $1 " " $2; if (!(k in seen)) { seen[k] = 1; print "  " substr($0, 1, 300) } }' "$FAILS"
fi
echo "results: $RUN_DIR"
