"""Which study score tracks the model's actual error? For every model the active-learning benchmark trained, the
Spearman correlation, over the pool's studies that model was *not* trained on, between each candidate score of
:func:`benchmarks.evaluation.study_scores` and the study's error (1 - Dice averaged over labels). A score is a useful
"label this next" signal only if this is clearly positive. The test split is left out (``--with-test`` adds it):
what chooses a score must not be what judges the loops.

Reads ``<runs>/<strategy>_seed<n>/app/model/uncertainty_contrastive.pt`` and the labels in ``<runs>/.../data``, as
``python -m benchmarks active_learning`` leaves them (its final model of each loop). The quick form scores a randomly
initialised model on the quick plan's studies: it checks the path, not the correlation.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import spearmanr
from tqdm import tqdm

from lib.config import load_config
from lib.networks import DualSubnetSegmenter
from lib.tools.weights import save_state_dict

from .active_learning import AL_DATASETS, CONF, FULL, MODEL, QUICK, _load_model
from .common import ROOT, benchmark_parser, device, items, prepare, write_json
from .evaluation import CANDIDATE_SCORES, evaluate
from .plots import score_error_plot

DESCRIPTION = "Spearman of candidate study scores vs actual error, for the active-learning benchmark's models"


def _random_run(root: Path) -> Path:
    """A run folder shaped like the active-learning benchmark's, holding an untrained model and no labels."""
    config = load_config(CONF)
    network = DualSubnetSegmenter.from_config(config)
    save_state_dict(network, root / "random_model" / "app" / "model" / f"{MODEL}.pt")
    (root / "random_model" / "data").mkdir(parents=True)
    return root


def correlate(run: Path, studies: list[dict[str, str]]) -> dict[str, Any]:
    """Scores and errors of ``run``'s model on the studies it had no label for, and their Spearman correlations."""
    labeled = {p.name for p in (run / "data" / "labels" / "final").glob("*.nii.gz")}
    unseen = [s for s in studies if Path(s["image"]).name not in labeled]
    config = load_config(CONF)
    metrics = evaluate(_load_model(run / "app" / "model" / f"{MODEL}.pt", config), config, unseen, device())
    averaged = metrics["averaged"]
    error = (1.0 - np.nanmean(np.array(averaged["dice"], dtype=float), axis=1)).tolist()
    return {
        "studies": len(unseen),
        "error": error,
        "scores": {c: averaged[c] for c in CANDIDATE_SCORES},
        "spearman": {c: float(spearmanr(averaged[c], error).statistic) for c in CANDIDATE_SCORES},
    }


def main(argv: list[str]) -> int:
    parser = benchmark_parser("score_error", DESCRIPTION)
    parser.add_argument("--runs", type=Path, default=ROOT / "results" / "active_learning" / "runs")
    parser.add_argument("--dataset", choices=AL_DATASETS, default="mni", help="the study set the runs were made on")
    parser.add_argument("--with-test", action="store_true", help="also the test split (as before 2026-12-06)")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    studies = items(prepare(args.dataset, plan["num"], args.data))
    studies = studies[: plan["pool"] + (plan["test"] if args.with_test else 0)]
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        runs_root = _random_run(Path(tmp)) if args.quick else args.runs
        runs = sorted(p.parent.parent.parent for p in runs_root.glob(f"*/app/model/{MODEL}.pt"))
        if not runs:
            raise SystemExit(f"no trained models under {runs_root}: run `python -m benchmarks active_learning` first")
        results = {run.name: correlate(run, studies) for run in tqdm(runs, desc="models", unit="model")}
    summary = {c: {"mean": float(np.nanmean([r["spearman"][c] for r in results.values()]))} for c in CANDIDATE_SCORES}
    result = {"dataset": args.dataset, "with_test": args.with_test, "seconds": time.time() - started}
    write_json(args.out / "score_error.json", {**result, "summary": summary, "runs": results})
    score_error_plot(results, CANDIDATE_SCORES, args.out / "score_error.png")
    print(f"{'model':<20}" + "".join(f"{c:>24}" for c in CANDIDATE_SCORES))
    for name, r in results.items():
        print(f"{name:<20}" + "".join(f"{r['spearman'][c]:>24.2f}" for c in CANDIDATE_SCORES))
    print(f"{'mean':<20}" + "".join(f"{summary[c]['mean']:>24.2f}" for c in CANDIDATE_SCORES))
    return 0
