#!/usr/bin/env bash
# Issue 5 side by side: the same storage scenario on a btrfs loop pool through the real `lxc` against real LXD
# 5.0.2 and against lxdts, outputs normalised and diffed (e2e/compare-lib.sh).
#
#   e2e/compare-storage-with-lxd.sh [-v]          (-v: print every difference in full)
#
# Scenario: lxc storage create (btrfs, size=1GiB) and show; launch on it; instance and snapshot are subvolumes, the
# snapshot read-only; snapshot, change a file, restore (sha256 back); copy from a snapshot; a root size quota stops
# writes (EDQUOT); export, delete, import (files and snapshots back); copy --refresh (the change arrives); a custom
# volume with a size shared by two containers, its quota, snapshot and delete; a pool in use cannot be deleted;
# deleting the instances leaves no subvolume but the image's; bad input. Objects are named cmps-* and removed from
# both daemons at the end (also on failure or ^C).
set -euo pipefail
CMP_NAME=cmps
# shellcheck source=e2e/compare-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/compare-lib.sh"
command -v btrfs >/dev/null || { echo "missing tool: btrfs" >&2; exit 2; }
head -c 200000 /dev/urandom >"$WORK/payload.bin"
PAYLOAD_SHA=$(sha256sum "$WORK/payload.bin" | cut -d' ' -f1)

cleanup_objects() { # LXD_DIR: every cmps-* instance, volume, profile, image and the pool
  local dir=$1 conf="$WORK/conf-cleanup"
  mkdir -p "$conf"
  local L=(env LXD_DIR="$dir" LXD_CONF="$conf" timeout 120 lxc)
  for n in $("${L[@]}" list --format csv -c n 2>/dev/null </dev/null | grep '^cmps-' || true); do
    "${L[@]}" delete --force "$n" >/dev/null 2>&1 </dev/null || true
  done
  for v in $("${L[@]}" storage volume list cmps-bt --format csv 2>/dev/null </dev/null | grep '^custom,' | cut -d, -f2 | grep -v / || true); do
    "${L[@]}" storage volume delete cmps-bt "$v" >/dev/null 2>&1 </dev/null || true
  done
  "${L[@]}" profile delete cmps-prof >/dev/null 2>&1 </dev/null || true
  "${L[@]}" image delete "$FP_UNIFIED" >/dev/null 2>&1 </dev/null || true
  "${L[@]}" storage delete cmps-bt >/dev/null 2>&1 </dev/null || true
  "${L[@]}" storage delete cmps-bad >/dev/null 2>&1 </dev/null || true
}
start_daemons

pool_dir() { echo "$DIR/storage-pools/cmps-bt"; }
# the subvolumes of the pool other than images, sorted
subvolumes() { btrfs subvolume list -o "$(pool_dir)" 2>/dev/null | sed 's/.* path //' | grep -v '^images/' | sort | jq -Rs 'split("\n") | map(select(. != ""))'; }
is_subvolume() { [ "$(stat -c %i "$1" 2>/dev/null)" = 256 ] && echo true || echo false; }
sha_in() { L exec "$1" -- sha256sum "$2" 2>/dev/null </dev/null | cut -d' ' -f1; }

run_all() {
  CONF="$WORK/conf-$TARGET"; mkdir -p "$CONF"
  local c1 c2

  step 01-pool-create text -- storage create cmps-bt btrfs size=1GiB
  step 02-pool-show json '{driver, config, status}' -- query /1.0/storage-pools/cmps-bt
  fact 03-pool-mounted "$(findmnt -rn -o FSTYPE "$(pool_dir)" | jq -Rs 'rtrimstr("\n")')"
  step 04-image-import text -- image import "$WORK/img/busybox.tar.xz" --alias cmps-bb
  step 05-profile none -- profile create cmps-prof
  step 06-profile-root none -- profile device add cmps-prof root disk path=/ pool=cmps-bt

  step 10-launch text -- launch cmps-bb cmps-c1 -p cmps-prof
  fact 11-instance-subvolume "$(is_subvolume "$(pool_dir)/containers/cmps-c1")"
  step 12-push none -- file push "$WORK/payload.bin" cmps-c1/root/data
  fact 13-pushed "$(jq -n --arg a "$(sha_in cmps-c1 /root/data)" --arg b "$PAYLOAD_SHA" '$a == $b')"
  step 14-snapshot text -- snapshot cmps-c1 s1
  fact 15-snapshot-subvolume-ro "$(jq -n --argjson s "$(is_subvolume "$(pool_dir)/containers-snapshots/cmps-c1/s1")" \
    --arg ro "$(btrfs property get -ts "$(pool_dir)/containers-snapshots/cmps-c1/s1" ro 2>/dev/null)" '{subvolume: $s, ro: $ro}')"
  step 16-change none -- exec cmps-c1 -- sh -c 'echo changed > /root/data; touch /root/new'
  step 17-restore text -- restore cmps-c1 s1
  fact 18-restored "$(jq -n --arg a "$(sha_in cmps-c1 /root/data)" --arg b "$PAYLOAD_SHA" --arg n "$(L exec cmps-c1 -- ls /root </dev/null 2>/dev/null)" \
    '{same: ($a == $b), root: $n}')"
  step 19-info-snapshots json '[.snapshots[]?.name]' -- query '/1.0/instances/cmps-c1?recursion=1'

  step 20-copy-from-snapshot text -- copy cmps-c1/s1 cmps-c2
  step 21-start-copy text -- start cmps-c2
  fact 22-copy-content "$(jq -n --arg a "$(sha_in cmps-c2 /root/data)" --arg b "$PAYLOAD_SHA" '$a == $b')"
  fact 23-copy-subvolume "$(is_subvolume "$(pool_dir)/containers/cmps-c2")"

  step 30-root-size none -- config device override cmps-c2 root size=40MiB
  step 31-write-past-quota text -- exec cmps-c2 -- dd if=/dev/zero of=/root/big bs=1M count=80
  step 32-rm-big none -- exec cmps-c2 -- rm -f /root/big

  rm -f "$WORK/c1-$TARGET.tar.gz"
  step 40-export none -- export cmps-c1 "$WORK/c1-$TARGET.tar.gz"
  step 41-delete text -- delete --force cmps-c1
  fact 42-gone "$(jq -n --argjson a "$(is_subvolume "$(pool_dir)/containers/cmps-c1")" --arg b "$(ls "$(pool_dir)/containers-snapshots" 2>/dev/null | grep -c cmps-c1 || true)" '{subvolume: $a, snapshots_dirs: $b}')"
  step 43-import text -- import "$WORK/c1-$TARGET.tar.gz" --storage cmps-bt
  step 44-start-imported text -- start cmps-c1
  fact 45-imported "$(jq -n --arg a "$(sha_in cmps-c1 /root/data)" --arg b "$PAYLOAD_SHA" \
    --argjson s "$(is_subvolume "$(pool_dir)/containers-snapshots/cmps-c1/s1")" '{same: ($a == $b), snapshot_subvolume: $s}')"

  step 50-copy-for-refresh text -- copy cmps-c1 cmps-c3
  step 51-change-source none -- exec cmps-c1 -- sh -c 'echo refreshed > /root/delta'
  step 52-refresh text -- copy cmps-c1 cmps-c3 --refresh
  step 53-start-refreshed text -- start cmps-c3
  step 54-refreshed-file text -- exec cmps-c3 -- cat /root/delta

  step 60-volume-create text -- storage volume create cmps-bt cmps-v1 size=24MiB
  step 61-volume-show json '{name, type, config, content_type, used_by}' -- query /1.0/storage-pools/cmps-bt/volumes/custom/cmps-v1
  step 62-attach-1 text -- storage volume attach cmps-bt cmps-v1 cmps-c1 /mnt/v
  step 63-attach-2 text -- storage volume attach cmps-bt cmps-v1 cmps-c3 vol /srv/v
  step 64-restart-1 none -- restart cmps-c1 --force
  step 65-restart-3 none -- restart cmps-c3 --force
  step 66-write none -- exec cmps-c1 -- sh -c 'echo shared > /mnt/v/note'
  step 67-read-other text -- exec cmps-c3 -- cat /srv/v/note
  step 68-volume-quota text -- exec cmps-c1 -- dd if=/dev/zero of=/mnt/v/big bs=1M count=48
  step 69-volume-used-by json '.used_by' -- query /1.0/storage-pools/cmps-bt/volumes/custom/cmps-v1
  step 70-volume-delete-in-use text -- storage volume delete cmps-bt cmps-v1
  step 71-volume-snapshot text -- storage volume snapshot cmps-bt cmps-v1 vs1
  step 72-detach-1 text -- storage volume detach cmps-bt cmps-v1 cmps-c1
  step 73-detach-3 text -- storage volume detach cmps-bt cmps-v1 cmps-c3
  step 74-volume-delete text -- storage volume delete cmps-bt cmps-v1

  step 80-pool-delete-in-use text -- storage delete cmps-bt
  step 81-delete-all text -- delete --force cmps-c1 cmps-c2 cmps-c3
  fact 82-subvolumes-left "$(subvolumes)"
  step 83-bad-size text -- storage create cmps-bad btrfs size=lots
  step 84-bad-volume-name text -- storage volume create cmps-bt a/b
  step 85-restore-missing text -- restore cmps-nosuch s1
}

run_both
report compare-storage-with-lxd
