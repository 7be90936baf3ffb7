"""Train or score under ``torchrun``: one process per GPU (or several CPU processes), on one node or many.

    torchrun --nproc-per-node 4 sample-apps/distributed/run.py train --studies data --request '{"max_epochs": 50}'
    torchrun --nproc-per-node 4 sample-apps/distributed/run.py score --studies data

Every rank builds the app as the server would (same ``--conf`` settings, same datastore folder, which all nodes must
see at the same path), then runs one rank of training (``UncertaintyContrastiveTrain.train_torchrun_rank``) or of
``mean_uncertainty`` scoring (each rank scores its share of the pool; rank 0 writes all scores). Rank 0 prints the
result as JSON. The model goes where the server publishes it (``model/uncertainty_contrastive.pt``), so a running
server picks it up.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import sys
from pathlib import Path

# No datastore file watcher in these short-lived processes (MONAI Label reads its settings at import).
os.environ.setdefault("MONAI_LABEL_DATASTORE_AUTO_RELOAD", "false")

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
from monailabel.interfaces.app import MONAILabelApp  # noqa: E402
from monailabel.utils.others.class_utils import get_class_of_subclass  # noqa: E402

from ..config import MODEL_NAME  # noqa: E402
from ..distributed import backend_for  # noqa: E402
from ..infers.dual_subnet_infer import NoTrainedModelError  # noqa: E402
from ..monailabel_compat import scoring_methods, trainers  # noqa: E402
from ..runtime import configure_device  # noqa: E402

# The app folder of this checkout (lib/tools/ -> the repository root).
ROOT = Path(__file__).resolve().parents[2]


def _app_class() -> type[MONAILabelApp]:
    """The ``MONAILabelApp`` of this checkout's main.py; ``--app`` is only where its model/ goes. Not MONAI Label's
    ``module_from_file``: it unloads and re-imports ``lib``, and this module's ``NoTrainedModelError`` would then
    no longer be the one the app raises."""
    spec = importlib.util.spec_from_file_location("main", ROOT / "main.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return get_class_of_subclass(module, "MONAILabelApp")


def _score(app: MONAILabelApp, request: dict) -> dict:
    local_rank = int(os.environ["LOCAL_RANK"])
    device = torch.device("cuda", local_rank) if torch.cuda.is_available() else torch.device("cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    configure_device(device, app.app_config.cpu_threads, int(os.environ["LOCAL_WORLD_SIZE"]))
    dist.init_process_group(backend_for(device))
    try:
        return scoring_methods(app)["mean_uncertainty"]({**request, "device": str(device)}, app.datastore())
    finally:
        dist.destroy_process_group()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("train", "score"))
    parser.add_argument("--studies", required=True, help="the datastore folder the server is started with")
    parser.add_argument("--app", default=str(ROOT), help="the app folder (model/ is written there)")
    parser.add_argument("--conf", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"))
    parser.add_argument("--request", default="{}", help="request options as JSON, as for POST /train or /scoring")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if "RANK" not in os.environ:
        parser.error("start this script with torchrun (see its docstring)")

    # As MONAI Label's own spawned training workers log.
    logging.basicConfig(level=logging.INFO, format=f"[rank {os.environ['RANK']}][%(levelname)s](%(name)s) %(message)s")
    app = _app_class()(args.app, args.studies, dict(args.conf))
    request = json.loads(args.request)
    rank_0 = int(os.environ["RANK"]) == 0
    if args.command == "train":
        result = trainers(app)[MODEL_NAME].train_torchrun_rank(request, app.datastore())
    else:
        try:
            result = _score(app, request)
        except NoTrainedModelError as error:
            if rank_0:
                print(f"cannot score: {error.detail}", file=sys.stderr)
            return 2
    if rank_0:
        print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
