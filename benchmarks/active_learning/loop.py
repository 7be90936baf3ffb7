"""One active-learning loop through the real server: train, score, pick, label, evaluate; and the per-round checks
of each score against the true error."""

from __future__ import annotations

import ast
import json
import re
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import requests
import torch
from monailabel.client import MONAILabelClient
from scipy.stats import spearmanr
from tqdm import tqdm

from lib.config import load_config
from lib.networks import DualSubnetSegmenter
from lib.tools import rest
from lib.tools.server_process import ServerProcess, copy_app

from ..accuracy import mean_dice
from ..common import device
from ..evaluation import evaluate, score_pool
from .plans import COARSE, MODEL, LoopStrategy, loop_strategy

SCORER_SUMMARY = re.compile(r"(?:EPISTEMIC::|mean_uncertainty:) (\{'total'.*\})")


def _scores(url: str, ids: list[str], score_key: str, ts_key: str, model_path: Path, timeout: float = 120.0):
    """The scores the server holds for ``ids`` once all were made with the current model (the scoring subprocess
    writes the datastore file; the server sees it through its file watcher a moment later)."""
    mtime = model_path.stat().st_mtime

    def current(objects: dict) -> dict[str, float] | None:
        infos = {i: objects[i]["image"]["info"] for i in ids}
        # Within a second: MONAI Label's epistemic scoring stores the model's mtime as an integer.
        if all(abs(float(info.get(ts_key, -1)) - mtime) < 1.0 for info in infos.values()):
            return {i: float(info[score_key]) for i, info in infos.items()}
        return None

    return rest.wait_for_datastore(url, current, f"current {score_key}", timeout)


def _scorer_seconds_per_study(log_text: str) -> float | None:
    """Seconds per executed study from the last scorer summary in a stretch of the server log."""
    summaries = [ast.literal_eval(m) for m in SCORER_SUMMARY.findall(log_text)]
    executed = [s for s in summaries if s.get("executed")]
    return executed[-1]["latency"] / executed[-1]["executed"] if executed else None


def load_model(path: Path, config) -> torch.nn.Module:
    network = DualSubnetSegmenter.from_config(config)
    network.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return network.to(device())


def _test_dice(model_path: Path, config, test_items: list[dict]) -> dict[str, Any]:
    """The test split's Dice (mean over labels, then studies) and each study's (for the per-site view)."""
    network = load_model(model_path, config)
    metrics = evaluate(network, config, test_items, device(), distances=False)["averaged"]
    per_study = [mean_dice({"dice": [d]}) for d in metrics["dice"]]
    return {"test_dice": mean_dice(metrics), "test_study_dice": per_study}


def _train(client: MONAILabelClient, iterations: int, per_epoch: int) -> float:
    start = time.time()
    rest.train(client, MODEL, {"max_epochs": max(1, iterations // per_epoch), "val_split": 0.0})
    return time.time() - start


def spearman(a, b) -> float:
    return float(spearmanr(a, b).statistic)


def pool_errors(network: torch.nn.Module, config, pool_items: list[dict]) -> np.ndarray:
    """Each study's error under ``network``: 1 - its Dice averaged over the labels (a label the model misses where the
    study has none counts as a Dice of 0)."""
    dice = evaluate(network, config, pool_items, device(), distances=False)["averaged"]["dice"]
    return 1.0 - np.array([np.mean(np.nan_to_num(np.array(d, dtype=float))) for d in dice])


def largest_errors(errors: dict[str, float], k: int) -> list[str]:
    """The oracle's batch: the ``k`` studies with the largest error (ties by id, so that a batch is reproducible)."""
    return sorted(errors, key=lambda study: (-errors[study], study))[:k]


def score_checks(
    model_path: Path, config, pool_items: list[dict], server_scores: dict[str, float] | None
) -> dict[str, Any]:
    """On the unlabeled pool with the round's model: each candidate score's Spearman with the study's error. With the
    scores the server ranked by (the app scorer's loops), also those against the error, and the scores on the coarser
    grid against the full grid (same model, same studies, same process)."""
    network = load_model(model_path, config)
    errors = pool_errors(network, config, pool_items)
    full, full_seconds = score_pool(network, config, pool_items, device(), config.spacing)
    by_candidate = {key: spearman(values, errors) for key, values in full.items()}
    if server_scores is None:
        return {"spearman_vs_error": by_candidate}
    coarse_spacing = [s * COARSE for s in config.spacing]
    coarse, coarse_seconds = score_pool(network, config, pool_items, device(), coarse_spacing)
    return {
        "spearman_score_vs_error": spearman(list(server_scores.values()), errors),
        "spearman_vs_error": by_candidate,
        "coarse_spearman_vs_error": {key: spearman(values, errors) for key, values in coarse.items()},
        "coarse_spearman_vs_full": {key: spearman(coarse[key], full[key]) for key in full},
        "full_grid_seconds_per_study": full_seconds,
        "coarse_grid_seconds_per_study": coarse_seconds,
    }


def _pick(url: str, how: LoopStrategy, k: int) -> list[str]:
    """A batch of ``k``: the app's strategies hand it out (and lease it) in one call; MONAI Label's own strategy gives
    one study per call and skips what it handed out in the last 24 h, so it is asked ``k`` times."""
    if how.server_strategy in ("uncertainty", "random"):
        calls, body = 1, {"client_id": "benchmark", "k": k}
    else:
        calls, body = k, {}
    picked = []
    for _ in range(calls):
        response = requests.post(f"{url}/activelearning/{how.server_strategy}", json=body, timeout=60)
        response.raise_for_status()
        choice = response.json()
        if choice.get("strategy_fallback"):
            raise RuntimeError(f"{how.server_strategy} fell back to {choice['strategy_fallback']}: scores not current")
        picked += [b["id"] for b in choice["batch"]] if "batch" in choice else [choice["id"]]
    if len(set(picked)) != k:
        raise RuntimeError(f"{how.server_strategy} handed out {picked}, not {k} different studies")
    return picked


def run_loop(
    strategy: str, seed: int, plan: dict, conf: dict[str, str], pairs: list[dict], work: Path, bar: tqdm
) -> dict[str, Any]:
    how = loop_strategy(strategy, plan)
    pool, test_items = pairs[: plan["pool"]], pairs[plan["pool"] : plan["pool"] + plan["test"]]
    run_dir = work / f"{strategy}_seed{seed}"
    shutil.rmtree(run_dir, ignore_errors=True)
    app_dir, studies = copy_app(run_dir / "app"), run_dir / "data"
    studies.mkdir(parents=True)
    truth = {}
    for pair in pool:
        study = Path(pair["image"]).name[: -len(".nii.gz")]
        shutil.copy(pair["image"], studies / Path(pair["image"]).name)
        truth[study] = pair["label"]
    conf = {**conf, **how.conf}
    config = load_config(conf)
    model_path = app_dir / "model" / f"{MODEL}.pt"
    # The seed's first model, shared by its strategies (made by whichever loop of the seed runs first).
    first_model, first_record = work / f"seed{seed}_first.pt", work / f"seed{seed}_first.json"
    if first_model.exists():
        model_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(first_model, model_path)
    server = ServerProcess(
        app_dir, studies, conf, run_dir / "server.log", env={"MONAI_LABEL_AUTO_UPDATE_SCORING": "false"}
    )
    server.start()
    client = MONAILabelClient(server.url, tmpdir=str(run_dir))
    labeled = [str(s) for s in np.random.default_rng(seed).choice(sorted(truth), plan["start"], replace=False)]
    rounds = []
    try:
        for study in labeled:
            client.save_label(study, truth[study], tag="final")
        for round_index in range(plan["rounds"] + 1):
            if round_index == 0 and first_model.exists():
                record = {**json.loads(first_record.read_text()), "labeled": len(labeled), "shared": True}
            else:
                iterations = plan["first_iterations"] if round_index == 0 else plan["round_iterations"]
                previous = run_dir / "previous.pt"
                if model_path.exists():
                    shutil.copy(model_path, previous)
                seconds = _train(client, iterations, plan["iterations_per_epoch"])
                record = {"labeled": len(labeled), **_test_dice(model_path, config, test_items)}
                record["train_seconds"] = seconds
                if round_index == 0:
                    shutil.copy(model_path, first_model)
                    first_record.write_text(json.dumps(record))
                elif strategy == "random" and round_index == plan["rounds"]:
                    # The same round once more, from the same model on the same labels: training noise alone.
                    shutil.copy(previous, model_path.with_suffix(".tmp"))
                    model_path.with_suffix(".tmp").replace(model_path)
                    _train(client, iterations, plan["iterations_per_epoch"])
                    record["replicate_test_dice"] = _test_dice(model_path, config, test_items)["test_dice"]
            if round_index < plan["rounds"]:
                unlabeled = sorted(set(truth) - set(labeled))
                pool_items = [{"image": str(studies / f"{s}.nii.gz"), "label": truth[s]} for s in unlabeled]
                if strategy == "random":
                    record.update(score_checks(model_path, config, pool_items, None))
                if how.scoring:
                    log_offset = server.log.stat().st_size
                    scoring_start = time.time()
                    rest.run_scoring(server.url, how.scoring)
                    scores = _scores(server.url, unlabeled, how.score_key, how.ts_key, model_path)
                    record["scoring_wall_seconds_per_study"] = (time.time() - scoring_start) / len(unlabeled)
                    with open(server.log, errors="replace") as log:
                        log.seek(log_offset)
                        record["scorer_seconds_per_study"] = _scorer_seconds_per_study(log.read())
                    if how.scoring == "mean_uncertainty":
                        record.update(score_checks(model_path, config, pool_items, scores))
                if how.server_strategy is None:
                    errors = pool_errors(load_model(model_path, config), config, pool_items)
                    record["pool_error"] = dict(zip(unlabeled, errors.tolist()))
                    record["picked"] = largest_errors(record["pool_error"], plan["k"])
                else:
                    record["picked"] = _pick(server.url, how, plan["k"])
                for study in record["picked"]:
                    client.save_label(study, truth[study], tag="final")
                labeled += record["picked"]
            rounds.append(record)
            bar.update(1)
        picked = [s for r in rounds for s in r.get("picked", [])]
        agreement = _prelabel_dice(server.url, picked)
        for record in rounds:
            if "picked" in record:
                record["picked_prelabel_dice"] = float(np.mean([agreement[s] for s in record["picked"]]))
        report = requests.get(f"{server.url}/activelearning/rounds/", timeout=60)
        report.raise_for_status()
    finally:
        server.stop()
    test_ids = [Path(t["image"]).name[: -len(".nii.gz")] for t in test_items]
    return {"strategy": strategy, "seed": seed, "rounds": rounds, "server_rounds": report.json(), "test_ids": test_ids}


def _prelabel_dice(url: str, ids: list[str], timeout: float = 120.0) -> dict[str, float]:
    """The pre-label agreement the server stored for each submitted study (computed after each submission's
    response: wait for all)."""

    def stored(objects: dict) -> dict[str, float] | None:
        infos = {i: objects[i]["image"]["info"] for i in ids}
        return (
            {i: info["prelabel_dice"] for i, info in infos.items()}
            if all("prelabel_dice" in info for info in infos.values())
            else None
        )

    return rest.wait_for_datastore(url, stored, "prelabel_dice for every submitted study", timeout)
