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
