#!/usr/bin/env bash
# Set up (once) and start the app's server on a generated demo study set, bound to loopback.
#   bash sample-apps/run_demo.sh                 # http://127.0.0.1:8000
#   PORT=8080 bash sample-apps/run_demo.sh --conf max_epochs 20
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -r requirements.txt
[ -d data ] || .venv/bin/python sample-apps/demo_data/generate.py --out data --num 16 --labeled 4
# The monailabel launcher runs `python` from PATH; training and scoring subprocesses need PYTHONPATH.
export PATH="$PWD/.venv/bin:$PATH" PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
exec monailabel start_server --app . --studies data --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}" "$@"
