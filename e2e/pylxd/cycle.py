#!/usr/bin/python3
"""pylxd 2.2.10 (Debian python3-pylxd) against a daemon's unix socket: create, start, execute, files, stop, delete.

Usage: LXD_DIR=... cycle.py IMAGE_ALIAS NAME (pylxd finds $LXD_DIR/unix.socket). Prints one JSON object with what it observed; exits non-zero on failure.
"""
import hashlib
import json
import os
import sys

import pylxd

alias, name = sys.argv[1:3]
client = pylxd.Client()
seen = {}
container = client.containers.create(
    {"name": name, "source": {"type": "image", "alias": alias}}, wait=True
)
try:
    container.start(wait=True)
    container.sync()
    seen["status_after_start"] = container.status
    result = container.execute(["cat", "/proc/1/comm"])
    seen["exec_exit"] = result.exit_code
    seen["exec_stdout"] = result.stdout
    failing = container.execute(["sh", "-c", "echo oops >&2; exit 3"])
    seen["exec_fail_exit"] = failing.exit_code
    seen["exec_fail_stderr"] = failing.stderr
    payload = os.urandom(256 * 1024)
    container.files.put("/root/pylxd.bin", payload)
    back = container.files.get("/root/pylxd.bin")
    seen["file_sha_equal"] = hashlib.sha256(back).hexdigest() == hashlib.sha256(payload).hexdigest()
    container.stop(force=True, wait=True)
    container.sync()
    seen["status_after_stop"] = container.status
finally:
    try:
        container.sync()
        if container.status != "Stopped":
            container.stop(force=True, wait=True)
    except Exception:  # noqa: BLE001 — best-effort cleanup
        pass
    container.delete(wait=True)
seen["exists_after_delete"] = client.containers.exists(name)
print(json.dumps(seen))
