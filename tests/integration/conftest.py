"""A real ``monailabel start_server`` on a free loopback port, on a tiny generated study set."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.helpers import ROOT, demo_generator

# Tiny networks and patches so that a training run takes seconds on a CPU.
SERVER_CONF = {
    "width": "4",
    "patch_size": "[32,32,16]",
    "iterations_per_epoch": "2",
    "labeled_batch_size": "1",
    "unlabeled_batch_size": "1",
    "sw_batch_size": "4",
    # Larger than the tests' two epochs: the trainer must still validate after the last epoch and publish a model.
    "val_interval": "5",
}
STARTUP_TIMEOUT = 180.0


@dataclass
class Server:
    url: str
    app_dir: Path
    studies: Path
    groundtruth: Path
    log: Path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _copy_app(target: Path) -> Path:
    """The app as a user checks it out, without weights, data or the venv: each test server starts untrained."""
    shutil.copytree(
        ROOT,
        target,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "model", "data", "*_groundtruth", "__pycache__", ".pytest_cache"
        ),
    )
    (target / "model").mkdir()
    return target


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("server")
    app_dir = _copy_app(root / "app")
    studies = root / "data"
    demo_generator().generate(studies, num=6, labeled=0, seed=11, shape=(32, 32, 24))
    port = _free_port()
    venv_bin = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(app_dir),
    }
    conf = [arg for key, value in SERVER_CONF.items() for arg in ("--conf", key, value)]
    command = [str(venv_bin / "monailabel"), "start_server", "--app", str(app_dir), "--studies", str(studies)]
    command += ["--host", "127.0.0.1", "--port", str(port), *conf]
    log = root / "server.log"
    with open(log, "wb") as log_file:
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"server exited with {process.returncode}:\n{log.read_text()[-4000:]}")
            try:
                if requests.get(f"{url}/info/", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"server did not answer within {STARTUP_TIMEOUT:.0f} s:\n{log.read_text()[-4000:]}")
            time.sleep(1.0)
        yield Server(url, app_dir, studies, root / "data_groundtruth", log)
    finally:
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    """Stop the server and the training/scoring subprocesses it started (one process group)."""
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, None)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
