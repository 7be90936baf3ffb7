"""Term 1: supervised cross-entropy + Dice of one subnet on the labeled voxels."""

from __future__ import annotations

import torch
from monai.losses import DiceCELoss
from torch import nn

__all__ = ["SupervisedLoss"]


class SupervisedLoss(nn.Module):
    """MONAI's ``DiceCELoss`` on logits against an index label map (B, 1, *spatial).

    Returns the total and its Dice part; the Dice part (detached) decides which subnet is the better one in this
    iteration (term 3 of the method).
    """

    def __init__(self) -> None:
        super().__init__()
        self.dice_ce = DiceCELoss(to_onehot_y=True, softmax=True)

    def forward(self, logits: torch.Tensor, label: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """
        Args:
            logits: (B, C, H, W, D) one subnet's logits on the labeled patches.
            label: (B, 1, H, W, D) class indices.

        Returns:
            (Dice + cross-entropy, its Dice part detached), scalars.
        """
        total = self.dice_ce(logits, label)
        with torch.no_grad():
            dice = self.dice_ce.dice(logits, label)
        return total, dice
