#!/usr/bin/env python3
"""Check-outs and returns at 20 a second, timed from a client of its own, with or
without an events export running on the same server (docs/performance.md).

Usage (against a server on a copy of a benchmark database, `kitroom-bench --keep`):
  checkouts_during_export.py PORT API_TOKEN TAG,TAG,... 1|0 'kitroom_session=...'
  TAGs: available devices; each is checked out then returned (on charge).
  1: download /export/events.csv with the session cookie (a manager's) meanwhile.
Only talks to 127.0.0.1.
"""
import http.client
import sys
import threading
import time

port, token, tags = int(sys.argv[1]), sys.argv[2], sys.argv[3].split(",")
with_export = sys.argv[4] == "1"
cookie = sys.argv[5] if len(sys.argv) > 5 else ""
headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}


def exporter():
    c = http.client.HTTPConnection("127.0.0.1", port)
    t = time.time()
    c.request("GET", "/export/events.csv", headers={"Cookie": cookie})
    r = c.getresponse()
    n = 0
    while True:
        b = r.read(65536)
        if not b:
            break
        n += len(b)
    print("export", r.status, n, "bytes in", round(time.time() - t, 1), "s", flush=True)


if with_export:
    threading.Thread(target=exporter).start()
    time.sleep(0.5)
c = http.client.HTTPConnection("127.0.0.1", port)
latencies, t0, i = [], time.time(), 0
for tag in tags:
    for action in ("checkout", "return"):
        due = t0 + i / 20.0
        i += 1
        if due > time.time():
            time.sleep(due - time.time())
        body = '{"on_charge":true,"images_cleared":true}' if action == "return" else "{}"
        start = time.time()
        c.request("POST", f"/api/v1/devices/{tag}/{action}", body=body, headers=headers)
        r = c.getresponse()
        answer = r.read()
        latencies.append((time.time() - start) * 1000)
        if r.status >= 300:
            print(action, tag, r.status, answer[:200])
latencies.sort()
n = len(latencies)
print("n", n, "p50", round(latencies[n // 2], 1), "p90", round(latencies[int(n * 0.9)], 1),
      "max", round(latencies[-1], 1))
