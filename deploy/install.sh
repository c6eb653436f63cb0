#!/usr/bin/env bash
# Idempotent installer for lxdts on Debian 12, run as root (CI runs it too, with CI=true and no stdin):
#   1. Debian packages the project needs now and soon (apt-get update only when one is missing);
#   2. npm ci (skipped when node_modules matches package-lock.json and the Node version: see the stamp file);
#   3. npm run build, and the dqlite sidecar (libs/raft-store/native);
#   4. `lxdts` on PATH (/usr/local/bin/lxdts → this checkout's apps/api/dist/cli/main.js) and the `lxd` group.
# Environment: LXDTS_SKIP_APT=1 skips step 1 (e.g. on a machine that is not Debian), LXDTS_FORCE_NPM_CI=1 forces 2.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
say() { echo "[install] $*"; }
die() { echo "[install] error: $*" >&2; exit 1; }

export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

# lxd-client: the real `lxc` 5.0.2 client (e2e tests, users); lxc: liblxc tools (container runtime);
# busybox-static: test images; sqlite3: database checks; curl/jq/openssl/python3: scripts, benchmarks, compare;
# make/g++: better-sqlite3 compiles from source; iproute2/nftables/iptables/dnsmasq-base: networks;
# btrfs-progs/squashfs-tools/xz-utils/rsync/pigz: storage, images, backups (pigz: gzip on all cores); uidmap:
# unprivileged containers;
# gcc/pkg-config/libdqlite-dev/libraft-dev: the dqlite node sidecar (clustering; pulls libdqlite0).
PACKAGES=(
  lxd-client lxc busybox-static sqlite3 curl jq openssl python3 make g++
  iproute2 nftables iptables dnsmasq-base btrfs-progs squashfs-tools xz-utils zstd rsync pigz uidmap python3-pylxd
  gcc pkg-config libdqlite-dev libraft-dev
)

# ---- 1. Debian packages -----------------------------------------------------------------------------------
if [ "${LXDTS_SKIP_APT:-0}" != 1 ]; then
  [ "$(id -u)" = 0 ] || die "run as root (sudo deploy/install.sh), or set LXDTS_SKIP_APT=1"
  command -v dpkg-query >/dev/null || die "dpkg-query not found: this installer is for Debian 12"
  missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    apt-get "${APT_OPTS[@]}" update -qq
    apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends "${missing[@]}" </dev/null
  else
    say "Debian packages: all ${#PACKAGES[@]} present"
  fi
fi

# ---- 2. Node.js dependencies ------------------------------------------------------------------------------
command -v node >/dev/null || die "node not found (Node.js >= 20.19 is required)"
command -v npm >/dev/null || die "npm not found"
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
  || die "Node.js $(node --version) is too old: >= 20.19 is required"

STAMP=node_modules/.lxdts-install-stamp
want_stamp="$( (sha256sum package-lock.json; node --version; uname -m) | sha256sum | cut -d' ' -f1)"
have_stamp=$(cat "$STAMP" 2>/dev/null || true)
native=node_modules/better-sqlite3/build/Release/better_sqlite3.node
if [ "${LXDTS_FORCE_NPM_CI:-0}" = 1 ] || [ "$want_stamp" != "$have_stamp" ] || [ ! -f "$native" ]; then
  say "npm ci (node_modules missing or out of date with package-lock.json)"
  npm ci --no-audit --no-fund </dev/null
  echo "$want_stamp" > "$STAMP"
else
  say "node_modules up to date with package-lock.json"
fi

# ---- 3. build ---------------------------------------------------------------------------------------------
say "npm run build"
npm run build --silent </dev/null
# The dqlite node sidecar (C, against Debian's libdqlite); rebuilt only when its source changed.
sh libs/raft-store/native/build.sh
sh apps/agent/native/build.sh  # lxdts-attach, the exec helper (lxc-attach is used while it is missing)
[ -x libs/raft-store/native/build/lxdts-dqlite ] || die "the dqlite sidecar did not build"

# ---- 4. lxdts on PATH, lxd group --------------------------------------------------------------------------
CLI="$REPO/apps/api/dist/cli/main.js"
[ -f "$CLI" ] || die "build did not produce $CLI"
chmod +x "$CLI"
if [ -w /usr/local/bin ]; then
  if [ "$(readlink /usr/local/bin/lxdts 2>/dev/null || true)" != "$CLI" ]; then
    ln -sfn "$CLI" /usr/local/bin/lxdts
    say "linked /usr/local/bin/lxdts -> $CLI"
  fi
else
  say "cannot write /usr/local/bin: run $CLI directly"
fi
if [ "$(id -u)" = 0 ] && ! getent group lxd >/dev/null; then
  groupadd --system lxd && say "created group lxd (members may use the unix socket)"
fi
say "done: $(node "$CLI" version 2>/dev/null || echo '?')"
