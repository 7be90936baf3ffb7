"""The training cache: sizes read from headers, a budget filled in the order studies are used, and patches drawn
from cached studies without changing them."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import nrrd
import numpy as np
import pytest
import torch
from monai.data import CacheDataset, SmartCacheDataset
from monai.utils import set_determinism

from lib.config import load_config
from lib.networks import DualSubnetSegmenter
from lib.trainers import UncertaintyContrastiveTrain
from lib.trainers.study_cache import cached_dataset, plan_cache, preprocessed_bytes


def _nifti(path: Path, shape: tuple[int, int, int], spacing: float, label: bool = False) -> str:
    data = np.zeros(shape, dtype=np.uint8 if label else np.int16)
    nib.save(nib.Nifti1Image(data, np.diag([spacing, spacing, spacing, 1.0])), str(path))
    return str(path)


def test_cached_size_is_read_from_the_header_at_the_training_spacing(tmp_path: Path) -> None:
    path = _nifti(tmp_path / "a.nii.gz", (10, 20, 30), 2.0)
    # 20 x 40 x 60 voxels at 1 mm: 4 bytes each for the image, 1 more with a training label.
    assert preprocessed_bytes(path, [1.0, 1.0, 1.0]) == 48_000 * 4
    assert preprocessed_bytes(path, [1.0, 1.0, 1.0], label_bytes=1) == 48_000 * 5
    assert preprocessed_bytes(path, [4.0, 4.0, 4.0]) == 5 * 10 * 15 * 4


def test_nrrd_sizes_come_from_its_header(tmp_path: Path) -> None:
    header = {"space": "left-posterior-superior", "space directions": np.diag([0.5, 0.5, 3.0])}
    nrrd.write(str(tmp_path / "a.nrrd"), np.zeros((8, 8, 4), dtype=np.int16), header)
    assert preprocessed_bytes(str(tmp_path / "a.nrrd"), [1.0, 1.0, 1.0]) == 4 * 4 * 12 * 4


def test_the_budget_is_filled_with_training_then_unlabeled_then_validation_studies(tmp_path: Path) -> None:
    one = _nifti(tmp_path / "one.nii.gz", (10, 10, 10), 1.0)  # 4,000 bytes unlabeled, 5,000 for training
    train, unlabeled, validation = [{"image": one}] * 2, [{"image": one}] * 5, [{"image": one}] * 2
    spacing = [1.0, 1.0, 1.0]
    everything = plan_cache(train, unlabeled, validation, spacing, budget=10**9)
    assert (everything.train, everything.unlabeled, everything.validation) == (2, 5, 2)
    assert everything.bytes == 2 * 5000 + 5 * 4000 + 2 * 8000
    part = plan_cache(train, unlabeled, validation, spacing, budget=2 * 5000 + 3 * 4000 + 100)
    assert (part.train, part.unlabeled, part.validation) == (2, 3, 0)
    assert plan_cache(train, unlabeled, validation, spacing, budget=0).bytes == 0


def test_a_pool_larger_than_the_cache_rotates_and_a_smaller_one_is_cached_whole(tmp_path: Path) -> None:
    items = [{"image": _nifti(tmp_path / f"{i}.nii.gz", (4, 4, 4), 1.0)} for i in range(4)]
    assert isinstance(cached_dataset(items, [], cache_num=2, rotate=True), SmartCacheDataset)
    whole = cached_dataset(items, [], cache_num=4, rotate=True)
    assert isinstance(whole, CacheDataset) and not isinstance(whole, SmartCacheDataset)
    # Validation must see every study: a partial cache there loads the rest at each use, it does not rotate.
    assert not isinstance(cached_dataset(items, [], cache_num=2, rotate=False), SmartCacheDataset)


@pytest.fixture()
def labeled_study(tmp_path: Path) -> dict[str, str]:
    """A 64 x 64 x 48 study whose label has three classes, each in its own block well inside the volume."""
    label = np.zeros((64, 64, 48), dtype=np.uint8)
    label[8:24, 8:56, 8:40] = 1
    label[40:56, 8:56, 8:40] = 2
    image = (label * 100 + 50).astype(np.int16)
    affine = np.eye(4)
    nib.save(nib.Nifti1Image(image, affine), str(tmp_path / "image.nii.gz"))
    nib.save(nib.Nifti1Image(label, affine), str(tmp_path / "label.nii.gz"))
    return {"image": str(tmp_path / "image.nii.gz"), "label": str(tmp_path / "label.nii.gz")}


def _task(tmp_path: Path) -> UncertaintyContrastiveTrain:
    conf = {"width": "2", "spacing": "[1,1,1]", "intensity": "ct", "patch_size": "[16,16,16]"}
    config = load_config(conf)
    return UncertaintyContrastiveTrain(str(tmp_path / "model"), DualSubnetSegmenter.from_config(config), config)


def test_drawing_patches_leaves_the_cached_study_as_it_was(labeled_study: dict[str, str], tmp_path: Path) -> None:
    task = _task(tmp_path)
    dataset = cached_dataset([labeled_study], task.train_pre_transforms(None), cache_num=1, rotate=True)
    cached = dataset._cache[0]
    image, label = cached["image"].clone(), cached["label"].clone()
    operations = len(cached["image"].applied_operations)
    for _ in range(20):
        patch = dataset[0][0]
        assert patch["image"].shape == (1, 16, 16, 16) and patch["label"].dtype == torch.float32
        assert "label_cls_indices" not in patch
    assert torch.equal(cached["image"], image) and torch.equal(cached["label"], label)
    assert len(cached["image"].applied_operations) == operations
    assert cached["label"].dtype == torch.uint8  # a quarter of float32's memory in the cache


def test_patches_are_centred_on_each_class_in_turn(labeled_study: dict[str, str], tmp_path: Path) -> None:
    """The cached crop centres (found once per study) are those of the padded, resampled label: a patch's centre
    voxel has the class it was drawn for, and every class is drawn."""
    task = _task(tmp_path)
    dataset = cached_dataset([labeled_study], task.train_pre_transforms(None), cache_num=1, rotate=False)
    set_determinism(seed=0)
    centres = [int(dataset[0][0]["label"][0, 8, 8, 8]) for _ in range(60)]
    assert set(centres) == {0, 1, 2}
    assert min(centres.count(c) for c in (0, 1, 2)) >= 8  # about a third each
    set_determinism(None)
