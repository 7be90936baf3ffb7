"""Evidence where labels matter, on the lesion set: the headroom check (supervised on 10 % against all labels) and
the paired semi-supervised comparison (A, B, C and the all-labels ceiling). Both rules are in docs/benchmarks.md, "A
study set with lesions", written before the runs.

    python -m benchmarks lesion_evidence headroom [--level L]            # validation split, seeds 0-2
    python -m benchmarks lesion_evidence semi_supervised --level L --iterations N   # test split, seeds 0-4
    python -m benchmarks lesion_evidence ablation --level L --iterations N   # C + PDCR, C + UAFS: validation, 0-2
    ... [--seeds S ...] [--resume]   # a run split by seed: --resume keeps the runs already in the results folder

Each run trains with the app's own pieces in process (``benchmarks/training.py``): per seed the same labeled and
unlabeled batches (from the seed alone) and one shared supervised warm-up for every recipe.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
from tqdm import tqdm

from lib.tools.mni_data import LESION_LABELS

from .accuracy import split
from .common import benchmark_parser, device, items, paired_interval, prepare, write_json
from .datasets import DATASETS
from .evaluation import evaluate
from .plots import paired_plot
from .training import RECIPES, draw_streams, recipe_config, train_recipe, warm_up

DESCRIPTION = "lesion set: headroom check (supervised 10 % vs all labels) and the paired semi-supervised comparison"

# 2 + 2 patches: a batch of one runs PyTorch's slow convolution path on a CPU (docs/scaling.md#training-speed).
CONF = {
    "width": "4",
    "patch_size": "[32,32,32]",
    "labeled_batch_size": "2",
    "unlabeled_batch_size": "2",
    "sw_batch_size": "4",
}
FULL = dict(num=64, test=12, validation=12, fraction=0.1, iterations=1120, checkpoints=(560, 840))
QUICK = dict(num=8, test=2, validation=2, fraction=0.25, iterations=6, checkpoints=(3,))
QUICK_CONF = {**CONF, "patch_size": "[32,32,32]"}
HEADROOM_SEEDS = (0, 1, 2)
SEMI_SUPERVISED_SEEDS = (0, 1, 2, 3, 4)
CEILING_SEEDS = (0, 1, 2)
# The ablation rows (validation split): C with PDCR, and C with UAFS in the decoders.
ABLATIONS = ("pdcr", "feature_selection")
ABLATION_SEEDS = (0, 1, 2)
HEADROOM_POINTS = 10.0
RECOVERED_SHARE = 0.5
WHITE_MATTER_TOLERANCE_POINTS = -0.5


def dataset_name(level: int) -> str:
    return "mni_lesions" if level == 0 else f"mni_lesions_{level}"


def lesion_summary(metrics: dict[str, list]) -> dict[str, float]:
    """Per label Dice means over the held-out studies (a label absent from a study and its prediction counts 1),
    lesion Dice over the studies that hold lesions, lesion-wise F1 and Dice, and HD95 where measured."""
    dice = np.array(metrics["dice"], dtype=float)  # studies x (white matter, lesion)
    has_lesions = np.array([tp + fn > 0 for tp, fn, _ in metrics["lesion_counts"]])
    summary = {
        "white_matter_dice": float(np.nanmean(dice[:, 0])),
        "lesion_dice": float(np.nanmean(dice[:, 1])),
        "lesion_dice_on_lesion_studies": float(np.nanmean(dice[has_lesions, 1])) if has_lesions.any() else None,
        "lesion_f1": float(np.mean(metrics["lesion_f1"])),
        "lesion_wise_dice": float(np.mean(metrics["lesion_wise_dice"])),
    }
    if "hd95" in metrics:
        hd95 = np.array(metrics["hd95"], dtype=float)
        summary["white_matter_hd95_mm"] = float(np.nanmean(hd95[:, 0]))
        summary["lesion_hd95_mm_on_lesion_studies"] = float(np.nanmean(hd95[has_lesions, 1]))
    return summary


def _key(run: dict[str, Any]) -> tuple:
    return run["level"], run["fraction"], run["seed"], run["recipe"], run["iterations"]


def run_seed(
    level: int,
    fraction: float,
    seed: int,
    recipes: tuple[str, ...],
    plan: dict,
    conf: dict[str, str],
    held_out: str,
    data: Path,
    done: set[tuple],
    bar: tqdm,
    checkpoints: tuple[int, ...] = (),
) -> list[dict[str, Any]]:
    """Every recipe of one seed at one labeled fraction, from one set of streams and one shared warm-up."""
    todo = [r for r in recipes if (level, fraction, seed, r, plan["iterations"]) not in done]
    if not todo:
        return []
    dataset = DATASETS[dataset_name(level)]
    pairs = items(prepare(dataset.name, plan["num"], data))
    without_test = pairs[: -plan["test"]]
    labeled, unlabeled, validation = split(without_test, plan["validation"], fraction, seed)
    evaluated = validation if held_out == "validation" else pairs[-plan["test"] :]
    base = {**conf, **dataset.conf}
    iterations, dev = plan["iterations"], device()
    streams = draw_streams(recipe_config(base, RECIPES["default"]), labeled, unlabeled, iterations, seed)
    # One shared warm-up per network structure: a recipe that adds blocks (UAFS) warms up its own network on the
    # same batches.
    starts: dict[bool, Any] = {}
    runs = []
    for recipe_name in todo:
        config = recipe_config(base, RECIPES[recipe_name])
        structure = config.feature_selection
        if structure not in starts:
            supervised = recipe_config({**base, "feature_selection": str(structure).lower()}, RECIPES["supervised"])
            starts[structure] = warm_up(supervised, streams, iterations, seed, dev)
        start = starts[structure]
        curve: list[dict[str, Any]] = []

        def checkpoint(step: int, model: Any, config: Any = config, curve: list = curve) -> None:
            curve.append(
                {"iteration": step, **lesion_summary(evaluate(model, config, evaluated, dev, False)["averaged"])}
            )

        bar.set_postfix_str(f"level {level} {fraction:.0%} seed {seed} {recipe_name}")
        started = time.time()
        model = train_recipe(
            RECIPES[recipe_name], config, streams, iterations, seed, dev, start, bar, checkpoints, checkpoint
        )
        train_seconds = time.time() - started
        metrics = evaluate(model, config, evaluated, dev, distances=held_out == "test")
        summary = lesion_summary(metrics["averaged"])
        curve.append({"iteration": iterations, **{k: v for k, v in summary.items() if "hd95" not in k}})
        runs.append(
            {
                "level": level,
                "fraction": fraction,
                "seed": seed,
                "recipe": recipe_name,
                "iterations": iterations,
                "labeled": len(labeled),
                "labeled_with_lesions": sum(_holds_lesions(p) for p in labeled),
                "held_out_split": held_out,
                "labeled_stream_checksum": streams.checksum(iterations),
                "unlabeled_stream_checksum": streams.unlabeled_checksum(),
                "train_seconds": train_seconds,
                "summary": summary,
                "curve": curve,
                "metrics": metrics["averaged"],
            }
        )
        bar.write(
            f"level {level} {fraction:.0%} seed {seed} {recipe_name}: lesion Dice {summary['lesion_dice']:.3f}, "
            f"white matter {summary['white_matter_dice']:.3f}, lesion F1 {summary['lesion_f1']:.3f}"
        )
    return runs


def _holds_lesions(pair: dict[str, str]) -> bool:
    return bool((np.asarray(nib.load(pair["label"]).dataobj) == LESION_LABELS["lesion"]).any())


def headroom_decision(runs: list[dict[str, Any]], level: int, plan: dict) -> dict[str, Any] | None:
    """The check's rule: mean over seeds of lesion Dice(all labels) - lesion Dice(10 %) >= 10 points; and the budget
    rule: 1,120 iterations if A on 10 % gains at most 1 point from 840 to 1,120 iterations, else 2,240."""
    few = {r["seed"]: r for r in runs if r["level"] == level and r["fraction"] == plan["fraction"]}
    full = {r["seed"]: r for r in runs if r["level"] == level and r["fraction"] == 1.0}
    seeds = sorted(set(few) & set(full))
    if not seeds:
        return None
    gaps = [100 * (full[s]["summary"]["lesion_dice"] - few[s]["summary"]["lesion_dice"]) for s in seeds]
    at = {s: {p["iteration"]: p["lesion_dice"] for p in few[s]["curve"]} for s in seeds}
    late = [100 * (at[s][1120] - at[s][840]) for s in seeds if {840, 1120} <= set(at[s])]
    return {
        "level": level,
        "seeds": seeds,
        "gap_points": gaps,
        "mean_gap_points": float(np.mean(gaps)),
        "accepted": float(np.mean(gaps)) >= HEADROOM_POINTS,
        "a_10_gain_840_to_1120_points": late,
        "budget": 1120 if not late or float(np.mean(late)) <= 1.0 else 2240,
    }


def semi_supervised_decision(runs: list[dict[str, Any]], level: int, plan: dict) -> dict[str, Any] | None:
    """The rule of docs/benchmarks.md: C - B recovers >= 50 % of the gap between A and the ceiling, its paired 95 %
    interval lies above 0, C ahead on >= 4 of 5 seeds, white-matter C - B >= -0.5 points."""

    def by_seed(recipe: str, fraction: float) -> dict[int, dict[str, float]]:
        return {
            r["seed"]: r["summary"]
            for r in runs
            if r["level"] == level
            and r["recipe"] == recipe
            and r["fraction"] == fraction
            and r["held_out_split"] == "test"
        }

    a, b, c = (by_seed(r, plan["fraction"]) for r in ("supervised", "label_terms", "default"))
    ceiling = by_seed("supervised", 1.0)
    seeds = sorted(set(a) & set(b) & set(c))
    if len(seeds) < 2 or not ceiling:
        return None
    lesion = {name: np.array([d[s]["lesion_dice"] for s in seeds]) for name, d in (("a", a), ("b", b), ("c", c))}
    c_minus_b = 100 * (lesion["c"] - lesion["b"])
    gap = 100 * (float(np.mean([v["lesion_dice"] for v in ceiling.values()])) - float(lesion["a"].mean()))
    white = 100 * np.array([c[s]["white_matter_dice"] - b[s]["white_matter_dice"] for s in seeds])
    low, high = paired_interval(c_minus_b)
    checks = {
        "recovers_half_the_gap": bool(gap > 0 and c_minus_b.mean() >= RECOVERED_SHARE * gap),
        "interval_above_zero": low > 0,
        "ahead_on_4_of_5": int((c_minus_b > 0).sum()) >= 4 and len(seeds) >= 5,
        "white_matter_not_worse": float(white.mean()) >= WHITE_MATTER_TOLERANCE_POINTS,
    }
    return {
        "level": level,
        "seeds": seeds,
        "c_minus_b_points": c_minus_b.tolist(),
        "c_minus_b_mean_points": float(c_minus_b.mean()),
        "c_minus_b_interval_points": [low, high],
        "c_minus_a_points": (100 * (lesion["c"] - lesion["a"])).tolist(),
        "gap_ceiling_minus_a_points": gap,
        "recovered_share": float(c_minus_b.mean() / gap) if gap > 0 else None,
        "white_matter_c_minus_b_points": white.tolist(),
        "checks": checks,
        "met": all(checks.values()),
    }


def ablation_decision(runs: list[dict[str, Any]], level: int, plan: dict) -> dict[str, Any]:
    """Per ablation, X - C on the validation split; X becomes a default only if lesion Dice X - C has a paired 95 %
    interval above 0, X is ahead on every seed and white-matter Dice X - C is at least -0.5 points."""
    by = {
        (r["recipe"], r["seed"]): r["summary"]
        for r in runs
        if r["level"] == level and r["fraction"] == plan["fraction"]
    }
    rows = {}
    for name in ABLATIONS:
        seeds = sorted(s for (recipe, s) in by if recipe == name and ("default", s) in by)
        if len(seeds) < 2:
            continue
        lesion = 100 * np.array([by[(name, s)]["lesion_dice"] - by[("default", s)]["lesion_dice"] for s in seeds])
        white = 100 * np.array(
            [by[(name, s)]["white_matter_dice"] - by[("default", s)]["white_matter_dice"] for s in seeds]
        )
        low, high = paired_interval(lesion)
        rows[name] = {
            "seeds": seeds,
            "lesion_minus_default_points": lesion.tolist(),
            "interval_points": [low, high],
            "white_matter_minus_default_points": white.tolist(),
            "becomes_default": bool(low > 0 and (lesion > 0).all() and white.mean() >= WHITE_MATTER_TOLERANCE_POINTS),
        }
    return {"level": level, "split": "validation", "ablations": rows}


def main(argv: list[str]) -> int:
    parser = benchmark_parser("lesion_evidence", DESCRIPTION)
    parser.add_argument("part", choices=("headroom", "semi_supervised", "ablation"))
    parser.add_argument("--level", type=int, default=0, help="the ladder's level (lib/tools/lesions.py LADDER)")
    parser.add_argument("--iterations", type=int, help="training iterations (the budget the headroom check chose)")
    parser.add_argument("--seeds", type=int, nargs="+", help="only these seeds")
    parser.add_argument("--resume", action="store_true", help="keep the runs already in the results JSON")
    parser.add_argument("--fraction", type=float, nargs="+", help="only these labeled fractions (1.0: the ceiling)")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="app settings for every recipe")
    parser.add_argument("--name", help="the results file's name (default lesion_<part>)")
    args = parser.parse_args(argv)
    plan = dict(QUICK if args.quick else FULL)
    conf = {**(QUICK_CONF if args.quick else CONF), **dict(kv.split("=", 1) for kv in args.set)}
    if args.iterations:
        plan["iterations"] = args.iterations
    path = args.out / f"{args.name or 'lesion_' + args.part}.json"
    runs: list[dict[str, Any]] = json.loads(path.read_text())["runs"] if args.resume and path.exists() else []
    done = {_key(r) for r in runs}
    if args.part == "headroom":
        jobs = [(plan["fraction"], s, ("supervised",)) for s in HEADROOM_SEEDS] + [
            (1.0, s, ("supervised",)) for s in HEADROOM_SEEDS
        ]
        held_out = "validation"
    elif args.part == "semi_supervised":
        jobs = [(plan["fraction"], s, ("supervised", "label_terms", "default")) for s in SEMI_SUPERVISED_SEEDS]
        jobs += [(1.0, s, ("supervised",)) for s in CEILING_SEEDS]
        held_out = "test"
    else:
        jobs = [(plan["fraction"], s, ("default",) + ABLATIONS) for s in ABLATION_SEEDS]
        held_out = "validation"
    if args.quick:
        jobs = [j for j in jobs if j[1] == 0]
    jobs = [j for j in jobs if (not args.seeds or j[1] in args.seeds) and (not args.fraction or j[0] in args.fraction)]
    started = time.time()
    total = sum(len(recipes) for *_, recipes in jobs) * plan["iterations"]
    with tqdm(total=total, desc=f"lesion {args.part}", unit="it") as bar:
        for fraction, seed, recipes in jobs:
            checkpoints = plan["checkpoints"] if args.part == "headroom" else ()
            runs += run_seed(
                args.level, fraction, seed, recipes, plan, conf, held_out, args.data, done, bar, checkpoints
            )
            done = {_key(r) for r in runs}
            write_json(path, {"plan": plan, "conf": conf, "runs": runs})
    decide = {"headroom": headroom_decision, "semi_supervised": semi_supervised_decision}.get(args.part)
    decision = decide(runs, args.level, plan) if decide else ablation_decision(runs, args.level, plan)
    write_json(path, {"plan": plan, "conf": conf, "seconds": time.time() - started, "decision": decision, "runs": runs})
    if args.part == "semi_supervised" and decision is not None:
        rows = [("C - B", decision["c_minus_b_points"]), ("C - A", decision["c_minus_a_points"])]
        paired_plot(rows, args.out / "lesion_semi_supervised_paired.png", "paired lesion Dice difference (points)")
    print(json.dumps(decision, indent=1))
    return 0
