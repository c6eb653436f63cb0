#!/usr/bin/env bash
# Run the same `lxc` commands against real LXD 5.0.2 and against lxdts, normalise what varies between daemons
# (ids, timestamps, fingerprints, certificates, paths, host names, pids) and diff the results.
#
#   e2e/compare-with-lxd.sh [-v]          (-v: print every difference in full)
#
# Real LXD: LXD_ANCHOR_DIR (default /var/lib/lxd-anchor); started with lxd-up.sh (ANCHOR_UP, default the first of
# ../shared/anchors/lxd-up.sh and /work/shared/anchors/lxd-up.sh) when its socket does not answer.
# lxdts: a temporary daemon on a fresh LXD_DIR, started and stopped here (build first: npm run build).
# Objects created on the real LXD are named cmpx-* and deleted at the end (also on failure).
# Output: a summary; the normalised results under $CMP_OUT (default a temp dir, printed); exit 1 on differences.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VERBOSE=0
[ "${1:-}" = -v ] && VERBOSE=1
ANCHOR=${LXD_ANCHOR_DIR:-/var/lib/lxd-anchor}
CLI="$REPO/apps/api/dist/cli/main.js"
export NODE_PATH="$REPO/node_modules"
for t in lxc jq node curl; do command -v $t >/dev/null || { echo "missing tool: $t (run deploy/install.sh)" >&2; exit 2; }; done
[ -f "$CLI" ] || { echo "build first: npm run build" >&2; exit 2; }

WORK=$(mktemp -d /tmp/lxdts-compare.XXXXXX)
OUT=${CMP_OUT:-$WORK/out}
mkdir -p "$OUT/lxd" "$OUT/lxdts"
TS_DIR="$WORK/lxdts"
TS_PID=""

cleanup_objects() { # $1 = LXD_DIR: remove every cmpx-* object
  local dir=$1 conf="$WORK/cleanup-conf"
  mkdir -p "$conf"
  local L=(env LXD_DIR="$dir" LXD_CONF="$conf" lxc)
  for p in $("${L[@]}" profile list --format csv 2>/dev/null | cut -d, -f1 | grep '^cmpx-' || true); do "${L[@]}" profile delete "$p" >/dev/null 2>&1 || true; done
  for p in $("${L[@]}" project list --format csv 2>/dev/null | cut -d, -f1 | sed 's/ (current)//' | grep '^cmpx-' || true); do
    for q in $("${L[@]}" profile list --project "$p" --format csv 2>/dev/null | cut -d, -f1 | grep -v '^default$' || true); do
      "${L[@]}" profile delete "$q" --project "$p" >/dev/null 2>&1 || true
    done
    "${L[@]}" project delete "$p" >/dev/null 2>&1 || true
  done
  for p in $("${L[@]}" storage list --format csv 2>/dev/null | cut -d, -f1 | grep '^cmpx-' || true); do "${L[@]}" storage delete "$p" >/dev/null 2>&1 || true; done
  "${L[@]}" config unset core.proxy_ignore_hosts >/dev/null 2>&1 || true
}
cleanup() {
  set +e
  [ -S "$ANCHOR/unix.socket" ] && cleanup_objects "$ANCHOR"
  if [ -n "$TS_PID" ] && kill -0 "$TS_PID" 2>/dev/null; then
    LXD_DIR="$TS_DIR" timeout 30 node "$CLI" shutdown --timeout=20 >/dev/null 2>&1
    for _ in $(seq 50); do kill -0 "$TS_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$TS_PID" 2>/dev/null && kill -KILL "$TS_PID"
  fi
  if [ "${CMP_KEEP:-0}" = 1 ] && [ -z "${CMP_OUT:-}" ]; then
    rm -rf "$WORK/lxdts" "$WORK"/pool-* "$WORK"/conf-* "$WORK/cleanup-conf"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT INT TERM

# ---- the two daemons ---------------------------------------------------------------------------------------
if ! LXD_DIR="$ANCHOR" timeout 10 lxc query /1.0 >/dev/null 2>&1 </dev/null; then
  UP=${ANCHOR_UP:-}
  if [ -z "$UP" ]; then for c in "$REPO/../shared/anchors/lxd-up.sh" /work/shared/anchors/lxd-up.sh; do [ -f "$c" ] && { UP=$c; break; }; done; fi
  [ -n "$UP" ] || { echo "real LXD not running at $ANCHOR and no lxd-up.sh found (set ANCHOR_UP)" >&2; exit 2; }
  echo "starting the reference LXD with $UP" >&2
  (cd "$WORK" && LXD_DIR="$ANCHOR" bash "$UP" >"$WORK/lxd-up.log" 2>&1) || { tail -20 "$WORK/lxd-up.log" >&2; exit 2; }
fi
cleanup_objects "$ANCHOR"
LXD_DIR="$TS_DIR" node "$CLI" daemon >"$WORK/lxdts-daemon.log" 2>&1 </dev/null &
TS_PID=$!
LXD_DIR="$TS_DIR" timeout 90 node "$CLI" waitready --timeout=60

# ---- normalisation -----------------------------------------------------------------------------------------
# $dir: the daemon's LXD_DIR; $src: the pool source directory used in this run.
JQ_NORM='
  def norm: walk(
    if type == "string" then
      gsub($src; "<POOL_SRC>") | gsub($dir; "<LXD_DIR>")
      | if test("^[0-9a-f]{64}$") then "<FINGERPRINT>"
        elif test("^[0-9a-f]{12}$") then "<FINGERPRINT12>"
        elif test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}") then "<TIME>"
        elif test("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$") then "<UUID>"
        elif test("-----BEGIN CERTIFICATE-----") then "<CERTIFICATE>"
        else . end
    else . end);
  norm'
yaml2json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{process.stdout.write(JSON.stringify(require("yaml").parse(s)??null))}catch(e){process.stdout.write(JSON.stringify({yaml_error:String(e.message)}))}})'; }
clean_stderr() { grep -vE '^(If this is your first time running LXD|To start your first container|Or for a virtual machine|Generating a client certificate)' | sed '/^[[:space:]]*$/d' || true; }

# step NAME KIND [FILTER] -- lxc-args...   KIND: json | yaml | text | none.  FILTER: jq applied to the parsed output.
# STDIN_DATA (env) is fed on stdin when set.
step() {
  local name=$1 kind=$2 filter='.'; shift 2
  if [ "$1" != -- ]; then filter=$1; shift; fi
  shift # --
  local o e rc=0
  o=$(mktemp "$WORK/o.XXXX"); e=$(mktemp "$WORK/e.XXXX")
  if [ -n "${STDIN_DATA:-}" ]; then
    printf '%s' "$STDIN_DATA" | LXD_DIR="$DIR" LXD_CONF="$CONF" timeout 60 lxc "$@" >"$o" 2>"$e" || rc=$?
  else
    LXD_DIR="$DIR" LXD_CONF="$CONF" timeout 60 lxc "$@" >"$o" 2>"$e" </dev/null || rc=$?
  fi
  local parsed
  case $kind in
    json) parsed=$(jq -c . "$o" 2>/dev/null || jq -Rs '{unparsable: .}' "$o") ;;
    yaml) parsed=$(yaml2json <"$o") ;;
    text) parsed=$(jq -Rs . "$o") ;;
    none) parsed=null ;;
  esac
  [ "$rc" = 0 ] || parsed=null
  local err
  err=$(clean_stderr <"$e" | jq -Rs 'rtrimstr("\n")')
  jq -n --arg dir "$DIR" --arg src "$SRC" --argjson rc "$rc" --argjson out "${parsed:-null}" --argjson err "$err" \
    "{rc: \$rc, stderr: \$err, out: (\$out | if . == null then null else ($filter) end)} | $JQ_NORM" \
    >"$OUT/$TARGET/$name.json" 2>"$OUT/$TARGET/$name.jqerr" \
    || jq -n --arg f "$filter" --argjson rc "$rc" --argjson err "$err" '{rc: $rc, stderr: $err, out: ("jq filter failed: " + $f)}' >"$OUT/$TARGET/$name.json"
  rm -f "$o" "$e" "$OUT/$TARGET/$name.jqerr"
}

# What of GET /1.0 must match; the rest is compared by key only: host facts, and values that depend on the
# daemon's state (storage: the driver of existing pools; firewall: what was installed when the daemon started).
SERVER_FILTER='{keys: (keys), environment_keys: (.environment | keys),
  values: {api_status, api_version, auth, public, auth_methods,
    environment: (.environment | {server, server_version, server_clustered, server_event_mode, driver, kernel,
      kernel_architecture, os_name, os_version, project, architectures,
      storage_supported_drivers: ([.storage_supported_drivers[]?.Name] | sort), server_lts,
      kernel_features_keys: (.kernel_features // {} | keys), lxc_features_keys: (.lxc_features // {} | keys)})}}'
CMPX='map(select(.name | startswith("cmpx-")))'

run_all() {
  SRC="$WORK/pool-$TARGET"; mkdir -p "$SRC"
  CONF="$WORK/conf-$TARGET"; mkdir -p "$CONF"
  step 01-info yaml '{keys: (keys), environment_keys: (.environment | keys), server_version: .environment.server_version}' -- info
  step 02-query-1.0 json "$SERVER_FILTER" -- query /1.0
  step 03-config-set json -- config set core.proxy_ignore_hosts cmpx.example
  step 04-config-get text -- config get core.proxy_ignore_hosts
  step 05-config-show yaml '.config | with_entries(select(.key != "core.https_address"))' -- config show
  step 06-config-unset none -- config unset core.proxy_ignore_hosts
  step 07-config-bad-key none -- config set foo.bar 1
  step 08-config-bad-value none -- config set core.shutdown_timeout abc
  step 10-profile-create text -- profile create cmpx-p
  step 11-profile-set none -- profile set cmpx-p limits.cpu 2
  step 12-profile-device-add text -- profile device add cmpx-p eth0 nic nictype=p2p name=eth0
  step 13-profile-show yaml -- profile show cmpx-p
  STDIN_DATA=$'config:\n  user.note: edited\ndescription: compare\ndevices:\n  data:\n    path: /data\n    source: /srv\n    type: disk\n' \
    step 14-profile-edit none -- profile edit cmpx-p
  step 15-profile-show-edited yaml -- profile show cmpx-p
  step 16-profile-copy none -- profile copy cmpx-p cmpx-p2
  step 17-profile-rename text -- profile rename cmpx-p2 cmpx-p3
  step 18-profile-list json "$CMPX" -- profile list --format json
  step 19-profile-query json -- query /1.0/profiles/cmpx-p3
  step 20-profile-bad-key none -- profile set cmpx-p foo.bar 1
  step 21-profile-duplicate none -- profile create cmpx-p
  step 22-profile-delete text -- profile delete cmpx-p3
  step 23-profile-delete-default none -- profile delete default
  step 24-profile-show-missing none -- profile show cmpx-missing
  step 25-profile-delete-p text -- profile delete cmpx-p
  step 30-project-create text -- project create cmpx-proj -c features.profiles=true
  step 31-project-list json "$CMPX" -- project list --format json
  step 32-project-show yaml -- project show cmpx-proj
  step 33-project-profiles json -- profile list --project cmpx-proj --format json
  step 34-project-query json -- query /1.0/projects/cmpx-proj
  step 35-project-delete text -- project delete cmpx-proj
  step 36-project-show-missing none -- project show cmpx-missing
  step 40-storage-create text -- storage create cmpx-pool dir "source=$SRC"
  step 41-storage-layout json -- query /1.0/storage-pools/cmpx-pool
  ls -1 "$SRC" | jq -Rs 'split("\n") | map(select(. != ""))' >"$OUT/$TARGET/42-storage-source-dir.json"
  step 43-storage-show yaml -- storage show cmpx-pool
  step 44-storage-info yaml '.info |= with_entries(if (.key | test("space")) then .value = "<SIZE>" else . end)' -- storage info cmpx-pool
  step 45-storage-list json "$CMPX" -- storage list --format json
  step 46-storage-set none -- storage set cmpx-pool rsync.bwlimit 10
  step 47-storage-get text -- storage get cmpx-pool rsync.bwlimit
  step 48-storage-set-description none -- storage set cmpx-pool description hello
  STDIN_DATA="config:
  source: $SRC
description: edited
" step 49-storage-edit none -- storage edit cmpx-pool
  step 50-storage-show-edited yaml -- storage show cmpx-pool
  step 51-storage-delete text -- storage delete cmpx-pool
  ls -1 "$SRC" 2>/dev/null | jq -Rs 'split("\n") | map(select(. != ""))' >"$OUT/$TARGET/52-storage-source-after-delete.json"
  step 53-storage-show-missing none -- storage show cmpx-missing
  step 60-network-list json 'map({name, type, managed}) | map(select(.name == "lo")) ' -- network list --format json
  step 61-network-query json 'map(select(.name == "lo")) | map(keys)' -- query '/1.0/networks?recursion=1'
  step 62-network-show-missing none -- network show cmpx-missing
  step 70-certificates-list json -- config trust list --format json
  step 71-certificates-query json -- query '/1.0/certificates?recursion=1'
  step 72-trust-tokens json -- config trust list-tokens --format json
  step 80-operations json 'keys' -- query /1.0/operations
  step 81-warnings-keys json 'if type == "array" then "array" else type end' -- query /1.0/warnings
}

TARGET=lxd DIR="$ANCHOR" run_all
TARGET=lxdts DIR="$TS_DIR" run_all

# api_extensions: reported on their own (lxdts advertises only what it implements).
LXD_DIR="$ANCHOR" LXD_CONF="$WORK/cleanup-conf" lxc query /1.0 | jq -r '.api_extensions[]' | sort >"$WORK/ext-lxd"
LXD_DIR="$TS_DIR" LXD_CONF="$WORK/cleanup-conf" lxc query /1.0 | jq -r '.api_extensions[]' | sort >"$WORK/ext-lxdts"

# ---- diff ---------------------------------------------------------------------------------------------------
same=0; differ=0; diffs=()
for f in "$OUT"/lxd/*.json; do
  n=$(basename "$f" .json)
  a=$(jq -S . "$f"); b=$(jq -S . "$OUT/lxdts/$n.json" 2>/dev/null || echo '"missing"')
  if [ "$a" = "$b" ]; then same=$((same + 1)); else differ=$((differ + 1)); diffs+=("$n"); fi
done
only_lxd=$(comm -23 "$WORK/ext-lxd" "$WORK/ext-lxdts" | wc -l)
only_ts=$(comm -13 "$WORK/ext-lxd" "$WORK/ext-lxdts")
kept=""; { [ -n "${CMP_OUT:-}" ] || [ "${CMP_KEEP:-0}" = 1 ]; } && kept=" (normalised results: $OUT)"
echo "== compare-with-lxd: $same steps equal, $differ differ$kept"
echo "== api_extensions: LXD $(wc -l <"$WORK/ext-lxd"), lxdts $(wc -l <"$WORK/ext-lxdts"), $only_lxd only in LXD${only_ts:+, only in lxdts: $(echo $only_ts)}"
for n in "${diffs[@]}"; do
  echo
  echo "--- $n   (- LXD 5.0.2, + lxdts)"
  d=$(diff -u <(jq -S . "$OUT/lxd/$n.json") <(jq -S . "$OUT/lxdts/$n.json" 2>/dev/null) | tail -n +3 | grep -E '^[-+]' || true)
  if [ $VERBOSE = 1 ]; then echo "$d"; else echo "$d" | head -40; [ "$(echo "$d" | wc -l)" -gt 40 ] && echo "  ... (-v for all)"; fi
done
[ -n "${CMP_OUT:-}" ] || [ "${CMP_KEEP:-0}" = 1 ] || echo "(set CMP_OUT=dir or CMP_KEEP=1 to keep the normalised results)"
[ "$differ" = 0 ] && [ "$only_lxd" = 0 ] && [ -z "$only_ts" ]
