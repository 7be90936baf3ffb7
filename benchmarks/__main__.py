"""Entry point: ``python -m benchmarks <name> [options]``; ``python -m benchmarks`` lists the benchmarks."""

from __future__ import annotations

import importlib
import pkgutil
import signal
import sys
from pathlib import Path

import benchmarks

ROOT = Path(__file__).resolve().parents[1]


def available() -> dict[str, str]:
    """Benchmark name -> one-line description, for every module of this package that has a ``main``."""
    found = {}
    for name in _module_names():
        module = importlib.import_module(f"benchmarks.{name}")
        if hasattr(module, "main"):
            found[name] = getattr(module, "DESCRIPTION", "")
    return found


def _module_names() -> list[str]:
    return [m.name for m in pkgutil.iter_modules(benchmarks.__path__) if not m.name.startswith("_")]


def main(argv: list[str]) -> int:
    # Only the benchmark asked for is imported: the others may need what this machine lacks (a server, a browser).
    if argv and argv[0] in _module_names():
        module = importlib.import_module(f"benchmarks.{argv[0]}")
        if hasattr(module, "main"):
            return module.main(argv[1:])
    print("usage: python -m benchmarks <name> [--quick] [--out DIR] [options]\n\nbenchmarks:")
    for name, description in sorted(available().items()):
        print(f"  {name:<20} {description}")
    return 0 if not argv or argv[0] in ("-h", "--help") else 2


def _exit_on_terminate(signum: int, frame: object) -> None:
    """SIGTERM (``timeout``, a job scheduler) ends the run as Ctrl-C does: ``finally`` blocks stop the servers a
    benchmark started, which the default handler would leave running."""
    sys.exit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _exit_on_terminate)
    sys.exit(main(sys.argv[1:]))
