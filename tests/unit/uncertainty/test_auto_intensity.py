"""``intensity: auto``: a CT study is windowed, an MR study z-scored, each by what the study itself says."""

from __future__ import annotations

import logging

import pytest
import torch
from monai.data import MetaTensor
from monai.transforms import NormalizeIntensityd, ScaleIntensityRanged

from lib.tools import demo_data, nifti_to_dicom
from lib.transforms import AutoIntensityd
from lib.transforms.auto_intensity import dicom_modality

CT = ScaleIntensityRanged(keys="image", a_min=-200.0, a_max=400.0, b_min=0.0, b_max=1.0, clip=True)
MRI = NormalizeIntensityd(keys="image", nonzero=True, channel_wise=True)


def _study(values: torch.Tensor, name: str = "s.nii.gz", **meta: object) -> dict:
    return {"image": MetaTensor(values.reshape(1, 2, 2, 1).float(), meta={"filename_or_obj": name, **meta})}


def test_a_study_with_air_is_windowed_as_ct(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        out = AutoIntensityd("image", CT, MRI)(_study(torch.tensor([-1000.0, -200.0, 100.0, 1000.0]), "ct.nii.gz"))
    torch.testing.assert_close(out["image"].flatten(), torch.tensor([0.0, 0.0, 0.5, 1.0]))
    assert "intensity of ct.nii.gz: ct window (minimum value -1000)" in caplog.text


def test_a_study_without_values_below_minus_500_is_z_scored(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        out = AutoIntensityd("image", CT, MRI)(_study(torch.tensor([0.0, 100.0, 200.0, 300.0]), "mr.nii.gz"))
    nonzero = out["image"].flatten()[1:]
    assert float(nonzero.mean()) == pytest.approx(0.0, abs=1e-6) and float(nonzero.std(unbiased=False)) == 1.0
    assert "intensity of mr.nii.gz: z-score (minimum value 0)" in caplog.text


def test_the_choice_is_logged_once_per_study_however_often_it_is_loaded(caplog: pytest.LogCaptureFixture) -> None:
    """An uncached training run loads its studies at every iteration: the log said the same thing 946 times."""
    transform = AutoIntensityd("image", CT, MRI)
    with caplog.at_level(logging.INFO, logger="lib.transforms.auto_intensity"):
        for _ in range(5):
            for name in ("once_a.nii.gz", "once_b.nii.gz"):
                transform(_study(torch.tensor([0.0, 100.0, 200.0, 300.0]), name))
    assert [r.getMessage().split(":")[0] for r in caplog.records if r.levelno == logging.INFO] == [
        "intensity of once_a.nii.gz",
        "intensity of once_b.nii.gz",
    ]


@pytest.mark.parametrize(
    "meta, modality",
    [({"0008|0060": "CT "}, "CT"), ({"00080060": {"vr": "CS", "Value": ["MR"]}}, "MR"), ({}, None)],
)
def test_the_dicom_modality_is_read_as_itk_and_pydicom_name_it(meta: dict, modality: str | None) -> None:
    assert dicom_modality(meta) == modality


def test_the_dicom_modality_wins_over_the_values() -> None:
    """A CT series cropped to soft tissue holds no air, and is still CT."""
    out = AutoIntensityd("image", CT, MRI)(_study(torch.tensor([-200.0, 100.0, 100.0, 400.0]), **{"0008|0060": "CT"}))
    torch.testing.assert_close(out["image"].flatten(), torch.tensor([0.0, 0.5, 0.5, 1.0]))


def test_the_modality_of_a_dicom_series_folder_is_read_from_its_files(tmp_path) -> None:
    """MONAI's ITK reader keeps no DICOM tags: the folder's first file says MR, whatever the values."""
    demo_data.generate(tmp_path / "data", num=1, labeled=0, seed=0, shape=(16, 16, 8))
    nifti_to_dicom.convert_volume(tmp_path / "data" / "study_000.nii.gz", tmp_path / "dicom", modality="MR")
    folder = next(p for p in (tmp_path / "dicom").rglob("*") if p.is_dir() and any(p.glob("*.dcm")))
    assert dicom_modality({"filename_or_obj": str(folder)}) == "MR"
    assert dicom_modality({"filename_or_obj": str(tmp_path / "data" / "study_000.nii.gz")}) is None
