"""The whole semi-supervised objective of one training iteration (Jarimijafarbigloo et al., MIDL 2024)."""

from __future__ import annotations

import torch
from torch import nn

from ..distributed import all_reduce_sum
from ..networks import SubnetOutput
from ..uncertainty import class_map, normalized_entropy
from .prototype_contrastive import PrototypeContrastiveLoss, class_feature_sums, class_prototypes
from .pseudo_label import PseudoLabelLoss, fuse_pseudo_labels, reliable_mask
from .rampup import sigmoid_rampup
from .supervised import SupervisedLoss
from .targeted_verification import TargetedVerificationLoss

__all__ = ["UncertaintyContrastiveLoss"]


class UncertaintyContrastiveLoss(nn.Module):
    """Sum over both subnets of

        L_sup + w_tv * L_tv + rampup(t) * (w_u * L_unl + w_c * L_con)

    on a batch whose first ``num_labeled`` items are labeled and the rest unlabeled (one forward pass per subnet
    serves both, so batch norm sees the whole batch).

    Every term of subnet A depends only on subnet A's live outputs and on detached selections, targets and
    prototypes, and likewise for B: each term trains exactly the subnet it belongs to.

    Under ``torch.distributed`` each rank holds a part of the global batch: the better subnet is chosen from the
    supervised Dice losses summed over all ranks (every rank takes the same decision) and the prototypes from the
    class feature sums and counts of all ranks (the same prototypes however the batch is split). In one process
    both reductions are the identity.
    """

    def __init__(
        self,
        num_classes: int,
        tv_threshold: float = 0.6,
        tv_weight: float = 0.5,
        reliable_percentile: float = 20.0,
        unlabeled_weight: float = 1.0,
        contrastive_weight: float = 0.1,
        contrastive_temperature: float = 0.1,
        contrastive_max_voxels: int = 4096,
        rampup_iterations: int = 200,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.supervised = SupervisedLoss()
        self.verification = TargetedVerificationLoss(tv_threshold)
        self.pseudo_label = PseudoLabelLoss()
        self.contrastive = PrototypeContrastiveLoss(contrastive_temperature, contrastive_max_voxels)
        self.tv_weight = tv_weight
        self.reliable_percentile = reliable_percentile
        self.unlabeled_weight = unlabeled_weight
        self.contrastive_weight = contrastive_weight
        self.rampup_iterations = rampup_iterations

    def forward(
        self, out_a: SubnetOutput, out_b: SubnetOutput, label: torch.Tensor, num_labeled: int, step: int
    ) -> dict[str, torch.Tensor]:
        """Returns the ``loss`` to optimise and each weighted-sum term as it is (live, for tests and logging)."""
        n = num_labeled
        if not 0 < n <= out_a.logits.shape[0]:
            raise ValueError(f"num_labeled must be in [1, batch size {out_a.logits.shape[0]}], got {n}")
        sup_a, dice_a = self.supervised(out_a.logits[:n], label)
        sup_b, dice_b = self.supervised(out_b.logits[:n], label)
        tv_a, tv_b = self.verification(out_a.logits[:n], out_b.logits[:n], label)
        # A tensor, not a bool: deciding on the host would stop the GPU once per iteration.
        dice = all_reduce_sum(torch.stack([dice_a, dice_b]).detach())
        a_is_better = dice[0] <= dice[1]
        loss = sup_a + sup_b + self.tv_weight * (tv_a + tv_b)
        terms = {"sup_a": sup_a, "sup_b": sup_b, "tv_a": tv_a, "tv_b": tv_b}

        if out_a.logits.shape[0] > n:
            unl = self._unlabeled_terms(out_a, out_b, label, n, a_is_better)
            ramp = sigmoid_rampup(step, self.rampup_iterations)
            loss = loss + ramp * (
                self.unlabeled_weight * (unl["unl_a"] + unl["unl_b"])
                + self.contrastive_weight * (unl["con_a"] + unl["con_b"])
            )
            terms.update(unl)
            terms["rampup"] = torch.tensor(ramp)

        terms["a_is_better"] = a_is_better.float()
        terms["loss"] = loss
        return terms

    def _unlabeled_terms(
        self, out_a: SubnetOutput, out_b: SubnetOutput, label: torch.Tensor, n: int, a_is_better: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        logits_a, logits_b = out_a.logits[n:], out_b.logits[n:]
        with torch.no_grad():
            probs_a, probs_b = logits_a.softmax(1), logits_b.softmax(1)
            reliable_a = reliable_mask(normalized_entropy(probs_a), self.reliable_percentile)
            reliable_b = reliable_mask(normalized_entropy(probs_b), self.reliable_percentile)
            pseudo, reliable = fuse_pseudo_labels(probs_a, probs_b, reliable_a, reliable_b, a_is_better)
            ensemble_class = class_map(probs_a + probs_b)

        terms = {
            "unl_a": self.pseudo_label(logits_a, pseudo, reliable),
            "unl_b": self.pseudo_label(logits_b, pseudo, reliable),
        }
        for name, out in (("con_a", out_a), ("con_b", out_b)):
            prototypes, valid = self.prototypes(out.features.detach(), label, n, pseudo, reliable)
            terms[name] = self.contrastive(out.features[n:], ensemble_class, ~reliable, prototypes, valid)
        terms["reliable_fraction"] = reliable.float().mean()
        return terms

    def prototypes(
        self, features: torch.Tensor, label: torch.Tensor, n: int, pseudo: torch.Tensor, reliable: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Prototypes from the reliable unlabeled voxels (pseudo-labels) and from every labeled voxel (its
        ground truth: the most reliable voxels there are, and they give every class a prototype early on), over the
        global batch of all ranks."""
        labeled_mask = torch.ones_like(label[:, 0], dtype=torch.bool)
        sums_l, counts_l = class_feature_sums(features[:n], label[:, 0], labeled_mask, self.num_classes)
        sums_u, counts_u = class_feature_sums(features[n:], pseudo, reliable, self.num_classes)
        # One all-reduce for sums and counts together: (C, F + 1).
        totals = all_reduce_sum(torch.cat([sums_l + sums_u, (counts_l + counts_u).unsqueeze(1)], dim=1))
        return class_prototypes(totals[:, :-1], totals[:, -1])
