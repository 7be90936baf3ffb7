"""The command line: ``python -m benchmarks active_learning``."""

from __future__ import annotations

import time
from pathlib import Path

from tqdm import tqdm

from lib.config import STUDY_SCORES

from ..common import benchmark_parser, items, prepare
from .loop import run_loop
from .plans import (
    AL_DATASETS,
    CONF,
    DEFAULT_STRATEGIES,
    DESCRIPTION,
    FULL,
    LARGE,
    LARGE_CONF,
    LESION,
    LESION_CONF,
    LESION_STRATEGIES,
    LESION_TRAINING,
    QUICK,
    STRATEGIES,
)
from .report import combined_runs, finished_loops, print_summary, write_results


def main(argv: list[str]) -> int:
    parser = benchmark_parser("active_learning", DESCRIPTION)
    parser.add_argument(
        "--strategies",
        nargs="+",
        choices=list(STRATEGIES),
        help=f"default: {' '.join(DEFAULT_STRATEGIES)}; on mni_lesions {' '.join(LESION_STRATEGIES)}",
    )
    parser.add_argument("--large", action="store_true", help="the GPU form: a larger network and patch, 5 seeds")
    parser.add_argument(
        "--dataset",
        choices=AL_DATASETS,
        default="mni",
        help="mni_sites: the same subjects from three sites; mni_lesions: the lesion pool (its own plan and settings)",
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
        print_summary(result)
        print(f"wrote {args.out / 'active_learning.json'} from {len(args.combine)} runs")
        return 0
    lesions = args.dataset == "mni_lesions"
    plan = QUICK if args.quick else LESION if lesions else LARGE if args.large else FULL
    # The original MNI plan is left as it was written (so that its --resume still matches); another set is named.
    plan = plan if args.dataset == "mni" else {**plan, "dataset": args.dataset}
    plan = plan if args.score == "subnet_disagreement" else {**plan, "score": args.score}
    plan = plan if args.seeds is None else {**plan, "seeds": tuple(args.seeds)}
    if lesions:
        conf = {**LESION_CONF, **({} if args.quick else LESION_TRAINING)}
    else:
        conf = {**CONF, **(LARGE_CONF if args.large else {})}
    conf = {**conf, "iterations_per_epoch": str(plan["iterations_per_epoch"])}
    strategies = args.strategies or list(LESION_STRATEGIES if lesions else DEFAULT_STRATEGIES)
    pairs = items(prepare(args.dataset, plan["num"], args.data))
    loops, earlier_seconds = finished_loops(args.out / "active_learning.json", plan) if args.resume else ([], 0.0)
    done = {(lp["strategy"], lp["seed"]) for lp in loops}
    started = time.time() - earlier_seconds
    # Random first in each seed: its loop makes the seed's first model.
    order = sorted(strategies, key=lambda s: s != "random")
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
    print_summary(result)
    print(f"wrote {args.out / 'active_learning.json'} and active_learning.png in {result['seconds']:.0f} s")
    return 0
