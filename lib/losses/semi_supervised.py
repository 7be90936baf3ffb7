"""The whole semi-supervised objective of one training iteration (Jarimijafarbigloo et al., MIDL 2024), with a
self-ensembling teacher, class-balanced reliability and bidirectional uncertainty weighting as settings."""

from __future__ import annotations

from typing import Any

import torch
from monai.networks.utils import one_hot
from torch import nn
from torch.profiler import record_function

from ..distributed import all_reduce_sum
from ..networks import SUBNET_NAMES, SubnetOutput
from ..transforms import PastedBox
from ..uncertainty import class_map, normalized_entropy
from .patch_contrastive import PatchContrastiveLoss
from .prototype_contrastive import PrototypeContrastiveLoss, PrototypeMemory, class_feature_sums
from .pseudo_label import (
    PseudoLabelLoss,
    class_balanced_reliable_mask,
    fuse_pseudo_labels,
    inverse_frequency_weights,
    reliable_mask,
)
from .supervised import SupervisedLoss
from .targeted_verification import TargetedVerificationLoss
from .uncertainty_weighting import certainty_weights, uncertainty_weighted_cross_entropy

__all__ = ["UncertaintyContrastiveLoss"]

Pair = tuple[SubnetOutput, SubnetOutput]


class UncertaintyContrastiveLoss(nn.Module):
    """Sum over both subnets k of

        L_sup^k + r(t) * (w_tv L_tv^k + w_bd L_bd^k)                    (labels only)
                + r(t) * (w_u L_unl^k + w_c L_con^k + w_p L_pdcr^k)      (unlabeled patches)

    on a batch whose first ``num_labeled`` items are labeled and the rest unlabeled; r(t) in [0, 1] is the schedule's
    ramp (0 during the supervised warm-up), given by the caller.

    Entropies, pseudo-labels, reliability, the uncertainty weights and the prototypes come from ``teacher`` (the
    self-ensembling teacher's outputs for the same patches, on the weak view) or, without one, from the students'
    own detached outputs (the paper's rule). Every term of subnet ``vnet`` (suffix ``_vnet``) depends only on its
    live outputs and on detached selections, targets and prototypes, and likewise for ``resnet``: each term trains
    exactly its own subnet.

    Under ``torch.distributed`` each rank holds a part of the global batch: the better subnet is chosen from the
    supervised Dice losses summed over all ranks (every rank takes the same decision) and the prototypes from the
    class feature sums and counts of all ranks. In one process both reductions are the identity.
    """

    def __init__(
        self,
        num_classes: int,
        tv_threshold: float = 0.6,
        tv_weight: float = 0.5,
        reliable_percentile_start: float = 20.0,
        reliable_percentile: float = 20.0,
        confidence_floor: float = 0.0,
        class_balanced: bool = False,
        unlabeled_weight: float = 1.0,
        bidirectional_weight: float = 0.0,
        contrastive_weight: float = 0.1,
        contrastive_temperature: float = 0.1,
        contrastive_band: float = 100.0,
        prototype_momentum: float = 0.0,
        contrastive_max_voxels: int = 4096,
        pdcr_weight: float = 0.0,
        pdcr_grid: int = 4,
        better_subnet_momentum: float = 0.9,
        batch_dice: bool = False,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.supervised = SupervisedLoss(batch_dice)
        self.verification = TargetedVerificationLoss(tv_threshold)
        self.pseudo_label = PseudoLabelLoss()
        self.contrastive = PrototypeContrastiveLoss(contrastive_temperature, contrastive_max_voxels)
        self.patch_contrastive = PatchContrastiveLoss(pdcr_grid, contrastive_temperature)
        self.memories = nn.ModuleList([PrototypeMemory(prototype_momentum), PrototypeMemory(prototype_momentum)])
        self.tv_weight = tv_weight
        self.percentiles = (reliable_percentile_start, reliable_percentile)
        self.confidence_floor = confidence_floor
        self.class_balanced = class_balanced
        self.unlabeled_weight = unlabeled_weight
        self.bidirectional_weight = bidirectional_weight
        self.contrastive_weight = contrastive_weight
        self.contrastive_band = contrastive_band
        self.pdcr_weight = pdcr_weight
        self.better_subnet_momentum = better_subnet_momentum
        self.dice_average: torch.Tensor | None = None

    @classmethod
    def from_config(cls, config: Any) -> UncertaintyContrastiveLoss:
        names = (
            "tv_threshold tv_weight reliable_percentile_start reliable_percentile confidence_floor class_balanced "
            "unlabeled_weight bidirectional_weight contrastive_weight contrastive_temperature contrastive_band "
            "prototype_momentum contrastive_max_voxels pdcr_weight pdcr_grid batch_dice"
        ).split()
        return cls(config.num_classes, **{name: getattr(config, name) for name in names})

    def needs_teacher(self, has_unlabeled: bool) -> bool:
        """Whether this batch's terms read the teacher at all (a supervised batch without the labeled-side
        uncertainty weighting does not: the caller can save the teacher's forward pass)."""
        return has_unlabeled or self.bidirectional_weight > 0

    def forward(
        self,
        out_vnet: SubnetOutput,
        out_resnet: SubnetOutput,
        label: torch.Tensor,
        num_labeled: int,
        ramp: float = 1.0,
        teacher: Pair | None = None,
        pasted: PastedBox | None = None,
    ) -> dict[str, torch.Tensor]:
        """Returns the ``loss`` to optimise, each term as it is (live, for tests) and what the training curves log.

        ``pasted``: where a box of labeled content was pasted into the students' view of each unlabeled patch, and its
        labels (:class:`~lib.transforms.CopyPaste`); the teacher saw the patch without it. There the unlabeled term
        learns the pasted labels (reliable, weight 1) and the contrastive term leaves those voxels out; prototypes
        come from what the teacher saw.

        Args:
            out_vnet, out_resnet: each subnet's ``logits`` (B, C, H, W, D) and ``features`` (B, F, H, W, D) on the
                batch, the first ``num_labeled`` items labeled, the rest unlabeled.
            label: (num_labeled, 1, H, W, D) class indices.
            num_labeled: how many items of the batch are labeled, in [1, B].
            ramp: the schedule's ramp r(t) in [0, 1].
            teacher: the teacher pair's outputs on the same batch (weak view), or None for the students' own.
            pasted: a box (B - num_labeled, H, W, D) bool and its labels (same shape), or None.

        Returns:
            ``loss`` (scalar), every term (scalars), and the curves' diagnostics.
        """
        n = num_labeled
        if not 0 < n <= out_vnet.logits.shape[0]:
            raise ValueError(f"num_labeled must be in [1, batch size {out_vnet.logits.shape[0]}], got {n}")
        if not 0.0 <= ramp <= 1.0:
            raise ValueError(f"ramp must be in [0, 1], got {ramp}")
        with record_function("loss: supervised"):
            sup_vnet, dice_vnet = self.supervised(out_vnet.logits[:n], label)
            sup_resnet, dice_resnet = self.supervised(out_resnet.logits[:n], label)
        with record_function("loss: targeted verification"):
            tv_vnet, tv_resnet = self.verification(out_vnet.logits[:n], out_resnet.logits[:n], label)
        vnet_is_better = self._vnet_is_better(dice_vnet, dice_resnet)
        terms = {"sup_vnet": sup_vnet, "sup_resnet": sup_resnet, "tv_vnet": tv_vnet, "tv_resnet": tv_resnet}
        loss = sup_vnet + sup_resnet + ramp * self.tv_weight * (tv_vnet + tv_resnet)

        with torch.no_grad(), record_function("loss: uncertainty"):
            t_vnet, t_resnet = teacher if teacher is not None else (out_vnet, out_resnet)
            probs_vnet, probs_resnet = (
                t_vnet.logits.detach().float().softmax(1),
                t_resnet.logits.detach().float().softmax(1),
            )
            uncertainty = normalized_entropy((probs_vnet + probs_resnet) / 2)
        if self.bidirectional_weight > 0:
            with record_function("loss: uncertainty-weighted labeled"):
                terms["bd_vnet"] = uncertainty_weighted_cross_entropy(out_vnet.logits[:n], label, uncertainty[:n])
                terms["bd_resnet"] = uncertainty_weighted_cross_entropy(out_resnet.logits[:n], label, uncertainty[:n])
            loss = loss + ramp * self.bidirectional_weight * (terms["bd_vnet"] + terms["bd_resnet"])

        if out_vnet.logits.shape[0] > n:
            unl = self._unlabeled_terms(
                (out_vnet, out_resnet),
                (t_vnet, t_resnet),
                (probs_vnet, probs_resnet),
                uncertainty,
                label,
                n,
                vnet_is_better,
                ramp,
                pasted,
            )
            loss = loss + ramp * (
                self.unlabeled_weight * (unl["unl_vnet"] + unl["unl_resnet"])
                + self.contrastive_weight * (unl["con_vnet"] + unl["con_resnet"])
                + self.pdcr_weight * (unl["pdcr_vnet"] + unl["pdcr_resnet"])
            )
            terms.update(unl)

        terms["rampup"] = torch.tensor(float(ramp))
        terms["vnet_is_better"] = vnet_is_better.float()
        terms["loss"] = loss
        return terms

    def _vnet_is_better(self, dice_vnet: torch.Tensor, dice_resnet: torch.Tensor) -> torch.Tensor:
        """The better subnet by its supervised Dice loss averaged over recent iterations (all ranks): one labeled
        patch per iteration would make the choice flip almost at random. A tensor, not a bool: deciding on the
        host would stop the GPU once per iteration."""
        dice = all_reduce_sum(torch.stack([dice_vnet, dice_resnet]).detach().float())
        m = self.better_subnet_momentum
        if self.dice_average is None or self.dice_average.device != dice.device:
            self.dice_average = dice
        else:
            self.dice_average = m * self.dice_average + (1.0 - m) * dice
        return self.dice_average[0] <= self.dice_average[1]

    def _reliable(self, probs: torch.Tensor, percentile: float) -> torch.Tensor:
        entropy = normalized_entropy(probs)
        if self.class_balanced:
            mask = class_balanced_reliable_mask(entropy, class_map(probs), percentile)
        else:
            mask = reliable_mask(entropy, percentile)
        if self.confidence_floor > 0:
            mask &= probs.max(1).values >= self.confidence_floor
        return mask

    def _unlabeled_terms(
        self,
        students: Pair,
        teachers: Pair,
        probs: tuple[torch.Tensor, torch.Tensor],
        uncertainty: torch.Tensor,
        label: torch.Tensor,
        n: int,
        vnet_is_better: torch.Tensor,
        ramp: float,
        pasted: PastedBox | None,
    ) -> dict[str, torch.Tensor]:
        start, end = self.percentiles
        percentile = start + (end - start) * ramp
        with torch.no_grad(), record_function("loss: reliability and pseudo-labels"):
            reliable_pairs = [self._reliable(p, percentile) for p in probs]
            # Pseudo-labels and reliability over the whole batch; the labeled part only measures their precision.
            pseudo_all, reliable_all = fuse_pseudo_labels(*probs, *reliable_pairs, vnet_is_better)
            pseudo, reliable = pseudo_all[n:], reliable_all[n:]
            weight = (
                inverse_frequency_weights(pseudo, reliable, self.num_classes)
                if self.class_balanced
                else reliable.float()
            )
            weight = weight * certainty_weights(uncertainty[n:], self.bidirectional_weight)
            ensemble_class = class_map(probs[0] + probs[1])
            u = uncertainty[n:]
            band_threshold = torch.quantile(
                u.flatten()[:: max(1, u.numel() // 100_000)], 1 - self.contrastive_band / 100
            )
            band = ~reliable & (u >= band_threshold)
            target, target_reliable, target_weight = pseudo, reliable, weight
            if pasted is not None:
                box, box_label = pasted
                target = torch.where(box, box_label, pseudo)
                target_reliable = reliable | box
                target_weight = torch.where(box, torch.ones_like(weight), weight)
                band = band & ~box
            # The band over the whole batch (labeled voxels never in it), so that the contrast reads the students'
            # features whole: a slice of them would cost its backward a zeroed copy of the full batch's features.
            band = torch.cat([band.new_zeros((n, *band.shape[1:])), band])
            composition = torch.cat([one_hot(label, self.num_classes).float(), ((probs[0] + probs[1]) / 2)[n:]])

        terms: dict[str, torch.Tensor] = {}
        for name, student, teacher, memory in zip(SUBNET_NAMES, students, teachers, self.memories):
            with record_function("loss: unlabeled"):
                terms[f"unl_{name}"] = self.pseudo_label(student.logits[n:], target, target_reliable, target_weight)
            with record_function("loss: prototype contrast"):
                features = teacher.features.detach().float()
                prototypes, valid = self._prototypes(memory, features, label, n, pseudo, reliable)
                terms[f"con_{name}"] = self.contrastive(student.features, ensemble_class, band, prototypes, valid)
            with record_function("loss: patch contrast"):
                terms[f"pdcr_{name}"] = (
                    self.patch_contrastive(student.features, composition)
                    if self.pdcr_weight > 0
                    else torch.zeros((), device=student.features.device)
                )
        with torch.no_grad():
            truth = label[:, 0].long()
            labeled_reliable = reliable_all[:n]
            terms["reliable_fraction"] = reliable.float().mean()
            terms["pseudo_precision_labeled"] = (
                (pseudo_all[:n] == truth)[labeled_reliable].float().mean()
                if labeled_reliable.any()
                else torch.tensor(float("nan"))
            )
            counts = torch.bincount(pseudo[reliable].flatten(), minlength=self.num_classes).float()
            for cls in range(self.num_classes):
                terms[f"pseudo_class_{cls}"] = counts[cls] / counts.sum().clamp_min(1.0)
        return terms

    def _prototypes(
        self,
        memory: PrototypeMemory,
        features: torch.Tensor,
        label: torch.Tensor,
        n: int,
        pseudo: torch.Tensor,
        reliable: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Prototypes from the reliable unlabeled voxels (pseudo-labels) and from every labeled voxel (its ground
        truth: the most reliable voxels there are, and they give every class a prototype early on), over the
        global batch of all ranks, through the momentum memory."""
        labeled_mask = torch.ones_like(label[:, 0], dtype=torch.bool)
        sums_l, counts_l = class_feature_sums(features[:n], label[:, 0], labeled_mask, self.num_classes)
        sums_u, counts_u = class_feature_sums(features[n:], pseudo, reliable, self.num_classes)
        # One all-reduce for sums and counts together: (C, F + 1).
        totals = all_reduce_sum(torch.cat([sums_l + sums_u, (counts_l + counts_u).unsqueeze(1)], dim=1))
        return memory(totals[:, :-1], totals[:, -1])
