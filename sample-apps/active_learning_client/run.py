"""A scripted annotator: the active-learning loop against a running server, with ground truth as the oracle.

Each round trains the model, lets the server score the unlabeled studies, asks the strategy which study to label
next and uploads that study's ground-truth label (as an annotator would save theirs). Needs a server on a study set
made by ``sample-apps/demo_data/generate.py`` (its ground truth lies in ``<studies>_groundtruth/``).

    python sample-apps/active_learning_client/run.py --server http://127.0.0.1:8000 \
        --groundtruth data_groundtruth --rounds 3 --strategy uncertainty
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
from pathlib import Path

from monailabel.client import MONAILabelClient
from tqdm import tqdm

from lib.tools.rest import run_scoring, train

logger = logging.getLogger(__name__)
MODEL = "uncertainty_contrastive"


def active_learning_round(
    client: MONAILabelClient, groundtruth: Path, strategy: str, train_params: dict
) -> dict[str, object]:
    """Train, score, pick, label: one round; returns what happened."""
    task = train(client, MODEL, train_params)
    scoring = run_scoring(client.get_server_url())
    sample = client.next_sample(strategy, {})
    if not sample or not sample.get("id"):
        return {"train": task.get("status"), "picked": None}
    image_id = sample["id"]
    label = groundtruth / f"{image_id}.nii.gz"
    if not label.is_file():
        raise FileNotFoundError(f"no ground truth for {image_id} in {groundtruth}")
    client.save_label(image_id, str(label), tag="final")
    info = client.info()
    return {
        "picked": image_id,
        # The score the strategy ranked by (the server's setting next_study_score), when it returns one.
        "score": {k: v for k, v in sample.items() if k in ("subnet_disagreement", "mean_uncertainty")},
        "fallback": sample.get("strategy_fallback"),
        "scoring": scoring.get("status"),
        "val_mean_dice": info.get("train_stats", {}).get(MODEL, {}).get("best_metric"),
        "labeled": info["datastore"].get("completed"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="http://127.0.0.1:8000")
    parser.add_argument("--groundtruth", type=Path, default=Path("data_groundtruth"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--strategy", default="uncertainty", choices=["uncertainty", "random", "first"])
    parser.add_argument("--max-epochs", type=int, default=5, help="epochs per training run")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)

    # A download folder of its own: the client names results after the server's temporary files, so sharing /tmp
    # with a server on the same machine lets the server's clean-up delete what the client just saved.
    client = MONAILabelClient(args.server, tmpdir=tempfile.mkdtemp(prefix="al_client_"))
    for round_index in tqdm(range(args.rounds), desc="active learning", unit="round"):
        outcome = active_learning_round(client, args.groundtruth, args.strategy, {"max_epochs": args.max_epochs})
        print(json.dumps({"round": round_index + 1, **outcome}))
        if outcome["picked"] is None:
            logger.info("every study is labeled")
            break


if __name__ == "__main__":
    main()
