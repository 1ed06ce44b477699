#!/usr/bin/env bash
# Makes a Python venv with schemathesis (from PyPI) for the API fuzzing step of `make test`.
set -euo pipefail
venv="$1"
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check schemathesis==4.32.5
fi
