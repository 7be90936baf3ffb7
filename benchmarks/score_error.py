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
from tqdm import tqdm

from lib.config import load_config
from lib.networks import DualSubnetSegmenter
from lib.tools.weights import save_state_dict

from .active_learning import AL_DATASETS, CONF, FULL, MODEL, QUICK, load_model, spearman
from .common import ROOT, benchmark_parser, device, items, prepare, write_json
from .evaluation import CANDIDATE_SCORES, evaluate, score_pool
from .plots import score_error_plot

DESCRIPTION = "Spearman of candidate study scores vs actual error, for the active-learning benchmark's models"


def _random_run(root: Path) -> Path:
    """A run folder shaped like the active-learning benchmark's, holding an untrained model and no labels."""
    config = load_config(CONF)
    network = DualSubnetSegmenter.from_config(config)
    save_state_dict(network, root / "random_model" / "app" / "model" / f"{MODEL}.pt")
    (root / "random_model" / "data").mkdir(parents=True)
    return root


def correlate(run: Path, studies: list[dict[str, str]], crop: float = 1.0) -> dict[str, Any]:
    """Scores and errors of ``run``'s model on the studies it had no label for, and their Spearman correlations. With
    ``crop`` < 1 also the app scorer's scores on each study's centred box of that fraction of each side against the
    whole study (same model, same studies, same process), and the time of one against the other."""
    labeled = {p.name for p in (run / "data" / "labels" / "final").glob("*.nii.gz")}
    unseen = [s for s in studies if Path(s["image"]).name not in labeled]
    config = load_config(CONF)
    network = load_model(run / "app" / "model" / f"{MODEL}.pt", config)
    averaged = evaluate(network, config, unseen, device(), distances=False)["averaged"]
    error = (1.0 - np.nanmean(np.array(averaged["dice"], dtype=float), axis=1)).tolist()
    result = {
        "studies": len(unseen),
        "error": error,
        "scores": {c: averaged[c] for c in CANDIDATE_SCORES},
        "spearman": {c: spearman(averaged[c], error) for c in CANDIDATE_SCORES},
    }
    if crop < 1.0:
        full, full_seconds = score_pool(network, config, unseen, device(), config.spacing)
        cropped, crop_seconds = score_pool(network, config, unseen, device(), config.spacing, crop=crop)
        result["crop"] = {
            "spearman_vs_full": {key: spearman(cropped[key], full[key]) for key in full},
            "spearman_vs_error": {key: spearman(values, error) for key, values in cropped.items()},
            "seconds_ratio": crop_seconds / full_seconds,
        }
    return result


def _crop_summary(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Means (and the lowest) over the models of the centred-box scores against the whole study's, and of the time."""
    crops = [r["crop"] for r in results.values()]

    def over_models(name: str, reduce=np.mean) -> dict[str, float]:
        return {key: float(reduce([c[name][key] for c in crops])) for key in crops[0][name]}

    return {
        "spearman_vs_full": over_models("spearman_vs_full"),
        "spearman_vs_full_min": over_models("spearman_vs_full", np.min),
        "spearman_vs_error": over_models("spearman_vs_error"),
        "seconds_ratio": float(np.mean([c["seconds_ratio"] for c in crops])),
    }


def main(argv: list[str]) -> int:
    parser = benchmark_parser("score_error", DESCRIPTION)
    parser.add_argument("--runs", type=Path, default=ROOT / "results" / "active_learning" / "runs")
    parser.add_argument("--dataset", choices=AL_DATASETS, default="mni", help="the study set the runs were made on")
    parser.add_argument("--with-test", action="store_true", help="also the test split (as before 2026-12-06)")
    parser.add_argument(
        "--crop", type=float, default=1.0, help="also score each study's centred box of this fraction of each side"
    )
    args = parser.parse_args(argv)
    if not 0.0 < args.crop <= 1.0:
        parser.error(f"--crop is a fraction of each side, above 0 and at most 1, got {args.crop}")
    plan = QUICK if args.quick else FULL
    studies = items(prepare(args.dataset, plan["num"], args.data))
    studies = studies[: plan["pool"] + (plan["test"] if args.with_test else 0)]
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        runs_root = _random_run(Path(tmp)) if args.quick else args.runs
        runs = sorted(p.parent.parent.parent for p in runs_root.glob(f"*/app/model/{MODEL}.pt"))
        if not runs:
            raise SystemExit(f"no trained models under {runs_root}: run `python -m benchmarks active_learning` first")
        results = {run.name: correlate(run, studies, args.crop) for run in tqdm(runs, desc="models", unit="model")}
    summary = {c: {"mean": float(np.nanmean([r["spearman"][c] for r in results.values()]))} for c in CANDIDATE_SCORES}
    result = {"dataset": args.dataset, "with_test": args.with_test, "seconds": time.time() - started}
    if args.crop < 1.0:
        result["crop"] = {"fraction": args.crop, **_crop_summary(results)}
    write_json(args.out / "score_error.json", {**result, "summary": summary, "runs": results})
    score_error_plot(results, CANDIDATE_SCORES, args.out / "score_error.png")
    print(f"{'model':<20}" + "".join(f"{c:>24}" for c in CANDIDATE_SCORES))
    for name, r in results.items():
        print(f"{name:<20}" + "".join(f"{r['spearman'][c]:>24.2f}" for c in CANDIDATE_SCORES))
    print(f"{'mean':<20}" + "".join(f"{summary[c]['mean']:>24.2f}" for c in CANDIDATE_SCORES))
    if args.crop < 1.0:
        crop = result["crop"]
        print(f"centred box {args.crop} of each side, against the whole study (mean / min over models):")
        for key in crop["spearman_vs_full"]:
            print(f"  {key:<22} {crop['spearman_vs_full'][key]:+.2f} / {crop['spearman_vs_full_min'][key]:+.2f}")
        print(f"  time, box / whole: {crop['seconds_ratio']:.2f}")
    return 0
