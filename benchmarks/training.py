"""In-process training for the benchmarks, from the app's own pieces, as a paired protocol.

The transforms, the network pair, the teacher, the combined loss, the schedule, the learning-rate decay and the
semi-supervised iteration are the ones ``UncertaintyContrastiveTrain`` gives MONAI Label; only the loop is driven
here, so that recipes can share what the protocol says they share:

- per seed, the labeled batches (studies and crops) and the unlabeled batches are drawn once, each from its own
  seeded generator, and every recipe consumes the same sequence;
- the supervised warm-up (the first ``warmup_fraction`` of the run, identical for every recipe by construction) is
  trained once per seed and every recipe continues from that checkpoint.
"""

from __future__ import annotations

import copy
import tempfile
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from monai.data import CacheDataset, DataLoader
from monai.utils import set_determinism
from torch import nn
from torch.utils.data import RandomSampler

from lib.config import AppConfig, load_config
from lib.losses import UncertaintyContrastiveLoss
from lib.networks import DualSubnetSegmenter, to_channels_last
from lib.trainers import SemiSupervisedIteration, UncertaintyContrastiveTrain
from lib.trainers.mean_teacher import mean_teacher
from lib.trainers.schedule import LearningRateDecay, SemiSupervisedSchedule
from lib.transforms import CopyPaste, StrongView

__all__ = ["RECIPES", "Recipe", "StepEngine", "Streams", "WarmStart", "draw_streams", "train_recipe", "warm_up"]


@dataclass(frozen=True)
class Recipe:
    """A training recipe: ``--conf`` overrides on top of the benchmark's settings (a preset included), and whether a
    loss learns from the unlabeled studies (without, they only pass through the batch norms beside the labeled
    patches)."""

    name: str
    description: str
    conf: dict[str, str] = field(default_factory=dict)
    semi_supervised: bool = True


RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe("supervised", "A: labeled studies only", {"tv_weight": "0", "bidirectional_weight": "0"}, False),
        Recipe("label_terms", "B: A + targeted verification + labeled-side uncertainty weighting", {}, False),
        Recipe("default", "C: the app's default semi-supervised recipe"),
        Recipe("paper", "D: the paper's objective on the new schedule (--conf preset paper)", {"preset": "paper"}),
        Recipe(
            "no_teacher",
            "C without the EMA teacher and strong view",
            {"ema_decay": "0", "strong_augmentation": "false"},
        ),
        Recipe("no_class_balance", "C with one batch-wide percentile", {"class_balanced": "false"}),
        Recipe("no_contrastive", "C without the prototype contrast", {"contrastive_weight": "0"}),
        Recipe("no_bidirectional", "C without uncertainty weighting", {"bidirectional_weight": "0"}),
        Recipe("pdcr", "C + patch-level contrastive regularisation", {"pdcr_weight": "0.1"}),
        Recipe("copy_paste", "C + copy-paste of labeled boxes into unlabeled patches (BCP)", {"copy_paste": "0.67"}),
        Recipe(
            "feature_selection",
            "C + uncertainty-aware feature selection in the decoders (UAFS)",
            {"feature_selection": "true"},
        ),
    )
}


def recipe_config(base: dict[str, str], recipe: Recipe) -> AppConfig:
    """A recipe's settings. A supervised recipe keeps ``unlabeled_batch_size``: its unlabeled patches go through the
    batch norms (no loss reads them), so that every recipe normalises batches of the same size."""
    return load_config({**base, **recipe.conf})


class StepEngine(types.SimpleNamespace):
    """What ``SemiSupervisedIteration`` uses of ignite's engine (the loop is driven here, not by ignite)."""

    @staticmethod
    def prepare_batch(batch: dict, device: torch.device, non_blocking: bool) -> tuple[torch.Tensor, torch.Tensor]:
        return batch["image"].to(device), batch["label"].to(device)


@dataclass
class Streams:
    """One seed's data: ``labeled[i]`` is iteration i's labeled batch, ``unlabeled`` the unlabeled batches in the
    order the semi-supervised recipes consume them (from the end of the warm-up on)."""

    labeled: list[dict[str, torch.Tensor]]
    unlabeled: list[dict[str, torch.Tensor]]

    def checksum(self, iterations: int) -> float:
        """Sum of the labeled images of the first ``iterations`` batches: equal across recipes or they were not
        paired, and equal across runs of the same seed."""
        return float(sum(float(b["image"].double().sum()) for b in self.labeled[:iterations]))

    def unlabeled_checksum(self) -> float:
        """Sum of every unlabeled batch's images."""
        return float(sum(float(b["image"].double().sum()) for b in self.unlabeled))


def _draw(dataset: CacheDataset, batch_size: int, count: int, seed: int) -> list[dict[str, torch.Tensor]]:
    """``count`` batches: the studies and every crop and augmentation from ``seed`` alone. MONAI's ``DataLoader``
    with ``num_workers=0`` reseeds the dataset's transforms from a generator, torch's global one unless it is given
    one (so the same seed drew other crops in another run); given this draw's own generator, it seeds them from it."""
    generator = torch.Generator().manual_seed(seed)
    sampler = RandomSampler(dataset, replacement=True, num_samples=batch_size * count, generator=generator)
    keys = ("image", "label")
    loader = DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=0, generator=generator)
    return [{k: torch.as_tensor(batch[k]).clone() for k in keys if k in batch} for batch in loader]


def draw_streams(
    config: AppConfig, labeled: list[dict[str, str]], unlabeled: list[dict[str, str]], iterations: int, seed: int
) -> Streams:
    """Both streams of one seed, each from its own generators (so a recipe's other randomness cannot shift them)."""
    with tempfile.TemporaryDirectory() as model_dir:
        task = UncertaintyContrastiveTrain(model_dir=model_dir, network=nn.Identity(), config=config)
    labeled_set = CacheDataset(labeled, task.train_pre_transforms(None), progress=False)
    streams = Streams(_draw(labeled_set, config.labeled_batch_size, iterations, seed), [])
    if unlabeled:
        warm = SemiSupervisedSchedule(iterations, config.warmup_fraction, config.rampup_fraction).warmup_iterations
        unlabeled_set = CacheDataset(unlabeled, task.unlabeled_pre_transforms(None), progress=False)
        streams.unlabeled = _draw(unlabeled_set, config.unlabeled_batch_size, iterations - warm, seed + 7919)
    return streams


@dataclass
class WarmStart:
    """The state after the shared supervised warm-up: students, teacher, optimizer, learning-rate schedule and the
    loss's running choice of the better subnet, as state dicts keyed by parameter name."""

    iterations: int
    network: dict[str, torch.Tensor]
    teacher: dict[str, torch.Tensor] | None
    optimizer: dict[str, Any]
    parameter_names: list[str]
    scheduler: dict[str, Any]
    dice_average: torch.Tensor | None


def _optimizer_state_by_name(state: dict[str, Any], names: Sequence[str], network: nn.Module) -> dict[str, Any]:
    """An AdamW state dict of a network with ``names`` (in optimizer order) remapped onto ``network``'s parameter
    order; parameters the warm-up network lacked (none are trained in the warm-up) start without moments."""
    index = {name: i for i, name in enumerate(names)}
    new_names = [name for name, _ in network.named_parameters()]
    remapped = {
        i: state["state"][index[n]] for i, n in enumerate(new_names) if n in index and index[n] in state["state"]
    }
    groups = [dict(state["param_groups"][0], params=list(range(len(new_names))))]
    return {"state": remapped, "param_groups": groups}


def _load_by_name(module: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Load a warm-up state; only the contrastive projection head (untrained in the warm-up) may be absent or extra."""
    result = module.load_state_dict(state, strict=False)
    odd = [k for k in (*result.missing_keys, *result.unexpected_keys) if ".projection." not in k]
    if odd:
        raise RuntimeError(f"warm-up state does not fit this network: {odd[:5]}")


def _loop(
    config: AppConfig,
    recipe: Recipe,
    streams: Streams,
    iterations: int,
    seed: int,
    device: torch.device,
    start: WarmStart | None,
    stop: int,
    progress: Any = None,
    checkpoints: Sequence[int] = (),
    on_checkpoint: Callable[[int, nn.Module], None] | None = None,
) -> tuple[nn.Module, nn.Module | None, WarmStart]:
    set_determinism(seed)
    trained = DualSubnetSegmenter.from_config(config).to(device)
    if device.type == "cpu":
        to_channels_last(trained)  # as the app's train task runs on a CPU
    teacher = mean_teacher(trained, config.ema_decay)
    optimizer = torch.optim.AdamW(trained.parameters(), lr=config.learning_rate)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, LearningRateDecay(config.lr_schedule, iterations))
    loss = UncertaintyContrastiveLoss.from_config(config)
    first = 0
    if start is not None:
        _load_by_name(trained, start.network)
        if teacher is not None and start.teacher is not None:
            _load_by_name(teacher, start.teacher)
        optimizer.load_state_dict(_optimizer_state_by_name(start.optimizer, start.parameter_names, trained))
        scheduler.load_state_dict(start.scheduler)
        if start.dice_average is not None:
            loss.dice_average = start.dice_average.clone()
        first = start.iterations
    schedule = SemiSupervisedSchedule(iterations, config.warmup_fraction, config.rampup_fraction)
    unlabeled = streams.unlabeled if config.unlabeled_batch_size and streams.unlabeled else None
    step = SemiSupervisedIteration(
        unlabeled,
        None,
        schedule,
        teacher,
        StrongView(seed) if config.strong_augmentation else None,
        CopyPaste(config.copy_paste, seed) if config.copy_paste > 0 else None,
        unlabeled_loss=recipe.semi_supervised,
    )
    engine = StepEngine(
        network=trained,
        optimizer=optimizer,
        loss_function=loss,
        state=types.SimpleNamespace(device=device, iteration=0),
        non_blocking=False,
    )
    for i in range(first, stop):
        engine.state.iteration = i + 1
        step(engine, streams.labeled[i])
        scheduler.step()
        if progress is not None:
            progress.update(1)
        if on_checkpoint is not None and i + 1 in checkpoints:
            on_checkpoint(i + 1, _served(trained, teacher))
    state = WarmStart(
        stop,
        copy.deepcopy(trained.state_dict()),
        None if teacher is None else copy.deepcopy(teacher.state_dict()),
        copy.deepcopy(optimizer.state_dict()),
        [name for name, _ in trained.named_parameters()],
        scheduler.state_dict(),
        loss.dice_average,
    )
    set_determinism(None)
    return trained, teacher, state


def _served(trained: nn.Module, teacher: nn.Module | None) -> nn.Module:
    """What the app would validate and serve: the teacher where there is one, else the students."""
    return trained if teacher is None else teacher.module


def warm_up(
    config: AppConfig, streams: Streams, iterations: int, seed: int, device: torch.device, progress: Any = None
) -> WarmStart:
    """The shared supervised warm-up of one seed, with the supervised recipe's network, teacher and loss."""
    warm = SemiSupervisedSchedule(iterations, config.warmup_fraction, config.rampup_fraction).warmup_iterations
    recipe = RECIPES["supervised"]
    return _loop(config, recipe, streams, iterations, seed, device, None, warm, progress)[2]


def train_recipe(
    recipe: Recipe,
    config: AppConfig,
    streams: Streams,
    iterations: int,
    seed: int,
    device: torch.device,
    start: WarmStart | None = None,
    progress: Any = None,
    checkpoints: Sequence[int] = (),
    on_checkpoint: Callable[[int, nn.Module], None] | None = None,
) -> nn.Module:
    """Train one recipe to ``iterations`` (from ``start`` if given); returns what the app would serve, in eval mode."""
    trained, teacher, _ = _loop(
        config, recipe, streams, iterations, seed, device, start, iterations, progress, checkpoints, on_checkpoint
    )
    return _served(trained, teacher).eval()
