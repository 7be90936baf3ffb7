"""One real server for the reliability tests: tiny settings, three uploaded labels and a trained model.

Session-scoped, so that bad-input, crash, load, fuzz and access tests share one start-up and one training run.
The crash test kills and restarts it; it leaves it running, on the same port, for whatever runs after it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from monailabel.client import MONAILabelClient

from lib.tools import rest
from lib.tools.server_process import ServerProcess
from tests.integration.conftest import SERVER_CONF, start_demo_server

MODEL = "uncertainty_contrastive"
LABELED = ("study_000", "study_001", "study_002")
# Just above the 32x32x24 test studies, so that a slightly larger upload exercises the 413 path.
MAX_VOXELS = 40_000


@dataclass
class HardenedServer:
    process: ServerProcess
    url: str
    app_dir: Path
    studies: Path
    groundtruth: Path

    @property
    def model_path(self) -> Path:
        return self.app_dir / "model" / f"{MODEL}.pt"

    def snapshot(self) -> dict[str, str]:
        """Every file of the datastore and the model folder (relative path -> SHA-256), and the training runs so far:
        what a refused request must leave as it was."""
        files = {}
        for folder in (self.studies, self.app_dir / "model"):
            for path in sorted(folder.rglob("*")):
                if path.is_file() and path.name != ".lock":
                    files[str(path.relative_to(folder.parent))] = hashlib.sha256(path.read_bytes()).hexdigest()
        runs = requests.get(f"{self.url}/train/", params={"all": "true"}, timeout=30)
        files["train runs"] = str(len(runs.json()) if runs.status_code == 200 else 0)
        return files

    def objects(self) -> dict:
        return requests.get(f"{self.url}/datastore/", params={"output": "all"}, timeout=30).json()["objects"]


@pytest.fixture(scope="session")
def hardened_server(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("reliability")
    process = start_demo_server(root, {**SERVER_CONF, "max_voxels": str(MAX_VOXELS)})
    server = HardenedServer(process, process.url, process.app_dir, process.studies, root / "data_groundtruth")
    try:
        client = MONAILabelClient(server.url, tmpdir=str(tmp_path_factory.mktemp("client")))
        for image_id in LABELED:
            client.save_label(image_id, str(server.groundtruth / f"{image_id}.nii.gz"), tag="final")
        rest.train(client, MODEL, {"max_epochs": 2})
        yield server
    finally:
        process.stop()
