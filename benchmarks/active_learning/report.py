"""The results of a run or of several runs combined: JSON, plots, the printed summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..common import write_json
from ..plots import effort_plot, learning_curve_plot, paired_plot
from .analysis import (
    _mean,
    _rule_rounds,
    by_site,
    cheap_scoring,
    decision,
    diverse_batches,
    effort_curves,
    labels_to_reach,
    lesion_decision,
    per_seed_comparison,
    round_dice,
    score_vs_error,
)

# The lesion pool's labels (benchmarks/datasets.py LESION_CONF).
LESION, WHITE_MATTER = "lesion", "white_matter"


def write_results(loops: list[dict[str, Any]], plan: dict, conf: dict, seconds: float, out: Path) -> dict[str, Any]:
    """Learning curves with their spread, areas under them, labels to reach random's final Dice, the score checks."""
    curves = _curves(loops)
    agreement: dict[str, dict[int, list[float]]] = {}
    for loop in loops:
        for r in loop["rounds"]:
            if r.get("picked_prelabel_dice") is not None:
                by_count = agreement.setdefault(loop["strategy"], {})
                by_count.setdefault(r["labeled"], []).append(r["picked_prelabel_dice"])
    mean_curves = _over_seeds(curves, np.mean)
    per_seed = per_seed_comparison(loops)
    summary: dict[str, Any] = {
        "mean_test_dice": mean_curves,
        "std_test_dice": _over_seeds(curves, np.std),
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
    if plan.get("dataset") in ("mni_sites", "mni_lesions"):
        summary["by_site"] = by_site(loops)
    if plan.get("dataset") == "mni_lesions":
        summary["lesion_pool"] = _lesion_pool(loops, out)
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


def _curves(loops: list[dict[str, Any]], label: str | None = None) -> dict[str, dict[int, list[float]]]:
    """Per strategy and labeled count, each seed's test Dice: the mean over labels, or ``label``'s."""
    curves: dict[str, dict[int, list[float]]] = {}
    for loop in loops:
        for r in loop["rounds"]:
            curves.setdefault(loop["strategy"], {}).setdefault(r["labeled"], []).append(round_dice(r, label))
    return curves


def _over_seeds(curves: dict[str, dict[int, list[float]]], statistic) -> dict[str, dict[int, float]]:
    return {s: {c: float(statistic(v)) for c, v in by.items()} for s, by in curves.items()}


def _lesion_pool(loops: list[dict[str, Any]], out: Path) -> dict[str, Any]:
    """Issue 29's view: per label, curves with their spread and areas under them against random; the rule; Dice
    against the volume corrected; the spread of two trainings on the same labels; and their plots."""
    result: dict[str, Any] = {}
    for label in (LESION, WHITE_MATTER):
        curves = _curves(loops, label)
        result[label] = {
            "mean": _over_seeds(curves, np.mean),
            "std": _over_seeds(curves, np.std),
            "per_seed": per_seed_comparison(loops, label),
        }
        name = label.replace("_", " ")
        learning_curve_plot(
            curves, out / f"active_learning_{label}.png", f"Lesion pool: {name} Dice", ylabel=f"test Dice, {name}"
        )
    result["decision"] = lesion_decision(result[LESION]["per_seed"], result[WHITE_MATTER]["per_seed"])
    paired = [
        (f"{s} − random ({len(v['lesion_auc_minus_random_points'])} seeds)", v["lesion_auc_minus_random_points"])
        for s, v in result["decision"]["strategies"].items()
    ]
    if paired:
        paired_plot(
            paired, out / "active_learning_lesion_paired.png", "lesion Dice AUC minus random's, same seed (points)"
        )
    result["effort"] = effort_curves(loops, LESION)
    effort_plot(result["effort"], out / "active_learning_effort.png", LESION)
    replicates = [
        abs(r["test_dice_per_label"][LESION] - r["replicate_test_dice_per_label"][LESION])
        for lp in loops
        for r in lp["rounds"]
        if "replicate_test_dice_per_label" in r
    ]
    if replicates:
        result["retrain_spread_lesion"] = {"max": float(max(replicates)), "values": replicates}
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


def print_summary(result: dict[str, Any]) -> None:
    for strategy, curve in result["summary"]["mean_test_dice"].items():
        print(f"{strategy:<12}" + "  ".join(f"{c}: {d:.3f}" for c, d in sorted(curve.items())))
    print(
        json.dumps(
            {k: v for k, v in result["summary"].items() if k not in ("mean_test_dice", "std_test_dice")}, indent=1
        )
    )
