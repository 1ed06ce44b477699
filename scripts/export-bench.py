#!/usr/bin/env python3
"""Export speed: a 1,000-line supplier batch (two approved orders of 500 lines) downloaded in each
format (CSV, XLSX, PDF per order and consolidated, PEPPOL XML as a ZIP) from a follower of a fresh demo cluster, 20 times each; prints median and max
milliseconds per format (the time to the last byte, as a purchaser would wait for it).

Usage: scripts/export-bench.py [--beredd PATH] [--runs 20] [--base-port 17381]
"""

import argparse
import json
import statistics
import time
import urllib.request

from democluster import DEFAULT_BEREDD, DemoCluster


def call(url, token, method="GET", body=None):
    req = urllib.request.Request(url, data=body, method=method,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status, r.read()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--beredd", default=DEFAULT_BEREDD)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--base-port", type=int, default=17381)
    args = ap.parse_args()
    demo = DemoCluster(args.beredd, args.base_port, prefix="beredd-export-bench-")
    leader, follower = demo.nodes[0]["http"], demo.nodes[1]["http"]
    try:
        time.sleep(3)
        _, body = call(leader + "/api/v1/articles?supplier_id=medilux&limit=500", demo.token)
        articles = [a["id"] for a in json.loads(body)["items"] if not a["withdrawn"]]
        for n in range(2):
            lines = [{"article_id": articles[i % len(articles)], "quantity": 1 + i % 50,
                      "note": f"rad {i}; \"märkt\""} for i in range(500)]
            order = {"id": f"export-bench-{n}", "unit_id": "ekb-iva", "lines": lines, "submit": True}
            call(leader + "/api/v1/orders", demo.token, "POST", json.dumps(order).encode())
            call(leader + f"/api/v1/orders/export-bench-{n}/approve", demo.token, "POST", b"{}")
        time.sleep(1)
        for fmt in ["csv", "xlsx", "pdf", "pdf&layout=consolidated", "ubl"]:
            url = f"{follower}/api/v1/suppliers/medilux/export?format={fmt}&status=approved"
            times, size = [], 0
            for _ in range(args.runs):
                t0 = time.perf_counter()
                _, data = call(url, demo.token)
                times.append((time.perf_counter() - t0) * 1000)
                size = len(data)
            print(f"{fmt:24s} median {statistics.median(times):6.1f} ms  max {max(times):6.1f} ms  "
                  f"({size} bytes, {args.runs} runs)")
    finally:
        demo.stop()


if __name__ == "__main__":
    main()
