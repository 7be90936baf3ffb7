"""Entry point: ``python -m benchmarks <name> [options]``; ``python -m benchmarks`` lists the benchmarks."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import benchmarks

ROOT = Path(__file__).resolve().parents[1]


def available() -> dict[str, str]:
    """Benchmark name -> one-line description, for every module of this package that has a ``main``."""
    found = {}
    for module_info in pkgutil.iter_modules(benchmarks.__path__):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"benchmarks.{module_info.name}")
        if hasattr(module, "main"):
            found[module_info.name] = getattr(module, "DESCRIPTION", "")
    return found


def main(argv: list[str]) -> int:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    names = available()
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in names:
        print("usage: python -m benchmarks <name> [--quick] [--out DIR] [options]\n\nbenchmarks:")
        for name, description in sorted(names.items()):
            print(f"  {name:<20} {description}")
        return 0 if not argv or argv[0] in ("-h", "--help") else 2
    return importlib.import_module(f"benchmarks.{argv[0]}").main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
