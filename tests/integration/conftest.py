"""A real ``monailabel start_server`` on a free loopback port, on a tiny generated study set."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from lib.tools import demo_data
from lib.tools.server_process import TINY_CONF, ServerProcess, copy_app

# Larger val_interval than the tests' two epochs: the trainer must still validate after the last epoch and publish.
SERVER_CONF = {**TINY_CONF, "val_interval": "5"}


@dataclass
class Server:
    url: str
    app_dir: Path
    studies: Path
    groundtruth: Path
    log: Path


def start_demo_server(root: Path, conf: dict[str, str]) -> ServerProcess:
    """A copy of the app under ``root`` serving six unlabeled 32x32x24 demo studies (their ground truth in
    ``root/data_groundtruth``); a server that does not come up fails the test with its log's tail."""
    studies = root / "data"
    demo_data.generate(studies, num=6, labeled=0, seed=11, shape=(32, 32, 24))
    process = ServerProcess(copy_app(root / "app"), studies, conf, log=root / "server.log")
    try:
        return process.start()
    except RuntimeError as error:
        pytest.fail(str(error))


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("server")
    process = start_demo_server(root, SERVER_CONF)
    try:
        yield Server(process.url, process.app_dir, process.studies, root / "data_groundtruth", process.log)
    finally:
        process.stop()
