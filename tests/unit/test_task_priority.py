"""Training and scoring subprocesses yield the CPU to the server's /infer; the server process keeps its priority."""

from __future__ import annotations

import os
import subprocess
import sys

from lib.runtime import TASK_PROCESS_MODULE

# A process that MONAI Label started for a task has ``python -m monailabel.interfaces.utils.app`` as its main module.
PROBE = f"""
import os, sys, types
from lib.runtime import yield_to_the_server
if sys.argv[1] == "task":
    sys.modules["__main__"].__spec__ = types.SimpleNamespace(name={TASK_PROCESS_MODULE!r})
print(yield_to_the_server(int(sys.argv[2])), os.nice(0))
"""


def _probe(kind: str, niceness: int) -> tuple[str, int]:
    out = subprocess.run([sys.executable, "-c", PROBE, kind, str(niceness)], capture_output=True, text=True, check=True)
    lowered, nice = out.stdout.split()
    return lowered, int(nice)


def test_a_task_process_runs_at_the_configured_niceness() -> None:
    assert _probe("task", 19) == ("True", 19)


def test_the_server_process_keeps_its_priority() -> None:
    assert _probe("server", 19) == ("False", os.nice(0))


def test_niceness_zero_leaves_a_task_process_as_it_is() -> None:
    assert _probe("task", 0) == ("False", os.nice(0))
