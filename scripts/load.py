#!/usr/bin/env python3
"""Write load against a fresh demo cluster: throughput, latency and elections.

Starts `beredd demo` in a temp folder (Raft timings can be overridden with BEREDD_RAFT_* in
the environment, which the nodes inherit), runs W concurrent writers for D seconds, each
creating orders through a round-robin node, and reports writes/s, latency percentiles, and how
many elections happened (term changes) while nothing was failing: any is a needless election.

Usage: scripts/load.py [--beredd PATH] [--writers 8] [--seconds 60] [--base-port 19081]
"""

import argparse
import http.client
import json
import os
import sys
import threading
import time

from democluster import DEFAULT_BEREDD, DemoCluster


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--beredd", default=DEFAULT_BEREDD)
    ap.add_argument("--writers", type=int, default=8)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--base-port", type=int, default=19081)
    args = ap.parse_args()

    demo = DemoCluster(args.beredd, args.base_port, prefix="beredd-load-")
    hosts = [n["http"].removeprefix("http://") for n in demo.nodes]
    auth = {"Authorization": f"Bearer {demo.token}"}

    def get(host, path):
        c = http.client.HTTPConnection(host, timeout=10)
        c.request("GET", path, headers=auth)
        return json.loads(c.getresponse().read())

    unit = get(hosts[0], "/api/v1/units?limit=1")["items"][0]["id"]
    article = next(a["id"] for a in get(hosts[0], "/api/v1/articles?limit=50")["items"] if not a["withdrawn"])
    terms0 = [get(h, "/api/v1/cluster")["term"] for h in hosts]

    lat, errors = [], [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + args.seconds

    def writer(w):
        conns = [http.client.HTTPConnection(h, timeout=10) for h in hosts]
        n = 0
        while time.monotonic() < stop_at:
            i = (w + n) % len(hosts)
            body = json.dumps({"id": f"load-{w}-{n}", "unit_id": unit,
                               "lines": [{"article_id": article, "quantity": 1 + n % 5}]})
            t = time.monotonic()
            try:
                conns[i].request("POST", "/api/v1/orders", body, {"Content-Type": "application/json", **auth})
                r = conns[i].getresponse()
                r.read()
                ok = r.status in (200, 201)
            except (OSError, http.client.HTTPException):
                conns[i] = http.client.HTTPConnection(hosts[i], timeout=10)
                ok = False
            d = time.monotonic() - t
            with lock:
                if ok:
                    lat.append(d)
                else:
                    errors[0] += 1
            n += 1

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(args.writers)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - start
    terms1 = [get(h, "/api/v1/cluster")["term"] for h in hosts]
    lat.sort()
    n = len(lat)
    pct = lambda p: lat[min(n - 1, int(n * p))] * 1000
    timings = {k: v for k, v in os.environ.items() if k.startswith("BEREDD_RAFT_")}
    print(f"timings {timings or 'defaults'}; {args.writers} writers for {took:.0f} s")
    print(f"acknowledged writes {n} ({n / took:.0f}/s), failed {errors[0]}; latency p50 {pct(0.5):.1f} ms, "
          f"p99 {pct(0.99):.1f} ms, max {lat[-1] * 1000:.0f} ms")
    print(f"elections during the run (term changes): {max(terms1) - max(terms0)}")
    demo.stop()
    sys.exit(0 if errors[0] == 0 and max(terms1) == max(terms0) else 1)


if __name__ == "__main__":
    main()
