"""How the ``uncertainty`` strategy turns its most uncertain studies into a batch of ``k``: two ways of not handing
out k studies that teach the same thing, both from the studies' bottleneck descriptions (``study_embedding``)."""

from __future__ import annotations

import torch

__all__ = ["diverse_batch", "representative_batch"]


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
