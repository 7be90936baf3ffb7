"""What the loops show: labels needed to reach random's final Dice, areas under the curves, the decision rules, score
versus error, picks per site."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.integrate import trapezoid

from ..common import paired_interval
from ..datasets import site_of
from .plans import COARSE


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


def round_dice(record: dict[str, Any], label: str | None = None) -> float:
    """A round's test Dice: the mean over labels, or one label's (``label``)."""
    return record["test_dice"] if label is None else record["test_dice_per_label"][label]


def per_seed_comparison(loops: list[dict[str, Any]], label: str | None = None) -> dict[str, Any]:
    """Per strategy and seed, against random on the same seed: the labels needed to reach random's final Dice, the
    fraction of random's labels that saves, and the area under the curve; of the Dice averaged over labels, or of
    ``label``'s."""
    curve = {(lp["strategy"], lp["seed"]): {r["labeled"]: round_dice(r, label) for r in lp["rounds"]} for lp in loops}
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


# Issue 29's rule on the lesion pool, written before the run:
# docs/active_learning.md#active-learning-on-the-lesion-pool-protocol-and-rule-written-2026-12-06-2120-before-the-run
LESION_SAVING = 0.25
LESION_SEEDS_MEETING = 4
WHITE_MATTER_TOLERANCE_POINTS = -0.5


def lesion_decision(lesion: dict[str, Any], white_matter: dict[str, Any]) -> dict[str, Any]:
    """Per strategy against random, paired by seed (``per_seed_comparison`` of lesion Dice and of white-matter
    Dice): it passes when it reaches random's final lesion Dice with >= 25 % fewer labeled studies on >= 4 seeds, the
    95 % interval of its lesion AUC minus random's lies above 0, and its white-matter AUC minus random's is >= -0.5
    points on average. The oracle is judged alike: if even it does not pass, the pool leaves selection no room."""
    verdicts: dict[str, Any] = {}
    for strategy, rows in sorted(lesion.items()):
        if strategy == "random" or not rows or "label_saving" not in rows[0]:
            continue
        meeting = sum(1 for r in rows if r["label_saving"] is not None and r["label_saving"] >= LESION_SAVING - 1e-9)
        auc_points = [100 * r["auc_minus_random"] for r in rows]
        interval = paired_interval(auc_points) if len(auc_points) > 1 else None
        wm_points = [100 * r["auc_minus_random"] for r in white_matter.get(strategy, [])]
        wm_mean = float(np.mean(wm_points)) if wm_points else None
        verdicts[strategy] = {
            "seeds": len(rows),
            "seeds_saving_25_percent": meeting,
            "lesion_auc_minus_random_points": auc_points,
            "lesion_auc_interval_points": interval,
            "white_matter_auc_minus_random_points_mean": wm_mean,
            "passes": bool(
                meeting >= LESION_SEEDS_MEETING
                and interval is not None
                and interval[0] > 0
                and wm_mean is not None
                and wm_mean >= WHITE_MATTER_TOLERANCE_POINTS
            ),
        }
    winners = [s for s, v in verdicts.items() if v["passes"] and s != "error_oracle"]
    best = max(winners, key=lambda s: np.mean(verdicts[s]["lesion_auc_minus_random_points"]), default=None)
    return {
        "rule": "reaches random's final lesion Dice with >= 25 % fewer labels on >= 4 seeds, paired 95 % interval of "
        "the lesion AUC difference above 0, white-matter AUC difference >= -0.5 points",
        "strategies": verdicts,
        "oracle_passes": verdicts.get("error_oracle", {}).get("passes"),
        "winner": best,
    }


def effort_curves(loops: list[dict[str, Any]], label: str) -> dict[str, list[dict[str, float]]]:
    """Per strategy and seed, ``label``'s test Dice against the volume annotators corrected so far (the sum of the
    picked studies' corrected mL up to that round; the starting labels were drawn by hand, not corrected: 0)."""
    curves: dict[str, list[dict[str, float]]] = {}
    for lp in loops:
        corrected, points = 0.0, []
        for r in lp["rounds"]:
            points.append({"labeled": r["labeled"], "corrected_ml": corrected, "dice": round_dice(r, label)})
            corrected += r.get("picked_corrected_ml", 0.0)
        curves.setdefault(lp["strategy"], []).append({"seed": lp["seed"], "points": points})
    return curves


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
