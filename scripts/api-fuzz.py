#!/usr/bin/env python3
"""API fuzzing with schemathesis against a fresh demo cluster: every operation in
/api/openapi.json gets generated (valid and invalid) requests; any 5xx answer fails the run.

Usage: scripts/api-fuzz.py --beredd PATH --schemathesis PATH [--examples 25] [--base-port 17081]
"""

import argparse
import os
import subprocess
import sys

from democluster import DEFAULT_BEREDD, DemoCluster


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--beredd", default=DEFAULT_BEREDD)
    ap.add_argument("--schemathesis", default=os.path.expanduser("~/.cache/beredd-venv/bin/schemathesis"))
    ap.add_argument("--examples", type=int, default=25)
    ap.add_argument("--base-port", type=int, default=17081)
    args = ap.parse_args()

    demo = DemoCluster(args.beredd, args.base_port, prefix="beredd-fuzz-")
    base = demo.nodes[1]["http"]
    cmd = [
        args.schemathesis, "run", f"{base}/api/openapi.json",
        "--checks", "not_a_server_error",
        "--header", f"Authorization: Bearer {demo.token}",
        "--max-examples", str(args.examples),
        "--generation-deterministic",
        "--request-timeout", "10",
        # Promoting, removing, handing leadership over and running drills change the fuzzed
        # cluster itself (a removed node, moments without a leader, a halted node): covered by
        # node::it::members, node::it::drill and the role table instead.
        "--exclude-path", "/api/v1/cluster/members/{id}/{change}",
        "--exclude-path", "/api/v1/drills/run",
    ]
    try:
        rc = subprocess.call(cmd)
    finally:
        demo.stop()
    sys.exit(rc)


if __name__ == "__main__":
    main()
