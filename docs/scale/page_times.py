#!/usr/bin/env python3
"""Signs in as the benchmark's manager (bench.manager) and times N GETs of each path after
10 warm-up requests; prints p50/p90/p99 in ms. Usage: page_times.py BASE_URL N PATH..."""
import http.cookiejar, re, sys, time, urllib.parse, urllib.request
base = sys.argv[1]; n = int(sys.argv[2]); paths = sys.argv[3:]
jar = http.cookiejar.CookieJar()
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k): return None
op = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
page = op.open(base + "/login").read().decode()
csrf = re.search(r'name="csrf"[^>]*value="([^"]+)"', page) or re.search(r'value="([^"]+)"[^>]*name="csrf"', page)
data = urllib.parse.urlencode({"csrf": csrf.group(1), "username": "bench.manager", "password": "correct horse battery staple"}).encode()
try:
    op.open(base + "/login", data)
except urllib.error.HTTPError as e:
    assert e.code == 303, e.code
for path in paths:
    ts = []
    for i in range(n + 10):
        t0 = time.perf_counter(); r = op.open(base + path); body = r.read(); dt = (time.perf_counter() - t0) * 1000
        assert r.status == 200, (path, r.status)
        if i >= 10: ts.append(dt)
    ts.sort()
    pct = lambda p: ts[min(len(ts) - 1, int(p / 100 * len(ts)))]
    print(f"{path}: n={n} p50 {pct(50):.2f} ms  p90 {pct(90):.2f} ms  p99 {pct(99):.2f} ms  bytes {len(body)}")
