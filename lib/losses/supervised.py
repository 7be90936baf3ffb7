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

    With ``batch_dice`` the Dice is taken over the whole batch, not per patch (nnU-Net's "batch Dice"): per patch, a
    label absent from a patch scores Dice ~0 unless the patch's summed probability of that label falls under the
    smoothing term (1e-5), so a label missing from most patches, such as a lesion, is pushed to no probability at all.
    """

    def __init__(self, batch_dice: bool = False) -> None:
        super().__init__()
        self.dice_ce = DiceCELoss(to_onehot_y=True, softmax=True, batch=batch_dice)

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
