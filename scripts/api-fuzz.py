#!/usr/bin/env python3
"""API fuzzing with schemathesis against a fresh demo cluster: every operation in
/api/openapi.json gets generated (valid and invalid) requests; any 5xx answer fails the run.

Usage: scripts/api-fuzz.py --beredd PATH --schemathesis PATH [--examples 25] [--base-port 17081]
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--beredd", default=os.path.expanduser("~/.cache/beredd-target/debug/beredd"))
    ap.add_argument("--schemathesis", default=os.path.expanduser("~/.cache/beredd-venv/bin/schemathesis"))
    ap.add_argument("--examples", type=int, default=25)
    ap.add_argument("--base-port", type=int, default=17081)
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="beredd-fuzz-")
    demo = subprocess.Popen([args.beredd, "demo", "--data", work, "--base-port", str(args.base_port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in demo.stdout:
        if "stop with Ctrl-C" in line:
            break
    else:
        sys.exit("demo did not start")
    threading.Thread(target=lambda: [None for _ in demo.stdout], daemon=True).start()
    token = json.load(open(os.path.join(work, "credentials.json")))["api_token"]
    base = f"http://127.0.0.1:{args.base_port + 1}"
    cmd = [
        args.schemathesis, "run", f"{base}/api/openapi.json",
        "--checks", "not_a_server_error",
        "--header", f"Authorization: Bearer {token}",
        "--max-examples", str(args.examples),
        "--generation-deterministic",
        "--request-timeout", "10",
    ]
    try:
        rc = subprocess.call(cmd)
    finally:
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=30)
    sys.exit(rc)


if __name__ == "__main__":
    main()
