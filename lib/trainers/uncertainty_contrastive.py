"""``uncertainty_contrastive`` train task: semi-supervised training on every labeled and every unlabeled study."""

from __future__ import annotations

import logging
import os
from typing import Any

import torch
from monai.data import CacheDataset, DataLoader, Dataset, DistributedSampler
from monai.handlers import LrScheduleHandler, ValidationHandler
from monai.inferers import Inferer
from monai.transforms import (
    AsDiscreted,
    RandCropByLabelClassesd,
    RandScaleIntensityd,
    RandShiftIntensityd,
    RandSpatialCropd,
    SpatialPadd,
)
from monailabel.interfaces.datastore import Datastore
from monailabel.tasks.train.basic_train import BasicTrainTask, Context
from torch.utils.data import RandomSampler

from ..config import AppConfig
from ..distributed import all_reduce_sum, rank, world_size
from ..losses import UncertaintyContrastiveLoss
from ..monailabel_compat import checkpoint_savers, save_checkpoints_atomically
from ..networks import DualSubnetSegmenter
from ..runtime import autocast_dtype
from ..server.options import check_train_options
from ..sliding_window import sliding_window_inferer
from ..transforms import CopyPaste, StrongView, preprocessing
from .atomic_publish import replace_publisher, resume_path
from .mean_teacher import mean_teacher
from .multi_process import MultiProcessTraining
from .schedule import LearningRateDecay, SemiSupervisedSchedule
from .semi_supervised_iteration import SemiSupervisedIteration
from .training_curves import training_curves_handler

__all__ = ["UncertaintyContrastiveTrain"]

logger = logging.getLogger(__name__)


class UncertaintyContrastiveTrain(MultiProcessTraining, BasicTrainTask):
    """MONAI Label's ignite-based train task with the semi-supervised iteration of Jarimijafarbigloo et al. (MIDL
    2024): stats, checkpoints, validation Dice, early stopping and publishing behave as in every MONAI Label app.

    Each iteration draws ``labeled_batch_size`` random patches (class-balanced crops) from the labeled studies and
    ``unlabeled_batch_size`` from the unlabeled ones; an epoch is ``iterations_per_epoch`` iterations, whatever the
    number of labeled studies, so that ``max_epochs`` means the same amount of work for 2 or 200 labeled studies.

    With ``ema_decay`` > 0 a self-ensembling teacher (an EMA of the pair) gives the unlabeled targets, and the
    teacher, not the students, is what validation scores, the checkpoints keep and MONAI Label publishes.
    """

    def __init__(
        self,
        model_dir: str,
        network: DualSubnetSegmenter,
        config: AppConfig,
        **kwargs: Any,
    ) -> None:
        self._network = network
        self.app_config = config
        super().__init__(
            model_dir,
            description="Semi-supervised uncertainty-aware contrastive training (labeled + unlabeled studies)",
            config={
                "max_epochs": config.max_epochs,
                "learning_rate": config.learning_rate,
                "val_split": config.val_split,
                "train_batch_size": config.labeled_batch_size,
                # Tracking off unless asked for: mlflow is slow to start and writes mlruns/ into the model folder.
                "tracking": ["None", "mlflow"],
                "dataset": ["CacheDataset", "Dataset"],
            },
            amp=False,
            val_interval=config.val_interval,
            labels=config.labels,
            tracking=None,
            **kwargs,
        )

    def network(self, context: Context) -> torch.nn.Module:
        return self._network

    def total_iterations(self, context: Context) -> int:
        return int(context.max_epochs) * self.app_config.iterations_per_epoch

    def _create_network_and_optimizer(self, context: Context) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
        network, optimizer = self._create_students(context)
        context.teacher = mean_teacher(getattr(network, "module", network), self.app_config.ema_decay)
        return network, optimizer

    def optimizer(self, context: Context) -> torch.optim.Optimizer:
        return torch.optim.AdamW(context.network.parameters(), lr=float(context.request["learning_rate"]))

    def _create_evaluator(self, context: Context) -> Any:
        """MONAI Label's evaluator and its best-model checkpoint, on the teacher where there is one: what is
        validated is what is saved, published and served."""
        students = context.network
        if context.teacher is not None:
            context.network = context.teacher.module
        try:
            return super()._create_evaluator(context)
        finally:
            context.network = students

    def loss_function(self, context: Context) -> UncertaintyContrastiveLoss:
        return UncertaintyContrastiveLoss.from_config(self.app_config)

    def lr_scheduler_handler(self, context: Context) -> LrScheduleHandler:
        """Per-iteration decay over the run (MONAI Label's default, a step every 1,000 epochs, never decays)."""
        decay = LearningRateDecay(self.app_config.lr_schedule, self.total_iterations(context))
        return LrScheduleHandler(torch.optim.lr_scheduler.LambdaLR(context.optimizer, decay), epoch_level=False)

    def __call__(self, request: dict[str, Any], datastore: Datastore) -> dict[str, Any]:
        check_train_options(request, allow_unknown=True)
        return super().__call__(request, datastore)

    def pre_process(self, request: dict[str, Any], datastore: Datastore) -> list[dict[str, str]]:
        """Labeled pairs as MONAI Label returns them, plus every unlabeled study (kept in the request, which every
        training process receives)."""
        labeled = datastore.datalist()
        if not labeled:
            raise ValueError("No labeled studies: save a final label for at least one study before training.")
        request["unlabeled_datalist"] = [
            {"image": datastore.get_image_uri(image_id)} for image_id in sorted(datastore.get_unlabeled_images())
        ]
        logger.info("Training on %d labeled and %d unlabeled studies", len(labeled), len(request["unlabeled_datalist"]))
        return labeled

    def partition_datalist(self, context: Context, shuffle: bool = False) -> tuple[list, list]:
        """A seeded shuffle before the validation split (MONAI Label takes the last studies as they come), and no
        validation at all with a single labeled study, which must then be used for training."""
        if len(context.datalist) < 2:
            return context.datalist, []
        return super().partition_datalist(context, shuffle=True)

    def train_pre_transforms(self, context: Context) -> list:
        c = self.app_config
        return preprocessing(c, label=True) + [
            SpatialPadd(keys=("image", "label"), spatial_size=c.patch_size),
            RandCropByLabelClassesd(
                keys=("image", "label"),
                label_key="label",
                spatial_size=c.patch_size,
                num_classes=c.num_classes,
                num_samples=1,
                warn=False,
            ),
            RandScaleIntensityd(keys="image", factors=0.1, prob=0.5),
            RandShiftIntensityd(keys="image", offsets=0.05, prob=0.5),
        ]

    def unlabeled_pre_transforms(self, context: Context) -> list:
        c = self.app_config
        return preprocessing(c, label=False) + [
            SpatialPadd(keys="image", spatial_size=c.patch_size),
            RandSpatialCropd(keys="image", roi_size=c.patch_size, random_size=False),
        ]

    def val_pre_transforms(self, context: Context) -> list:
        return preprocessing(self.app_config, label=True)

    def train_data_loader(self, context: Context, num_workers: int = 0, shuffle: bool = True) -> DataLoader:
        """Sampled with replacement: ``iterations_per_epoch`` batches per epoch."""
        dataset, datalist = self._dataset(context, context.train_datalist, is_train=True)
        sampler = RandomSampler(
            dataset, replacement=True, num_samples=self.app_config.iterations_per_epoch * context.train_batch_size
        )
        logger.info(f"{context.local_rank} - Records for Training: {len(datalist)}")
        return DataLoader(
            dataset, batch_size=context.train_batch_size, sampler=sampler, num_workers=self.app_config.num_workers
        )

    def unlabeled_data_loader(self, context: Context) -> DataLoader | None:
        """Each rank draws from its own shard of the unlabeled studies (no study twice within a pass, but for the
        padding that makes the shards equally long); one process has one shard, shuffled in every pass."""
        datalist = context.request.get("unlabeled_datalist", [])
        if not datalist or self.app_config.unlabeled_batch_size == 0:
            return None
        transforms = self._validate_transforms(self.unlabeled_pre_transforms(context), "Unlabeled")
        # Cached like the labeled studies (the request's ``dataset``): loading and resampling every unlabeled study
        # again in every iteration cost more than the networks on real-sized MR studies.
        dataset = (
            CacheDataset(datalist, transforms, progress=False)
            if context.dataset_type == "CacheDataset"
            else Dataset(datalist, transforms)
        )
        # Every rank must shuffle with the same seed for the shards to stay disjoint: rank 0 draws it (on the
        # training device: NCCL reduces GPU tensors only).
        seed = int(all_reduce_sum(torch.randint(2**31 - 1, (1,), device=context.device) * int(rank() == 0)))
        sampler = DistributedSampler(dataset, shuffle=True, num_replicas=world_size(), rank=rank(), seed=seed)
        return DataLoader(
            dataset,
            batch_size=self.app_config.unlabeled_batch_size,
            sampler=sampler,
            num_workers=self.app_config.num_workers,
        )

    def train_iteration_update(self, context: Context) -> SemiSupervisedIteration:
        c = self.app_config
        return SemiSupervisedIteration(
            self.unlabeled_data_loader(context),
            autocast_dtype(c.mixed_precision, context.device),
            SemiSupervisedSchedule(self.total_iterations(context), c.warmup_fraction, c.rampup_fraction),
            context.teacher,
            StrongView() if c.strong_augmentation else None,
            CopyPaste(c.copy_paste) if c.copy_paste > 0 else None,
        )

    def train_handlers(self, context: Context) -> list:
        """MONAI Label's handlers, plus a validation after the last epoch when ``val_interval`` does not divide
        ``max_epochs``: the best model is saved (and published) only by a validation, so a short run would
        otherwise end DONE with no model at all."""
        handlers = super().train_handlers(context)
        if context.local_rank == 0:
            handlers.append(training_curves_handler(context.events_dir))
        if context.evaluator and context.max_epochs % self._val_interval:
            handlers.append(ValidationHandler(context.max_epochs, validator=context.evaluator, epoch_level=True))
        return handlers

    def finalize(self, context: Context) -> None:
        super().finalize(context)
        if context.local_rank != 0:
            return  # only rank 0 saves and publishes (MONAI Label attaches its publisher there alone)
        for engine in (context.trainer, context.evaluator):
            if engine is not None:
                for saver in checkpoint_savers(engine):
                    save_checkpoints_atomically(saver)
                    if context.teacher is not None:
                        # Without a validation split, MONAI Label publishes the trainer's checkpoint: the teacher's.
                        saver.save_dict[self._model_dict_key] = context.teacher.module
        replace_publisher(context.evaluator or context.trainer)

    def load_path(self, output_dir: str, pretrained: bool = True) -> str | None:
        checkpoint = os.path.join(output_dir, self._key_metric_filename)
        return resume_path(checkpoint, self._publish_path, self._load_path if pretrained else None)

    def train_post_transforms(self, context: Context) -> list:
        n = self.app_config.num_classes
        return [AsDiscreted(keys=("pred", "label"), argmax=(True, False), to_onehot=(n, n))]

    def val_inferer(self, context: Context) -> Inferer:
        return sliding_window_inferer(self.app_config)
