#!/usr/bin/env python3
"""Page speed with a big catalog and order book: loads 10,000 articles (through the CSV import)
and 100,000 orders (through the API) into a fresh demo cluster, then measures the order list and
catalog search pages with wrk (32 connections) and reports p50/p99 latency, throughput and the
nodes' memory. Needs `wrk` (Debian package `wrk`).

Usage: scripts/ui-bench.py [--beredd PATH] [--orders 100000] [--articles 10000] [--seconds 20] [--data DIR]
"""

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request

from democluster import DEFAULT_BEREDD, DemoCluster


def call(url, token, method="GET", body=None, headers=None):
    h = {"Authorization": f"Bearer {token}"}
    h.update(headers or {})
    req = urllib.request.Request(url, data=body, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def load_articles(base, token, n):
    """Articles in CSV files of at most 5,000 rows (one import each), for the demo suppliers."""
    suppliers = ["medilux", "nordvard", "kronhjort", "fjallsjo", "ljungberg", "solglanta"]
    words = ["Kompress", "Handske", "Förband", "Kateter", "Spruta", "Kanyl", "Tejp", "Plåster", "Skyddsrock", "Munskydd"]
    made = 0
    while made < n:
        rows = ["id;article_number;name;unit;pack_size;supplier_id;category;price"]
        for i in range(made, min(n, made + 5000)):
            w = words[i % len(words)]
            rows.append(f"bench-{i:06};B-{i:06};{w} bänkmodell {i};PK;10;{suppliers[i % 6]};{w}ar;{(i % 900) + 10},50")
        made += len(rows) - 1
        data = "\n".join(rows).encode()
        boundary = "bench-boundary"
        payload = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\narticles\r\n"
                   f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n"
                   "Content-Type: text/csv\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
        status, body = call(base + "/admin/import", token, "POST", payload,
                            {"Content-Type": f"multipart/form-data; boundary={boundary}"})
        # The import answers with a redirect to the admin page (urllib follows it: 200).
        if status not in (200, 303):
            sys.exit(f"import failed: {status} {body[:500]!r}")


def load_orders(base, token, n, workers=32):
    units = ["ekb-iva", "ekb-akut", "ekb-op", "nvk-akut", "nvk-iva", "sjo-avd3"]

    def one(i):
        body = json.dumps({
            "id": f"bench-o-{i:06}", "unit_id": units[i % len(units)],
            "lines": [{"article_id": f"bench-{(i * 7) % 10000:06}", "quantity": 1 + i % 20},
                      {"article_id": f"bench-{(i * 13) % 10000:06}", "quantity": 2}],
            "needed_by": f"2027-0{1 + i % 9}-1{i % 9}", "urgent": i % 17 == 0, "submit": i % 3 != 0,
        }).encode()
        for _ in range(5):
            s, b = call(base + "/api/v1/orders", token, "POST", body, {"Content-Type": "application/json"})
            if s in (200, 201):
                return
            time.sleep(1)
        raise RuntimeError(f"order {i}: {s} {b[:200]!r}")

    t0 = time.time()
    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        for k, _ in enumerate(ex.map(one, range(n))):
            if k and k % 10000 == 0:
                print(f"  {k} orders, {k / (time.time() - t0):.0f}/s", flush=True)
    return n / (time.time() - t0)


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def wrk(url, token, seconds, connections=32):
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s",
                          "-H", f"Authorization: Bearer {token}", url], capture_output=True, text=True).stdout
    pct = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)", out, re.M))
    rps = re.search(r"Requests/sec:\s+(\S+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"p50": pct.get("50"), "p90": pct.get("90"), "p99": pct.get("99"),
            "rps": rps.group(1) if rps else None, "non2xx": int(errors.group(1)) if errors else 0}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--beredd", default=DEFAULT_BEREDD)
    ap.add_argument("--orders", type=int, default=100_000)
    ap.add_argument("--articles", type=int, default=10_000)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--base-port", type=int, default=17281)
    ap.add_argument("--data", help="keep the cluster here; a second run reuses the loaded data")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    demo = DemoCluster(args.beredd, args.base_port, prefix="beredd-bench-", data=args.data)
    base = demo.nodes[0]["http"]
    marker = os.path.join(demo.dir, "bench-loaded")
    try:
        time.sleep(3)
        if not os.path.exists(marker):
            t0 = time.time()
            load_articles(base, demo.token, args.articles)
            print(f"{args.articles} articles imported in {time.time() - t0:.1f} s")
            rate = load_orders(base, demo.token, args.orders)
            print(f"{args.orders} orders created at {rate:.0f}/s")
            open(marker, "w").close()
        target = demo.nodes[1]["http"]  # a follower, as most users would be
        # Warm the node's read index once (built on first use).
        call(target + "/orders", demo.token)
        results = {}
        for name, path in [("order list, newest first", "/orders"),
                           ("order list, status filter + sort by needed-by", "/orders?status=submitted&sort=needed_by"),
                           ("order list, unit + supplier filter, page 3", "/orders?unit=ekb-iva&supplier=medilux&page=3"),
                           ("catalog search 'handske'", "/catalog?q=handske"),
                           ("catalog search 'forband' + category", "/catalog?q=forband&category=F%C3%B6rbandar")]:
            results[name] = wrk(target + path, demo.token, args.seconds)
            print(f"{name:48s} {json.dumps(results[name])}", flush=True)
        for n in demo.nodes:
            print(f"node {n['id']} RSS {rss_mb(n['pid']):.0f} MiB")
    finally:
        demo.stop()


if __name__ == "__main__":
    main()
