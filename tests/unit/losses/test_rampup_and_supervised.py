from __future__ import annotations

import math

import pytest
import torch

from lib.losses import SupervisedLoss, sigmoid_rampup


def test_sigmoid_rampup_starts_small_and_reaches_one() -> None:
    assert sigmoid_rampup(0, 100) == pytest.approx(math.exp(-5))
    assert sigmoid_rampup(50, 100) == pytest.approx(math.exp(-5 * 0.25))
    assert sigmoid_rampup(100, 100) == 1.0
    assert sigmoid_rampup(1000, 100) == 1.0
    assert sigmoid_rampup(3, 0) == 1.0


def test_supervised_loss_is_lower_for_the_right_prediction_and_reports_its_dice_part() -> None:
    label = torch.zeros(1, 1, 4, 4, 4, dtype=torch.long)
    label[..., :2] = 1
    right = torch.cat([(label == 0).float(), (label == 1).float()], dim=1) * 10
    wrong = right.flip(1)
    loss = SupervisedLoss()
    good_total, good_dice = loss(right, label)
    bad_total, bad_dice = loss(wrong, label)
    assert good_total < 0.01 < bad_total
    assert good_dice < 0.01 < bad_dice
    assert not good_dice.requires_grad


def test_batch_dice_does_not_punish_a_faint_lesion_guess_in_a_patch_without_lesion() -> None:
    """Per patch, a patch without lesion scores lesion Dice ~0 for any lesion probability above the smoothing term;
    over the batch, the lesion patch beside it carries the lesion's Dice."""
    label = torch.zeros(2, 1, 8, 8, 8)
    label[0, 0, 2:6, 2:6, 2:6] = 2  # a lesion in the first patch only
    logits = torch.zeros(2, 3, 8, 8, 8)
    logits[:, 0] = 4.0  # background everywhere, a faint lesion probability (~1.7 %) in every voxel
    logits[0, 2, 2:6, 2:6, 2:6] = 8.0  # and the lesion found where it is
    per_patch = SupervisedLoss()(logits, label)[1]
    over_batch = SupervisedLoss(batch_dice=True)(logits, label)[1]
    assert over_batch < per_patch - 0.1
