"""Lesion-wise metrics, as BraTS 2023 and MSSEG report them beside voxel Dice: each lesion is a connected component,
and a model is judged on the lesions it finds and the ones it invents. MONAI has voxel metrics only, so these are
written here (scipy's connected components).

- **Detection**: a true lesion is found when a predicted component overlaps it; a predicted component that overlaps
  no true lesion is a false positive. F1 = 2 TP / (2 TP + FP + FN).
- **Lesion-wise Dice** (BraTS 2023): each true lesion's Dice with the predicted components that overlap it, and 0
  for each false-positive component, averaged over true lesions and false positives; a study without lesions and
  without predicted ones scores 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import label as connected_components

__all__ = ["LesionCounts", "lesion_wise"]

_CONNECTIVITY = np.ones((3, 3, 3), dtype=bool)  # 26-connected, as BraTS


@dataclass(frozen=True)
class LesionCounts:
    """One study's lesion-wise results: found, missed and invented lesions, and the lesion-wise Dice."""

    true_positives: int
    false_negatives: int
    false_positives: int
    dice: float

    @property
    def f1(self) -> float:
        """Detection F1; 1 for a study without lesions where none was predicted."""
        found, errors = 2 * self.true_positives, self.false_positives + self.false_negatives
        return 1.0 if found + errors == 0 else found / (found + errors)


def lesion_wise(predicted: np.ndarray, truth: np.ndarray) -> LesionCounts:
    """Lesion-wise results of two boolean masks of one study."""
    truth_components, truths = connected_components(truth, structure=_CONNECTIVITY)
    predicted_components, predictions = connected_components(predicted, structure=_CONNECTIVITY)
    dices, found = [], 0
    for index in range(1, truths + 1):
        lesion = truth_components == index
        touching = np.unique(predicted_components[lesion])
        touching = touching[touching > 0]
        if touching.size:
            found += 1
            matched = np.isin(predicted_components, touching)
            dices.append(2 * float((matched & lesion).sum()) / float(matched.sum() + lesion.sum()))
        else:
            dices.append(0.0)
    # Every predicted component that touches no true lesion is invented (counted at once: a barely trained model
    # predicts thousands of specks, and a pass over the volume for each took seconds per study).
    touching_truth = np.unique(predicted_components[truth.astype(bool)])
    invented = predictions - int((touching_truth > 0).sum())
    dices += [0.0] * invented
    dice = float(np.mean(dices)) if dices else 1.0
    return LesionCounts(found, truths - found, invented, dice)
