"""The infer request check accepts what the viewers send and refuses what the app cannot write."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from monailabel.datastore.local import LocalDatastore

from lib.server.infer_request import validate_infer_request
from lib.validation.errors import InvalidInputError

# What OHIF's MONAI Label panel adds to an infer request (its own output format).
OHIF_OPTIONS = {"result_extension": ".nrrd", "result_dtype": "uint16", "result_compress": False}


@pytest.fixture
def datastore(tmp_path: Path) -> LocalDatastore:
    nib.save(nib.Nifti1Image(np.zeros((8, 8, 4), np.float32), np.eye(4)), tmp_path / "a.nii.gz")
    return LocalDatastore(str(tmp_path))


def test_ohifs_output_options_are_accepted(datastore: LocalDatastore) -> None:
    validate_infer_request({"model": "m", "image": "a", **OHIF_OPTIONS}, datastore, {"m": None}, max_voxels=1000)


@pytest.mark.parametrize("extension", [".png", ".mha", "nrrd"])
def test_an_output_format_the_writer_does_not_serve_is_refused(datastore: LocalDatastore, extension: str) -> None:
    request = {"model": "m", "image": "a", "result_extension": extension}
    with pytest.raises(InvalidInputError, match="'.nii.gz', '.nii' or '.nrrd'") as refused:
        validate_infer_request(request, datastore, {"m": None}, max_voxels=1000)
    assert refused.value.status_code == 422
