"""What both infer tasks share: pre-processing, sliding-window inference with the subnet pair, the inversion back to
the study's own grid, the refusal to run without trained weights, and a fast writer."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import torch
from monai.inferers import Inferer
from monailabel.interfaces.tasks.infer_v2 import InferType
from monailabel.tasks.infer.basic_infer import BasicInferTask
from monailabel.transform.writer import Writer
from torch import nn

from ..config import AppConfig
from ..model_card import check_model, read_card
from ..networks import StackedSubnetSoftmax, fold_batch_norms, study_embedding
from ..runtime import autocast, autocast_dtype, configure_device
from ..sliding_window import sliding_window_inferer
from ..transforms import preprocessing
from ..validation.errors import RequestRefused

__all__ = ["DualSubnetInfer", "EMBEDDING_KEY", "NoTrainedModelError", "WITH_SUBNETS"]

# Set by the scorer (never accepted over REST): run both subnets side by side, so that post-processing can read their
# disagreement as well as the averaged prediction, on the scoring grid (setting ``score_downsample``).
WITH_SUBNETS = "with_subnets"
# Where a scoring pass collects its windows' pooled bottleneck features, and the result key of their summary.
_BOTTLENECKS = "_bottlenecks"
EMBEDDING_KEY = "study_embedding"

logger = logging.getLogger(__name__)


class NoTrainedModelError(RequestRefused):
    """Raised instead of answering with a prediction of random weights (stock MONAI Label would). Status 409: the
    request is fine; the server's state does not allow it yet."""

    def __init__(self, model_paths: Sequence[str]) -> None:
        super().__init__(
            409,
            (
                "No trained model yet (none of "
                + ", ".join(model_paths)
                + " exists). Label a few studies (PUT /datastore/label), train the model "
                "(POST /train/uncertainty_contrastive) and try again."
            ),
        )


class DualSubnetInfer(BasicInferTask):
    """Base of the ``uncertainty_contrastive`` and ``uncertainty_region`` tasks; subclasses add post-processing."""

    def __init__(
        self,
        path: Sequence[str],
        network: nn.Module,
        config: AppConfig,
        labels: dict[str, int],
        description: str,
        task_config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            path=list(path),
            network=network,
            type=InferType.SEGMENTATION,
            labels=labels,
            dimension=3,
            description=description,
            config=task_config,
            roi_size=config.patch_size,
        )
        self.app_config = config

    def pre_transforms(self, data: dict[str, Any] | None = None) -> list[Callable]:
        scoring = (data or {}).get(WITH_SUBNETS)
        return preprocessing(self.app_config, label=False, spacing=self.app_config.scoring_spacing if scoring else None)

    def inferer(self, data: dict[str, Any] | None = None) -> Inferer:
        """Always a sliding window, even for a study smaller than one window (MONAI Label's default would not)."""
        return sliding_window_inferer(self.app_config)

    def run_inferer(self, data: dict[str, Any], convert_to_batch: bool = True, device: str = "cuda") -> dict[str, Any]:
        """MONAI Label's inference, under autocast on CUDA (setting ``mixed_precision``); the softmax, and so the
        probabilities that entropy and scores are computed from, stays float32 (autocast's own rule for softmax)."""
        with autocast(autocast_dtype(self.app_config.mixed_precision, device), device):
            data = super().run_inferer(data, convert_to_batch, device)
        bottlenecks = data.pop(_BOTTLENECKS, None)
        if bottlenecks:
            data.setdefault("result", {})[EMBEDDING_KEY] = study_embedding(bottlenecks)
        return data

    def inverse_transforms(self, data: dict[str, Any] | None = None) -> list:
        """Invert every invertible pre-transform (orientation, spacing) on the class probabilities, so that the label
        and the uncertainty are computed on the study's own grid."""
        return []

    def info(self) -> dict[str, Any]:
        """MONAI Label's model info, with the model card of the model served (None before training, or for a model
        from before cards), for viewers to show."""
        return {**super().info(), "model_card": read_card(self.get_path())}

    def _get_network(self, device: str, data: dict[str, Any] | None) -> nn.Module:
        if self.get_path() is None:
            raise NoTrainedModelError(self.path)
        check_model(self.get_path(), self.app_config)  # ModelMismatchError: the server answers 409
        # Sliding windows have one size: cuDNN's autotuned kernels are reused for every window (CUDA only).
        configure_device(device, self.app_config.cpu_threads)
        # MONAI Label's copy of the network for this device, reloaded when the model file changes; folded once.
        network = fold_batch_norms(super()._get_network(device, data))
        if torch.device(device).type == "cpu":
            # oneDNN's channels-last 3D convolutions: 1.15x for /infer of a 1.8 M-voxel study on this CPU
            # (docs/scaling.md#cpu-options-for-inference-and-scoring); reloaded weights keep the layout.
            network = network.to(memory_format=torch.channels_last_3d)
        if data is not None and data.get(WITH_SUBNETS):
            return StackedSubnetSoftmax(network, bottlenecks=data.setdefault(_BOTTLENECKS, []))
        return network

    def writer(self, data: dict[str, Any], extension: str | None = None, dtype: str | None = None) -> tuple[Any, Any]:
        """Labels are written as uint8 by default, NIfTI through nibabel: MONAI Label's default ITK path costs seconds
        on the first call (ITK's lazy loading) for a volume that nibabel writes in milliseconds."""
        data.setdefault("result_dtype", "uint8")
        data["labels"] = self.labels
        extension = data.get("result_extension") or extension or ".nii.gz"
        data["result_extension"] = extension
        return Writer(label=self.output_label_key, json=self.output_json_key, nibabel=True)(data)
