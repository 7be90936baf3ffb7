"""The run-relative schedule: supervised warm-up, sigmoid ramp-up, learning-rate decay."""

from __future__ import annotations

import math

import pytest

from lib.trainers.schedule import LearningRateDecay, SemiSupervisedSchedule


def test_ramp_is_zero_in_the_warm_up_then_rises_to_one_over_its_fraction() -> None:
    schedule = SemiSupervisedSchedule(total_iterations=100, warmup_fraction=0.2, rampup_fraction=0.4)
    assert schedule.warmup_iterations == 20
    assert [schedule.ramp(i) for i in (0, 19)] == [0.0, 0.0]
    assert schedule.ramp(20) == pytest.approx(math.exp(-5.0))
    assert schedule.ramp(40) == pytest.approx(math.exp(-5.0 * 0.25))
    assert schedule.ramp(60) == schedule.ramp(99) == 1.0


def test_the_same_fractions_give_the_same_phases_for_any_run_length() -> None:
    short, long = SemiSupervisedSchedule(200, 0.2, 0.4), SemiSupervisedSchedule(6000, 0.2, 0.4)
    for fraction in (0.1, 0.3, 0.5, 0.7):
        assert short.ramp(int(fraction * 200)) == pytest.approx(long.ramp(int(fraction * 6000)), abs=0.02)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(total_iterations=0), "total_iterations"),
        (dict(total_iterations=10, warmup_fraction=1.0), "warmup_fraction"),
        (dict(total_iterations=10, rampup_fraction=0.0), "rampup_fraction"),
        (dict(total_iterations=10, rampup_fraction=1.5), "rampup_fraction"),
    ],
)
def test_bad_schedules_are_refused_naming_the_argument(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SemiSupervisedSchedule(**kwargs)


def test_learning_rate_decays_from_one_to_zero_over_the_run() -> None:
    cosine, poly, constant = (LearningRateDecay(kind, 100) for kind in ("cosine", "poly", "constant"))
    assert cosine(0) == pytest.approx(1.0) and cosine(50) == pytest.approx(0.5) and cosine(100) == pytest.approx(0.0)
    assert poly(0) == 1.0 and poly(50) == pytest.approx(0.5**0.9) and poly(100) == 0.0
    assert constant(0) == constant(100) == 1.0
    with pytest.raises(ValueError, match="kind"):
        LearningRateDecay("step", 10)
