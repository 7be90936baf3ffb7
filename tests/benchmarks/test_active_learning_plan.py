"""How the active-learning benchmark reads a plan and sums up its score checks, on hand-made plans and loops."""

from __future__ import annotations

import pytest

from benchmarks.active_learning import FULL, STRATEGIES, loop_strategy, score_vs_error


def test_a_plan_with_a_score_runs_uncertainty_ranking_by_it_and_leaves_the_others() -> None:
    ranked = loop_strategy("uncertainty", {**FULL, "score": "class_disagreement"})
    assert ranked.score_key == "class_disagreement"
    assert ranked.conf == {"next_study_score": "class_disagreement"}  # the server ranks by it, not only the benchmark
    assert loop_strategy("uncertainty", FULL) == STRATEGIES["uncertainty"]
    assert loop_strategy("random", {**FULL, "score": "class_disagreement"}) == STRATEGIES["random"]


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
