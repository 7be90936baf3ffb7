"""A real ``monailabel start_server`` subprocess on a free loopback port: for integration tests and benchmarks.

One place knows how to start, wait for, kill and restart the server, so crash tests, PACS tests and the
active-learning benchmark all run it the way a user does.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import psutil

from .wait_for_http import wait_for_http

# The app as checked out (lib/tools/ -> the repository root).
ROOT = Path(__file__).resolve().parents[2]

__all__ = ["ROOT", "TINY_CONF", "ServerProcess", "copy_app", "free_port", "listening_addresses"]

STARTUP_TIMEOUT = 180.0
# Tiny networks and patches, so that a training run takes seconds on a CPU: for tests and quick benchmark servers.
TINY_CONF = {
    "width": "4",
    "patch_size": "[32,32,16]",
    "iterations_per_epoch": "2",
    "labeled_batch_size": "1",
    "unlabeled_batch_size": "1",
    "sw_batch_size": "4",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening_addresses(pid: int) -> list:
    """The addresses that process ``pid`` and its children listen on (psutil ``laddr``: ``ip``, ``port``)."""
    process = psutil.Process(pid)
    return [
        c.laddr
        for p in [process, *process.children(recursive=True)]
        for c in p.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    ]


def copy_app(target: Path) -> Path:
    """The app as a user checks it out, without weights, data or the venv: each server starts untrained."""
    shutil.copytree(
        ROOT,
        target,
        ignore=shutil.ignore_patterns(
            ".venv",
            ".venv-fuzz",
            ".git",
            "model",
            "data",
            "*_groundtruth",
            "__pycache__",
            ".pytest_cache",
            "results",
            "*.egg-info",
        ),
    )
    (target / "model").mkdir()
    return target


class ServerProcess:
    """``monailabel start_server --host 127.0.0.1`` for ``app_dir`` on ``studies`` (a folder or a DICOMweb URL).

    The server and the training/scoring subprocesses it starts share one process group, so ``stop`` and ``kill``
    end all of them. ``start`` may be called again after either: the same port, app and studies (a restart).
    """

    def __init__(
        self,
        app_dir: Path,
        studies: Path | str,
        conf: dict[str, str],
        log: Path,
        env: dict[str, str] | None = None,
        port: int | None = None,
        ready_path: str = "/info/",
    ) -> None:
        self.app_dir = Path(app_dir)
        self.studies = studies
        self.conf = conf
        self.log = Path(log)
        self.extra_env = env or {}
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # An endpoint that answers 200 once the app is up (with authentication on, /info/ answers 401).
        self.ready_path = ready_path
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = STARTUP_TIMEOUT) -> ServerProcess:
        venv_bin = Path(sys.executable).parent
        # The `monailabel` launcher calls `python` from PATH; tasks run in subprocesses that import the app.
        env = {
            **os.environ,
            "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": str(self.app_dir),
            **self.extra_env,
        }
        # The launcher splits its arguments on spaces: values must not contain any.
        conf = [arg for key, value in self.conf.items() for arg in ("--conf", key, value)]
        command = [str(venv_bin / "monailabel"), "start_server", "--app", str(self.app_dir)]
        command += ["--studies", str(self.studies), "--host", "127.0.0.1", "--port", str(self.port), *conf]
        with open(self.log, "ab") as log_file:
            self.process = subprocess.Popen(
                command, stdout=log_file, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        wait_for_http(f"{self.url}{self.ready_path}", self.process, "server", timeout, self.log_tail, self.stop, 1.0)

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def kill(self) -> None:
        """SIGKILL the whole group, as a power cut or the OOM killer would: no clean-up runs."""
        self._signal(signal.SIGKILL, wait=30)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL what is left after 30 s."""
        if not self._signal(signal.SIGTERM, wait=30):
            self.kill()

    def _signal(self, sig: int, wait: float) -> bool:
        if self.process is None:
            return True
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            return True
        try:
            self.process.wait(timeout=wait)
            return True
        except subprocess.TimeoutExpired:
            return False
