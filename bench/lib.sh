# Shared by the bench/*.sh scripts (sourced): the lxc wrapper, the temporary lxdts daemon and the reference LXD.
# Expects: WORK (temp dir), CLI (lxdts entry point), TS_DIR, TS_PID, ANCHOR, ANCHOR_UP, DAEMON and DIR (current side);
# LXDTS_DEBUG=1 starts lxdts with --debug.
# shellcheck shell=bash

log() { printf '[bench] %s\n' "$*" >&2; }

# lxc against the current daemon, with a private client config
L() { LXD_DIR="$DIR" LXD_CONF="$WORK/conf-$DAEMON" lxc "$@"; }
Lq() { L "$@" >/dev/null 2>&1 </dev/null; }

# A fresh lxdts daemon on TS_DIR, `init --auto`ed; its log in $WORK/lxdts-daemon.log.
start_lxdts() {
  [ -f "$CLI" ] || { echo "build first: npm run build" >&2; return 1; }
  local dbg=()
  [ "${LXDTS_DEBUG:-0}" = 1 ] && dbg=(--debug)
  LXD_DIR="$TS_DIR" node "$CLI" daemon "${dbg[@]}" >"$WORK/lxdts-daemon.log" 2>&1 </dev/null &
  TS_PID=$!
  LXD_DIR="$TS_DIR" timeout 90 node "$CLI" waitready --timeout=60 </dev/null || return 1
  LXD_DIR="$TS_DIR" node "$CLI" init --auto </dev/null >/dev/null || return 1
}

# `lxdts shutdown`, then the daemon and the agent it started killed by pid if they did not stop.
stop_lxdts() {
  [ -n "$TS_PID" ] || return 0
  if kill -0 "$TS_PID" 2>/dev/null; then
    LXD_DIR="$TS_DIR" timeout 60 node "$CLI" shutdown --timeout=45 >/dev/null 2>&1 </dev/null || true
    for _ in $(seq 100); do kill -0 "$TS_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$TS_PID" 2>/dev/null; then
      local kids
      kids=$(pgrep -P "$TS_PID" || true) # the agent the daemon started
      log "lxdts did not stop: killing pid $TS_PID $kids"
      # shellcheck disable=SC2086
      kill -KILL "$TS_PID" $kids 2>/dev/null || true
    fi
  fi
  TS_PID=""
}

# The reference LXD answering at ANCHOR, started with ANCHOR_UP when it does not.
ensure_anchor() {
  if ! LXD_DIR="$ANCHOR" timeout 10 lxc query /1.0 >/dev/null 2>&1 </dev/null; then
    [ -f "$ANCHOR_UP" ] || { echo "real LXD not answering at $ANCHOR and no $ANCHOR_UP" >&2; return 1; }
    log "starting the reference LXD with $ANCHOR_UP"
    (cd "$WORK" && LXD_DIR="$ANCHOR" bash "$ANCHOR_UP" >"$WORK/lxd-up.log" 2>&1) || { tail -20 "$WORK/lxd-up.log" >&2; return 1; }
  fi
}

# The busybox test image built into $WORK/img: sets IMG and IMG_FP.
build_bench_image() {
  log "building the busybox image"
  bash "$REPO/e2e/images/build-busybox-image.sh" "$WORK/img" >"$WORK/img.log" 2>&1 || { cat "$WORK/img.log" >&2; exit 2; }
  IMG="$WORK/img/busybox.tar.xz"
  IMG_FP=$(sha256sum "$IMG" | cut -d' ' -f1)
}

# The image under ALIAS on the current daemon: an alias when the same bytes are there already, else imported
# (ANCHOR_FP records what this run imported into the reference LXD, for the cleanup).
import_bench_image() {
  local alias=$1
  if L image info "$IMG_FP" >/dev/null 2>&1 </dev/null; then
    L image alias create "$alias" "$IMG_FP" >/dev/null </dev/null || return 1
  else
    L image import "$IMG" --alias "$alias" >/dev/null </dev/null || return 1
    if [ "$DAEMON" = lxd ]; then ANCHOR_FP=$IMG_FP; fi
  fi
}
