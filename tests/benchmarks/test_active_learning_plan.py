"""How the active-learning benchmark reads a plan and sums up its score checks, on hand-made plans and loops."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from benchmarks.active_learning import (
    CONF,
    FULL,
    LARGE,
    LARGE_CONF,
    STRATEGIES,
    combined_runs,
    largest_errors,
    loop_strategy,
    score_vs_error,
)
from lib.config import load_config
from lib.networks import DualSubnetSegmenter


def test_a_plan_with_a_score_runs_uncertainty_ranking_by_it_and_leaves_the_others() -> None:
    ranked = loop_strategy("uncertainty", {**FULL, "score": "class_disagreement"})
    assert ranked.score_key == "class_disagreement"
    assert ranked.conf == {"next_study_score": "class_disagreement"}  # the server ranks by it, not only the benchmark
    assert loop_strategy("uncertainty", FULL) == STRATEGIES["uncertainty"]
    assert loop_strategy("random", {**FULL, "score": "class_disagreement"}) == STRATEGIES["random"]


def test_every_loop_strategy_runs_on_settings_the_app_accepts() -> None:
    representative = load_config({**CONF, **STRATEGIES["uncertainty_representative"].conf})
    assert (representative.batch_pool_factor, representative.batch_pick) == (3, "representative")
    for strategy in STRATEGIES.values():
        load_config({**CONF, **strategy.conf})


def test_score_against_error_is_averaged_per_strategy_over_its_rounds_and_seeds() -> None:
    def loop(strategy: str, *values: float | None) -> dict:
        rounds = [{"spearman_vs_error": {"subnet_disagreement": v}} for v in values] + [{"labeled": 14}]
        return {"strategy": strategy, "rounds": rounds}

    loops = [loop("random", 0.6, 0.2), loop("random", 0.4), loop("uncertainty", -0.2, None), loop("epistemic")]
    # A Spearman left undefined (a constant score) does not count; a loop without checks is not listed.
    assert score_vs_error(loops) == {
        "random": {"subnet_disagreement": pytest.approx(0.4)},
        "uncertainty": {"subnet_disagreement": pytest.approx(-0.2)},
    }


def _run_file(path: Path, seeds: list[int], **plan: object) -> Path:
    loops = [{"strategy": "random", "seed": seed, "rounds": []} for seed in seeds]
    path.write_text(
        json.dumps({"plan": {**FULL, **plan, "seeds": seeds}, "conf": {"width": "4"}, "seconds": 60.0, "loops": loops})
    )
    return path


def test_runs_that_differ_only_in_their_seeds_are_summed_up_as_one(tmp_path: Path) -> None:
    first = _run_file(tmp_path / "a.json", [0, 1, 2], dataset="mni_sites")
    second = _run_file(tmp_path / "b.json", [3, 4], dataset="mni_sites")
    loops, plan, conf, seconds = combined_runs([first, second])
    assert [loop["seed"] for loop in loops] == [0, 1, 2, 3, 4]
    assert plan == {**FULL, "dataset": "mni_sites", "seeds": [0, 1, 2, 3, 4]}
    assert conf == {"width": "4"} and seconds == 120.0


def test_runs_of_another_plan_or_with_a_shared_seed_are_not_summed_up(tmp_path: Path) -> None:
    sites = _run_file(tmp_path / "a.json", [0, 1, 2], dataset="mni_sites")
    with pytest.raises(SystemExit, match="more than its seeds"):
        combined_runs([sites, _run_file(tmp_path / "b.json", [3], dataset="mni")])
    with pytest.raises(SystemExit, match="count twice"):
        combined_runs([sites, _run_file(tmp_path / "c.json", [2, 3], dataset="mni_sites")])


def test_the_oracle_labels_the_largest_errors_and_breaks_ties_by_id() -> None:
    errors = {"s3": 0.2, "s1": 0.5, "s2": 0.2, "s0": 0.1}
    assert largest_errors(errors, 2) == ["s1", "s2"]
    assert largest_errors(errors, 3) == ["s1", "s2", "s3"]
    assert largest_errors(errors, 9) == ["s1", "s2", "s3", "s0"]
    assert STRATEGIES["error_oracle"].server_strategy is None  # no server strategy to ask, no scorer to run


def test_the_gpu_form_runs_on_settings_the_app_accepts_with_a_whole_study_as_its_patch() -> None:
    """``--large`` is run only where a GPU is lent: its settings and network are checked here, where none is."""
    config = load_config({**CONF, **LARGE_CONF, "iterations_per_epoch": str(LARGE["iterations_per_epoch"])})
    assert config.patch_size == [48, 64, 48]  # the MNI studies' whole grid
    assert LARGE["round_iterations"] == 5 * FULL["round_iterations"] and len(LARGE["seeds"]) == 5
    network = DualSubnetSegmenter.from_config(config)
    vnet, resnet = network(torch.randn(config.labeled_batch_size, 1, *config.patch_size), return_subnets=True)
    expected = (config.labeled_batch_size, config.num_classes, *config.patch_size)
    assert vnet.logits.shape == resnet.logits.shape == expected
