"""The active-learning loop through the real server's REST API on real anatomy, with the ground truth as the annotator.

Per seed and strategy: a fresh copy of the app and a pool of unlabeled MNI studies (``benchmarks/datasets.py``;
``--dataset mni_sites`` for the same subjects from three sites, with each strategy's picks and test Dice per site);
``start`` of them labeled (a seeded draw, the same for every strategy of a seed), then ``rounds`` times {fine-tune the
previous model (as the app does), score, ask the strategy for a batch of ``k`` studies, upload their ground-truth
labels}. The first training run of a seed is made once and every strategy of that seed starts from its model (paired:
same labels, same starting model). After each training run the published model is evaluated on a test split the
server never sees and nothing is chosen by.

Strategies: ``uncertainty`` (the app's, ranking by its default score, or by ``--score``), ``random`` (the app's), and
MONAI Label's own Monte-Carlo dropout ``epistemic`` scoring and strategy (the same network, dropout on);
``mean_uncertainty`` (the app's strategy ranking by mean voxel entropy) on request, and ``error_oracle``, no server
strategy but the benchmark labeling the studies the current model gets most wrong (read from the ground truth): the
best that ranking by any score could do (rule O,
docs/active_learning.md#picking-by-the-true-error-an-oracle-protocol-and-rule-written-2026-12-06-0820-before-the-run).
MONAI Label's automatic re-scoring is switched off (``MONAI_LABEL_AUTO_UPDATE_SCORING=false``) so that each loop runs
only its own scorer.

Measured beside the curves, on the same studies and model: each candidate score's Spearman correlation with the
study's actual error (1 - Dice) over the unlabeled pool, in the app scorer's loops and in the random loops (whose pool
no score has thinned out: a loop that picks by a score leaves the studies that score ranks low); in the app scorer's
loops also the scores on a grid ``score_downsample`` times coarser against the full grid (Spearman, seconds per
study); in the random loops, the last round trained twice from the same model on the same labels (the spread that
training noise alone gives).
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import requests
import torch
from monailabel.client import MONAILabelClient
from scipy.integrate import trapezoid
from scipy.stats import spearmanr
from tqdm import tqdm

from lib.config import STUDY_SCORES, load_config
from lib.networks import DualSubnetSegmenter
from lib.tools import rest
from lib.tools.server_process import ServerProcess, copy_app

from .accuracy import mean_dice
from .common import CPU_CONF, benchmark_parser, device, items, prepare, write_json
from .datasets import DATASETS, site_of
from .evaluation import evaluate, score_pool
from .plots import learning_curve_plot, paired_plot

DESCRIPTION = "active learning on MNI over REST: uncertainty vs random vs MONAI Label's epistemic, Dice per label count"

MODEL = "uncertainty_contrastive"


@dataclass(frozen=True)
class LoopStrategy:
    """How one loop picks studies: the server's strategy (None: the benchmark picks by the true error), the scoring
    method it needs (and the image-info keys of the score it ranks by and of the model timestamp that score was made
    with), and any app setting it needs."""

    server_strategy: str | None
    scoring: str | None = None
    score_key: str | None = None
    ts_key: str | None = None
    conf: dict[str, str] = field(default_factory=dict)


# The coarser scoring grid measured against the full one (``uncertainty_coarse`` scores on it).
COARSE = 2


def _app_strategy(score_key: str = "subnet_disagreement", **conf: str) -> LoopStrategy:
    """The app's ``uncertainty`` strategy after its ``mean_uncertainty`` scoring, with app settings ``conf``."""
    return LoopStrategy("uncertainty", "mean_uncertainty", score_key, "mean_uncertainty_ts", conf)


def loop_strategy(strategy: str, plan: dict[str, Any]) -> LoopStrategy:
    """``strategy`` as ``plan`` runs it: a plan with a ``score`` runs ``uncertainty`` ranking by that score."""
    if strategy == "uncertainty" and "score" in plan:
        return _app_strategy(plan["score"], next_study_score=plan["score"])
    return STRATEGIES[strategy]


STRATEGIES = {
    "uncertainty": _app_strategy(),
    "mean_uncertainty": _app_strategy("mean_uncertainty", next_study_score="mean_uncertainty"),
    # Step 2 of the cheaper-scoring rule (docs/active_learning.md): the same strategy scoring on the coarser grid.
    "uncertainty_coarse": _app_strategy(score_downsample=str(COARSE)),
    # The same strategy handing out diverse batches (docs/active_learning.md#diverse-batches).
    "uncertainty_diverse": _app_strategy(batch_pool_factor="3"),
    # ... or representative batches (docs/active_learning.md#representative-batches).
    "uncertainty_representative": _app_strategy(batch_pool_factor="3", batch_pick="representative"),
    "random": LoopStrategy("random"),
    "epistemic": LoopStrategy("epistemic", "epistemic", "epistemic_entropy", "epistemic_ts"),
    # Never an app strategy (it reads labels no annotator has made yet); its rule: the module's docstring.
    "error_oracle": LoopStrategy(None),
}
DEFAULT_STRATEGIES = ("uncertainty", "random", "epistemic")
# 40 MNI studies: the pool is the first 30, the test split the last 10 (the accuracy benchmark's test split too).
# Iterations: the seed's first run from scratch, then each round's fine-tuning (time on this CPU:
# docs/active_learning.md).
FULL = dict(
    num=40,
    pool=30,
    test=10,
    start=2,
    k=2,
    rounds=6,
    seeds=(0, 1, 2),
    first_iterations=400,
    round_iterations=100,
    iterations_per_epoch=20,
)
QUICK = dict(
    num=8,
    pool=6,
    test=2,
    start=1,
    k=1,
    rounds=1,
    seeds=(0,),
    first_iterations=4,
    round_iterations=2,
    iterations_per_epoch=2,
)
# ``--large``: for a lent GPU, the accuracy benchmark's large network and patch, 5 seeds and 5x the iterations.
LARGE = dict(FULL, seeds=(0, 1, 2, 3, 4), first_iterations=2000, round_iterations=500)
LARGE_CONF = {"width": "8", "patch_size": "[48,64,48]", "labeled_batch_size": "2", "unlabeled_batch_size": "2"}
# Dropout on, so that MONAI Label's epistemic scoring applies to the same network as ours.
CONF = {**CPU_CONF, **DATASETS["mni"].conf, "dropout": "0.2"}
# The study sets a loop can run on (the same app settings): real anatomy, and the same subjects from three sites.
AL_DATASETS = ("mni", "mni_sites")
# The scorers' own summaries in the server log (the scoring subprocess's output): seconds for the studies executed.
SCORER_SUMMARY = re.compile(r"(?:EPISTEMIC::|mean_uncertainty:) (\{'total'.*\})")


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


def _scorer_seconds_per_study(log_text: str) -> float | None:
    """Seconds per executed study from the last scorer summary in a stretch of the server log."""
    summaries = [ast.literal_eval(m) for m in SCORER_SUMMARY.findall(log_text)]
    executed = [s for s in summaries if s.get("executed")]
    return executed[-1]["latency"] / executed[-1]["executed"] if executed else None


def _load_model(path: Path, config) -> torch.nn.Module:
    network = DualSubnetSegmenter.from_config(config)
    network.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return network.to(device())


def _test_dice(model_path: Path, config, test_items: list[dict]) -> dict[str, Any]:
    """The test split's Dice (mean over labels, then studies) and each study's (for the per-site view)."""
    network = _load_model(model_path, config)
    metrics = evaluate(network, config, test_items, device(), distances=False)["averaged"]
    per_study = [mean_dice({"dice": [d]}) for d in metrics["dice"]]
    return {"test_dice": mean_dice(metrics), "test_study_dice": per_study}


def _train(client: MONAILabelClient, iterations: int, per_epoch: int) -> float:
    start = time.time()
    rest.train(client, MODEL, {"max_epochs": max(1, iterations // per_epoch), "val_split": 0.0})
    return time.time() - start


def _spearman(a, b) -> float:
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
    network = _load_model(model_path, config)
    errors = pool_errors(network, config, pool_items)
    full, full_seconds = score_pool(network, config, pool_items, device(), config.spacing)
    by_candidate = {key: _spearman(values, errors) for key, values in full.items()}
    if server_scores is None:
        return {"spearman_vs_error": by_candidate}
    coarse_spacing = [s * COARSE for s in config.spacing]
    coarse, coarse_seconds = score_pool(network, config, pool_items, device(), coarse_spacing)
    return {
        "spearman_score_vs_error": _spearman(list(server_scores.values()), errors),
        "spearman_vs_error": by_candidate,
        "coarse_spearman_vs_error": {key: _spearman(values, errors) for key, values in coarse.items()},
        "coarse_spearman_vs_full": {key: _spearman(coarse[key], full[key]) for key in full},
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
                    errors = pool_errors(_load_model(model_path, config), config, pool_items)
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
    """Fewest labeled studies at which a learning curve reaches ``target``."""
    return next((count for count in sorted(curve) if curve[count] >= target - 1e-9), None)


def area_under_curve(curve: dict[int, float]) -> float:
    """Mean Dice over the label range (trapezoids), so that curves over the same counts compare directly."""
    counts = sorted(curve)
    return float(trapezoid([curve[c] for c in counts], counts) / (counts[-1] - counts[0]))


def _mean(values: list[float | None]) -> float | None:
    values = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(values)) if values else None


def per_seed_comparison(loops: list[dict[str, Any]]) -> dict[str, Any]:
    """Per strategy and seed, against random on the same seed: the labels needed to reach random's final Dice, the
    fraction of random's labels that saves, and the area under the curve."""
    curve = {(lp["strategy"], lp["seed"]): {r["labeled"]: r["test_dice"] for r in lp["rounds"]} for lp in loops}
    rows: dict[str, Any] = {}
    for (strategy, seed), points in sorted(curve.items()):
        row = {"seed": seed, "auc": area_under_curve(points)}
        random_curve = curve.get(("random", seed))
        if random_curve is not None:
            final_count = max(random_curve)
            needed = labels_to_reach(points, random_curve[final_count])
            row["random_final_dice"] = random_curve[final_count]
            row["labels_to_reach_random_final"] = needed
            row["label_saving"] = None if needed is None else 1.0 - needed / final_count
            row["auc_minus_random"] = row["auc"] - area_under_curve(random_curve)
        rows.setdefault(strategy, []).append(row)
    return rows


def decision(per_seed: dict[str, Any]) -> dict[str, Any] | None:
    """The rule of docs/active_learning.md (written before the run)."""
    rows = per_seed.get("uncertainty", [])
    if not rows or "label_saving" not in rows[0]:
        return None
    ahead = sum(1 for r in rows if r["label_saving"] is not None and r["label_saving"] >= 0.25)
    return {
        "rule": "uncertainty reaches random's final test Dice with >= 25 % fewer labels than random, on >= 3 seeds",
        "seeds": len(rows),
        "seeds_meeting": ahead,
        "met": ahead >= 3,
    }


def diverse_batches(per_seed: dict[str, Any]) -> dict[str, Any] | None:
    """Rule 4 of docs/active_learning.md: the diverse batch pick against plain top-k, paired by seed, by area under the
    curve; adopted if ahead on average and on at least 2 of 3 seeds."""
    diverse = {r["seed"]: r["auc"] for r in per_seed.get("uncertainty_diverse", [])}
    top_k = {r["seed"]: r["auc"] for r in per_seed.get("uncertainty", [])}
    seeds = sorted(set(diverse) & set(top_k))
    if not seeds:
        return None
    differences = [diverse[s] - top_k[s] for s in seeds]
    ahead = sum(d > 0 for d in differences)
    return {
        "seeds": seeds,
        "auc_difference_points": [100 * d for d in differences],
        "mean_auc_difference_points": 100 * float(np.mean(differences)),
        "seeds_ahead": ahead,
        "adopt": bool(np.mean(differences) > 0 and ahead >= 2 and len(seeds) >= 3),
    }


def _rule_rounds(loops: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    return [r for lp in loops if lp["strategy"] == "uncertainty" for r in lp["rounds"] if key in r]


def cheap_scoring(loops: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The coarse grid against the full one (same models, same studies) and the scorers' seconds per study: ours on
    the full grid and MONAI Label's epistemic as the server logged them, ours on the coarse grid estimated from the
    in-process ratio coarse : full on the same studies. From the ``uncertainty`` loops, as the rule says (other loops
    of the app's scorer record the same checks in their rounds)."""
    checks = _rule_rounds(loops, "coarse_spearman_vs_full")
    if not checks:
        return None
    keys = sorted(checks[0]["coarse_spearman_vs_full"])
    ours = _mean([r.get("scorer_seconds_per_study") for r in checks])
    epistemic = _mean(
        [r.get("scorer_seconds_per_study") for lp in loops if lp["strategy"] == "epistemic" for r in lp["rounds"]]
    )
    ratio = np.mean([r["coarse_grid_seconds_per_study"] / r["full_grid_seconds_per_study"] for r in checks])
    result = {
        "grid_factor": COARSE,
        "spearman_coarse_vs_full": {
            k: {
                "mean": _mean([r["coarse_spearman_vs_full"][k] for r in checks]),
                "min": float(np.nanmin([r["coarse_spearman_vs_full"][k] for r in checks])),
            }
            for k in keys
        },
        "spearman_vs_error_full": {k: _mean([r["spearman_vs_error"][k] for r in checks]) for k in keys},
        "spearman_vs_error_coarse": {k: _mean([r["coarse_spearman_vs_error"][k] for r in checks]) for k in keys},
        "coarse_to_full_time_ratio": float(ratio),
        "scorer_seconds_per_study": {"mean_uncertainty_full": ours, "epistemic": epistemic},
    }
    if ours and epistemic:
        result["epistemic_over_full"] = epistemic / ours
        result["epistemic_over_coarse"] = epistemic / (ours * ratio)
    return result


def score_vs_error(loops: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Per strategy, each candidate score's Spearman with the error, mean over its rounds and seeds: in the random
    loops on a pool as drawn, in the loops that pick by a score on what that score left."""
    result: dict[str, dict[str, float | None]] = {}
    for strategy in sorted({lp["strategy"] for lp in loops}):
        checks = [
            r["spearman_vs_error"]
            for lp in loops
            if lp["strategy"] == strategy
            for r in lp["rounds"]
            if "spearman_vs_error" in r
        ]
        if checks:
            result[strategy] = {key: _mean([c[key] for c in checks]) for key in sorted(checks[0])}
    return result


def by_site(loops: list[dict[str, Any]]) -> dict[str, Any]:
    """Per strategy, over seeds: the share of its picks from each site, and the final round's test Dice per site
    (mean over seeds): whether a strategy finds the studies unlike the rest, and what that buys where."""
    result: dict[str, Any] = {}
    for strategy in sorted({lp["strategy"] for lp in loops}):
        mine = [lp for lp in loops if lp["strategy"] == strategy]
        picks = [site_of(s) for lp in mine for r in lp["rounds"] for s in r.get("picked", [])]
        final: dict[str, list[float]] = {}
        for lp in mine:
            last = lp["rounds"][-1]
            for study, dice in zip(lp["test_ids"], last["test_study_dice"]):
                final.setdefault(site_of(study), []).append(dice)
        result[strategy] = {
            "picked_share": {site: picks.count(site) / len(picks) for site in sorted(set(picks))},
            "final_test_dice": {site: float(np.mean(values)) for site, values in sorted(final.items())},
        }
    return result


def write_results(loops: list[dict[str, Any]], plan: dict, conf: dict, seconds: float, out: Path) -> dict[str, Any]:
    """Learning curves with their spread, areas under them, labels to reach random's final Dice, the score checks."""
    curves: dict[str, dict[int, list[float]]] = {}
    agreement: dict[str, dict[int, list[float]]] = {}
    for loop in loops:
        for r in loop["rounds"]:
            curves.setdefault(loop["strategy"], {}).setdefault(r["labeled"], []).append(r["test_dice"])
            if r.get("picked_prelabel_dice") is not None:
                by_count = agreement.setdefault(loop["strategy"], {})
                by_count.setdefault(r["labeled"], []).append(r["picked_prelabel_dice"])
    mean_curves = {s: {c: float(np.mean(v)) for c, v in by.items()} for s, by in curves.items()}
    per_seed = per_seed_comparison(loops)
    summary: dict[str, Any] = {
        "mean_test_dice": mean_curves,
        "std_test_dice": {s: {c: float(np.std(v)) for c, v in by.items()} for s, by in curves.items()},
        "auc": {
            s: {"mean": _mean([r["auc"] for r in rows]), "std": float(np.std([r["auc"] for r in rows]))}
            for s, rows in per_seed.items()
        },
        "per_seed": per_seed,
        "decision": decision(per_seed),
        "diverse_batches": diverse_batches(per_seed),
        "cheap_scoring": cheap_scoring(loops),
        "spearman_vs_error_by_strategy": score_vs_error(loops),
    }
    if plan.get("dataset") == "mni_sites":
        summary["by_site"] = by_site(loops)
    if "random" in mean_curves:
        final_random = mean_curves["random"][max(mean_curves["random"])]
        summary["labels_to_reach_random_final"] = {s: labels_to_reach(c, final_random) for s, c in mean_curves.items()}
    correlations = [r["spearman_score_vs_error"] for r in _rule_rounds(loops, "spearman_score_vs_error")]
    if correlations:
        summary["spearman_score_vs_error"] = {"mean": float(np.nanmean(correlations)), "values": correlations}
    replicates = [
        abs(r["test_dice"] - r["replicate_test_dice"])
        for lp in loops
        for r in lp["rounds"]
        if "replicate_test_dice" in r
    ]
    if replicates:
        summary["retrain_spread"] = {"max": float(max(replicates)), "values": replicates}
    result = {"plan": plan, "conf": conf, "seconds": seconds, "summary": summary, "loops": loops}
    write_json(out / "active_learning.json", result)
    where = "three sites" if plan.get("dataset") == "mni_sites" else "MNI studies"
    learning_curve_plot(curves, out / "active_learning.png", f"Active learning on {where} (REST loop)")
    # Each strategy against random on the same seed: the effect and its spread, one dot per seed.
    paired = {
        strategy: [100 * r["auc_minus_random"] for r in rows if "auc_minus_random" in r]
        for strategy, rows in sorted(per_seed.items())
        if strategy != "random"
    }
    against_random = [(f"{s} − random ({len(d)} seeds)", d) for s, d in paired.items() if d]
    if against_random:
        paired_plot(
            against_random,
            out / "active_learning_paired.png",
            "area under the curve minus random's, same seed (Dice points)",
        )
    # How much the annotator had to change the model's segmentation of the picked studies (the server's pre-label
    # agreement): low for a strategy that picks where the model is wrong.
    learning_curve_plot(
        agreement,
        out / "active_learning_prelabel.png",
        "Pre-label agreement of the picked studies (server's signal)",
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


def combined_runs(paths: list[Path]) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, str], float]:
    """The loops of earlier runs that differ only in their seeds, as one run over all of their seeds: loops, plan,
    settings and seconds."""
    runs = [json.loads(path.read_text()) for path in paths]
    first = runs[0]
    experiment = [({k: v for k, v in run["plan"].items() if k != "seeds"}, run["conf"]) for run in runs]
    for path, same in zip(paths, experiment):
        if same != experiment[0]:
            raise SystemExit(f"{path} differs from {paths[0]} in more than its seeds: not one experiment")
    seeds = [seed for run in runs for seed in run["plan"]["seeds"]]
    if len(set(seeds)) != len(seeds):
        raise SystemExit(f"a seed appears in more than one run ({sorted(seeds)}): its loops would count twice")
    loops = [loop for run in runs for loop in run["loops"]]
    return loops, {**first["plan"], "seeds": seeds}, first["conf"], sum(run["seconds"] for run in runs)


def _print_summary(result: dict[str, Any]) -> None:
    for strategy, curve in result["summary"]["mean_test_dice"].items():
        print(f"{strategy:<12}" + "  ".join(f"{c}: {d:.3f}" for c, d in sorted(curve.items())))
    print(
        json.dumps(
            {k: v for k, v in result["summary"].items() if k not in ("mean_test_dice", "std_test_dice")}, indent=1
        )
    )


def main(argv: list[str]) -> int:
    parser = benchmark_parser("active_learning", DESCRIPTION)
    parser.add_argument("--strategies", nargs="+", default=list(DEFAULT_STRATEGIES), choices=list(STRATEGIES))
    parser.add_argument("--large", action="store_true", help="the GPU form: a larger network and patch, 5 seeds")
    parser.add_argument(
        "--dataset", choices=AL_DATASETS, default="mni", help="mni_sites: the same subjects from three sites"
    )
    parser.add_argument(
        "--score",
        choices=STUDY_SCORES,
        default="subnet_disagreement",
        help="the score the uncertainty strategy ranks by (the app's next_study_score)",
    )
    parser.add_argument("--seeds", type=int, nargs="+", help="instead of the plan's seeds (fresh seeds for a new rule)")
    parser.add_argument(
        "--combine",
        type=Path,
        nargs="+",
        help="run nothing: sum up the active_learning.json of earlier runs that differ only in their seeds",
    )
    parser.add_argument(
        "--resume", action="store_true", help="keep the loops that an earlier run of the same plan wrote to --out"
    )
    args = parser.parse_args(argv)
    if args.combine:
        result = write_results(*combined_runs(args.combine), args.out)
        _print_summary(result)
        print(f"wrote {args.out / 'active_learning.json'} from {len(args.combine)} runs")
        return 0
    plan = QUICK if args.quick else LARGE if args.large else FULL
    # The original MNI plan is left as it was written (so that its --resume still matches); another set is named.
    plan = plan if args.dataset == "mni" else {**plan, "dataset": args.dataset}
    plan = plan if args.score == "subnet_disagreement" else {**plan, "score": args.score}
    plan = plan if args.seeds is None else {**plan, "seeds": tuple(args.seeds)}
    conf = {**CONF, **(LARGE_CONF if args.large else {}), "iterations_per_epoch": str(plan["iterations_per_epoch"])}
    pairs = items(prepare(args.dataset, plan["num"], args.data))
    loops, earlier_seconds = finished_loops(args.out / "active_learning.json", plan) if args.resume else ([], 0.0)
    done = {(lp["strategy"], lp["seed"]) for lp in loops}
    started = time.time() - earlier_seconds
    # Random first in each seed: its loop makes the seed's first model.
    order = sorted(args.strategies, key=lambda s: s != "random")
    todo = [(seed, s) for seed in plan["seeds"] for s in order if (s, seed) not in done]
    result = write_results(loops, plan, conf, earlier_seconds, args.out) if loops else None
    with tqdm(total=len(todo) * (plan["rounds"] + 1), desc="active learning", unit="round") as bar:
        for seed, strategy in todo:
            bar.set_postfix_str(f"{strategy} seed {seed}")
            loops.append(run_loop(strategy, seed, plan, conf, pairs, args.out / "runs", bar))
            # After every loop, so that an interrupted run still leaves the loops it finished (see --resume).
            result = write_results(loops, plan, conf, time.time() - started, args.out)
    if result is None:
        raise SystemExit("nothing to run: no strategy or seed left")
    _print_summary(result)
    print(f"wrote {args.out / 'active_learning.json'} and active_learning.png in {result['seconds']:.0f} s")
    return 0
