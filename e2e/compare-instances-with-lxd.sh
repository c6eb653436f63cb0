#!/usr/bin/env bash
# Issue 3 side by side: the same container scenario through the real `lxc` against real LXD 5.0.2 and against lxdts,
# outputs normalised (ids, timestamps, pids, MAC addresses, veth names, UUIDs, fingerprints, paths, counters) and
# diffed.
#
#   e2e/compare-instances-with-lxd.sh [-v]          (-v: print every difference in full)
#
# Scenario (each step records exit code, cleaned stderr and the normalised output):
#   image import, unified and split (meta.tar.xz + rootfs.squashfs from e2e/images/build-busybox-image.sh, built
#   reproducibly so both daemons must report the same fingerprints); image list; lxc launch; lxc list --format json;
#   lxc exec: cat /proc/1/comm, sh -c 'exit 7' (exit code), stdin (echo hi | lxc exec c -- cat); lxc file push/pull
#   round trip (sha256) and the templated /etc/hostname; limits.memory 64MB and the value in the memory cgroup;
#   stop, start, restart, pause, start (status after each); delete --force of a running container; an ephemeral
#   container that disappears on stop; bad input (missing image, unknown key, bad value, bad devices, bad name,
#   duplicate name, missing instance) and that it leaves nothing behind.
# Every instance uses profile cmpi-prof, identical on both daemons: root disk on pool `default` plus eth0
# `nic nictype=bridged parent=$CMP_BRIDGE` (default ancbr0, the anchor's address-less bridge; CMP_BRIDGE= for none).
#
# Real LXD: LXD_ANCHOR_DIR (default /var/lib/lxd-anchor); started with ANCHOR_UP (default
# /work/shared/anchors/lxd-up.sh) when its socket does not answer.
# lxdts: a temporary daemon on a fresh LXD_DIR (node apps/api/dist/cli/main.js daemon, `lxdts init --auto`),
# started and stopped here (build first: npm run build).
# Objects are named cmpi-* and removed from both daemons at the end (also on failure or ^C).
# Steps lxdts does not implement yet show up as differences; the script never stops on them.
# CMP_STEP_TIMEOUT (default 30 s) bounds each lxc call.
# Output: a summary; normalised results under $CMP_OUT (default a temp dir, removed unless CMP_KEEP=1); exit 1 when
# anything differs, 2 when the set-up failed.
set -euo pipefail
CMP_NAME=cmpi
BRIDGE=${CMP_BRIDGE-ancbr0}
# shellcheck source=e2e/compare-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/compare-lib.sh"
head -c 300000 /dev/urandom >"$WORK/payload.bin"
PAYLOAD_SHA=$(sha256sum "$WORK/payload.bin" | cut -d' ' -f1)

cleanup_objects() { # LXD_DIR: every cmpi-* instance and profile, our images
  local dir=$1 conf="$WORK/conf-cleanup"
  mkdir -p "$conf"
  local L=(env LXD_DIR="$dir" LXD_CONF="$conf" timeout 120 lxc)
  local names
  names=$("${L[@]}" list --format csv -c n 2>/dev/null </dev/null | grep '^cmpi-' || true)
  for n in $names; do "${L[@]}" delete --force "$n" >/dev/null 2>&1 </dev/null || true; done
  for p in $("${L[@]}" profile list --format csv 2>/dev/null </dev/null | cut -d, -f1 | grep '^cmpi-' || true); do
    "${L[@]}" profile delete "$p" >/dev/null 2>&1 </dev/null || true
  done
  for fp in "$FP_UNIFIED" "$FP_SPLIT"; do "${L[@]}" image delete "$fp" >/dev/null 2>&1 </dev/null || true; done
  for a in $("${L[@]}" image alias list --format csv 2>/dev/null </dev/null | cut -d, -f1 | grep '^cmpi-' || true); do
    "${L[@]}" image alias delete "$a" >/dev/null 2>&1 </dev/null || true
  done
}
start_daemons

memory_limit_of() { # the host's view: memory.limit_in_bytes (v1) or memory.max (v2) of the container's init
  local pid=$1 line path
  [ "$pid" -gt 0 ] 2>/dev/null || { echo '"no pid"'; return; }
  line=$(grep -E '^[0-9]+:memory:' "/proc/$pid/cgroup" 2>/dev/null || true)
  if [ -n "$line" ]; then
    path=${line#*:memory:}
    jq -Rn --arg v "$(cat "/sys/fs/cgroup/memory$path/memory.limit_in_bytes" 2>/dev/null)" '{v1_limit_in_bytes: $v}'
  else
    path=$(sed -n 's/^0:://p' "/proc/$pid/cgroup")
    jq -Rn --arg v "$(cat "/sys/fs/cgroup$path/memory.max" 2>/dev/null)" '{v2_memory_max: $v}'
  fi
}
CMPI='map(select(.name | startswith("cmpi-"))) | sort_by(.name)'
LIST_FILTER="$CMPI | map(norm_instance)"

run_all() {
  CONF="$WORK/conf-$TARGET"; mkdir -p "$CONF"
  local img="$WORK/img" pid1 pid2 hit

  # images
  step 01-image-import-unified text -- image import "$img/busybox.tar.xz" --alias cmpi-bb
  fact 02-image-unified-fingerprint "$(L image info cmpi-bb 2>/dev/null </dev/null | sed -n 's/^Fingerprint: //p' \
    | jq -Rs --arg want "$FP_UNIFIED" 'rtrimstr("\n") | . == $want')"
  step 03-image-import-split text -- image import "$img/meta.tar.xz" "$img/rootfs.squashfs" --alias cmpi-bb-split
  fact 04-image-split-fingerprint "$(L image info cmpi-bb-split 2>/dev/null </dev/null | sed -n 's/^Fingerprint: //p' \
    | jq -Rs --arg want "$FP_SPLIT" 'rtrimstr("\n") | . == $want')"
  step 05-image-list json 'map(select(any(.aliases[]?; .name | startswith("cmpi-")))) | sort_by(.aliases[0].name)
    | map(del(.uploaded_at, .created_at, .last_used_at, .expires_at))' -- image list --format json
  step 06-image-import-again text -- image import "$img/busybox.tar.xz" --alias cmpi-bb2

  # profile for every instance
  step 10-profile-create text -- profile create cmpi-prof
  step 11-profile-root none -- profile device add cmpi-prof root disk path=/ pool=default
  if [ -n "$BRIDGE" ]; then
    step 12-profile-nic none -- profile device add cmpi-prof eth0 nic nictype=bridged parent="$BRIDGE" name=eth0
  fi

  # launch + list
  step 20-launch text -- launch cmpi-bb cmpi-c1 -p cmpi-prof
  step 21-list-json json "$LIST_FILTER" -- list --format json
  step 22-query-instance json 'norm_instance' -- query /1.0/instances/cmpi-c1
  step 23-query-state json '{status, status_code, processes, network_keys: (.network // {} | keys)}' -- query /1.0/instances/cmpi-c1/state
  step 24-list-csv text -- list cmpi- --format csv -c nsPt

  # exec
  step 30-exec-comm text -- exec cmpi-c1 -- cat /proc/1/comm
  step 31-exec-exit-7 text -- exec cmpi-c1 -- sh -c 'exit 7'
  STDIN_DATA=$'hi\n' step 32-exec-stdin text -- exec cmpi-c1 -- cat
  step 33-exec-env text -- exec cmpi-c1 --env CMPI=yes -- sh -c 'echo "$CMPI $HOME $PWD"'
  step 34-exec-missing-command text -- exec cmpi-c1 -- /nonexistent

  # files
  step 40-file-push none -- file push "$WORK/payload.bin" cmpi-c1/root/payload.bin
  rm -f "$WORK/pulled-$TARGET.bin"
  step 41-file-pull none -- file pull cmpi-c1/root/payload.bin "$WORK/pulled-$TARGET.bin"
  fact 42-file-roundtrip-sha256 "$(jq -n --arg a "$PAYLOAD_SHA" --arg b "$(sha256sum "$WORK/pulled-$TARGET.bin" 2>/dev/null | cut -d' ' -f1)" \
    '{same: ($a == $b), pulled: (if $b == "" then "nothing" else "file" end)}')"
  step 43-file-hostname text -- file pull cmpi-c1/etc/hostname -
  step 44-file-pull-missing none -- file pull cmpi-c1/nonexistent "$WORK/none-$TARGET"

  # limits
  step 50-config-set-memory none -- config set cmpi-c1 limits.memory 64MB
  step 51-config-get-memory text -- config get cmpi-c1 limits.memory
  fact 52-cgroup-memory "$(memory_limit_of "$(pid_of cmpi-c1)")"

  # power
  step 60-stop text -- stop cmpi-c1
  fact 61-status-after-stop "\"$(status_of cmpi-c1)\""
  step 62-start text -- start cmpi-c1
  fact 63-status-after-start "\"$(status_of cmpi-c1)\""
  pid1=$(pid_of cmpi-c1)
  step 64-restart text -- restart cmpi-c1
  pid2=$(pid_of cmpi-c1)
  fact 65-status-after-restart "$(jq -n --arg s "$(status_of cmpi-c1)" --argjson a "${pid1:-0}" --argjson b "${pid2:-0}" \
    '{status: $s, new_init: ($a != $b and $b > 0)}')"
  step 66-pause text -- pause cmpi-c1
  fact 67-status-after-pause "\"$(status_of cmpi-c1)\""
  step 68-start-after-pause text -- start cmpi-c1
  fact 69-status-after-unpause "\"$(status_of cmpi-c1)\""
  step 70-stop-stopped text -- stop cmpi-c1 --force
  step 71-stop-again text -- stop cmpi-c1
  step 72-start-again text -- start cmpi-c1
  fact 73-limit-survives-restart "$(memory_limit_of "$(pid_of cmpi-c1)")"

  # bad input
  step 80-launch-missing-image text -- launch cmpi-nosuchimage cmpi-x1 -p cmpi-prof
  step 81-init-unknown-key text -- init cmpi-bb cmpi-x2 -p cmpi-prof -c foo.bar=1
  step 82-init-bad-value text -- init cmpi-bb cmpi-x3 -p cmpi-prof -c limits.memory=lots
  step 83-config-set-unknown-key text -- config set cmpi-c1 foo.bar 1
  step 84-device-add-bad-type text -- config device add cmpi-c1 d1 bogus
  step 85-device-add-missing-parent text -- config device add cmpi-c1 eth9 nic nictype=bridged parent=cmpinosuchbr name=eth9
  step 86-post-bad-device json -- query --wait -X POST /1.0/instances --data \
    '{"name":"cmpi-x4","source":{"type":"image","alias":"cmpi-bb"},"profiles":["cmpi-prof"],"devices":{"d":{"type":"bogus"}}}'
  step 87-init-bad-name text -- init cmpi-bb cmpi_x5 -p cmpi-prof
  step 88-launch-duplicate text -- launch cmpi-bb cmpi-c1 -p cmpi-prof
  step 89-start-missing text -- start cmpi-nosuch
  step 90-after-bad-input json "$CMPI | map(.name)" -- list --format json
  step 91-config-after-bad-input json '.config | with_entries(select(.key | startswith("volatile.") | not))' -- query /1.0/instances/cmpi-c1

  # delete --force of a running container
  step 92-delete-force text -- delete --force cmpi-c1
  step 93-info-deleted text -- info cmpi-c1

  # ephemeral
  step 94-launch-ephemeral text -- launch cmpi-bb cmpi-e1 -p cmpi-prof --ephemeral
  step 95-ephemeral-flag json '.ephemeral' -- query /1.0/instances/cmpi-e1
  step 96-stop-ephemeral text -- stop --force cmpi-e1
  hit=present
  for _ in $(seq 50); do
    L query /1.0/instances/cmpi-e1 >/dev/null 2>&1 </dev/null || { hit=gone; break; }
    sleep 0.1
  done
  fact 97-ephemeral-after-stop "\"$hit\""
  step 98-final-list json "$CMPI | map(.name)" -- list --format json
}

run_both
report compare-instances-with-lxd
