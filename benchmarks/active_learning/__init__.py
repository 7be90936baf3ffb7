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

from .analysis import area_under_curve, labels_to_reach, per_seed_comparison, score_vs_error
from .cli import main
from .loop import largest_errors, load_model, run_loop, spearman
from .plans import (
    AL_DATASETS,
    CONF,
    DESCRIPTION,
    FULL,
    LARGE,
    LARGE_CONF,
    MODEL,
    QUICK,
    STRATEGIES,
    LoopStrategy,
    loop_strategy,
)
from .report import combined_runs, finished_loops, write_results

__all__ = [
    "AL_DATASETS",
    "CONF",
    "DESCRIPTION",
    "FULL",
    "LARGE",
    "LARGE_CONF",
    "MODEL",
    "QUICK",
    "STRATEGIES",
    "LoopStrategy",
    "area_under_curve",
    "combined_runs",
    "finished_loops",
    "labels_to_reach",
    "largest_errors",
    "load_model",
    "loop_strategy",
    "main",
    "per_seed_comparison",
    "run_loop",
    "score_vs_error",
    "spearman",
    "write_results",
]
