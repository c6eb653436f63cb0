# Shared by the compare-*-with-lxd.sh scripts: the same scenario through the real `lxc` against real LXD 5.0.2 and
# against a temporary lxdts, each step's exit code, cleaned stderr and normalised output recorded, then diffed.
# Source it after setting CMP_NAME (temp dir prefix); define cleanup_objects DIR and run_all, then call
# start_daemons, run_both and report NAME. Env: LXD_ANCHOR_DIR, ANCHOR_UP, CMP_STEP_TIMEOUT (30 s), CMP_OUT,
# CMP_KEEP=1, CMP_IMAGE_EPOCH; -v as the first argument prints every difference in full.
# shellcheck shell=bash
set -euo pipefail
export LC_ALL=C
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VERBOSE=0
[ "${1:-}" = -v ] && VERBOSE=1
ANCHOR=${LXD_ANCHOR_DIR:-/var/lib/lxd-anchor}
ANCHOR_UP=${ANCHOR_UP:-/work/shared/anchors/lxd-up.sh}
CLI="$REPO/apps/api/dist/cli/main.js"
STEP_TIMEOUT=${CMP_STEP_TIMEOUT:-30}
for t in lxc jq node sha256sum timeout; do command -v "$t" >/dev/null || { echo "missing tool: $t" >&2; exit 2; }; done
[ -f "$CLI" ] || { echo "build first: npm run build" >&2; exit 2; }

WORK=$(mktemp -d "/tmp/lxdts-${CMP_NAME:-cmp}.XXXXXX")
chmod 711 "$WORK" # unprivileged containers (host uid 1000000+) must traverse down to their rootfs
OUT=${CMP_OUT:-$WORK/out}
mkdir -p "$OUT/lxd" "$OUT/lxdts"
TS_DIR="$WORK/lxdts"
TS_PID=""

# ---- image: reproducible, so the fingerprints are known and equal on both sides ------------------------------
# (an epoch of its own, so the fingerprints differ from every other user's busybox image on the anchor)
SOURCE_DATE_EPOCH=${CMP_IMAGE_EPOCH:-1262304003} bash "$REPO/e2e/images/build-busybox-image.sh" "$WORK/img" \
  >"$WORK/img.log" 2>&1 || { cat "$WORK/img.log" >&2; exit 2; }
FP_UNIFIED=$(sha256sum "$WORK/img/busybox.tar.xz" | cut -d' ' -f1)
FP_SPLIT=$(cat "$WORK/img/meta.tar.xz" "$WORK/img/rootfs.squashfs" | sha256sum | cut -d' ' -f1)

cleanup() {
  set +e
  trap - EXIT INT TERM
  LXD_DIR="$ANCHOR" timeout 10 lxc query /1.0 >/dev/null 2>&1 </dev/null && cleanup_objects "$ANCHOR"
  if [ -n "$TS_PID" ] && kill -0 "$TS_PID" 2>/dev/null; then
    cleanup_objects "$TS_DIR"
    LXD_DIR="$TS_DIR" timeout 60 node "$CLI" shutdown --timeout=45 >/dev/null 2>&1 </dev/null
    for _ in $(seq 100); do kill -0 "$TS_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$TS_PID" 2>/dev/null; then
      local kids
      kids=$(pgrep -P "$TS_PID")
      # shellcheck disable=SC2086
      kill -KILL "$TS_PID" $kids 2>/dev/null
    fi
  fi
  if [ -d "$TS_DIR/containers" ]; then
    for c in $(lxc-ls -P "$TS_DIR/containers" 2>/dev/null); do
      echo "leftover liblxc container $c: lxc-stop -k" >&2
      lxc-stop -P "$TS_DIR/containers" -n "$c" -k >/dev/null 2>&1
    done
  fi
  # with kept results, keep the lxdts daemon log beside them
  { [ -n "${CMP_OUT:-}" ] || [ "${CMP_KEEP:-0}" = 1 ]; } && cp "$WORK/lxdts-daemon.log" "$OUT/" 2>/dev/null
  # a btrfs pool the daemon could not delete: unmounted (its loop device goes with it)
  for m in $(findmnt -rn -o TARGET | grep "^$WORK" | sort -r); do umount "$m" 2>/dev/null || umount -l "$m"; done
  if findmnt -rn -o TARGET | grep -q "^$WORK"; then
    echo "mounts left under $WORK; not removing it" >&2
  elif [ "${CMP_KEEP:-0}" = 1 ] && [ -z "${CMP_OUT:-}" ]; then
    find "$WORK" -mindepth 1 -maxdepth 1 ! -name out -exec rm -rf {} +
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

trap cleanup EXIT
trap 'exit 130' INT TERM

start_daemons() {
  if ! LXD_DIR="$ANCHOR" timeout 10 lxc query /1.0 >/dev/null 2>&1 </dev/null; then
    [ -f "$ANCHOR_UP" ] || { echo "real LXD not running at $ANCHOR and no $ANCHOR_UP (set ANCHOR_UP)" >&2; exit 2; }
    echo "starting the reference LXD with $ANCHOR_UP" >&2
    (cd "$WORK" && LXD_DIR="$ANCHOR" bash "$ANCHOR_UP" >"$WORK/lxd-up.log" 2>&1) || { tail -20 "$WORK/lxd-up.log" >&2; exit 2; }
  fi
  cleanup_objects "$ANCHOR"
  LXD_DIR="$TS_DIR" node "$CLI" daemon >"$WORK/lxdts-daemon.log" 2>&1 </dev/null &
  TS_PID=$!
  LXD_DIR="$TS_DIR" timeout 90 node "$CLI" waitready --timeout=60 </dev/null || { tail -20 "$WORK/lxdts-daemon.log" >&2; exit 2; }
  LXD_DIR="$TS_DIR" node "$CLI" init --auto </dev/null >/dev/null || { echo "lxdts init --auto failed" >&2; exit 2; }
}

# ---- normalisation -----------------------------------------------------------------------------------------
# $dir: the daemon's LXD_DIR. Values that differ between any two runs become placeholders; keys stay, so a key
# present on one side only is still a difference.
JQ_DEFS='
  def mask_numbers: walk(if type == "number" then "<N>" else . end);
  def norm_instance:
    .config |= with_entries(
        if (.key | test("^volatile\\.[^.]+\\.hwaddr$")) then .value = "<HWADDR>"
        elif (.key | test("^volatile\\.[^.]+\\.host_name$")) then .value = "<VETH>"
        else . end)
    | .expanded_config |= (if . == null then . else with_entries(
        if (.key | test("^volatile\\.[^.]+\\.hwaddr$")) then .value = "<HWADDR>"
        elif (.key | test("^volatile\\.[^.]+\\.host_name$")) then .value = "<VETH>"
        else . end) end)
    | if .state then
        .state |= (
          (if (.pid // 0) > 0 then .pid = "<PID>" else . end)
          | (if .memory then .memory |= mask_numbers else . end)
          | (if .cpu then .cpu |= mask_numbers else . end)
          | (if .disk then .disk |= mask_numbers else . end)
          | (if .network then .network |= map_values(
                (if .counters then .counters |= mask_numbers else . end)
                | (if .hwaddr then .hwaddr = "<HWADDR>" else . end)
                | (if (.host_name // "") != "" then .host_name = "<VETH>" else . end)
                | (if .addresses then .addresses |= map(if .scope == "link" then .address = "<LINK_LOCAL>" else . end) else . end))
             else . end))
      else . end;
  # progress the client draws with \r (operation metadata): keep the stages, drop percentages and speeds
  def dedup: reduce .[] as $x ([]; if length > 0 and .[-1] == $x then . else . + [$x] end);
  def progress: split("\n") | map(split("\r") | map(gsub("^\\s+|\\s+$"; "")) | map(select(. != ""))
    | map(sub(": [0-9]+% \\([^)]*\\)$"; "")) | dedup | join(" | ")) | join("\n");
  def norm: walk(
    if type == "string" then
      gsub($dir; "<LXD_DIR>") | gsub($work; "<WORK>") | gsub("[0-9a-f]{64}"; "<FINGERPRINT>")
      | (if test("\r") then progress else . end)
      | if test("^[0-9a-f]{64}$") then "<FINGERPRINT>"
        elif test("^[0-9a-f]{12}$") then "<FINGERPRINT12>"
        elif test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}") then "<TIME>"
        elif test("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$") then "<UUID>"
        elif test("^([0-9a-f]{2}:){5}[0-9a-f]{2}$") then "<HWADDR>"
        elif test("^veth[0-9a-f]{8}$") then "<VETH>"
        else . end
    else . end);
'
clean_stderr() {
  grep -vE '^(If this is your first time running LXD|To start your first container|Or for a virtual machine|Generating a client certificate)' \
    | sed -E '/^[[:space:]]*$/d; s/[0-9]{8}[0-9]{6}\.[0-9]{3}/<TS>/g' || true
}

# step NAME KIND [FILTER] -- lxc-args...   KIND: json | text | none. FILTER: jq applied to the parsed output.
# STDIN_DATA (env), when set, is fed on stdin.
step() {
  local name=$1 kind=$2 filter='.'
  shift 2
  if [ "$1" != -- ]; then filter=$1; shift; fi
  shift # --
  local o e rc=0
  o=$(mktemp "$WORK/o.XXXX"); e=$(mktemp "$WORK/e.XXXX")
  if [ -n "${STDIN_DATA:-}" ]; then
    printf '%s' "$STDIN_DATA" | LXD_DIR="$DIR" LXD_CONF="$CONF" timeout "$STEP_TIMEOUT" lxc "$@" >"$o" 2>"$e" || rc=$?
  else
    LXD_DIR="$DIR" LXD_CONF="$CONF" timeout "$STEP_TIMEOUT" lxc "$@" >"$o" 2>"$e" </dev/null || rc=$?
  fi
  local parsed
  case $kind in
    json) parsed=$(jq -c . "$o" 2>/dev/null || jq -Rs '{unparsable: .}' "$o") ;;
    text) parsed=$(jq -Rs . "$o") ;;
    none) parsed=null ;;
  esac
  [ "$rc" = 0 ] || [ "$kind" = text ] || parsed=null
  record "$name" "$rc" "$(clean_stderr <"$e" | jq -Rs 'rtrimstr("\n")')" "${parsed:-null}" "$filter"
  rm -f "$o" "$e"
}
# record NAME RC STDERR_JSON OUT_JSON [FILTER]: one normalised result file
record() {
  local name=$1 rc=$2 err=$3 out=$4 filter=${5:-.}
  jq -n --arg dir "$DIR" --arg work "$WORK" --argjson rc "$rc" --argjson out "$out" --argjson err "$err" \
    "$JQ_DEFS {rc: \$rc, stderr: \$err, out: (\$out | if . == null then null else ($filter) end)} | norm" \
    >"$OUT/$TARGET/$name.json" 2>"$WORK/jq.err" \
    || jq -n --arg f "$filter" --argjson rc "$rc" --argjson err "$err" \
      '{rc: $rc, stderr: $err, out: ("jq filter failed: " + $f)}' >"$OUT/$TARGET/$name.json"
}
# fact NAME JSON: a value computed by the script (no lxc call of its own)
fact() { jq -n --arg dir "$DIR" --arg work "$WORK" --argjson out "$2" "$JQ_DEFS {fact: \$out} | norm" >"$OUT/$TARGET/$1.json"; }
L() { LXD_DIR="$DIR" LXD_CONF="$CONF" timeout "$STEP_TIMEOUT" lxc "$@"; }
status_of() { L query "/1.0/instances/$1/state" 2>/dev/null </dev/null | jq -r '.status // "?"' 2>/dev/null || echo '?'; }
pid_of() { L query "/1.0/instances/$1/state" 2>/dev/null </dev/null | jq -r '.pid // 0' 2>/dev/null || echo 0; }
# run_both: the scenario (run_all, defined by the caller) on LXD 5.0.2, then on lxdts
run_both() {
  echo "running the scenario on LXD 5.0.2 ($ANCHOR) ..." >&2
  TARGET=lxd DIR="$ANCHOR" run_all
  cleanup_objects "$ANCHOR"
  echo "running the scenario on lxdts ($TS_DIR) ..." >&2
  TARGET=lxdts DIR="$TS_DIR" run_all
}

# report NAME: equal and differing steps; exit status 1 when anything differs
report() {
  same=0; differ=0; diffs=()
  for f in "$OUT"/lxd/*.json; do
    n=$(basename "$f" .json)
    a=$(jq -S . "$f"); b=$(jq -S . "$OUT/lxdts/$n.json" 2>/dev/null || echo '"missing"')
    if [ "$a" = "$b" ]; then same=$((same + 1)); else differ=$((differ + 1)); diffs+=("$n"); fi
  done
  kept=""; { [ -n "${CMP_OUT:-}" ] || [ "${CMP_KEEP:-0}" = 1 ]; } && kept=" (normalised results: $OUT)"
  echo "== $1: $same steps equal, $differ differ$kept"
  if [ "$differ" -gt 0 ]; then echo "== differing: ${diffs[*]}"; fi
  for n in "${diffs[@]}"; do
    echo
    echo "--- $n   (- LXD 5.0.2, + lxdts)"
    d=$(diff -u <(jq -S . "$OUT/lxd/$n.json") <(jq -S . "$OUT/lxdts/$n.json" 2>/dev/null) | tail -n +3 | grep -E '^[-+]' || true)
    if [ $VERBOSE = 1 ]; then echo "$d"; else echo "$d" | head -30; [ "$(echo "$d" | wc -l)" -gt 30 ] && echo "  ... (-v for all)"; fi
  done
  [ -n "${CMP_OUT:-}" ] || [ "${CMP_KEEP:-0}" = 1 ] || echo "(set CMP_OUT=dir or CMP_KEEP=1 to keep the normalised results)"
  [ "$differ" = 0 ]
}
