#!/usr/bin/env python3
"""Dispatch speed: on a fresh demo cluster with its mail server (scripts/mailbox.py), N approved
orders are sent to the supplier by e-mail with PDF, CSV and PEPPOL XML attached, one job each,
posted through a follower; prints median, 95th percentile and max seconds from the API call to
the moment that follower shows the job delivered (the mail server answered 250 and the attempt
is committed), and checks that each message arrived exactly once.

Usage: scripts/dispatch-bench.py [--beredd PATH] [--orders 50] [--base-port 17481]
(run with the venv's Python, which has aiosmtpd: ~/.cache/beredd-venv/bin/python)
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

from democluster import DEFAULT_BEREDD, DemoCluster


def call(url, token, method="GET", body=None):
    req = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(), method=method,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read() or b"null")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--beredd", default=DEFAULT_BEREDD)
    ap.add_argument("--orders", type=int, default=50)
    ap.add_argument("--base-port", type=int, default=17481)
    args = ap.parse_args()
    folder = tempfile.mkdtemp(prefix="beredd-dispatch-bench-mail-")
    mailbox = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__), "mailbox.py"),
                                "--port", str(args.base_port + 2000), "--dir", folder], stdout=subprocess.DEVNULL)
    demo = DemoCluster(args.beredd, args.base_port, prefix="beredd-dispatch-bench-")
    leader, follower = demo.nodes[0]["http"], demo.nodes[1]["http"]
    try:
        time.sleep(3)
        articles = [a["id"] for a in call(leader + "/api/v1/articles?supplier_id=medilux&limit=500", demo.token)["items"]
                    if not a["withdrawn"]]
        call(leader + "/api/v1/suppliers/medilux/channel", demo.token, "PUT",
             {"channel": {"kind": "email", "to": ["order@medilux.example"], "attach": ["pdf", "csv", "ubl"]}})
        ids = []
        for n in range(args.orders):
            lines = [{"article_id": articles[(n + i) % len(articles)], "quantity": 1 + i} for i in range(5)]
            oid = f"dispatch-bench-{n}"
            call(leader + "/api/v1/orders", demo.token, "POST", {"id": oid, "unit_id": "ekb-iva", "lines": lines,
                                                                 "submit": True})
            call(leader + f"/api/v1/orders/{oid}/approve", demo.token, "POST", {})
            ids.append(oid)
        times = []
        for oid in ids:
            t0 = time.perf_counter()
            job = call(follower + "/api/v1/dispatch", demo.token, "POST",
                       {"id": f"job-{oid}", "supplier_id": "medilux", "order_ids": [oid]})
            while call(follower + f"/api/v1/dispatch/{job['id']}", demo.token)["state"] != "delivered":
                time.sleep(0.005)
            times.append(time.perf_counter() - t0)
        times.sort()
        p95 = times[max(0, int(len(times) * 0.95) - 1)]
        time.sleep(1)
        mail = [json.load(open(os.path.join(folder, f))) for f in os.listdir(folder) if f.endswith(".json")
                and not f.startswith(".")]
        ids_seen = sorted(m["message_id"] for m in mail)
        once = len(ids_seen) == len(set(ids_seen)) == len(ids)
        print(f"{len(times)} orders, send → delivered: median {statistics.median(times):.3f} s, "
              f"p95 {p95:.3f} s, max {max(times):.3f} s; {len(mail)} messages, each once: {once}")
    finally:
        demo.stop()
        mailbox.terminate()


if __name__ == "__main__":
    main()
