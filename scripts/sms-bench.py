#!/usr/bin/env python3
"""SMS speed: on a fresh demo cluster with its SMSC (`beredd demo` starts one that keeps every
text it gets as a JSON file in DATA/sms), N subscribers follow one system by text message; an
incident on that system is posted through a follower, and for each phone the time from that
"send" (the API call) to the moment the SMSC took the whole message (its file's
`received_at`) is measured. Prints median, 95th percentile and max seconds, and checks each
phone got the text exactly once. Run twice for the second incident update too (`--updates 2`).

Usage: scripts/sms-bench.py [--beredd PATH] [--subscribers 1000] [--base-port 17581]
"""

import argparse
import datetime
import glob
import json
import os
import statistics
import sys
import time
import urllib.request

from democluster import DEFAULT_BEREDD, DemoCluster


def call(url, token, method="GET", body=None):
    req = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(), method=method,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read() or b"null")


def received(folder, phones):
    """(phone, received_at) of every message file for one of `phones`."""
    out = []
    for path in glob.glob(os.path.join(folder, "*.json")):
        with open(path) as f:
            m = json.load(f)
        if m["to"] in phones:
            out.append((m["to"], datetime.datetime.fromisoformat(m["received_at"].replace("Z", "+00:00")).timestamp()))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--beredd", default=DEFAULT_BEREDD)
    ap.add_argument("--subscribers", type=int, default=1000)
    ap.add_argument("--updates", type=int, default=1)
    ap.add_argument("--base-port", type=int, default=17581)
    args = ap.parse_args()
    demo = DemoCluster(args.beredd, args.base_port, prefix="beredd-sms-bench-")
    leader, follower = demo.nodes[0]["http"], demo.nodes[1]["http"]
    sms = os.path.join(demo.dir, "sms")
    try:
        time.sleep(3)
        call(leader + "/api/v1/status/systems", demo.token, "POST",
             {"id": "bench-sys", "name": "Bänksystemet", "site": "Bänk"})
        phones = set()
        t = time.perf_counter()
        for n in range(args.subscribers):
            phone = f"+4670{n:07d}"
            phones.add(phone)
            call(leader + "/api/v1/subscribers", demo.token, "POST",
                 {"id": f"bench-{n}", "name": f"Prenumerant {n}", "target": {"kind": "sms", "phone": phone},
                  "systems": ["bench-sys"]})
        print(f"{args.subscribers} subscribers made in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        due = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)).isoformat()
        for u in range(args.updates):
            before = len(received(sms, phones))
            sent = time.time()
            if u == 0:
                call(follower + "/api/v1/status/incidents", demo.token, "POST",
                     {"id": "bench-inc", "title": "Bänksystemet svarar långsamt", "impact": "minor",
                      "systems": ["bench-sys"], "body": "Vi undersöker. Beställ som vanligt.",
                      "next_update_due": due})
            else:
                call(follower + "/api/v1/status/incidents/bench-inc/updates", demo.token, "POST",
                     {"stage": "identified", "body": "Orsaken är hittad.", "next_update_due": due})
            deadline = time.time() + 600
            while len(received(sms, phones)) < before + len(phones):
                if time.time() > deadline:
                    sys.exit(f"only {len(received(sms, phones)) - before} of {len(phones)} texts arrived in 600 s")
                time.sleep(0.5)
            got = sorted(received(sms, phones), key=lambda r: r[1])[before:]
            per_phone = {}
            for phone, _ in got:
                per_phone[phone] = per_phone.get(phone, 0) + 1
            assert set(per_phone) == phones and set(per_phone.values()) == {1}, "each phone once"
            times = sorted(at - sent for _, at in got)
            p95 = times[int(0.95 * (len(times) - 1))]
            print(f"update {u + 1}: {len(times)} texts, send -> SMSC: median {statistics.median(times):.2f} s, "
                  f"p95 {p95:.2f} s, max {times[-1]:.2f} s ({len(times) / times[-1]:.0f} texts/s)")
    finally:
        demo.stop()


if __name__ == "__main__":
    main()
