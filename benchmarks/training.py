"""In-process training for the benchmarks, from the app's own pieces.

The transforms, the combined loss and the semi-supervised iteration are the ones ``UncertaintyContrastiveTrain``
gives MONAI Label; only the engine is driven directly (a fixed number of iterations, no validation split, the final
weights kept), so that every variant gets exactly the same data, patches and budget.
"""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass

import torch
from ignite.engine import Events
from monai.data import CacheDataset, DataLoader
from monai.engines import SupervisedTrainer
from monai.losses import DiceCELoss
from monai.networks.nets import UNet
from monai.utils import set_determinism
from torch import nn
from torch.utils.data import RandomSampler

from lib.config import AppConfig
from lib.networks import DualSubnetSegmenter
from lib.trainers import SemiSupervisedIteration, UncertaintyContrastiveTrain

__all__ = ["VARIANTS", "Variant", "train_variant", "variant_config"]


@dataclass(frozen=True)
class Variant:
    """A training recipe: which network, whether unlabeled studies are used, and loss weights set to zero."""

    name: str
    network: str = "dual"  # "dual" (the app's pair) or "unet" (MONAI Label's stock supervised recipe)
    semi_supervised: bool = True
    zero: tuple[str, ...] = ()


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("supervised", semi_supervised=False, zero=("tv_weight",)),
        Variant("full"),
        Variant("no_verification", zero=("tv_weight",)),
        Variant("no_pseudo_label", zero=("unlabeled_weight",)),
        Variant("no_contrastive", zero=("contrastive_weight",)),
        Variant("unet", network="unet", semi_supervised=False),
    )
}


def variant_config(config: AppConfig, variant: Variant) -> AppConfig:
    changes = {name: 0.0 for name in variant.zero}
    if not variant.semi_supervised:
        changes["unlabeled_batch_size"] = 0
    return dataclasses.replace(config, **changes)


def build_network(config: AppConfig, variant: Variant) -> nn.Module:
    if variant.network == "unet":
        # MONAI Label's radiology app segmentation recipe: a residual UNet, trained with DiceCE.
        w = config.width * 2
        return UNet(
            3,
            1,
            config.num_classes,
            channels=(w, 2 * w, 4 * w, 8 * w, 16 * w),
            strides=(2, 2, 2, 2),
            num_res_units=2,
            norm="batch",
        )
    return DualSubnetSegmenter(1, config.num_classes, width=config.width, dropout=config.dropout)


def _loader(dataset: CacheDataset, batch_size: int, num_batches: int) -> DataLoader:
    sampler = RandomSampler(dataset, replacement=True, num_samples=batch_size * num_batches)
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=0)


def train_variant(
    variant: Variant,
    config: AppConfig,
    labeled: list[dict[str, str]],
    unlabeled: list[dict[str, str]],
    iterations: int,
    seed: int,
    device: torch.device,
    progress=None,
) -> nn.Module:
    """Train one recipe for ``iterations`` steps from a seeded initialisation; returns the final network."""
    set_determinism(seed)
    config = variant_config(config, variant)
    network = build_network(config, variant).to(device)
    with tempfile.TemporaryDirectory() as model_dir:
        task = UncertaintyContrastiveTrain(model_dir=model_dir, network=network, config=config)
    labeled_set = CacheDataset(labeled, task.train_pre_transforms(None), progress=False)
    train_loader = _loader(labeled_set, config.labeled_batch_size, iterations)
    optimizer = torch.optim.AdamW(network.parameters(), lr=config.learning_rate)
    if variant.network == "unet":
        trainer = SupervisedTrainer(
            device, 1, train_loader, network, optimizer, DiceCELoss(to_onehot_y=True, softmax=True)
        )
    else:
        unlabeled_loader = None
        if config.unlabeled_batch_size and unlabeled:
            unlabeled_set = CacheDataset(unlabeled, task.unlabeled_pre_transforms(None), progress=False)
            unlabeled_loader = _loader(unlabeled_set, config.unlabeled_batch_size, iterations)
        trainer = SupervisedTrainer(
            device,
            1,
            train_loader,
            network,
            optimizer,
            task.loss_function(None),
            iteration_update=SemiSupervisedIteration(unlabeled_loader),
        )
    if progress is not None:
        trainer.add_event_handler(Events.ITERATION_COMPLETED, lambda _: progress.update(1))
    trainer.run()
    set_determinism(None)
    return network.eval()
