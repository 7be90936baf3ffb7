"""Fuzzing: schemathesis generates requests from the server's own OpenAPI document for the app's endpoints (info,
infer, train, scoring, active learning, datastore) and fails on any 5xx.

    python -m benchmarks fuzz            # up to 100 examples per operation, 10 min at most
    python -m benchmarks fuzz --quick    # 8 examples per operation, 60 s at most (CI)
    python -m benchmarks fuzz --url http://127.0.0.1:8000   # a server that is already running

schemathesis runs from its own virtual environment, ``.venv-fuzz`` (made here on first use from
``requirements-fuzz.txt``): it needs jsonschema 4, and pydicom-seg in the app's environment pins jsonschema 3.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ._trained_server import trained_server
from .common import ROOT, benchmark_parser, write_json

__all__ = ["DESCRIPTION", "ensure_fuzz_venv", "fuzz", "main"]

DESCRIPTION = "schemathesis against the server's OpenAPI document (the app's endpoints): cases tried, any 5xx"

FUZZ_VENV = ROOT / ".venv-fuzz"
# The app's endpoints. Left out: /model (uploads replace the weights), /session, /batch and the whole-slide-image
# /infer/wsi* (not used by this app), /logs and /ohif (MONAI Label's own pages).
INCLUDE_PATHS = r"^/(info|infer|train|scoring|activelearning|datastore)/"
EXCLUDE_PATHS = r"^/infer/wsi"


def ensure_fuzz_venv() -> Path:
    """The ``schemathesis`` executable of ``.venv-fuzz``, made first if it is missing."""
    executable = FUZZ_VENV / "bin" / "schemathesis"
    if not executable.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(FUZZ_VENV)], check=True)
        pip = [str(FUZZ_VENV / "bin" / "pip"), "install", "-q", "-r", str(ROOT / "requirements-fuzz.txt")]
        subprocess.run(pip, check=True)
    return executable


def fuzz(
    url: str, out: Path, max_examples: int, max_time: int, seed: int = 0, phases: str = "coverage,fuzzing,stateful"
) -> dict[str, Any]:
    """Run schemathesis against ``url``; returns the cases tried and the failures (operation -> messages).

    The stateful phase learns real names from responses (the model from ``/info/``) and so starts real training and
    scoring runs with default options: right for a benchmark, too slow for a test sharing its server.
    """
    executable = ensure_fuzz_venv()
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    events = out / "fuzz_events.ndjson"
    command = [str(executable), "run", f"{url}/openapi.json", "--url", url, "--checks", "not_a_server_error"]
    command += [
        "--include-path-regex",
        INCLUDE_PATHS,
        "--exclude-path-regex",
        EXCLUDE_PATHS,
        "--max-examples",
        str(max_examples),
        "--seed",
        str(seed),
    ]
    command += [
        "--phases",
        phases,
        "--max-time",
        str(max_time),
        "--workers",
        "1",
        "--request-timeout",
        "120",
        "--no-color",
    ]
    command += ["--generation-database", "none", "--suppress-health-check", "all", "--continue-on-failure"]
    command += ["--report", "ndjson", "--report-ndjson-path", str(events)]
    started = time.time()
    run = subprocess.run(command, capture_output=True, text=True, cwd=out)  # its crash cache goes there too
    (out / "fuzz_output.txt").write_text(run.stdout + run.stderr)
    cases, failures = _summarise(events)
    return {
        "cases": cases,
        "failures": failures,
        "exit_code": run.returncode,
        "seconds": time.time() - started,
        "max_examples": max_examples,
        "output_tail": (run.stdout + run.stderr)[-3000:],
    }


def _summarise(events: Path) -> tuple[int, dict[str, list[str]]]:
    """Cases tried and, per operation, the distinct failure titles, from schemathesis's NDJSON event stream."""
    cases, failures = 0, {}
    if not events.exists():
        return cases, failures
    for line in events.read_text().splitlines():
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if not finished:
            continue
        recorder = finished.get("recorder", {})
        cases += len(recorder.get("cases", {}))
        for checks in recorder.get("checks", {}).values():
            for check in checks:
                if check.get("status") == "failure":
                    failure = (check.get("failure_info") or {}).get("failure", {})
                    title = f"{failure.get('code', '')} {failure.get('title', check.get('name'))}".strip()
                    found = failures.setdefault(recorder.get("label", "?"), [])
                    if title not in found:
                        found.append(title)
    return cases, failures


def main(argv: list[str]) -> int:
    parser = benchmark_parser("fuzz", DESCRIPTION)
    parser.add_argument("--url", help="fuzz a running server instead of starting one")
    parser.add_argument("--max-examples", type=int, default=None, help="per operation (default 100; --quick 8)")
    parser.add_argument("--max-time", type=int, default=None, help="seconds, all phases (default 600; --quick 60)")
    args = parser.parse_args(argv)
    max_examples = args.max_examples or (8 if args.quick else 100)
    max_time = args.max_time or (60 if args.quick else 600)
    with tqdm(total=2, desc="fuzz", unit="step") as bar:
        ensure_fuzz_venv()
        bar.update()
        if args.url:
            result = fuzz(args.url, args.out, max_examples, max_time)
        else:
            with trained_server(args.out / "run") as server:
                result = fuzz(server.url, args.out, max_examples, max_time)
        bar.update()
    write_json(args.out / "fuzz.json", {k: v for k, v in result.items() if k != "output_tail"})
    print(f"{result['cases']} cases in {result['seconds']:.0f} s; failures: {result['failures'] or 'none'}")
    print(f"wrote {args.out / 'fuzz.json'} (schemathesis output: fuzz_output.txt)")
    return 0 if result["cases"] and not result["failures"] else 1
