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

from lib.activelearning.prelabel_agreement import CORRECTED_ML_KEY, PRELABEL_DICE_KEY
from lib.atomic_write import atomic_write_text
from lib.config import load_config
from lib.networks import DualSubnetSegmenter
from lib.tools import rest
from lib.tools.server_process import ServerProcess, copy_app

from ..accuracy import mean_dice
from ..common import device
from ..evaluation import evaluate, score_pool
from .plans import COARSE, MODEL, LoopStrategy, loop_strategy

# The replicate of random's last round trains with its round's seed plus this.
REPLICATE_SEED_OFFSET = 500
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
    """The test split's Dice (mean over labels, then studies), each label's (mean over studies; a label absent from a
    study and its prediction counts 1) and each study's (for the per-site view)."""
    network = load_model(model_path, config)
    metrics = evaluate(network, config, test_items, device(), distances=False)["averaged"]
    per_study = [mean_dice({"dice": [d]}) for d in metrics["dice"]]
    per_label = np.nanmean(np.array(metrics["dice"], dtype=float), axis=0)
    return {
        "test_dice": mean_dice(metrics),
        "test_dice_per_label": dict(zip(config.label_names, per_label.tolist())),
        "test_study_dice": per_study,
    }


def _train(client: MONAILabelClient, iterations: int, per_epoch: int, seed: int) -> float:
    """One seeded training run (the app's train option ``seed``: the same labels and seed train the same model)."""
    start = time.time()
    rest.train(client, MODEL, {"max_epochs": max(1, iterations // per_epoch), "val_split": 0.0, "seed": seed})
    return time.time() - start


def _round_seed(seed: int, round_index: int) -> int:
    """The seed of a loop's round (its training and random's draw): a function of the loop's seed and the round, the
    same for every strategy of a seed."""
    return 1000 * seed + round_index


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


def _pick(url: str, how: LoopStrategy, k: int, seed: int) -> tuple[list[str], list[str]]:
    """A batch of ``k`` and how each was picked (``typical`` in the app strategy's cold start, ``random`` or
    ``score``): the app's strategies hand it out (and lease it) in one call; MONAI Label's own strategy gives one study
    per call and skips what it handed out in the last 24 h, so it is asked ``k`` times. ``random`` draws with
    ``seed``, so that a loop can be run again."""
    if how.server_strategy in ("uncertainty", "random"):
        calls, body = 1, {"client_id": "benchmark", "k": k}
        if how.server_strategy == "random":
            body["seed"] = seed
    else:
        calls, body = k, {}
    picked, how_picked = [], []
    for _ in range(calls):
        response = requests.post(f"{url}/activelearning/{how.server_strategy}", json=body, timeout=60)
        response.raise_for_status()
        choice = response.json()
        if choice.get("strategy_fallback"):
            raise RuntimeError(f"{how.server_strategy} fell back to {choice['strategy_fallback']}: scores not current")
        batch = choice.get("batch", [choice])
        picked += [b["id"] for b in batch]
        how_picked += [b.get("pick", "random" if how.server_strategy == "random" else "score") for b in batch]
    if len(set(picked)) != k:
        raise RuntimeError(f"{how.server_strategy} handed out {picked}, not {k} different studies")
    return picked, how_picked


def run_loop(
    strategy: str, seed: int, plan: dict, conf: dict[str, str], pairs: list[dict], work: Path, bar: tqdm
) -> dict[str, Any]:
    how = loop_strategy(strategy, plan)
    test_from = plan.get("test_from", plan["pool"])  # the lesion set's validation split lies between
    pool, test_items = pairs[: plan["pool"]], pairs[test_from : test_from + plan["test"]]
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
                seconds = _train(client, iterations, plan["iterations_per_epoch"], _round_seed(seed, round_index))
                record = {"labeled": len(labeled), **_test_dice(model_path, config, test_items)}
                record["train_seconds"] = seconds
                if round_index == 0:
                    shutil.copy(model_path, first_model)
                    first_record.write_text(json.dumps(record))
                elif strategy == "random" and round_index == plan["rounds"]:
                    # The same round once more, from the same model on the same labels: training noise alone.
                    shutil.copy(previous, model_path.with_suffix(".tmp"))
                    model_path.with_suffix(".tmp").replace(model_path)
                    # ... with another training seed: what training noise alone changes.
                    replicate_seed = _round_seed(seed, round_index) + REPLICATE_SEED_OFFSET
                    _train(client, iterations, plan["iterations_per_epoch"], replicate_seed)
                    replicate = _test_dice(model_path, config, test_items)
                    record["replicate_test_dice"] = replicate["test_dice"]
                    record["replicate_test_dice_per_label"] = replicate["test_dice_per_label"]
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
                    picked = _pick(server.url, how, plan["k"], _round_seed(seed, round_index))
                    record["picked"], record["picked_how"] = picked
                for study in record["picked"]:
                    client.save_label(study, truth[study], tag="final")
                labeled += record["picked"]
            rounds.append(record)
            # What a loop that is stopped half-way has measured (a finished loop goes into the results JSON).
            atomic_write_text(run_dir / "rounds_so_far.json", json.dumps(rounds))
            bar.update(1)
        picked = [s for r in rounds for s in r.get("picked", [])]
        agreement = _prelabel_agreement(server.url, picked)
        for record in rounds:
            if "picked" in record:
                record["picked_prelabel_dice"] = float(np.mean([agreement[s][0] for s in record["picked"]]))
                # The annotators' effort for the batch: the volume they changed in the model's pre-labels.
                record["picked_corrected_ml"] = float(sum(agreement[s][1] for s in record["picked"]))
        report = requests.get(f"{server.url}/activelearning/rounds/", timeout=60)
        report.raise_for_status()
    finally:
        server.stop()
    test_ids = [Path(t["image"]).name[: -len(".nii.gz")] for t in test_items]
    return {"strategy": strategy, "seed": seed, "rounds": rounds, "server_rounds": report.json(), "test_ids": test_ids}


def _prelabel_agreement(url: str, ids: list[str], timeout: float = 120.0) -> dict[str, tuple[float, float]]:
    """The pre-label agreement (Dice) and the corrected volume (mL) the server stored for each submitted study
    (computed after each submission's response: wait for all)."""

    def stored(objects: dict) -> dict[str, tuple[float, float]] | None:
        infos = {i: objects[i]["image"]["info"] for i in ids}
        if not all(CORRECTED_ML_KEY in info for info in infos.values()):
            return None
        return {i: (info[PRELABEL_DICE_KEY], info[CORRECTED_ML_KEY]) for i, info in infos.items()}

    return rest.wait_for_datastore(url, stored, "the pre-label agreement of every submitted study", timeout)
