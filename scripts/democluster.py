"""A `beredd demo` cluster for the scripts in this folder: started in a fresh temp folder, with
its node list and admin token read from what the demo writes there, and stopped with SIGTERM."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading

DEFAULT_BEREDD = os.path.expanduser("~/.cache/beredd-target/debug/beredd")


class DemoCluster:
    def __init__(self, beredd, base_port, prefix="beredd-", data=None, extra=(), env=None):
        self.dir = data or tempfile.mkdtemp(prefix=prefix)
        os.makedirs(self.dir, exist_ok=True)
        self.proc = subprocess.Popen([beredd, "demo", "--data", self.dir, "--base-port", str(base_port), *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     env=dict(os.environ, **(env or {})))
        for line in self.proc.stdout:
            if "stop with Ctrl-C" in line:
                break
        else:
            sys.exit("the demo cluster did not start")
        # Keep reading so the demo never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()
        self.nodes = self._json("demo-cluster.json")["nodes"]
        self.token = self._json("credentials.json")["api_token"]

    def tls_args(self):
        """The `beredd cluster`/`drill` options for the demo's cluster TLS (its operator)."""
        d = os.path.join(self.dir, "cluster-tls")
        return ["--ca", os.path.join(d, "ca.pem"), "--cert", os.path.join(d, "operator.pem"),
                "--key", os.path.join(d, "operator-key.pem")]

    def _json(self, name):
        with open(os.path.join(self.dir, name)) as f:
            return json.load(f)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
