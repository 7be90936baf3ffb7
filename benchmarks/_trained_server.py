"""A real server on tiny generated studies, with three labels and a two-epoch model: what the load and fuzz
benchmarks measure against (they measure the server, not the model)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from monailabel.client import MONAILabelClient

from lib.tools import demo_data, rest
from lib.tools.server_process import TINY_CONF, ServerProcess, copy_app

__all__ = ["CONF", "MODEL", "rest", "trained_server"]

MODEL = "uncertainty_contrastive"
CONF = TINY_CONF
LABELED = ("study_000", "study_001", "study_002")


@contextmanager
def trained_server(
    work: Path, conf: dict[str, str] = CONF, shape: tuple[int, int, int] = (32, 32, 24), env: dict | None = None
) -> Iterator[ServerProcess]:
    """Six studies of ``shape`` under ``work``, three of them labeled, a model trained for two epochs with ``conf``;
    the server started with ``env`` added; stopped on exit."""
    shutil.rmtree(work, ignore_errors=True)
    app_dir = copy_app(work / "app")
    studies = work / "data"
    demo_data.generate(studies, num=6, labeled=0, seed=11, shape=shape)
    server = ServerProcess(app_dir, studies, conf, log=work / "server.log", env=env).start()
    try:
        client = MONAILabelClient(server.url, tmpdir=str(work / "client"))
        for image_id in LABELED:
            client.save_label(image_id, str(Path(f"{studies}_groundtruth") / f"{image_id}.nii.gz"), tag="final")
        rest.train(client, MODEL, {"max_epochs": 2})
        yield server
    finally:
        server.stop()
