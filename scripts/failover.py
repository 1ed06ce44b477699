#!/usr/bin/env python3
"""Failover drill against a real demo cluster.

Starts `beredd demo` in a temp folder, keeps a steady write load (orders, each with its own id)
going through every node, kills the leader with SIGKILL five times, restarts it after each round,
and prints per round the time from the kill to the next acknowledged write started after it.
At the end every acknowledged order is looked up on every node: any missing one is reported.

Usage: scripts/failover.py [--beredd PATH] [--rounds 5] [--base-port 18081]
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from democluster import DEFAULT_BEREDD, DemoCluster


HEADERS = {"Content-Type": "application/json"}


def call(method, url, body=None, timeout=10):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=HEADERS)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return 0, None


class Load:
    """Writers that send orders round-robin to the nodes and record every acknowledgement."""

    def __init__(self, nodes, unit, article, writers=2):
        self.nodes, self.unit, self.article = nodes, unit, article
        self.acked = {}  # id -> (sent_at, acked_at)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(w,), daemon=True) for w in range(writers)]

    def run(self, w):
        n = 0
        while not self.stop.is_set():
            node = self.nodes[(n + w) % len(self.nodes)]
            oid = f"drill-{w}-{n}"
            body = {"id": oid, "unit_id": self.unit, "lines": [{"article_id": self.article, "quantity": 1}]}
            sent = time.monotonic()
            # Retry the same id until acknowledged: the id makes the retry safe.
            while not self.stop.is_set():
                status, _ = call("POST", f"{node['http']}/api/v1/orders", body, timeout=6)
                if status in (200, 201):
                    with self.lock:
                        self.acked[oid] = (sent, time.monotonic())
                    break
                node = self.nodes[(self.nodes.index(node) + 1) % len(self.nodes)]
                time.sleep(0.05)
            n += 1

    def first_ack_after(self, t):
        with self.lock:
            times = [a for (s, a) in self.acked.values() if s >= t]
        return min(times) if times else None


def leader(nodes):
    for n in nodes:
        s, v = call("GET", f"{n['http']}/api/v1/cluster", timeout=2)
        if s == 200 and v and v.get("role") == "leader":
            return n
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--beredd", default=DEFAULT_BEREDD)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--base-port", type=int, default=18081)
    args = ap.parse_args()

    demo = DemoCluster(args.beredd, args.base_port, prefix="beredd-failover-")
    nodes = demo.nodes
    HEADERS["Authorization"] = f"Bearer {demo.token}"
    restarted = {}

    _, units = call("GET", f"{nodes[0]['http']}/api/v1/units?limit=1")
    _, arts = call("GET", f"{nodes[0]['http']}/api/v1/articles?limit=50")
    article = next(a["id"] for a in arts["items"] if not a["withdrawn"])
    load = Load(nodes, units["items"][0]["id"], article)
    for t in load.threads:
        t.start()
    time.sleep(3)

    print(f"{'round':>5} {'killed':>6} {'kill → next acked write':>24} {'new leader':>10}")
    results = []
    for r in range(1, args.rounds + 1):
        old = None
        while old is None:
            old = leader(nodes)
            time.sleep(0.1)
        pid = restarted.get(old["id"], old["pid"])
        killed_at = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        took = None
        while took is None and time.monotonic() - killed_at < 30:
            a = load.first_ack_after(killed_at)
            took = None if a is None else a - killed_at
            time.sleep(0.01)
        new = None
        while new is None or new["id"] == old["id"]:
            new = leader([n for n in nodes if n["id"] != old["id"]])
            time.sleep(0.05)
        results.append(took)
        shown = f"{took:.3f} s" if took is not None else "none in 30 s"
        print(f"{r:>5} {old['id']:>6} {shown:>24} {new['id']:>10}", flush=True)
        log = open(old["log"], "a")
        p = subprocess.Popen([args.beredd, "serve", "--config", old["config"]], stdout=log, stderr=log)
        restarted[old["id"]] = p.pid
        time.sleep(4)

    load.stop.set()
    for t in load.threads:
        t.join()
    time.sleep(2)
    acked = sorted(load.acked)
    missing = 0
    for n in nodes:
        ids = set()
        cursor = None
        while True:
            q = f"?limit=500" + (f"&cursor={cursor}" if cursor else "")
            _, v = call("GET", f"{n['http']}/api/v1/orders{q}", timeout=20)
            ids.update(o["id"] for o in v["items"])
            cursor = v["next"]
            if not cursor:
                break
        lost = [a for a in acked if a not in ids]
        missing += len(lost)
        print(f"node {n['id']}: {len(acked) - len(lost)} of {len(acked)} acknowledged writes present" +
              (f", MISSING {lost[:5]}" if lost else ""))
    ok = [x for x in results if x is not None]
    if ok:
        ok.sort()
        print(f"kill → next acked write: min {ok[0]:.3f} s, median {ok[len(ok) // 2]:.3f} s, max {ok[-1]:.3f} s "
              f"over {len(ok)} rounds; acknowledged writes lost: {missing}")
    for pid in restarted.values():
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    demo.stop()
    sys.exit(1 if missing or len(ok) < len(results) else 0)


if __name__ == "__main__":
    main()
