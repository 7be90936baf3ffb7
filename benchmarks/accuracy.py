"""Semi-supervised vs supervised at equal labels, as a paired protocol.

Per study set, labeled fraction and seed: the same labeled studies (a seeded draw from the training pool), the same
labeled batches (studies and crops, from their own generator), the same unlabeled batches, and the same supervised
warm-up checkpoint for every recipe (see ``benchmarks/training.py``); the supervised recipes pass the unlabeled
patches through the networks with no loss on them (equal batch-norm batches), and B (``label_terms``) differs from C
only by the unlabeled loss terms (A also lacks the label-only terms). Metrics on a held-out test split that no
recipe trains on and that nothing is chosen by: ``--tune`` evaluates on a validation split cut from the training pool
instead, with other seeds, for trying settings.

The decision rule (docs/benchmarks.md "Decision rule", written before the run): on MNI at 10 % labels the mean
paired C - A (Dice averaged over labels, the served prediction) is >= +3 Dice points and C is ahead of A in at least
4 of 5 seeds.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import spearmanr, ttest_rel, wilcoxon
from tqdm import tqdm

from .common import CPU_CONF, benchmark_parser, device, items, prepare, write_json
from .datasets import DATASETS
from .evaluation import evaluate
from .plots import accuracy_plot, paired_plot, plateau_plot
from .training import RECIPES, draw_streams, recipe_config, train_recipe, warm_up

DESCRIPTION = "paired semi-supervised vs supervised: recipes A-D and ablations, Dice/HD95/ASD on a test split"

MAIN = ("supervised", "label_terms", "default", "paper")
ABLATIONS = ("no_teacher", "no_class_balance", "no_contrastive", "no_bidirectional", "pdcr")
# Recipes whose served model is also evaluated during the run (the plateau curves).
CURVES = ("supervised", "default")


@dataclass(frozen=True)
class Group:
    dataset: str
    fraction: float
    recipes: tuple[str, ...]
    seeds: tuple[int, ...]
    budget: int = 1  # runs train budget x the plan's iterations (the plateau check trains A longer)


FULL = dict(
    num=40,
    test=10,
    validation=5,
    iterations=280,
    curve_points=4,
    groups=(
        Group("mni", 0.1, MAIN, (0, 1, 2, 3, 4)),
        Group("mni", 0.1, ABLATIONS, (0, 1, 2)),
        Group("mni", 0.2, ("supervised", "default"), (0, 1, 2)),
        Group("synthetic", 0.1, ("supervised", "default"), (0, 1, 2)),
        Group("mni", 0.1, ("supervised",), (0, 1), budget=2),
    ),
)
QUICK = dict(
    num=8,
    test=2,
    validation=2,
    iterations=6,
    curve_points=2,
    groups=(
        Group("mni", 0.25, MAIN + ABLATIONS, (0,)),
        Group("synthetic", 0.25, ("supervised", "default"), (0,)),
        Group("mni", 0.25, ("supervised",), (0,), budget=2),
    ),
)
# ``--converged``: the decision rule's comparison at a budget where supervised training has converged (the FULL plan's
# 280 iterations were not: twice that gave A +4.5 points), with B beside it and A at twice the budget as the plateau
# check; ~55 min on this CPU.
CONVERGED = dict(
    FULL,
    iterations=560,
    groups=(
        Group("mni", 0.1, ("supervised", "label_terms", "default"), (0, 1, 2, 3, 4)),
        Group("mni", 0.1, ("supervised",), (0, 1, 2), budget=2),
    ),
)
TUNE_SEEDS = (100, 101, 102)
CONF = CPU_CONF
# ``--large``: for a lent GPU, the same protocol with wider networks, whole MNI volumes as patches, 2 + 2 patches per
# iteration and a 2,000-iteration budget (not run on this project's 2-core CPU: it would take days).
LARGE = dict(conf={"width": "8", "patch_size": "[48,64,48]", "labeled_batch_size": "2", "unlabeled_batch_size": "2"})
LARGE["iterations"] = 2000


def split(
    pairs: list[dict[str, str]], test: int, fraction: float, seed: int, validation: int = 0
) -> tuple[list, list, list]:
    """Held out = the last ``test`` studies (fixed for all seeds), or with ``validation`` the last ``validation`` of
    the rest (the test split is then not touched at all); labeled = a seeded draw of the remaining pool."""
    pool, held_out = pairs[:-test], pairs[-test:]
    if validation:
        pool, held_out = pool[:-validation], pool[-validation:]
    order = np.random.default_rng(seed).permutation(len(pool))
    k = max(1, round(fraction * len(pool)))
    labeled = [pool[i] for i in order[:k]]
    unlabeled = [{"image": pool[i]["image"]} for i in order[k:]]
    return labeled, unlabeled, held_out


def mean_dice(metrics: dict[str, list]) -> float:
    """Dice averaged over labels, then over studies (a label a recipe never predicts counts as 0)."""
    return float(np.mean(np.nan_to_num(np.array(metrics["dice"], dtype=float))))


def summarise(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean ± std over seeds of each run's test-set means, per set, fraction, recipe and predictor."""
    groups: dict[tuple, list] = {}
    for run in runs:
        for predictor, metrics in run["metrics"].items():
            key = (run["dataset"], run["fraction"], run["recipe"], run["iterations"], predictor)
            groups.setdefault(key, []).append(metrics)
    rows = []
    for (dataset, fraction, recipe, iterations, predictor), per_seed in groups.items():
        row = {"dataset": dataset, "fraction": fraction, "recipe": recipe, "iterations": iterations}
        row["predictor"] = predictor
        row["seeds"] = len(per_seed)
        for metric in ("dice", "hd95", "asd"):
            means = np.array([np.nanmean(np.array(m[metric], dtype=float), axis=0) for m in per_seed])
            row[metric] = {
                "mean": np.nanmean(means, 0).tolist(),
                "std": np.nanstd(means, 0).tolist(),
                "mean_all_labels": float(np.nanmean(means)),
                "std_all_labels": float(np.nanstd(np.nanmean(means, 1))),
            }
        rows.append(row)
    return rows


def paired(
    runs: list[dict[str, Any]], dataset: str, fraction: float, a: str, b: str, budgets: tuple[int, int] = (1, 1)
) -> dict[str, Any] | None:
    """Per-seed differences b - a of the served model's mean Dice (and HD95, ASD), a paired t-test and Wilcoxon's
    signed-rank test, on the seeds both recipes ran (at the given budgets, multiples of the plan's iterations)."""
    base = min(r["iterations"] for r in runs)
    served = {
        (r["recipe"], r["iterations"] // base, r["seed"]): r["metrics"]["averaged"]
        for r in runs
        if r["dataset"] == dataset and r["fraction"] == fraction
    }
    a, b = (a, budgets[0]), (b, budgets[1])
    seeds = sorted(s for (name, budget, s) in served if (name, budget) == a and (*b, s) in served)
    if not seeds:
        return None
    dice_a = np.array([mean_dice(served[(*a, s)]) for s in seeds])
    dice_b = np.array([mean_dice(served[(*b, s)]) for s in seeds])
    diff = dice_b - dice_a
    result: dict[str, Any] = {
        "dataset": dataset,
        "fraction": fraction,
        "comparison": f"{_name(b)} - {_name(a)}",
        "seeds": seeds,
        "dice_a": dice_a.tolist(),
        "dice_b": dice_b.tolist(),
        "difference_points": (100 * diff).tolist(),
        "mean_difference_points": float(100 * diff.mean()),
        "std_difference_points": float(100 * diff.std()),
        "b_ahead": int((diff > 0).sum()),
    }
    for metric in ("hd95", "asd"):
        per = [
            float(np.nanmean(np.array(served[(*b, s)][metric], dtype=float)))
            - float(np.nanmean(np.array(served[(*a, s)][metric], dtype=float)))
            for s in seeds
        ]
        result[f"mean_difference_{metric}_mm"] = float(np.nanmean(per))
    if len(seeds) >= 2 and np.any(diff != 0):
        result["paired_t_p"] = float(ttest_rel(dice_b, dice_a).pvalue)
        result["wilcoxon_p"] = float(wilcoxon(dice_b, dice_a).pvalue)
    return result


def _name(recipe: tuple[str, int]) -> str:
    return recipe[0] if recipe[1] == 1 else f"{recipe[0]} x{recipe[1]} iterations"


def decision(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The rule of docs/benchmarks.md for MNI at 10 %: mean paired C - A >= +3 points and C ahead in >= 4 of 5 seeds."""
    c_vs_a = paired(runs, "mni", 0.1, "supervised", "default")
    if c_vs_a is None:
        return None
    met = c_vs_a["mean_difference_points"] >= 3.0 and c_vs_a["b_ahead"] >= 4 and len(c_vs_a["seeds"]) >= 5
    return {"rule": "mean paired C - A >= +3 Dice points and C ahead in >= 4 of 5 seeds", "met": met, **c_vs_a}


def main(argv: list[str]) -> int:
    parser = benchmark_parser("accuracy", DESCRIPTION)
    parser.add_argument("--iterations", type=int, help="training iterations per recipe (overrides the plan)")
    parser.add_argument(
        "--tune",
        nargs="*",
        metavar="RECIPE",
        help="evaluate on a validation split of the training pool (never the test split), seeds "
        f"{TUNE_SEEDS}, MNI 10 %%, these recipes (default: supervised default)",
    )
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="app settings for every recipe")
    parser.add_argument("--large", action="store_true", help="the GPU-sized form (see LARGE in this module)")
    parser.add_argument(
        "--converged", action="store_true", help="A, B, C on MNI 10 %% at 560 iterations + A at 1,120 (see CONVERGED)"
    )
    parser.add_argument("--recipes", nargs="+", metavar="RECIPE", help="only these recipes of the plan")
    parser.add_argument("--no-plateau", action="store_true", help="without the plan's longer-budget runs")
    parser.add_argument("--fraction", type=float, help="labeled fraction of every group (1.0: the all-labels ceiling)")
    parser.add_argument("--seeds", type=int, nargs="+", help="only these seeds of the plan")
    args = parser.parse_args(argv)
    if args.fraction is not None and not 0.0 < args.fraction <= 1.0:
        parser.error(f"--fraction must be in (0, 1], got {args.fraction}")
    plan = dict(QUICK if args.quick else CONVERGED if args.converged else FULL)
    plan["groups"] = tuple(
        Group(g.dataset, args.fraction or g.fraction, recipes, seeds, g.budget)
        for g in plan["groups"]
        if (seeds := tuple(s for s in g.seeds if not args.seeds or s in args.seeds))
        and (recipes := tuple(r for r in g.recipes if not args.recipes or r in args.recipes))
        and not (args.no_plateau and g.budget > 1)
    )
    if args.iterations:
        plan["iterations"] = args.iterations
    validation = 0
    if args.tune is not None:
        validation = plan["validation"]
        tuned = tuple(args.tune or ("supervised", "default"))
        plan["groups"] = (Group("mni", args.fraction or 0.1, tuned, TUNE_SEEDS),)
    overrides = {**(LARGE["conf"] if args.large else {}), **dict(kv.split("=", 1) for kv in args.set)}
    if args.large and not args.iterations:
        plan["iterations"] = LARGE["iterations"]
    base_iterations = plan["iterations"]
    dev, runs, curves, started = device(), [], [], time.time()
    # One job per (set, fraction, seed): its streams and warm-up are made once and shared by its recipes.
    jobs: dict[tuple[str, float, int, int], list[str]] = {}
    for group in plan["groups"]:
        for seed in group.seeds:
            jobs.setdefault((group.dataset, group.fraction, seed, group.budget), []).extend(group.recipes)
    total = sum(len(recipes) * budget for (*_, budget), recipes in jobs.items()) * base_iterations
    with tqdm(total=total, desc="accuracy", unit="it") as bar:
        for (dataset, fraction, seed, budget), recipes in jobs.items():
            iterations = budget * base_iterations
            checkpoints = [round(iterations * (i + 1) / plan["curve_points"]) for i in range(plan["curve_points"] - 1)]
            study_set = DATASETS[dataset]
            base = {**CONF, **study_set.conf, **overrides}
            pairs = items(prepare(dataset, plan["num"], args.data))
            labeled, unlabeled, held_out = split(pairs, plan["test"], fraction, seed, validation)
            streams = draw_streams(recipe_config(base, RECIPES["default"]), labeled, unlabeled, iterations, seed)
            start = warm_up(recipe_config(base, RECIPES["supervised"]), streams, iterations, seed, dev)
            bar.update(start.iterations * len(recipes))
            for recipe_name in recipes:
                recipe = RECIPES[recipe_name]
                config = recipe_config(base, recipe)
                bar.set_postfix_str(f"{dataset} {fraction:.0%} seed {seed} {recipe_name}")
                curve: list[dict[str, float]] = []
                at_checkpoint = functools.partial(_checkpoint, curve, config, held_out, dev)
                t0 = time.time()
                model = train_recipe(
                    recipe,
                    config,
                    streams,
                    iterations,
                    seed,
                    dev,
                    start,
                    bar,
                    checkpoints if recipe_name in CURVES else (),
                    at_checkpoint,
                )
                train_s = time.time() - t0
                metrics = evaluate(model, config, held_out, dev)
                if recipe_name in CURVES:
                    curve.append({"iteration": iterations, "dice": mean_dice(metrics["averaged"])})
                    curves.append(
                        {"dataset": dataset, "fraction": fraction, "seed": seed, "recipe": recipe_name, "points": curve}
                    )
                runs.append(
                    {
                        "dataset": dataset,
                        "fraction": fraction,
                        "seed": seed,
                        "recipe": recipe_name,
                        "iterations": iterations,
                        "labeled": len(labeled),
                        "unlabeled": len(unlabeled),
                        "held_out": len(held_out),
                        "held_out_split": "validation" if validation else "test",
                        "labeled_stream_checksum": streams.checksum(iterations),
                        "unlabeled_stream_checksum": streams.unlabeled_checksum(),
                        "warmup_iterations": start.iterations,
                        "labels": list(study_set.label_names),
                        "train_seconds": train_s,
                        "eval_seconds": time.time() - t0 - train_s,
                        "metrics": metrics,
                        "spearman_uncertainty_vs_error": _uncertainty_error_correlation(metrics["averaged"]),
                    }
                )
                served = mean_dice(metrics["averaged"])
                bar.write(f"{dataset} {fraction:.0%} seed {seed} {recipe_name} {iterations} it: {served:.4f}")
                write_json(args.out / "accuracy_partial.json", {"plan": str(plan), "runs": runs, "curves": curves})
    summary = summarise(runs)
    comparisons = [
        c
        for dataset, fraction in sorted({(r["dataset"], r["fraction"]) for r in runs})
        for a, b in [("supervised", "default"), ("label_terms", "default"), ("supervised", "paper")]
        + [("default", name) for name in ABLATIONS]
        if (c := paired(runs, dataset, fraction, a, b)) is not None
    ]
    # The plateau check: does twice the budget still improve the supervised recipe?
    comparisons += [
        c
        for dataset, fraction in sorted({(r["dataset"], r["fraction"]) for r in runs})
        if (c := paired(runs, dataset, fraction, "supervised", "supervised", (1, 2))) is not None
    ]
    result = {
        "plan": {**plan, "groups": [g.__dict__ for g in plan["groups"]]},
        "conf": {**CONF, **overrides},
        "held_out_split": "validation" if validation else "test",
        "seconds": time.time() - started,
        "decision": None if validation else decision(runs),
        "comparisons": comparisons,
        "curves": curves,
        "summary": summary,
        "runs": runs,
    }
    write_json(args.out / "accuracy.json", result)
    label_names = {d: DATASETS[d].label_names for d in {r["dataset"] for r in runs}}
    accuracy_plot(summary, label_names, args.out / "accuracy.png")
    paired_plot(
        [(f"{c['dataset']} {c['fraction']:.0%}: {c['comparison']}", c["difference_points"]) for c in comparisons],
        args.out / "accuracy_paired.png",
        "paired difference in mean Dice (points), one dot per seed",
        target=3.0,  # the decision rule's +3 points
    )
    plateau_plot(curves, args.out / "accuracy_plateau.png")
    print_tables(summary, comparisons, label_names, result["decision"])
    print(f"wrote {args.out / 'accuracy.json'} and its plots in {result['seconds']:.0f} s")
    return 0


def _checkpoint(curve: list, config: Any, held_out: list, dev: Any, step: int, model: Any) -> None:
    """The served model's held-out Dice during a run (the plateau curves)."""
    curve.append(
        {"iteration": step, "dice": mean_dice(evaluate(model, config, held_out, dev, distances=False)["averaged"])}
    )


def _uncertainty_error_correlation(metrics: dict[str, list]) -> float:
    """Spearman correlation over held-out studies of mean uncertainty and error (1 - Dice averaged over labels)."""
    error = 1.0 - np.nanmean(np.array(metrics["dice"], dtype=float), axis=1)
    return float(spearmanr(metrics["mean_uncertainty"], error).statistic)


def print_tables(
    summary: list[dict[str, Any]],
    comparisons: list[dict[str, Any]],
    label_names: dict[str, tuple[str, ...]],
    rule: dict[str, Any] | None,
) -> None:
    """The summary and the paired comparisons as Markdown tables (what docs/benchmarks.md shows)."""
    print("| set | labeled | recipe | predictor | Dice per label (mean ± std over seeds) | HD95 mm | ASD mm |")
    print("|---|---|---|---|---|---|---|")
    for r in sorted(summary, key=lambda r: (r["dataset"], r["fraction"], r["recipe"], r["iterations"], r["predictor"])):
        d, h, a = r["dice"], r["hd95"], r["asd"]
        per_label = ", ".join(
            f"{name} {m:.3f} ± {s:.3f}" for name, m, s in zip(label_names[r["dataset"]], d["mean"], d["std"])
        )
        distances = " | ".join(f"{m['mean_all_labels']:.1f} ± {m['std_all_labels']:.1f}" for m in (h, a))
        recipe = (
            r["recipe"]
            if r["iterations"] == min(x["iterations"] for x in summary)
            else f"{r['recipe']} ({r['iterations']} it)"
        )
        print(f"| {r['dataset']} | {r['fraction']:.0%} | {recipe} | {r['predictor']} | {per_label} | {distances} |")
    print()
    print(
        "| set | labeled | comparison | seeds | per-seed difference (points) | mean ± std | ahead | t-test p |", end=""
    )
    print(" HD95 / ASD mm |")
    print("|---|---|---|---|---|---|---|---|---|")
    for c in comparisons:
        per_seed = ", ".join(f"{d:+.1f}" for d in c["difference_points"])
        p = f"{c['paired_t_p']:.3f}" if "paired_t_p" in c else "-"
        print(
            f"| {c['dataset']} | {c['fraction']:.0%} | {c['comparison']} | {len(c['seeds'])} | {per_seed} | "
            f"{c['mean_difference_points']:+.1f} ± {c['std_difference_points']:.1f} | {c['b_ahead']}/{len(c['seeds'])} "
            f"| {p} | {c['mean_difference_hd95_mm']:+.1f} / {c['mean_difference_asd_mm']:+.1f} |"
        )
    if rule is not None:
        print(f"\ndecision rule ({rule['rule']}): {'MET' if rule['met'] else 'NOT MET'}")


if __name__ == "__main__":
    raise SystemExit(main(None))
