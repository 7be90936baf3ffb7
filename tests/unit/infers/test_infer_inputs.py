"""Inference on what users have: NIfTI in any orientation, a folder holding a DICOM series; never random weights."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from lib.config import load_config
from lib.infers import NoTrainedModelError, UncertaintyContrastiveInfer, UncertaintyRegionInfer
from lib.networks import DualSubnetSegmenter
from lib.tools import demo_data, nifti_to_dicom
from lib.tools.weights import save_state_dict

CONFIG = load_config({"width": "2", "patch_size": "[16,16,16]"})


def _task(tmp_path: Path, cls=UncertaintyContrastiveInfer, **kwargs):
    network = DualSubnetSegmenter(in_channels=1, num_classes=CONFIG.num_classes, width=CONFIG.width)
    path = tmp_path / "model" / "uncertainty_contrastive.pt"
    return cls(path=[str(path)], network=network, config=CONFIG, description="test", **kwargs), path


@pytest.fixture()
def study(tmp_path: Path) -> Path:
    demo_data.generate(tmp_path / "data", num=1, labeled=0, seed=5, shape=(24, 20, 12))
    return tmp_path / "data" / "study_000.nii.gz"


def test_without_weights_inference_refuses_instead_of_guessing(tmp_path: Path, study: Path) -> None:
    task, _ = _task(tmp_path, labels=CONFIG.labels)
    with pytest.raises(NoTrainedModelError, match="label a few studies|Label a few studies"):
        task({"image": str(study)})


def test_a_left_right_flipped_study_gets_its_label_on_its_own_grid(tmp_path: Path, study: Path) -> None:
    image = nib.load(study)
    flipped = tmp_path / "flipped.nii.gz"
    affine = image.affine @ np.array([[-1, 0, 0, image.shape[0] - 1], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    nib.save(nib.Nifti1Image(np.asarray(image.dataobj)[::-1], affine), flipped)
    task, model_path = _task(tmp_path, labels=CONFIG.labels)
    save_state_dict(task.network, model_path)
    label_file, _ = task({"image": str(flipped)})
    label = nib.load(label_file)
    assert label.shape == image.shape
    np.testing.assert_allclose(label.affine, affine, atol=1e-4)


def test_a_dicom_series_folder_is_segmented_in_its_own_geometry(tmp_path: Path, study: Path) -> None:
    image = nib.load(study)
    series = tmp_path / "series"
    nifti_to_dicom.write_series(np.asarray(image.dataobj), image.affine, series)
    assert len(list(series.glob("*.dcm"))) == image.shape[2]
    task, model_path = _task(tmp_path, labels=CONFIG.labels)
    save_state_dict(task.network, model_path)
    label_file, _ = task({"image": str(series)})
    from_nifti, _ = task({"image": str(study)})
    # A DICOM series is right-handed (slice normal = row x column), so for a left-handed NIfTI the reader stacks the
    # slices the other way round: the same voxels in space on a differently indexed grid. Compare in RAS.
    label = nib.as_closest_canonical(nib.load(label_file))
    expected = nib.as_closest_canonical(nib.load(from_nifti))
    np.testing.assert_allclose(label.affine, expected.affine, atol=1e-3)
    np.testing.assert_array_equal(np.asarray(label.dataobj), np.asarray(expected.dataobj))


def test_uncertainty_region_rejects_a_threshold_outside_zero_to_one(tmp_path: Path, study: Path) -> None:
    task, model_path = _task(tmp_path, cls=UncertaintyRegionInfer, threshold=0.5)
    save_state_dict(task.network, model_path)
    with pytest.raises(ValueError, match="uncertainty_threshold"):
        task({"image": str(study), "uncertainty_threshold": 1.5})
