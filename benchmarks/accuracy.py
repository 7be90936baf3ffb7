"""Semi-supervised vs supervised at equal labels, the ablations, and MONAI Label's stock UNet recipe.

For each study set, labeled fraction and seed: the same labeled studies (a seeded draw from the training pool), the
same patches, batch sizes and number of iterations for every recipe; the rest of the pool is the unlabeled data the
semi-supervised recipes also see. Metrics on a held-out test split that no recipe trains on.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from scipy.stats import spearmanr
from tqdm import tqdm

from lib.config import load_config

from .common import CPU_CONF, benchmark_parser, device, items, prepare, write_json
from .datasets import DATASETS
from .evaluation import evaluate
from .plots import accuracy_plot
from .training import VARIANTS, train_variant

DESCRIPTION = "semi-supervised vs supervised vs ablations vs MONAI UNet, Dice/HD95/ASD on a test split"

FULL = dict(num=40, test=10, fractions=(0.1, 0.2), seeds=(0, 1, 2), iterations=160, ablation_fractions=(0.1,))
QUICK = dict(num=6, test=1, fractions=(0.25,), seeds=(0,), iterations=3, ablation_fractions=(0.25,))
CONF = CPU_CONF


def recipes(fraction: float, ablation_fractions: tuple[float, ...]) -> list[str]:
    names = ["supervised", "full", "unet"]
    if fraction in ablation_fractions:
        names += ["no_verification", "no_pseudo_label", "no_contrastive"]
    return names


def split(pairs: list[dict[str, str]], test: int, fraction: float, seed: int) -> tuple[list, list, list]:
    """Test = the last ``test`` studies (fixed for all seeds); labeled = a seeded draw of the rest."""
    pool, test_items = pairs[:-test], pairs[-test:]
    order = np.random.default_rng(seed).permutation(len(pool))
    k = max(1, round(fraction * len(pool)))
    labeled = [pool[i] for i in order[:k]]
    unlabeled = [{"image": pool[i]["image"]} for i in order[k:]]
    return labeled, unlabeled, test_items


def summarise(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean ± std over seeds of each run's test-set means, per set, fraction, recipe and predictor."""
    groups: dict[tuple, list] = {}
    for run in runs:
        for predictor, metrics in run["metrics"].items():
            groups.setdefault((run["dataset"], run["fraction"], run["recipe"], predictor), []).append(metrics)
    rows = []
    for (dataset, fraction, recipe, predictor), per_seed in groups.items():
        row = {
            "dataset": dataset,
            "fraction": fraction,
            "recipe": recipe,
            "predictor": predictor,
            "seeds": len(per_seed),
        }
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


def uncertainty_error_correlation(metrics: dict[str, list]) -> float:
    """Spearman correlation over test studies of mean uncertainty and error (1 - Dice averaged over labels)."""
    error = 1.0 - np.nanmean(np.array(metrics["dice"], dtype=float), axis=1)
    return float(spearmanr(metrics["mean_uncertainty"], error).statistic)


def main(argv: list[str]) -> int:
    parser = benchmark_parser("accuracy", DESCRIPTION)
    parser.add_argument("--datasets", nargs="+", default=sorted(DATASETS), choices=sorted(DATASETS))
    parser.add_argument("--iterations", type=int, help="training iterations per recipe (overrides the plan)")
    args = parser.parse_args(argv)
    plan = dict(QUICK if args.quick else FULL)
    if args.iterations:
        plan["iterations"] = args.iterations
    dev, runs, started = device(), [], time.time()
    jobs = [
        (dataset, fraction, seed, recipe)
        for dataset in args.datasets
        for fraction in plan["fractions"]
        for seed in plan["seeds"]
        for recipe in recipes(fraction, plan["ablation_fractions"])
    ]
    with tqdm(total=len(jobs) * plan["iterations"], desc="accuracy", unit="it") as bar:
        for dataset, fraction, seed, recipe in jobs:
            study_set = DATASETS[dataset]
            config = load_config({**CONF, "rampup_iterations": str(plan["iterations"] // 2), **study_set.conf})
            pairs = items(prepare(dataset, plan["num"], args.data))
            labeled, unlabeled, test_items = split(pairs, plan["test"], fraction, seed)
            bar.set_postfix_str(f"{dataset} {fraction:.0%} seed {seed} {recipe}")
            start = time.time()
            network = train_variant(VARIANTS[recipe], config, labeled, unlabeled, plan["iterations"], seed, dev, bar)
            train_s = time.time() - start
            metrics = evaluate(network, config, test_items, dev)
            run = {
                "dataset": dataset,
                "fraction": fraction,
                "seed": seed,
                "recipe": recipe,
                "labeled": len(labeled),
                "unlabeled": len(unlabeled),
                "test": len(test_items),
                "labels": list(study_set.label_names),
                "train_seconds": train_s,
                "eval_seconds": time.time() - start - train_s,
                "metrics": metrics,
            }
            if recipe == "full":
                run["spearman_uncertainty_vs_error"] = uncertainty_error_correlation(metrics["averaged"])
            runs.append(run)
    summary = summarise(runs)
    result = {"plan": plan, "conf": CONF, "seconds": time.time() - started, "summary": summary, "runs": runs}
    write_json(args.out / "accuracy.json", result)
    label_names = {d: DATASETS[d].label_names for d in args.datasets}
    accuracy_plot(summary, label_names, args.out / "accuracy.png")
    print_table(summary, label_names)
    print(f"wrote {args.out / 'accuracy.json'} and accuracy.png in {result['seconds']:.0f} s")
    return 0


def print_table(summary: list[dict[str, Any]], label_names: dict[str, tuple[str, ...]]) -> None:
    """The summary as a Markdown table (what the README shows): Dice per label, then HD95 and ASD over labels."""
    print("| set | labeled | recipe | predictor | Dice per label (mean ± std over seeds) | HD95 mm | ASD mm |")
    print("|---|---|---|---|---|---|---|")
    for r in sorted(summary, key=lambda r: (r["dataset"], r["fraction"], r["recipe"], r["predictor"])):
        d, h, a = r["dice"], r["hd95"], r["asd"]
        per_label = ", ".join(
            f"{name} {m:.3f} ± {s:.3f}" for name, m, s in zip(label_names[r["dataset"]], d["mean"], d["std"])
        )
        distances = " | ".join(f"{m['mean_all_labels']:.1f} ± {m['std_all_labels']:.1f}" for m in (h, a))
        run = f"{r['dataset']} | {r['fraction']:.0%} | {r['recipe']} | {r['predictor']}"
        print(f"| {run} | {per_label} | {distances} |")


if __name__ == "__main__":
    raise SystemExit(main(None))
