"""``uncertainty_contrastive`` train task: semi-supervised training on every labeled and every unlabeled study."""

from __future__ import annotations

import functools
import logging
import os
from typing import Any

import torch
from monai.data import DataLoader, Dataset, SmartCacheDataset, partition_dataset
from monai.handlers import LrScheduleHandler, SmartCacheHandler, ValidationHandler
from monai.inferers import Inferer
from monai.transforms import (
    AsDiscreted,
    ClassesToIndicesd,
    DeleteItemsd,
    EnsureTyped,
    RandCropByLabelClassesd,
    RandScaleIntensityd,
    RandShiftIntensityd,
    RandSpatialCropd,
    SpatialPadd,
)
from monai.utils import set_determinism
from monailabel.interfaces.datastore import Datastore
from monailabel.tasks.train.basic_train import BasicTrainTask, Context
from torch.utils.data import RandomSampler

from ..config import AppConfig
from ..losses import UncertaintyContrastiveLoss
from ..model_card import ModelMismatchError, check_model, make_card
from ..monailabel_compat import checkpoint_savers, save_checkpoints_atomically
from ..networks import DualSubnetSegmenter, to_channels_last
from ..runtime import autocast_dtype
from ..sliding_window import sliding_window_inferer
from ..transforms import CopyPaste, StrongView, preprocessing, study_loads
from ..validation.errors import InvalidInputError
from ..validation.options import check_train_options
from .atomic_publish import replace_publisher, resume_path
from .label_dice import label_dice_metrics, per_label_dice
from .mean_teacher import mean_teacher
from .multi_process import MultiProcessTraining
from .request_defaults import merged_request
from .schedule import LearningRateDecay, SemiSupervisedSchedule
from .semi_supervised_iteration import SemiSupervisedIteration
from .study_cache import CachePlan, cached_dataset, machine_memory_bytes, plan_cache
from .training_curves import training_curves_handler

__all__ = ["UncertaintyContrastiveTrain"]

logger = logging.getLogger(__name__)

# The request's ``dataset`` choices: pre-processed studies cached (bounded by ``cache_fraction``; see study_cache.py)
# or loaded at every use.
DATASETS = ["CacheDataset", "Dataset"]
# Crop centres kept per class of a cached training label (MONAI keeps every voxel's index: 8 bytes a voxel, twice
# the image); spread evenly over the class, all of them for a class smaller than this.
CROP_CENTRES_PER_CLASS = 65536


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
                "dataset": DATASETS,
            },
            amp=False,
            val_interval=config.val_interval,
            labels=config.labels,
            tracking=None,
            **kwargs,
        )

    def network(self, context: Context) -> torch.nn.Module:
        """The app's pair; for one process on a CPU in the channels-last layout (``lib/networks/channels_last.py``:
        forward and backward 1.4x faster there)."""
        if context is not None and not context.multi_gpu and torch.device(context.device).type == "cpu":
            to_channels_last(self._network)
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
        request = merged_request(self._config, request)
        if request["dataset"] not in DATASETS:
            raise InvalidInputError(
                422, f"train option 'dataset' must be one of {DATASETS}, got {request['dataset']!r}"
            )
        if not request.get("from_scratch"):
            self.check_fine_tuning()
        return super().__call__(request, datastore)

    def check_fine_tuning(self) -> None:
        """A run fine-tunes the published model (or the pretrained one): refused with 409, naming the settings, when
        its model card says it was trained under other settings than the server's."""
        for path in (self._publish_path, self._load_path):
            try:
                check_model(path, self.app_config)
            except ModelMismatchError as error:
                raise InvalidInputError(409, f"cannot fine-tune: {error}") from None

    def train(self, rank: int, world_size: int, request: dict[str, Any], datalist: list) -> dict[str, Any]:
        """MONAI Label's run, and how many times it loaded its studies: once each with a cache that holds the pool.
        With ``from_scratch`` the run starts from new weights, whatever checkpoint or published model exists."""
        self._from_scratch = bool(request.get("from_scratch"))
        if request.get("seed") is not None:
            self._seed(int(request["seed"]), rank)
        before = study_loads()
        stats = super().train(rank, world_size, request, datalist)
        loads = study_loads() - before
        logger.info(
            "%d - Study loads in this run: %d for %d studies (dataset %s)",
            rank, sum(loads.values()), len(loads), request["dataset"],
        )  # fmt: skip
        return stats

    def _seed(self, seed: int, rank: int) -> None:
        """A run that repeats: new weights drawn from ``seed`` (the app built its network with an unseeded
        generator; a run that fine-tunes loads the published model over them), then every random generator of this
        rank seeded with ``seed + rank`` (MONAI's ``set_determinism``; the crops and the sampler draw from them)."""
        set_determinism(seed=seed)
        self._network.load_state_dict(type(self._network).from_config(self.app_config).state_dict())
        set_determinism(seed=seed + rank)
        logger.info("%d - Seeded run: seed %d", rank, seed)

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
        # Up to the crop, every step is deterministic and cached: the label as uint8 and each class's crop centres
        # found once per study, not in every iteration (MONAI's crop otherwise scans the whole label each time).
        return preprocessing(c, label=True) + [
            EnsureTyped(keys="label", dtype=torch.uint8),
            SpatialPadd(keys=("image", "label"), spatial_size=c.patch_size),
            ClassesToIndicesd(keys="label", num_classes=c.num_classes, max_samples_per_class=CROP_CENTRES_PER_CLASS),
            RandCropByLabelClassesd(
                keys=("image", "label"),
                label_key="label",
                spatial_size=c.patch_size,
                num_classes=c.num_classes,
                ratios=c.crop_ratios or None,
                num_samples=1,
                indices_key="label_cls_indices",
                warn=False,
            ),
            DeleteItemsd(keys="label_cls_indices"),
            EnsureTyped(keys="label", dtype=torch.float32),
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

    def _rank_share(self, context: Context, datalist: list) -> list:
        """This rank's part of ``datalist``, as MONAI Label's ``_dataset`` shares labeled studies out: equal parts
        (padded by repeating), or all of them for every rank when there are fewer studies than ranks."""
        if not context.multi_gpu or len(datalist) < context.world_size:
            return list(datalist)
        return partition_dataset(data=datalist, num_partitions=context.world_size, even_divisible=True)[
            context.local_rank
        ]

    def _cache_plan(self, context: Context) -> CachePlan:
        """Which studies this rank caches, planned once per run over its labeled, unlabeled and validation shares
        within its part of ``cache_fraction`` of the machine's memory."""
        if getattr(context, "cache_plan", None) is None:
            ranks_here = int(os.environ.get("LOCAL_WORLD_SIZE", context.world_size)) if context.multi_gpu else 1
            budget = int(self.app_config.cache_fraction * machine_memory_bytes() / max(1, ranks_here))
            unlabeled = context.request.get("unlabeled_datalist", [])
            shares = [
                self._rank_share(context, items) for items in (context.train_datalist, unlabeled, context.val_datalist)
            ]
            context.cache_plan = plan_cache(*shares, self.app_config.spacing, budget)
            logger.info("%d - %s", context.local_rank, context.cache_plan.describe(*map(len, shares), budget))
        return context.cache_plan

    def _dataset(self, context: Context, datalist: list, is_train: bool, replace_rate: float = 0.25) -> tuple:
        """Labeled studies for training or validation, cached as ``_cache_plan`` says (MONAI Label's own version
        caches every study without bound, or with the request's list of choices, none)."""
        datalist = self._rank_share(context, datalist)
        stage = "Training" if is_train else "Validation"
        pre = self.train_pre_transforms(context) if is_train else self.val_pre_transforms(context)
        transforms = self._validate_transforms(pre, stage, "pre")
        if context.dataset_type == "Dataset":
            return Dataset(datalist, transforms), datalist
        plan = self._cache_plan(context)
        cache_num = plan.train if is_train else plan.validation
        return cached_dataset(datalist, transforms, cache_num, rotate=is_train), datalist

    def train_data_loader(self, context: Context, num_workers: int = 0, shuffle: bool = True) -> DataLoader:
        """Sampled with replacement: ``iterations_per_epoch`` batches per epoch."""
        dataset, datalist = self._dataset(context, context.train_datalist, is_train=True)
        context.train_dataset = dataset
        sampler = RandomSampler(
            dataset, replacement=True, num_samples=self.app_config.iterations_per_epoch * context.train_batch_size
        )
        logger.info(f"{context.local_rank} - Records for Training: {len(datalist)}")
        return DataLoader(
            dataset, batch_size=context.train_batch_size, sampler=sampler, num_workers=self.app_config.num_workers
        )

    def unlabeled_data_loader(self, context: Context) -> DataLoader | None:
        """Each rank draws from its own share of the unlabeled studies, reshuffled in every pass (no study twice
        within a pass, but for the padding that makes the shares equally long), cached like the labeled ones."""
        datalist = context.request.get("unlabeled_datalist", [])
        if not datalist or self.app_config.unlabeled_batch_size == 0:
            return None
        datalist = self._rank_share(context, datalist)
        transforms = self._validate_transforms(self.unlabeled_pre_transforms(context), "Unlabeled")
        if context.dataset_type == "Dataset":
            dataset = Dataset(datalist, transforms)
        else:
            dataset = cached_dataset(datalist, transforms, self._cache_plan(context).unlabeled, rotate=True)
        context.unlabeled_dataset = dataset
        return DataLoader(
            dataset,
            batch_size=self.app_config.unlabeled_batch_size,
            shuffle=True,
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
        for dataset in (getattr(context, "train_dataset", None), getattr(context, "unlabeled_dataset", None)):
            if isinstance(dataset, SmartCacheDataset):
                SmartCacheHandler(dataset).attach(context.trainer)  # rotate the cached studies after every epoch
        if context.local_rank != 0:
            return  # only rank 0 saves and publishes (MONAI Label attaches its publisher there alone)
        for engine in (context.trainer, context.evaluator):
            if engine is not None:
                for saver in checkpoint_savers(engine):
                    save_checkpoints_atomically(saver)
                    if context.teacher is not None:
                        # Without a validation split, MONAI Label publishes the trainer's checkpoint: the teacher's.
                        saver.save_dict[self._model_dict_key] = context.teacher.module
        replace_publisher(context.evaluator or context.trainer, card=functools.partial(self._model_card, context))

    def load_path(self, output_dir: str, pretrained: bool = True) -> str | None:
        if getattr(self, "_from_scratch", False):
            return None
        checkpoint = os.path.join(output_dir, self._key_metric_filename)
        return resume_path(checkpoint, self._publish_path, self._load_path if pretrained else None)

    def train_post_transforms(self, context: Context) -> list:
        n = self.app_config.num_classes
        return [AsDiscreted(keys=("pred", "label"), argmax=(True, False), to_onehot=(n, n))]

    def _model_card(self, context: Context, metrics: dict[str, float]) -> dict[str, Any]:
        """The card of a model this run publishes, from the metrics of the epoch that made it."""
        trained_on = {
            "labeled_studies": len(context.train_datalist),
            "validation_studies": len(context.val_datalist),
            "unlabeled_studies": len(context.request.get("unlabeled_datalist", [])),
            "epoch": int(context.trainer.state.epoch),
            "dice_per_label": per_label_dice(metrics),
            "dice_of": "validation" if context.val_datalist else "training",
        }
        return make_card(self.app_config, trained_on)

    def train_key_metric(self, context: Context) -> dict:
        return label_dice_metrics(self.app_config.labels, self.TRAIN_METRIC_MEAN_DICE, "train")

    def val_key_metric(self, context: Context) -> dict:
        """The best checkpoint (the published model) is the one of the highest mean over labels."""
        return label_dice_metrics(self.app_config.labels, self.VAL_METRIC_MEAN_DICE, "val")

    def val_inferer(self, context: Context) -> Inferer:
        return sliding_window_inferer(self.app_config)
