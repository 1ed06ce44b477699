#!/usr/bin/env python3
"""Writes the stored-format fixture that `crates/node/tests/it/format.rs` opens: node 1's data
folder of a `beredd demo` cluster run by a given (older) `beredd`, with a record in every table
(the demo's data plus a supplier channel, a status subscriber, a dispatch job and a drill
report), and what that build answered for every list, so that a newer build can be checked to
open the folder and serve every record the same way.

    python3 scripts/make-format-fixture.py --beredd /path/to/old/beredd \
        --out crates/node/tests/it/fixtures/format-1

Run it once per stored format; the test needs no network and no old build.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from democluster import DemoCluster  # noqa: E402

# Every list the API serves, with the route's limit; each is paged through to the end.
LISTS = [
    "/api/v1/suppliers", "/api/v1/units", "/api/v1/articles", "/api/v1/orders", "/api/v1/users",
    "/api/v1/audit", "/api/v1/contacts", "/api/v1/rotas", "/api/v1/cards", "/api/v1/subscribers",
    "/api/v1/dispatch", "/api/v1/drills",
]
ONES = ["/api/v1/organisation", "/api/v1/status"]


def call(base, token, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--beredd", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--base-port", type=int, default=18481)
    a = ap.parse_args()

    c = DemoCluster(a.beredd, a.base_port, prefix="beredd-fixture-")
    base, token = c.nodes[0]["http"], c.token
    try:
        # The tables the demo leaves empty.
        orders = call(base, token, "GET", "/api/v1/orders?status=approved&limit=500")[1]["items"]
        if not orders:
            sys.exit("no approved demo order")
        article = orders[0]["lines"][0]["article_id"]
        sup = call(base, token, "GET", f"/api/v1/articles/{article}")[1]["supplier_id"]
        mine = [orders[0]["id"]]
        s, r = call(base, token, "PUT", f"/api/v1/suppliers/{sup}/channel",
                    {"channel": {"kind": "manual", "how": "fax 08-123 45 67"}})
        assert s == 200, (s, r)
        s, r = call(base, token, "POST", "/api/v1/subscribers",
                    {"id": "fixture-sub", "name": "Fixture", "target": {"kind": "email", "address": "a@example.org"},
                     "systems": [], "sites": ["Östra sjukhuset"], "lang": "sv"})
        assert s in (200, 201), (s, r)
        s, r = call(base, token, "POST", "/api/v1/dispatch", {"id": "fixture-job", "supplier_id": sup, "order_ids": mine})
        assert s in (200, 201), (s, r)
        report = {"id": "drill-20261204-120000-fixt", "started_at": "2026-12-04T12:00:00Z", "action": "fixture",
                  "old_leader": 1, "new_leader": 2, "without_leader_ms": 1500, "first_ack_ms": 1600,
                  "writes": {"acknowledged": 10, "failed": 0, "unknown": 0, "unknown_landed": 0, "lost": 0},
                  "lost_ids": [], "drill_orders_cancelled": 0, "before": [], "after": [], "ok": True}
        s, r = call(base, token, "POST", "/api/v1/drills", report)
        assert s in (200, 201), (s, r)

        # Let every node apply the same index, then record what node 1 serves.
        time.sleep(2)
        expected = {"token": token, "lists": {}, "ones": {}}
        for path in LISTS:
            items, cursor = [], None
            while True:
                sep = "&" if "?" in path else "?"
                q = f"{path}{sep}limit=500" + (f"&cursor={cursor}" if cursor else "")
                s, r = call(base, token, "GET", q)
                assert s == 200, (path, s, r)
                items += r["items"]
                cursor = r.get("next")
                if not cursor:
                    break
            expected["lists"][path] = items
        for path in ONES:
            s, r = call(base, token, "GET", path)
            assert s == 200, (path, s, r)
            expected["ones"][path] = r
        s, r = call(base, token, "GET", "/api/v1/cluster?digest=true")
        expected["state_digest"] = r["state_digest"]
        counts = {p: len(v) for p, v in expected["lists"].items()}
        print("recorded", counts, "digest", r["state_digest"])
    finally:
        c.stop()

    node1 = next(n for n in c.nodes if n["id"] == 1)
    cfg = open(node1["config"]).read()
    data_dir = next(line.split("=", 1)[1].strip().strip('"') for line in cfg.splitlines()
                    if line.strip().startswith("data_dir"))
    if not os.path.isabs(data_dir):
        data_dir = os.path.join(os.path.dirname(node1["config"]), data_dir)
    os.makedirs(a.out, exist_ok=True)
    with tarfile.open(os.path.join(a.out, "node1-data.tar.gz"), "w:gz") as t:
        t.add(data_dir, arcname="data", filter=lambda ti: None if ti.name.endswith("/LOCK") else ti)
    with open(os.path.join(a.out, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True, ensure_ascii=False)
    version = subprocess.run([a.beredd, "--version"], capture_output=True, text=True).stdout.strip()
    with open(os.path.join(a.out, "README.md"), "w") as f:
        f.write(f"Node 1's data folder of a `beredd demo` cluster, written by {version} "
                "(commit c4642c5, before issue 17), and what it served; made by "
                "`scripts/make-format-fixture.py`. Opened by `crates/node/tests/it/format.rs`.\n")
    shutil.rmtree(c.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
