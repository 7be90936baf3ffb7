"""Labels read back from DICOM SEG hold only the slices with foreground: they must be put back on the image's grid."""

from __future__ import annotations

import nibabel as nib
import numpy as np

from lib.datastore.dicomweb import resample_label_to_image

AFFINE = np.array([[-1.5, 0.0, 0.0, 20.0], [0.0, 1.2, 0.0, -10.0], [0.0, 0.0, 2.0, 5.0], [0.0, 0.0, 0.0, 1.0]])


def _label(shape: tuple[int, int, int]) -> np.ndarray:
    label = np.zeros(shape, np.uint8)
    label[2:6, 3:9, 3:5] = 1
    label[4, 5, 4] = 2
    return label


def test_a_label_cropped_to_its_foreground_slices_is_put_back_voxel_for_voxel(tmp_path) -> None:
    full = _label((10, 12, 8))
    nib.save(nib.Nifti1Image(np.zeros(full.shape, np.int16), AFFINE), tmp_path / "image.nii.gz")
    # What MONAI Label reads from a dcmqi SEG: slices 3 and 4 only, placed by their position in patient space.
    cropped_affine = AFFINE.copy()
    cropped_affine[:3, 3] = (AFFINE @ [0, 0, 3, 1])[:3]
    nib.save(nib.Nifti1Image(full[:, :, 3:5], cropped_affine), tmp_path / "cropped.nii.gz")

    resample_label_to_image(
        str(tmp_path / "cropped.nii.gz"), str(tmp_path / "image.nii.gz"), str(tmp_path / "out.nii.gz")
    )

    out = nib.load(tmp_path / "out.nii.gz")
    assert out.shape == full.shape
    np.testing.assert_allclose(out.affine, AFFINE, atol=1e-4)
    np.testing.assert_array_equal(np.asarray(out.dataobj), full)


def test_a_label_on_the_same_grid_with_its_slices_in_reverse_order_is_reordered(tmp_path) -> None:
    """A DICOM reader rebuilds a left-handed NIfTI's series with its slices reversed: same voxels, other order."""
    full = _label((10, 12, 8))
    nib.save(nib.Nifti1Image(np.zeros(full.shape, np.int16), AFFINE), tmp_path / "image.nii.gz")
    flipped_affine = AFFINE @ np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, -1, 7], [0, 0, 0, 1]])
    nib.save(nib.Nifti1Image(full[:, :, ::-1].copy(), flipped_affine), tmp_path / "reversed.nii.gz")

    resample_label_to_image(
        str(tmp_path / "reversed.nii.gz"), str(tmp_path / "image.nii.gz"), str(tmp_path / "out.nii.gz")
    )

    np.testing.assert_array_equal(np.asarray(nib.load(tmp_path / "out.nii.gz").dataobj), full)
