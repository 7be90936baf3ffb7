"""Batch picks on hand-made study descriptions: a diverse batch keeps apart, a representative batch stands for the
pool (Suggestive Annotation's greedy maximum cover), a typical batch covers the kinds of study nothing labeled stands
for yet (TypiClust)."""

from __future__ import annotations

import pytest

from lib.activelearning.batch_selection import diverse_batch, representative_batch, typical_batch

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


# Three kinds of study, far apart: six of kind a (a2 and a3 at its centre), four of kind b (b2 and b3 at its centre),
# two of kind c.
KINDS = {
    **{f"a{i}": [1.0, offset, 0.0] for i, offset in enumerate([0.0, 0.1, 0.2, 0.2, 0.3, 0.4])},
    "b1": [0.0, 1.0, 0.2],
    "b2": [0.0, 1.0, 0.0],
    "b3": [0.0, 1.0, 0.0],
    "b4": [0.0, 1.0, -0.2],
    "c1": [0.0, 0.0, -1.0],
    "c2": [0.05, 0.0, -1.0],
}


def test_typical_batch_takes_the_most_typical_study_of_each_uncovered_kind_largest_first() -> None:
    # a0 is labeled: 1 + 2 groups (a, b, c); b and c hold no labeled study, b is larger; b2 and b3 are b's most
    # typical (mean distance to their 2 nearest: 0.1 vs 0.2 for b1, b4), b2 first of the tie; c1 and c2 tie.
    candidates = sorted(set(KINDS) - {"a0"})
    assert typical_batch(candidates, 2, KINDS, covered=["a0"]) == ["b2", "c1"]


def test_typical_batch_goes_to_the_kind_with_fewest_covered_studies_however_small() -> None:
    candidates = sorted(set(KINDS) - {"a0", "b1"})
    assert typical_batch(candidates, 1, KINDS, covered=["a0", "b1"]) == ["c1"]


def test_typical_batch_of_an_unlabeled_pool_starts_at_the_centre_of_the_largest_kind() -> None:
    # One group per pick; with nothing covered the largest kind first, at its centre (a2, first of the tie with a3).
    assert typical_batch(sorted(KINDS), 3, KINDS, covered=[]) == ["a2", "b2", "c1"]


def test_typical_batch_needs_every_description() -> None:
    embeddings = {key: value for key, value in KINDS.items() if key != "a0"}
    assert typical_batch(sorted(set(KINDS) - {"b1"}), 1, embeddings, covered=["b1"]) == []
