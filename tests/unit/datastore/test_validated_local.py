"""The validating datastore without a server: refused uploads leave no temporary file, writes are atomic."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import nibabel as nib
import nrrd
import numpy as np
import pytest

from lib.atomic_write import atomic_replace, atomic_write_text
from lib.datastore import ValidatedLocalDatastore
from lib.validation.errors import InvalidInputError


@pytest.fixture
def datastore(tmp_path: Path) -> ValidatedLocalDatastore:
    studies = tmp_path / "studies"
    studies.mkdir()
    nib.save(nib.Nifti1Image(np.zeros((8, 8, 4), np.float32), np.eye(4)), studies / "a.nii.gz")
    return ValidatedLocalDatastore(str(studies), labels={"organ": 1, "lesion": 2}, max_voxels=1000)


def _upload(data: np.ndarray) -> str:
    """A file where MONAI Label's REST layer puts an upload: the system's temporary folder."""
    path = tempfile.NamedTemporaryFile(suffix=".nii.gz", delete=False).name
    nib.save(nib.Nifti1Image(data, np.eye(4)), path)
    return path


def test_a_refused_upload_is_deleted_from_the_temporary_folder(datastore: ValidatedLocalDatastore) -> None:
    upload = _upload(np.zeros((8, 8, 4), np.uint8))  # empty: refused
    with pytest.raises(InvalidInputError, match="empty"):
        datastore.save_label("a", upload, "final", {})
    assert not os.path.exists(upload)


def test_a_refused_file_outside_the_temporary_folder_is_left_alone(datastore, tmp_path: Path) -> None:
    own = tmp_path / "mine.nii.gz"
    nib.save(nib.Nifti1Image(np.full((8, 8, 4), 3, np.uint8), np.eye(4)), own)
    with pytest.raises(InvalidInputError, match="outside the declared labels"):
        datastore.save_label("a", str(own), "final", {})
    assert own.exists()


def test_an_accepted_label_is_stored_and_registered_without_temporary_files(datastore, tmp_path: Path) -> None:
    label = np.zeros((8, 8, 4), np.uint8)
    label[2:4, 2:4, 1:3] = 2
    upload = _upload(label)
    assert datastore.save_label("a", upload, "final", {}) == "a"
    os.remove(upload)
    studies = tmp_path / "studies"
    assert (studies / "labels" / "final" / "a.nii.gz").exists()
    assert json.loads((studies / "datastore_v2.json").read_text())["objects"]["a"]["labels"]["final"]
    assert not [p for p in studies.rglob(".*.tmp")]


def test_an_atomic_write_that_fails_keeps_the_old_content(tmp_path: Path) -> None:
    target = tmp_path / "datastore_v2.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_replace(target) as tmp:
            tmp.write_text("half of the new")
            raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["datastore_v2.json"]
    atomic_write_text(target, "new")
    assert target.read_text() == "new"


def test_a_slicer_seg_nrrd_label_is_stored_as_nifti_with_the_apps_values(datastore, tmp_path: Path) -> None:
    """Image a.nii.gz has the identity affine (RAS); Slicer writes the same grid in LPS, its segments in its order."""
    label = np.zeros((8, 8, 4), np.uint8)
    label[2:4, 2:4, 1:3] = 1  # "lesion" is the file's 1
    header = {
        "space": "left-posterior-superior",
        "space directions": np.diag([-1.0, -1.0, 1.0]),  # RAS identity seen from LPS
        "space origin": np.zeros(3),
        "Segment0_Name": "lesion",
        "Segment0_LabelValue": "1",
    }
    upload = tempfile.NamedTemporaryFile(suffix=".seg.nrrd", delete=False).name
    nrrd.write(upload, label, header)
    assert datastore.save_label("a", upload, "final", {}) == "a"
    os.remove(upload)
    stored = nib.load(tmp_path / "studies" / "labels" / "final" / "a.nii.gz")
    assert np.asarray(stored.dataobj)[2, 2, 1] == 2 and np.asarray(stored.dataobj).sum() == 2 * 8


def test_a_label_of_a_format_the_app_cannot_read_is_refused_naming_the_accepted_ones(datastore) -> None:
    upload = tempfile.NamedTemporaryFile(suffix=".png", delete=False).name
    with pytest.raises(
        InvalidInputError, match=r"label file must be one of \('.nii.gz', '.nii', '.seg.nrrd', '.nrrd'\)"
    ):
        datastore.save_label("a", upload, "final", {})
    assert not os.path.exists(upload)
