"""How the ``uncertainty`` strategy turns studies into a batch of ``k``, from the studies' bottleneck descriptions
(``study_embedding``): two ways of not handing out k uncertain studies that teach the same thing, and, while labels
are few, the typical studies of the parts of the pool nothing labeled stands for yet."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.cluster import KMeans

__all__ = ["diverse_batch", "representative_batch", "typical_batch"]

# TypiClust's neighbourhood for typicality (Hacohen et al., ICML 2022: 20), capped at half a cluster.
TYPICALITY_NEIGHBOURS = 20


def _unit_vectors(ids: list[str], embeddings: dict[str, list[float]]) -> torch.Tensor:
    return torch.nn.functional.normalize(torch.tensor([embeddings[i] for i in ids], dtype=torch.float64), dim=1)


def diverse_batch(ranked: list[str], k: int, embeddings: dict[str, list[float]]) -> list[str]:
    """Farthest-first among ``ranked`` (best score first), starting from the best: each next study is the one whose
    nearest chosen study is farthest (cosine), as core-set selection, restricted to the most uncertain. Plain score
    order when a candidate has no description (scored before descriptions were stored)."""
    if any(i not in embeddings for i in ranked):
        return ranked[:k]
    vectors = _unit_vectors(ranked, embeddings)
    chosen = [0]
    while len(chosen) < min(k, len(ranked)):
        # Distance of each candidate to its nearest chosen study; ties go to the better score (lower index).
        nearest = (1.0 - vectors @ vectors[chosen].T).min(dim=1).values
        nearest[chosen] = -1.0
        chosen.append(int(nearest.argmax()))
    return [ranked[i] for i in chosen]


def representative_batch(ranked: list[str], k: int, embeddings: dict[str, list[float]], pool: list[str]) -> list[str]:
    """Among ``ranked`` (the most uncertain, best first), the ``k`` that best stand for the whole unlabeled ``pool``:
    greedy maximum cover, F(S) = sum over pool studies x of max over s in S of cos(x, s), as the representativeness
    step of Suggestive Annotation (Yang et al., MICCAI 2017). The first pick is the most typical uncertain study, each
    next one covers what the batch does not yet resemble, so a rare kind of study is taken when it is uncertain *and*
    nothing chosen stands for it, not twice in a batch. Written here because MONAI has no batch selection. Plain score
    order when a study lacks a description."""
    if any(i not in embeddings for i in (*ranked, *pool)):
        return ranked[:k]
    similarity = _unit_vectors(ranked, embeddings) @ _unit_vectors(pool, embeddings).T  # candidates x pool
    covered = torch.full((len(pool),), -1.0, dtype=torch.float64)  # cosine is at least -1: nothing covered yet
    chosen: list[int] = []
    while len(chosen) < min(k, len(ranked)):
        gain = torch.maximum(similarity, covered).sum(dim=1)
        gain[chosen] = -torch.inf
        # argmax returns the first maximum: ties go to the better score.
        best = int(gain.argmax())
        chosen.append(best)
        covered = torch.maximum(covered, similarity[best])
    return [ranked[i] for i in chosen]


def typical_batch(candidates: list[str], k: int, embeddings: dict[str, list[float]], covered: list[str]) -> list[str]:
    """TypiClust (Hacohen et al., ICML 2022), for the first labels of a pool: cluster every study (``candidates`` and
    the ``covered`` ones, labeled or held by an annotator) into ``len(covered) + k`` groups by k-means on the unit
    descriptions; then, k times, take the largest group that holds the fewest covered studies and hand out its most
    typical candidate (the highest inverse mean distance to its nearest neighbours in the group). With few labels a
    model learns more from studies like most of the pool than from its outliers, which is what uncertainty picks.
    Written here because MONAI has no such selection (k-means is scikit-learn's, seeded). ``candidates`` sorted; an
    empty list when a study lacks a description."""
    everyone = [*candidates, *covered]
    if not candidates or any(i not in embeddings for i in everyone):
        return []
    vectors = _unit_vectors(everyone, embeddings).numpy()
    groups = KMeans(n_clusters=min(len(covered) + k, len(everyone)), n_init=10, random_state=0).fit_predict(vectors)
    typicality = np.zeros(len(everyone))
    for group in np.unique(groups):
        members = np.flatnonzero(groups == group)
        distances = np.linalg.norm(vectors[members, None] - vectors[None, members], axis=-1)
        neighbours = max(1, min(TYPICALITY_NEIGHBOURS, len(members) // 2))
        # Each member's distance to its nearest neighbours, itself (0, first after sorting) left out.
        nearest = np.sort(distances, axis=1)[:, 1 : neighbours + 1] if len(members) > 1 else np.zeros((1, 1))
        typicality[members] = 1.0 / (nearest.mean(axis=1) + 1e-8)
    covered_in = np.bincount(groups[len(candidates) :], minlength=groups.max() + 1)
    sizes = np.bincount(groups, minlength=groups.max() + 1)
    free = np.arange(len(everyone)) < len(candidates)
    chosen: list[int] = []
    while len(chosen) < min(k, len(candidates)):
        open_groups = [g for g in range(len(sizes)) if free[groups == g].any()]
        group = min(open_groups, key=lambda g: (covered_in[g], -sizes[g], g))
        members = np.flatnonzero((groups == group) & free)
        best = int(members[np.argmax(typicality[members])])  # the first on ties: candidates are sorted
        chosen.append(best)
        free[best] = False
        covered_in[group] += 1
    return [everyone[i] for i in chosen]
