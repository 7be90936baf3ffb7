"""Test-split metrics of a trained network: Dice, 95 % Hausdorff distance and average surface distance per label
(MONAI metrics, distances in mm on the app's resampled grid), and each study's mean uncertainty."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from monai.data import Dataset
from monai.metrics import DiceMetric, HausdorffDistanceMetric, SurfaceDistanceMetric
from monai.networks.utils import one_hot
from monai.transforms import Compose
from torch import nn

from lib.config import AppConfig
from lib.networks import DualSubnetSegmenter
from lib.sliding_window import sliding_window_inferer
from lib.transforms import preprocessing
from lib.uncertainty import normalized_entropy

__all__ = ["evaluate"]

Predictor = Callable[[torch.Tensor], torch.Tensor]


def _probabilities(network: nn.Module) -> tuple[Predictor, Callable[[torch.Tensor], dict[str, torch.Tensor]]]:
    """One sliding-window pass gives every predictor to evaluate: for the app's pair, both subnets' softmax side by
    side (averaging after the window blending equals blending the average: it is linear), from which the pair's
    average and each subnet alone are read; for a single network such as the UNet baseline, its softmax."""
    if isinstance(network, DualSubnetSegmenter):

        def both(x: torch.Tensor) -> torch.Tensor:
            out_a, out_b = network(x, return_subnets=True)
            return torch.cat([out_a.logits.softmax(1), out_b.logits.softmax(1)], dim=1)

        def split(probs: torch.Tensor) -> dict[str, torch.Tensor]:
            vnet, resnet = probs.chunk(2, dim=1)
            return {"averaged": (vnet + resnet) / 2, "vnet": vnet, "resnet": resnet}

        return both, split
    return (lambda x: network(x).softmax(1)), (lambda probs: {"single": probs})


@torch.no_grad()
def evaluate(
    network: nn.Module, config: AppConfig, test: list[dict[str, str]], device: torch.device
) -> dict[str, dict[str, list]]:
    """Per predictor: per-study lists ``dice``/``hd95``/``asd`` (one value per label) and ``mean_uncertainty``."""
    network.eval()
    predict, split = _probabilities(network)
    inferer = sliding_window_inferer(config)
    data = Dataset(test, Compose(preprocessing(config, label=True)))
    metrics = {
        "dice": DiceMetric(include_background=False, reduction="none"),
        "hd95": HausdorffDistanceMetric(include_background=False, percentile=95, reduction="none"),
        "asd": SurfaceDistanceMetric(include_background=False, symmetric=True, reduction="none"),
    }
    results: dict[str, dict[str, list]] = {}
    for item in data:
        image = item["image"][None].to(device)
        label = one_hot(item["label"][None].long().to(device), config.num_classes)
        for name, probs in split(inferer(image, predict)).items():
            pred = one_hot(probs.argmax(1, keepdim=True), config.num_classes)
            per_study = results.setdefault(name, {"dice": [], "hd95": [], "asd": [], "mean_uncertainty": []})
            for metric_name, metric in metrics.items():
                kwargs = {} if metric_name == "dice" else {"spacing": list(config.spacing)}
                value = metric(pred, label, **kwargs)[0].cpu().numpy().astype(float)
                per_study[metric_name].append([None if not np.isfinite(v) else float(v) for v in value])
            per_study["mean_uncertainty"].append(float(normalized_entropy(probs).mean()))
    return results
