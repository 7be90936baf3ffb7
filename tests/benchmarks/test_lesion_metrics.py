"""Lesion-wise detection and Dice on hand-made masks: what is found, missed and invented."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.lesion_metrics import lesion_wise


def _mask(*boxes: tuple[slice, slice, slice]) -> np.ndarray:
    mask = np.zeros((20, 20, 20), dtype=bool)
    for box in boxes:
        mask[box] = True
    return mask


A = (slice(2, 6), slice(2, 6), slice(2, 6))  # 64 voxels
B = (slice(12, 16), slice(12, 16), slice(12, 16))
C = (slice(2, 4), slice(14, 18), slice(14, 18))  # far from A and B


def test_a_found_a_missed_and_an_invented_lesion() -> None:
    counts = lesion_wise(_mask(A, C), _mask(A, B))
    assert (counts.true_positives, counts.false_negatives, counts.false_positives) == (1, 1, 1)
    assert counts.dice == pytest.approx((1.0 + 0.0 + 0.0) / 3)
    assert counts.f1 == pytest.approx(2 / (2 + 2))


def test_a_lesion_found_in_part_scores_its_overlap() -> None:
    half = (slice(2, 4), slice(2, 6), slice(2, 6))  # 32 of A's 64 voxels
    counts = lesion_wise(_mask(half), _mask(A))
    assert counts.true_positives == 1 and counts.false_positives == 0
    assert counts.dice == pytest.approx(2 * 32 / (32 + 64))
    assert counts.f1 == 1.0


def test_a_study_without_lesions_and_without_predicted_ones_is_right() -> None:
    counts = lesion_wise(_mask(), _mask())
    assert counts.dice == 1.0 and counts.f1 == 1.0


def test_a_lesion_predicted_in_a_study_without_lesions_is_wrong() -> None:
    counts = lesion_wise(_mask(C), _mask())
    assert (counts.false_positives, counts.dice, counts.f1) == (1, 0.0, 0.0)


def test_one_predicted_blob_over_two_lesions_finds_both() -> None:
    both = (slice(2, 16), slice(2, 16), slice(2, 16))
    counts = lesion_wise(_mask(both), _mask(A, B))
    assert (counts.true_positives, counts.false_negatives, counts.false_positives) == (2, 0, 0)
    assert counts.dice == pytest.approx(2 * 64 / (14**3 + 64))
