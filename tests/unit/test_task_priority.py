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


def test_the_server_lowers_a_task_process_as_soon_as_it_starts() -> None:
    """Before its app is built (torch and MONAI take seconds to import), a task process already yields the CPU."""
    from monailabel.utils.async_tasks import utils as task_runner

    from lib.monailabel_compat import lower_task_priority_at_start

    original = task_runner.subprocess
    try:
        lower_task_priority_at_start(19)
        lower_task_priority_at_start(19)  # once is enough: not wrapped twice
        assert task_runner.subprocess.module is original
        process = task_runner.subprocess.Popen(
            [sys.executable, "-c", "import os, time; time.sleep(0.5); print(os.nice(0))"], stdout=subprocess.PIPE
        )
        assert int(process.communicate(timeout=30)[0]) == 19
    finally:
        task_runner.subprocess = original
