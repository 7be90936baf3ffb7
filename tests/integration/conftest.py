"""A real ``monailabel start_server`` on a free loopback port, on a tiny generated study set."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import demo_generator
from tests.server_process import TINY_CONF, ServerProcess, copy_app

# Larger val_interval than the tests' two epochs: the trainer must still validate after the last epoch and publish.
SERVER_CONF = {**TINY_CONF, "val_interval": "5"}


@dataclass
class Server:
    url: str
    app_dir: Path
    studies: Path
    groundtruth: Path
    log: Path


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("server")
    app_dir = copy_app(root / "app")
    studies = root / "data"
    demo_generator().generate(studies, num=6, labeled=0, seed=11, shape=(32, 32, 24))
    process = ServerProcess(app_dir, studies, SERVER_CONF, log=root / "server.log")
    try:
        process.start()
    except RuntimeError as error:
        pytest.fail(str(error))
    try:
        yield Server(process.url, app_dir, studies, root / "data_groundtruth", process.log)
    finally:
        process.stop()
