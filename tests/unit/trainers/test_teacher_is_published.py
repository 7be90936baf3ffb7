"""MONAI Label's train task with the teacher: what it publishes is the teacher (the EMA of the students), its
training curves are written as TensorBoard event files in the model folder, and a seeded run repeats."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from monailabel.datastore.local import LocalDatastore
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lib.config import load_config
from lib.networks import DualSubnetSegmenter
from lib.tools import demo_data
from lib.trainers import UncertaintyContrastiveTrain


@pytest.fixture(scope="module")
def datastore(tmp_path_factory: pytest.TempPathFactory) -> LocalDatastore:
    root = tmp_path_factory.mktemp("teacher")
    demo_data.generate(root / "data", num=4, labeled=2, seed=3, shape=(20, 20, 16))
    return LocalDatastore(str(root / "data"), auto_reload=False)


def _train(datastore: LocalDatastore, model_dir: Path, ema_decay: str, seed: int | None = None) -> tuple[dict, dict]:
    conf = {"width": "2", "patch_size": "[32,32,16]", "labeled_batch_size": "1", "unlabeled_batch_size": "1"}
    # One epoch: without validation MONAI Label publishes the epoch with the best training Dice, here the last.
    conf.update({"iterations_per_epoch": "4", "max_epochs": "1", "val_split": "0.0", "ema_decay": ema_decay})
    config = load_config(conf)
    task = UncertaintyContrastiveTrain(
        model_dir=str(model_dir),
        network=DualSubnetSegmenter.from_config(config),
        config=config,
        publish_path=str(model_dir / "published.pt"),
    )
    request = {"device": "cpu", "multi_gpu": False, "dataset": "Dataset", "dataloader": "DataLoader"}
    task({**request, **({"seed": seed} if seed is not None else {})}, datastore)
    students = {name: t.detach() for name, t in task.network(None).state_dict().items()}
    return torch.load(model_dir / "published.pt"), students


def test_with_a_teacher_the_published_model_is_not_the_students(datastore, tmp_path: Path) -> None:
    published, students = _train(datastore, tmp_path / "model", "0.9")
    assert published.keys() == students.keys()
    differing = [n for n in students if students[n].is_floating_point() and not torch.equal(published[n], students[n])]
    assert len(differing) > len(students) // 2


def test_without_a_teacher_the_published_model_is_the_students(datastore, tmp_path: Path) -> None:
    published, students = _train(datastore, tmp_path / "model", "0")
    for name, value in students.items():
        assert torch.equal(published[name], value), name


def test_training_curves_of_every_term_are_written_for_tensorboard(datastore, tmp_path: Path) -> None:
    _train(datastore, tmp_path / "model", "0.9")
    event_files = list((tmp_path / "model").rglob("events.out.tfevents.*"))
    assert event_files
    tags = set()
    for path in event_files:
        accumulator = EventAccumulator(str(path.parent))
        accumulator.Reload()
        tags |= set(accumulator.Tags()["scalars"])
    expected = {
        "sup_vnet",
        "tv_resnet",
        "bd_vnet",
        "unl_vnet",
        "con_resnet",
        "reliable_fraction",
        "pseudo_class_1",
        "learning_rate",
    }
    assert {f"train/{name}" for name in expected} <= tags


def test_a_seeded_run_repeats_and_another_seed_does_not(datastore, tmp_path: Path) -> None:
    first, _ = _train(datastore, tmp_path / "a", "0.9", seed=3)
    again, _ = _train(datastore, tmp_path / "b", "0.9", seed=3)
    other, _ = _train(datastore, tmp_path / "c", "0.9", seed=4)
    assert all(torch.equal(first[name], again[name]) for name in first)
    assert any(not torch.equal(first[name], other[name]) for name in first if first[name].is_floating_point())
