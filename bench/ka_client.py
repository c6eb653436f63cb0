#!/usr/bin/env python3
"""Keep-alive HTTP GETs over one unix-socket connection; prints per-request latency statistics as JSON.

Usage: ka_client.py SOCKET [--path /1.0] [-n 5000] [--warmup 200] [--samples FILE]
Only the Python standard library (http.client) is used. Each request's time is measured from sending the request
line to having read the whole body. The connection must stay open: a reconnect is counted and reported.
"""
import argparse
import http.client
import json
import socket
import statistics
import sys
import time


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("unix.socket", timeout=timeout)
        self.unix_path = path
        self.connects = 0

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s
        self.connects += 1


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = (len(sorted_values) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("socket")
    ap.add_argument("--path", default="/1.0")
    ap.add_argument("-n", type=int, default=5000)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--samples", help="write every latency (ms) to this file, one per line")
    a = ap.parse_args()

    conn = UnixHTTPConnection(a.socket)
    lat_ms = []
    statuses = {}
    body_bytes = 0
    for i in range(a.warmup + a.n):
        t0 = time.perf_counter_ns()
        conn.request("GET", a.path, headers={"Connection": "keep-alive"})
        resp = conn.getresponse()
        body = resp.read()
        t1 = time.perf_counter_ns()
        if resp.will_close:
            conn.close()  # next request reconnects (counted)
        if i >= a.warmup:
            lat_ms.append((t1 - t0) / 1e6)
            statuses[resp.status] = statuses.get(resp.status, 0) + 1
            body_bytes = len(body)
    conn.close()
    s = sorted(lat_ms)
    out = {
        "socket": a.socket,
        "path": a.path,
        "requests": a.n,
        "warmup": a.warmup,
        "connections": conn.connects,
        "statuses": statuses,
        "body_bytes": body_bytes,
        "median_ms": statistics.median(s),
        "p10_ms": percentile(s, 10),
        "p90_ms": percentile(s, 90),
        "p99_ms": percentile(s, 99),
        "mean_ms": statistics.fmean(s),
        "min_ms": s[0],
        "max_ms": s[-1],
        "requests_per_s": 1000.0 / statistics.fmean(s),
    }
    if a.samples:
        with open(a.samples, "w") as f:
            f.write("\n".join(f"{v:.4f}" for v in lat_ms) + "\n")
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
