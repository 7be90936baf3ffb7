"""Batch picks on hand-made study descriptions: a diverse batch keeps apart, a representative batch stands for the
pool (Suggestive Annotation's greedy maximum cover)."""

from __future__ import annotations

import pytest

from lib.activelearning.batch_selection import diverse_batch, representative_batch

# Two kinds of study: five of the common kind (x axis), two of a rare kind (y axis). The rare ones are the most
# uncertain; a2 is a common study leaning a little towards the rare kind.
EMBEDDINGS = {
    "c1": [0.0, 1.0],
    "c2": [0.0, 1.0],
    "a1": [1.0, 0.0],
    "a2": [1.0, 0.1],
    "a3": [1.0, 0.0],
    "a4": [1.0, 0.0],
    "a5": [1.0, 0.0],
}
RANKED = ["c1", "c2", "a1", "a2"]  # best score first
POOL = sorted(EMBEDDINGS)


def test_representative_batch_starts_with_the_most_typical_uncertain_study_then_covers_the_rest() -> None:
    # Cover after a2: a's 0.995..1, c's 0.0995; adding c1 lifts both c's to 1 (+1.80), adding a1 only the a's (+0.02).
    assert representative_batch(RANKED, 2, EMBEDDINGS, POOL) == ["a2", "c1"]


def test_representative_batch_never_takes_two_of_a_kind_while_another_kind_is_uncovered() -> None:
    assert representative_batch(["c1", "c2", "a1"], 2, EMBEDDINGS, POOL) == ["a1", "c1"]


def test_diverse_batch_starts_with_the_top_score_and_takes_the_farthest() -> None:
    assert diverse_batch(RANKED, 2, EMBEDDINGS) == ["c1", "a1"]


def test_representative_batch_breaks_ties_by_score() -> None:
    assert representative_batch(["a3", "a1"], 1, EMBEDDINGS, POOL) == ["a3"]
    assert representative_batch(["a1", "a3"], 1, EMBEDDINGS, POOL) == ["a1"]


def test_representative_gain_is_the_pool_cover_computed_by_hand() -> None:
    # A pool of four on a quarter circle, two of them at p. Alone, cover(p) = 2 + 0.707 + 0 = 2.707 and
    # cover(q) = 2 x 0.707 + 1 + 0.707 = 3.121: q first. Then p adds 2 x 0.293 = 0.586, r only 0.293.
    embeddings = {"p": [1.0, 0.0], "p2": [1.0, 0.0], "q": [2**-0.5, 2**-0.5], "r": [0.0, 1.0]}
    assert representative_batch(["r", "p", "q"], 2, embeddings, ["p", "p2", "q", "r"]) == ["q", "p"]


@pytest.mark.parametrize("pick", [diverse_batch, lambda r, k, e: representative_batch(r, k, e, POOL)])
def test_a_study_without_description_keeps_plain_score_order(pick) -> None:
    embeddings = {key: value for key, value in EMBEDDINGS.items() if key != "c2"}
    assert pick(RANKED, 2, embeddings) == ["c1", "c2"]


def test_fewer_candidates_than_k_are_all_returned() -> None:
    assert sorted(representative_batch(["c1", "a1"], 3, EMBEDDINGS, POOL)) == ["a1", "c1"]
