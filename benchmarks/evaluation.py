"""Test-split metrics of a trained network: Dice, 95 % Hausdorff distance and average surface distance per label
(MONAI metrics, distances in mm on the app's resampled grid), and each study's mean uncertainty."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
from monai.data import Dataset
from monai.metrics import DiceMetric, HausdorffDistanceMetric, SurfaceDistanceMetric
from monai.networks.utils import one_hot
from monai.transforms import CenterScaleCropd, Compose
from torch import nn

from lib.config import AppConfig
from lib.networks import DualSubnetSegmenter, StackedSubnetSoftmax
from lib.sliding_window import sliding_window_inferer
from lib.transforms import preprocessing
from lib.uncertainty import class_disagreement, class_map, focus_disagreement, normalized_entropy, subnet_disagreement

from .lesion_metrics import lesion_wise

__all__ = ["CANDIDATE_SCORES", "evaluate", "score_pool", "study_scores"]

Predictor = Callable[[torch.Tensor], torch.Tensor]


def _probabilities(network: nn.Module) -> tuple[Predictor, Callable[[torch.Tensor], dict[str, torch.Tensor]]]:
    """One sliding-window pass gives every predictor to evaluate: for the app's pair, both subnets' softmax side by
    side (averaging after the window blending equals blending the average: it is linear), from which the pair's
    average and each subnet alone are read; for a single network such as the UNet baseline, its softmax."""
    if isinstance(network, DualSubnetSegmenter):

        def split(probs: torch.Tensor) -> dict[str, torch.Tensor]:
            vnet, resnet = probs.chunk(2, dim=1)
            return {"averaged": (vnet + resnet) / 2, "vnet": vnet, "resnet": resnet}

        return StackedSubnetSoftmax(network), split
    return (lambda x: network(x).softmax(1)), (lambda probs: {"single": probs})


CANDIDATE_SCORES = (
    "mean_uncertainty",
    "foreground_uncertainty",
    "subnet_disagreement",
    "class_disagreement",
    "focus_disagreement",
)


def study_scores(
    probs: torch.Tensor,
    subnets: tuple[torch.Tensor, torch.Tensor] | None,
    config: AppConfig,
    spacing: Sequence[float],
) -> dict[str, float]:
    """Candidate "label this next" scores of one study on a grid of ``spacing``: the app's (``mean_uncertainty``, mean
    normalised entropy over the volume, ``subnet_disagreement``, ``class_disagreement`` and ``focus_disagreement``)
    and the entropy summed over the volume per predicted foreground voxel, which like the disagreements does not grow
    with the size of what is segmented."""
    entropy = normalized_entropy(probs)
    foreground = class_map(probs) > 0
    scores = {
        "mean_uncertainty": float(entropy.mean()),
        "foreground_uncertainty": float(entropy.sum() / foreground.sum().clamp_min(1)),
    }
    if subnets is not None:
        label_vnet, label_resnet = class_map(subnets[0]), class_map(subnets[1])
        scores["subnet_disagreement"] = subnet_disagreement(label_vnet, label_resnet)
        scores["class_disagreement"] = class_disagreement(label_vnet, label_resnet, probs.shape[1])
        scores["focus_disagreement"] = focus_disagreement(
            label_vnet, label_resnet, config.focus_value, config.focus_min_voxels(spacing)
        )
    return scores


@torch.no_grad()
def evaluate(
    network: nn.Module,
    config: AppConfig,
    test: list[dict[str, str]],
    device: torch.device,
    distances: bool = True,
) -> dict[str, dict[str, list]]:
    """Per predictor: per-study lists ``dice``/``hd95``/``asd`` (one value per label; ``dice`` alone without
    ``distances``: the surface distances are more than half of the time on the MNI studies, and the loops that read
    only Dice need none), with a ``lesion`` label also ``lesion_wise_dice``, ``lesion_f1`` and ``lesion_counts``
    (found, missed, invented; ``benchmarks/lesion_metrics.py``), and the candidate scores of :func:`study_scores`
    (``disagreement`` for the subnet pair's average only)."""
    network.eval()
    predict, split = _probabilities(network)
    inferer = sliding_window_inferer(config)
    data = Dataset(test, Compose(preprocessing(config, label=True)))
    # A label absent from a study and from its prediction counts 1 (a lesion-free study left lesion-free is right);
    # MONAI's default would make it NaN, which the means then dropped or counted as 0.
    metrics = {"dice": DiceMetric(include_background=False, reduction="none", ignore_empty=False)}
    lesion = config.labels.get("lesion")
    if distances:
        metrics["hd95"] = HausdorffDistanceMetric(include_background=False, percentile=95, reduction="none")
        metrics["asd"] = SurfaceDistanceMetric(include_background=False, symmetric=True, reduction="none")
    results: dict[str, dict[str, list]] = {}
    for item in data:
        image = item["image"][None].to(device)
        label = one_hot(item["label"][None].long().to(device), config.num_classes)
        outputs = split(inferer(image, predict))
        for name, probs in outputs.items():
            pred = one_hot(class_map(probs, keepdim=True), config.num_classes)
            per_study = results.setdefault(name, {metric_name: [] for metric_name in metrics})
            for metric_name, metric in metrics.items():
                kwargs = {} if metric_name == "dice" else {"spacing": list(config.spacing)}
                value = metric(pred, label, **kwargs)[0].cpu().numpy().astype(float)
                per_study[metric_name].append([None if not np.isfinite(v) else float(v) for v in value])
            if lesion is not None:
                counts = lesion_wise(
                    (class_map(probs)[0] == lesion).cpu().numpy(), (item["label"][0] == lesion).cpu().numpy()
                )
                per_study.setdefault("lesion_wise_dice", []).append(counts.dice)
                per_study.setdefault("lesion_f1", []).append(counts.f1)
                per_study.setdefault("lesion_counts", []).append(
                    [counts.true_positives, counts.false_negatives, counts.false_positives]
                )
            subnets = (outputs["vnet"], outputs["resnet"]) if name == "averaged" else None
            for score_name, score in study_scores(probs, subnets, config, config.spacing).items():
                per_study.setdefault(score_name, []).append(score)
    return results


@torch.no_grad()
def score_pool(
    network: DualSubnetSegmenter,
    config: AppConfig,
    pool: list[dict[str, str]],
    device: torch.device,
    spacing: Sequence[float],
    crop: float = 1.0,
) -> tuple[dict[str, list[float]], float]:
    """The app scorer's ``STUDY_SCORES`` of each study, with the study resampled to ``spacing`` (the scoring grid) and,
    with ``crop`` < 1, cut to its centred box of that fraction of each side; and the seconds per study (loading,
    resampling, the window pass and the scores, as the scorer spends them)."""
    network.eval()
    predict = StackedSubnetSoftmax(network)
    inferer = sliding_window_inferer(config)
    crop_transform = [CenterScaleCropd("image", roi_scale=crop)] if crop < 1.0 else []
    transform = Compose([*preprocessing(config, label=False, spacing=spacing), *crop_transform])
    scores: dict[str, list[float]] = {}
    start = time.perf_counter()
    for item in pool:
        image = transform({"image": item["image"]})["image"][None].to(device)
        vnet, resnet = inferer(image, predict).chunk(2, dim=1)
        for name, score in study_scores((vnet + resnet) / 2, (vnet, resnet), config, spacing).items():
            scores.setdefault(name, []).append(score)
    return scores, (time.perf_counter() - start) / max(1, len(pool))
