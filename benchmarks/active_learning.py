"""The active-learning loop through the real server's REST API, with the ground truth as the annotator.

Per strategy and seed: a fresh copy of the app and a pool of unlabeled studies; ``start`` of them labeled at random,
then ``rounds`` times {train (fine-tuning the previous model, as the app does), score, ask the strategy for the next
study, upload its ground-truth label}. After each training run the published model is evaluated on a test split the
server never sees. Strategies: ``uncertainty`` (the app's strategy with its default ranking, by the subnets'
disagreement), ``mean_uncertainty`` (the same strategy ranking by mean voxel entropy: ``--conf next_study_score
mean_uncertainty``), ``random``, and MONAI Label's own Monte-Carlo dropout ``epistemic`` scoring and strategy (all
with the same network, dropout on).

MONAI Label's automatic re-scoring is switched off (``MONAI_LABEL_AUTO_UPDATE_SCORING=false``) so that each loop runs
only its own scorer; the correlation of each pool study's stored score with its actual error under the same model is
recorded for the loops of the app's scorer.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
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

from .common import CPU_CONF, benchmark_parser, device, items, prepare, write_json
from .evaluation import evaluate
from .plots import learning_curve_plot

DESCRIPTION = "active-learning loop over REST: uncertainty vs random vs MONAI Label's epistemic, Dice per label count"

MODEL = "uncertainty_contrastive"


@dataclass(frozen=True)
class LoopStrategy:
    """How one loop picks studies: the server's strategy, the scoring method it needs (and the image-info keys of the
    score it ranks by and of the model timestamp that score was made with), and any app setting it needs."""

    server_strategy: str
    scoring: str | None = None
    score_key: str | None = None
    ts_key: str | None = None
    conf: dict[str, str] = field(default_factory=dict)


STRATEGIES = {
    "uncertainty": LoopStrategy("uncertainty", "mean_uncertainty", "subnet_disagreement", "mean_uncertainty_ts"),
    "mean_uncertainty": LoopStrategy(
        "uncertainty",
        "mean_uncertainty",
        "mean_uncertainty",
        "mean_uncertainty_ts",
        {"next_study_score": "mean_uncertainty"},
    ),
    "random": LoopStrategy("random"),
    "epistemic": LoopStrategy("epistemic", "epistemic", "epistemic_entropy", "epistemic_ts"),
}
FULL = dict(pool=14, test=6, start=2, rounds=3, seeds=(0, 1, 2), max_epochs=3, iterations_per_epoch=20)
QUICK = dict(pool=4, test=1, start=1, rounds=1, seeds=(0,), max_epochs=1, iterations_per_epoch=2)
# Dropout on, so that MONAI Label's epistemic scoring applies to the same network as ours.
CONF = {**CPU_CONF, "dropout": "0.2"}


def _scores(url: str, ids: list[str], score_key: str, ts_key: str, model_path: Path, timeout: float = 120.0):
    """The scores the server holds for ``ids`` once all were made with the current model (the scoring subprocess
    writes the datastore file; the server sees it through its file watcher a moment later)."""
    mtime = model_path.stat().st_mtime
    deadline = time.monotonic() + timeout
    while True:
        objects = requests.get(f"{url}/datastore/", params={"output": "all"}, timeout=30).json()["objects"]
        infos = {i: objects[i]["image"]["info"] for i in ids}
        # Within a second: MONAI Label's epistemic scoring stores the model's mtime as an integer.
        if all(abs(float(info.get(ts_key, -1)) - mtime) < 1.0 for info in infos.values()):
            return {i: float(info[score_key]) for i, info in infos.items()}
        if time.monotonic() > deadline:
            raise TimeoutError(f"no current {score_key} after {timeout:.0f} s")
        time.sleep(0.5)


def _load_model(path: Path, config) -> torch.nn.Module:
    network = DualSubnetSegmenter.from_config(config)
    network.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return network.to(device())


def _mean_dice(metrics: dict[str, list]) -> list[float]:
    return np.nanmean(np.array(metrics["dice"], dtype=float), axis=1).tolist()


def run_loop(strategy: str, seed: int, plan: dict, pairs: list[dict], work: Path, bar: tqdm) -> dict[str, Any]:
    how = STRATEGIES[strategy]
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
    conf = {**CONF, "iterations_per_epoch": str(plan["iterations_per_epoch"]), **how.conf}
    config = load_config(conf)
    server = ServerProcess(
        app_dir, studies, conf, run_dir / "server.log", env={"MONAI_LABEL_AUTO_UPDATE_SCORING": "false"}
    )
    server.start()
    client = MONAILabelClient(server.url, tmpdir=str(run_dir))
    model_path = app_dir / "model" / f"{MODEL}.pt"
    labeled = list(np.random.default_rng(seed).choice(sorted(truth), plan["start"], replace=False))
    rounds = []
    try:
        for study in labeled:
            client.save_label(study, truth[study], tag="final")
        for round_index in range(plan["rounds"] + 1):
            start = time.time()
            rest.train(client, MODEL, {"max_epochs": plan["max_epochs"], "val_split": 0.0})
            network = _load_model(model_path, config)
            test_dice = _mean_dice(evaluate(network, config, test_items, device())["averaged"])
            record = {
                "labeled": len(labeled),
                "test_dice": float(np.mean(test_dice)),
                "train_seconds": time.time() - start,
            }
            if round_index < plan["rounds"]:
                unlabeled = sorted(set(truth) - set(labeled))
                if how.scoring:
                    scoring_start = time.time()
                    rest.run_scoring(server.url, how.scoring)
                    scores = _scores(server.url, unlabeled, how.score_key, how.ts_key, model_path)
                    record["scoring_seconds_per_study"] = (time.time() - scoring_start) / len(unlabeled)
                    if how.scoring == "mean_uncertainty":
                        pool_items = [{"image": str(studies / f"{s}.nii.gz"), "label": truth[s]} for s in unlabeled]
                        errors = 1.0 - np.array(_mean_dice(evaluate(network, config, pool_items, device())["averaged"]))
                        record["spearman_score_vs_error"] = float(
                            spearmanr([scores[s] for s in unlabeled], errors).statistic
                        )
                response = requests.post(
                    f"{server.url}/activelearning/{how.server_strategy}", json=_client(how), timeout=60
                )
                response.raise_for_status()
                choice = response.json()
                if choice.get("strategy_fallback"):
                    raise RuntimeError(f"{strategy} fell back to {choice['strategy_fallback']}: scores not current")
                record["picked"] = choice["id"]
                client.save_label(choice["id"], truth[choice["id"]], tag="final")
                labeled.append(choice["id"])
            rounds.append(record)
            bar.update(1)
        agreement = _prelabel_dice(server.url, [r["picked"] for r in rounds if "picked" in r])
        for record in rounds:
            if "picked" in record:
                record["picked_prelabel_dice"] = agreement[record["picked"]]
        report = requests.get(f"{server.url}/activelearning/rounds/", timeout=60)
        report.raise_for_status()
    finally:
        server.stop()
    return {"strategy": strategy, "seed": seed, "rounds": rounds, "server_rounds": report.json()}


def _client(how: LoopStrategy) -> dict[str, str]:
    """The app's strategies lease what they hand out to a client (the loop is one annotator); MONAI Label's own
    strategies take no options."""
    return {"client_id": "benchmark"} if how.server_strategy in ("uncertainty", "random") else {}


def _prelabel_dice(url: str, ids: list[str], timeout: float = 120.0) -> dict[str, float | None]:
    """The pre-label agreement the server stored for each submitted study (computed after each submission's
    response: wait for all)."""
    deadline = time.monotonic() + timeout
    while True:
        objects = requests.get(f"{url}/datastore/", params={"output": "all"}, timeout=30).json()["objects"]
        infos = {i: objects[i]["image"]["info"] for i in ids}
        if all("prelabel_dice" in info for info in infos.values()):
            return {i: info["prelabel_dice"] for i, info in infos.items()}
        if time.monotonic() > deadline:
            raise TimeoutError(f"no prelabel_dice for every submitted study after {timeout:.0f} s")
        time.sleep(0.5)


def labels_to_reach(curve: dict[int, float], target: float) -> int | None:
    """Fewest labeled studies at which a (mean) learning curve reaches ``target``."""
    return next((count for count in sorted(curve) if curve[count] >= target - 1e-9), None)


def write_results(loops: list[dict[str, Any]], plan: dict, seconds: float, out: Path) -> dict[str, Any]:
    """Learning curves, the labels each strategy needs to reach random's final Dice, the score/error correlation."""
    curves: dict[str, dict[int, list[float]]] = {}
    agreement: dict[str, dict[int, list[float]]] = {}
    for loop in loops:
        for r in loop["rounds"]:
            curves.setdefault(loop["strategy"], {}).setdefault(r["labeled"], []).append(r["test_dice"])
            if r.get("picked_prelabel_dice") is not None:
                by_count = agreement.setdefault(loop["strategy"], {})
                by_count.setdefault(r["labeled"], []).append(r["picked_prelabel_dice"])
    mean_curves = {s: {c: float(np.mean(v)) for c, v in by.items()} for s, by in curves.items()}
    summary: dict[str, Any] = {"mean_test_dice": mean_curves}
    if "random" in mean_curves:
        final_random = mean_curves["random"][max(mean_curves["random"])]
        summary["labels_to_reach_random_final"] = {s: labels_to_reach(c, final_random) for s, c in mean_curves.items()}
    correlations = [
        r["spearman_score_vs_error"] for lp in loops for r in lp["rounds"] if "spearman_score_vs_error" in r
    ]
    if correlations:
        summary["spearman_score_vs_error"] = {"mean": float(np.nanmean(correlations)), "values": correlations}
    result = {"plan": plan, "conf": CONF, "seconds": seconds, "summary": summary, "loops": loops}
    write_json(out / "active_learning.json", result)
    learning_curve_plot(curves, out / "active_learning.png", "Active learning on the synthetic set (REST loop)")
    # How much the annotator had to change the model's segmentation of each picked study (the server's pre-label
    # agreement): low for a strategy that picks where the model is wrong.
    learning_curve_plot(
        agreement,
        out / "active_learning_prelabel.png",
        "Pre-label agreement of the picked study (server's signal)",
        ylabel="Dice, model's pre-label vs submitted label",
    )
    return result


def finished_loops(path: Path, plan: dict[str, Any]) -> tuple[list[dict[str, Any]], float]:
    """The loops and seconds of an earlier run, if it had the same plan: a resumed run adds to them, never mixes
    plans."""
    if not path.exists():
        return [], 0.0
    earlier = json.loads(path.read_text())
    if earlier["plan"] != json.loads(json.dumps(plan)):
        raise SystemExit(f"{path} was written with another plan ({earlier['plan']}); choose another --out")
    return earlier["loops"], earlier["seconds"]


def main(argv: list[str]) -> int:
    parser = benchmark_parser("active_learning", DESCRIPTION)
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=list(STRATEGIES))
    parser.add_argument(
        "--resume", action="store_true", help="keep the loops that an earlier run of the same plan wrote to --out"
    )
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    pairs = items(prepare("synthetic", plan["pool"] + plan["test"], args.data))
    loops, earlier_seconds = finished_loops(args.out / "active_learning.json", plan) if args.resume else ([], 0.0)
    done = {(lp["strategy"], lp["seed"]) for lp in loops}
    started = time.time() - earlier_seconds
    todo = [(seed, s) for seed in plan["seeds"] for s in args.strategies if (s, seed) not in done]
    result = write_results(loops, plan, earlier_seconds, args.out) if loops else None
    with tqdm(total=len(todo) * (plan["rounds"] + 1), desc="active learning", unit="round") as bar:
        for seed, strategy in todo:
            bar.set_postfix_str(f"{strategy} seed {seed}")
            loops.append(run_loop(strategy, seed, plan, pairs, args.out / "runs", bar))
            # After every loop, so that an interrupted run still leaves the loops it finished (see --resume).
            result = write_results(loops, plan, time.time() - started, args.out)
    if result is None:
        raise SystemExit("nothing to run: no strategy or seed left")
    for strategy, curve in result["summary"]["mean_test_dice"].items():
        print(f"{strategy:<12}" + "  ".join(f"{c} labeled: {d:.3f}" for c, d in sorted(curve.items())))
    print({k: v for k, v in result["summary"].items() if k != "mean_test_dice"})
    print(f"wrote {args.out / 'active_learning.json'} and active_learning.png in {result['seconds']:.0f} s")
    return 0
