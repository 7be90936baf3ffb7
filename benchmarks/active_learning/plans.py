"""The active-learning benchmark's plans: loop strategies, study sets, sizes and settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..common import CPU_CONF
from ..datasets import DATASETS

DESCRIPTION = "active learning on MNI over REST: uncertainty vs random vs MONAI Label's epistemic, Dice per label count"

MODEL = "uncertainty_contrastive"


@dataclass(frozen=True)
class LoopStrategy:
    """How one loop picks studies: the server's strategy (None: the benchmark picks by the true error), the scoring
    method it needs (and the image-info keys of the score it ranks by and of the model timestamp that score was made
    with), and any app setting it needs."""

    server_strategy: str | None
    scoring: str | None = None
    score_key: str | None = None
    ts_key: str | None = None
    conf: dict[str, str] = field(default_factory=dict)


# The coarser scoring grid measured against the full one (``uncertainty_coarse`` scores on it).
COARSE = 2
# ``cold_start`` hands out typical studies while fewer than this many are labeled (fixed before the lesion run: the
# rounds at 2, 4 and 6 labels), then ranks by focus_disagreement.
COLD_START_LABELS = 8


def _app_strategy(score_key: str = "subnet_disagreement", **conf: str) -> LoopStrategy:
    """The app's ``uncertainty`` strategy after its ``mean_uncertainty`` scoring, with app settings ``conf``."""
    return LoopStrategy("uncertainty", "mean_uncertainty", score_key, "mean_uncertainty_ts", conf)


def loop_strategy(strategy: str, plan: dict[str, Any]) -> LoopStrategy:
    """``strategy`` as ``plan`` runs it: a plan with a ``score`` runs ``uncertainty`` ranking by that score."""
    if strategy == "uncertainty" and "score" in plan:
        return _app_strategy(plan["score"], next_study_score=plan["score"])
    return STRATEGIES[strategy]


STRATEGIES = {
    "uncertainty": _app_strategy(),
    "mean_uncertainty": _app_strategy("mean_uncertainty", next_study_score="mean_uncertainty"),
    # Step 2 of the cheaper-scoring rule (docs/active_learning.md): the same strategy scoring on the coarser grid.
    "uncertainty_coarse": _app_strategy(score_downsample=str(COARSE)),
    # The same strategy handing out diverse batches (docs/active_learning.md#diverse-batches).
    "uncertainty_diverse": _app_strategy(batch_pool_factor="3"),
    # ... or representative batches (docs/active_learning.md#representative-batches).
    "uncertainty_representative": _app_strategy(batch_pool_factor="3", batch_pick="representative"),
    # Issue 29's candidates for a pool with lesions: ranking by the subnets' dispute over the lesions they find, and
    # the same after a cold start of typical studies (the rule: LESION_TRAINING's page section).
    "focus": _app_strategy("focus_disagreement", next_study_score="focus_disagreement"),
    "cold_start": _app_strategy(
        "focus_disagreement", next_study_score="focus_disagreement", cold_start_labels=str(COLD_START_LABELS)
    ),
    "random": LoopStrategy("random"),
    "epistemic": LoopStrategy("epistemic", "epistemic", "epistemic_entropy", "epistemic_ts"),
    # Never an app strategy (it reads labels no annotator has made yet); its rule: the module's docstring.
    "error_oracle": LoopStrategy(None),
}
DEFAULT_STRATEGIES = ("uncertainty", "random", "epistemic")
# 40 MNI studies: the pool is the first 30, the test split the last 10 (the accuracy benchmark's test split too).
# Iterations: the seed's first run from scratch, then each round's fine-tuning (time on this CPU:
# docs/active_learning.md).
FULL = dict(
    num=40,
    pool=30,
    test=10,
    start=2,
    k=2,
    rounds=6,
    seeds=(0, 1, 2),
    first_iterations=400,
    round_iterations=100,
    iterations_per_epoch=20,
)
QUICK = dict(
    num=8,
    pool=6,
    test=2,
    start=1,
    k=1,
    rounds=1,
    seeds=(0,),
    first_iterations=4,
    round_iterations=2,
    iterations_per_epoch=2,
)
# ``--large``: for a lent GPU, the accuracy benchmark's large network and patch, 5 seeds and 5x the iterations.
LARGE = dict(FULL, seeds=(0, 1, 2, 3, 4), first_iterations=2000, round_iterations=500)
LARGE_CONF = {"width": "8", "patch_size": "[48,64,48]", "labeled_batch_size": "2", "unlabeled_batch_size": "2"}
# Training on the lesion pool: what found lesions at CPU sizes in the calibration on the validation split
# (docs/active_learning.md#active-learning-on-the-lesion-pool-protocol-and-rule-written-2026-12-06-2120-before-the-run):
# width 8, 48 x 48 x 32 patches, 2 + 2 per iteration, lesion-centred crops three times as often as the others.
LESION_TRAINING = {
    "width": "8",
    "patch_size": "[48,48,32]",
    "crop_ratios": "[1,1,3]",
    "labeled_batch_size": "2",
    "unlabeled_batch_size": "2",
    "sw_batch_size": "4",
}
LESION_FIRST_ITERATIONS = 1120
LESION_ROUND_ITERATIONS = 300
# The lesion pool (issue 29): the lesion set's pool (studies 0-39) and its test split (52-63; the validation split
# 40-51 between them is not used), rounds of 2 from 2 labels to 16, 5 seeds; iterations: docs/active_learning.md.
LESION = dict(
    FULL,
    dataset="mni_lesions",
    num=64,
    pool=40,
    test=12,
    test_from=52,
    rounds=7,
    seeds=(0, 1, 2, 3, 4),
    first_iterations=LESION_FIRST_ITERATIONS,
    round_iterations=LESION_ROUND_ITERATIONS,
)
LESION_STRATEGIES = ("random", "uncertainty", "epistemic", "error_oracle", "focus", "cold_start")
# Dropout on, so that MONAI Label's epistemic scoring applies to the same network as ours.
CONF = {**CPU_CONF, **DATASETS["mni"].conf, "dropout": "0.2"}
# The lesion set's labels, grid and intensity; the full plan adds LESION_TRAINING (the quick form keeps CPU_CONF).
LESION_CONF = {**CONF, **DATASETS["mni_lesions"].conf}
# The study sets a loop can run on: real anatomy, the same subjects from three sites (both with the same settings),
# and the three-site subjects with lesions.
AL_DATASETS = ("mni", "mni_sites", "mni_lesions")
# The scorers' own summaries in the server log (the scoring subprocess's output): seconds for the studies executed.
