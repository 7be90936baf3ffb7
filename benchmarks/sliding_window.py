"""Sliding-window overlap at inference: what less overlap costs in Dice on real anatomy, to choose ``sw_overlap``
(what it saves in time: ``python -m benchmarks speed``).

    python -m benchmarks sliding_window           # MNI, 3 seeds, the app's default networks and patch
    python -m benchmarks sliding_window --quick   # tiny, seconds (CI)

Per seed: one supervised model (the accuracy benchmark's recipe A and training loop) at the app's default network
width and patch size, then every overlap in ``OVERLAPS`` on the same model and studies: validation and test Dice of
the served prediction (the pair's average), the windows as the app runs them.

Decision rule (written before the run): the default ``sw_overlap`` becomes the smallest overlap whose mean paired
validation Dice (overlap - 0.25, averaged over labels and studies, then seeds) is >= -0.5 points; the test split is
only reported.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from .accuracy import mean_dice, split
from .common import benchmark_parser, device, items, prepare, write_json
from .datasets import DATASETS
from .evaluation import evaluate
from .training import RECIPES, draw_streams, recipe_config, train_recipe

DESCRIPTION = "inference overlap: validation/test Dice of one trained model per seed at each overlap"

# MNI's labels and MR normalisation, at the app's default spacing (not the accuracy benchmark's 3.5 mm): its studies
# then have ~1.4 M voxels, as a brain MR of 96 x 112 x 96 at 2 mm does at the defaults.
STUDY_CONF = {key: DATASETS["mni"].conf[key] for key in ("labels", "intensity")}
OVERLAPS = (0.25, 0.125, 0.0)
REFERENCE = 0.25
TOLERANCE_POINTS = -0.5
FULL = dict(num=40, test=10, validation=5, fraction=0.3, iterations=300, seeds=(0, 1, 2), conf={})
QUICK = dict(
    num=8, test=2, validation=2, fraction=0.5, iterations=4, seeds=(0,),
    conf={"width": "4", "patch_size": "[32,32,32]", "labeled_batch_size": "1"},
)  # fmt: skip


def _served_dice(model: torch.nn.Module, config: Any, studies: list, dev: torch.device) -> float:
    with torch.no_grad():
        return mean_dice(evaluate(model, config, studies, dev, distances=False)["averaged"])


def main(argv: list[str]) -> int:
    args = benchmark_parser("sliding_window", DESCRIPTION).parse_args(argv)
    plan = QUICK if args.quick else FULL
    dev, started, runs = device(), time.time(), []
    pairs = items(prepare("mni", plan["num"], args.data))
    for seed in tqdm(plan["seeds"], desc="sliding_window", unit="seed"):
        labeled, _, validation = split(pairs, plan["test"], plan["fraction"], seed, plan["validation"])
        test = pairs[-plan["test"] :]
        config = recipe_config({**plan["conf"], **STUDY_CONF}, RECIPES["supervised"])
        streams = draw_streams(config, labeled, [], plan["iterations"], seed)
        model = train_recipe(RECIPES["supervised"], config, streams, plan["iterations"], seed, dev)
        for overlap in OVERLAPS:
            at_overlap = config.model_copy(update={"sw_overlap": overlap})
            val_dice = _served_dice(model, at_overlap, validation, dev)
            test_dice = _served_dice(model, at_overlap, test, dev)
            runs.append({"seed": seed, "overlap": overlap, "validation_dice": val_dice, "test_dice": test_dice})
            tqdm.write(f"seed {seed} overlap {overlap}: validation Dice {val_dice:.4f}, test Dice {test_dice:.4f}")
    summary = []
    for overlap in OVERLAPS:
        rows = [r for r in runs if r["overlap"] == overlap]
        ref = {r["seed"]: r for r in runs if r["overlap"] == REFERENCE}
        val_diff = [100 * (r["validation_dice"] - ref[r["seed"]]["validation_dice"]) for r in rows]
        test_diff = [100 * (r["test_dice"] - ref[r["seed"]]["test_dice"]) for r in rows]
        summary.append(
            {
                "overlap": overlap,
                "validation_minus_reference_points": {"mean": float(np.mean(val_diff)), "std": float(np.std(val_diff))},
                "test_minus_reference_points": {"mean": float(np.mean(test_diff)), "std": float(np.std(test_diff))},
                "test_dice_mean": float(np.mean([r["test_dice"] for r in rows])),
                "meets_rule": float(np.mean(val_diff)) >= TOLERANCE_POINTS,
            }
        )
    chosen = min(s["overlap"] for s in summary if s["meets_rule"])
    write_json(
        args.out / "sliding_window.json",
        {"plan": plan, "seconds": time.time() - started, "chosen_overlap": chosen, "summary": summary, "runs": runs},
    )
    for s in summary:
        print(
            f"overlap {s['overlap']}: validation {s['validation_minus_reference_points']['mean']:+.2f} ± "
            f"{s['validation_minus_reference_points']['std']:.2f} points, test "
            f"{s['test_minus_reference_points']['mean']:+.2f} ± {s['test_minus_reference_points']['std']:.2f} "
            f"(test Dice {s['test_dice_mean']:.4f})"
        )
    print(f"rule (validation >= {TOLERANCE_POINTS} points vs overlap {REFERENCE}): choose overlap {chosen}")
    print(f"wrote {args.out / 'sliding_window.json'}")
    return 0
