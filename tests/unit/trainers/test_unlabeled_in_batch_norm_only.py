"""A benchmark's supervised recipe sees the unlabeled patches in its batch norms only: the same batch size as the
semi-supervised recipe's, and no loss term that reads them."""

from __future__ import annotations

import copy
import types

import torch

from lib.config import load_config
from lib.losses import UncertaintyContrastiveLoss
from lib.networks import DualSubnetSegmenter
from lib.trainers import SemiSupervisedIteration


class _Engine(types.SimpleNamespace):
    @staticmethod
    def prepare_batch(batch: dict, device: torch.device, non_blocking: bool) -> tuple[torch.Tensor, torch.Tensor]:
        return batch["image"], batch["label"]


def _step(unlabeled: list | None, unlabeled_loss: bool) -> tuple[dict, DualSubnetSegmenter]:
    torch.manual_seed(0)
    config = load_config({"width": "2", "tv_weight": "0", "bidirectional_weight": "0"})
    network = DualSubnetSegmenter.from_config(config)
    engine = _Engine(
        network=network,
        optimizer=torch.optim.SGD(network.parameters(), lr=0.0),  # learning rate 0: only the batch norms change
        loss_function=UncertaintyContrastiveLoss.from_config(config),
        state=types.SimpleNamespace(device=torch.device("cpu"), iteration=1),
        non_blocking=False,
    )
    labeled = {"image": torch.randn(2, 1, 16, 16, 16), "label": torch.randint(0, 3, (2, 1, 16, 16, 16)).float()}
    step = SemiSupervisedIteration(copy.deepcopy(unlabeled), unlabeled_loss=unlabeled_loss)
    return step(engine, labeled), network


def _running_mean(network: DualSubnetSegmenter) -> torch.Tensor:
    return next(m for m in network.modules() if isinstance(m, torch.nn.BatchNorm3d)).running_mean


def test_unlabeled_patches_reach_the_batch_norms_but_no_loss() -> None:
    unlabeled = [{"image": 5.0 + torch.randn(2, 1, 16, 16, 16)}]
    supervised, seen = _step(unlabeled, unlabeled_loss=False)
    alone, unseen = _step(None, unlabeled_loss=False)
    semi, _ = _step(unlabeled, unlabeled_loss=True)
    assert "unl_vnet" not in supervised and "con_vnet" not in supervised and "unl_vnet" in semi
    assert not torch.equal(supervised["sup_vnet"], alone["sup_vnet"])  # other batch statistics, other outputs
    assert not torch.allclose(_running_mean(seen), _running_mean(unseen))
    assert supervised["pred"].shape[0] == 2  # the prediction of the labeled patches only
