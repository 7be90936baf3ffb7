"""NRRD labels as 3D Slicer writes them: geometry from LPS to NIfTI's RAS, segments to the app's values by name."""

from __future__ import annotations

import os
from pathlib import Path

import nibabel as nib
import nrrd
import numpy as np
import pytest

from lib.validation.errors import InvalidInputError
from lib.validation.label_formats import label_extension, nrrd_label_as_nifti, viewer_label_as_nifti

LABELS = {"organ": 1, "lesion": 2}


def _write_nrrd(path: Path, data: np.ndarray, segments: dict[str, int] | None = None, space: str = "LPS") -> Path:
    header = {
        "space": {"LPS": "left-posterior-superior", "RAS": "right-anterior-superior"}[space],
        "space directions": np.diag([1.5, 2.0, 3.0]),
        "space origin": np.array([10.0, 20.0, 30.0]),
    }
    for i, (name, value) in enumerate((segments or {}).items()):
        header |= {f"Segment{i}_Name": name, f"Segment{i}_LabelValue": str(value), f"Segment{i}_Layer": "0"}
    nrrd.write(str(path), data, header)
    return path


def _volume() -> np.ndarray:
    data = np.zeros((4, 5, 6), np.uint8)
    data[1, 2, 3] = 1  # in the file: "lesion" is 1, "organ" is 2 (Slicer numbers segments in creation order)
    data[2, 2, 2] = 2
    return data


def test_an_lps_nrrd_lands_on_the_same_points_in_ras_with_values_mapped_by_segment_name(tmp_path: Path) -> None:
    path = _write_nrrd(tmp_path / "l.seg.nrrd", _volume(), {"lesion": 1, "organ": 2})
    out = nrrd_label_as_nifti(str(path), LABELS)
    image = nib.load(out)
    data = np.asarray(image.dataobj)
    assert data[1, 2, 3] == LABELS["lesion"] and data[2, 2, 2] == LABELS["organ"] and data.sum() == 3
    # voxel (1, 2, 3) is at LPS (10 + 1.5, 20 + 4, 30 + 9): RAS (-11.5, -24, 39)
    np.testing.assert_allclose(image.affine @ [1, 2, 3, 1], [-11.5, -24.0, 39.0, 1.0])
    os.unlink(out)


def test_without_segment_names_values_are_kept_and_ras_geometry_is_taken_as_is(tmp_path: Path) -> None:
    out = nrrd_label_as_nifti(str(_write_nrrd(tmp_path / "l.nrrd", _volume(), space="RAS")), LABELS)
    image = nib.load(out)
    assert np.asarray(image.dataobj)[1, 2, 3] == 1
    np.testing.assert_allclose(image.affine @ [1, 2, 3, 1], [11.5, 24.0, 39.0, 1.0])


def test_the_uncertainty_overlay_is_dropped_and_an_unknown_segment_refused(tmp_path: Path) -> None:
    data = _volume()
    kept = nrrd_label_as_nifti(
        str(_write_nrrd(tmp_path / "a.seg.nrrd", data, {"organ": 1, "uncertain": 2})), LABELS, ignored={"uncertain"}
    )
    assert np.asarray(nib.load(kept).dataobj)[2, 2, 2] == 0
    with pytest.raises(InvalidInputError, match="segment 'liver' is not one of this server's labels"):
        nrrd_label_as_nifti(str(_write_nrrd(tmp_path / "b.seg.nrrd", data, {"liver": 1, "organ": 2})), LABELS)


@pytest.mark.parametrize(
    "data, segments, message",
    [
        (np.zeros((2, 4, 5, 6), np.uint8), None, "3D labelmap"),
        (_volume(), {"organ": 1}, r"values \[2\] that none of its named segments holds"),
    ],
)
def test_layers_and_unnamed_values_are_refused(tmp_path: Path, data, segments, message: str) -> None:
    path = tmp_path / "l.seg.nrrd"
    if data.ndim == 4:
        nrrd.write(str(path), data, {"space": "left-posterior-superior"})
    else:
        _write_nrrd(path, data, segments)
    with pytest.raises(InvalidInputError, match=message):
        nrrd_label_as_nifti(str(path), LABELS)


def test_a_file_that_is_no_nrrd_is_refused_and_the_upload_removed(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))  # uploads live in the temporary folder
    upload = tmp_path / "label.seg.nrrd"
    upload.write_bytes(b"not an nrrd")
    with pytest.raises(InvalidInputError, match="not a readable NRRD file"):
        with viewer_label_as_nifti(str(upload), LABELS, (".nii.gz", ".seg.nrrd")):
            pass
    assert not upload.exists()


def test_extensions_are_matched_longest_first_and_others_refused_with_the_list() -> None:
    accepted = (".nii.gz", ".nii", ".seg.nrrd", ".nrrd")
    assert label_extension("/tmp/x.seg.nrrd", accepted) == ".seg.nrrd"
    assert label_extension("/tmp/x.NII.GZ", accepted) == ".nii.gz"
    with pytest.raises(
        InvalidInputError, match=r"label file must be one of \('.nii.gz', '.nii', '.seg.nrrd', '.nrrd'\), got '.png'"
    ):
        label_extension("/tmp/x.png", accepted)


def test_the_converted_file_is_removed_after_the_block(tmp_path: Path) -> None:
    path = _write_nrrd(tmp_path / "l.seg.nrrd", _volume(), {"lesion": 1, "organ": 2})
    with viewer_label_as_nifti(str(path), LABELS, (".seg.nrrd",)) as nifti:
        assert nifti.endswith(".nii.gz") and os.path.exists(nifti)
    assert not os.path.exists(nifti) and path.exists()
