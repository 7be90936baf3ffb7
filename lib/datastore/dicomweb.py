"""MONAI Label's DICOMweb datastore made fit for this app: labels read back from the PACS on their image's grid,
uploads checked before they reach the PACS, segment names from the app's labels, and lists that see new labels."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
import SimpleITK as sitk
from cachetools import TTLCache
from dicomweb_client.session_utils import create_session_from_user_pass
from monailabel.config import settings
from monailabel.datastore.dicom import DICOMwebClientX, DICOMWebDatastore
from monailabel.datastore.local import LocalDatastore
from monailabel.datastore.utils.convert import binary_to_image, dicom_seg_to_itk_image
from monailabel.datastore.utils.dicom import dicom_web_download_series
from monailabel.interfaces.datastore import DefaultLabelTag

from ..monailabel_compat import AtomicIndex
from ..validation.errors import InvalidInputError, check_id
from ..validation.label_formats import NIFTI_EXTENSIONS, NRRD_EXTENSIONS, viewer_label_as_nifti
from ..validation.volumes import check_label_file, volume_header

__all__ = ["ValidatedDICOMWebDatastore", "dicomweb_client", "require_dcmqi", "resample_label_to_image"]

logger = logging.getLogger(__name__)

# Label files a viewer uploads: Slicer's NIfTI or NRRD, OHIF's raw voxels of the image's grid (``label.bin``).
LABEL_EXTENSIONS = NIFTI_EXTENSIONS + NRRD_EXTENSIONS + (".bin",)


def dicomweb_client(url: str) -> DICOMwebClientX:
    """The client MONAI Label makes for a DICOMweb URL (its settings for credentials and URL prefixes)."""
    session = None
    if settings.MONAI_LABEL_DICOMWEB_USERNAME and settings.MONAI_LABEL_DICOMWEB_PASSWORD:
        session = create_session_from_user_pass(
            settings.MONAI_LABEL_DICOMWEB_USERNAME, settings.MONAI_LABEL_DICOMWEB_PASSWORD
        )
    return DICOMwebClientX(
        url=url,
        session=session,
        qido_url_prefix=settings.MONAI_LABEL_QIDO_PREFIX,
        wado_url_prefix=settings.MONAI_LABEL_WADO_PREFIX,
        stow_url_prefix=settings.MONAI_LABEL_STOW_PREFIX,
    )


def require_dcmqi() -> None:
    """Labels are stored as DICOM SEG by dcmqi's ``itkimage2segimage``; MONAI Label would download it at start-up
    (and die without a network). The ``dcmqi`` package of ``requirements.txt`` puts it beside the venv's Python."""
    if shutil.which("itkimage2segimage") is None:
        raise RuntimeError("itkimage2segimage (dcmqi) not found on PATH: pip install dcmqi, or activate the venv")


def resample_label_to_image(label_path: str, image_path: str, out_path: str) -> None:
    """Put a label on its image's voxel grid by nearest neighbour in patient space.

    dcmqi stores only the slices of a DICOM SEG that hold foreground, and MONAI Label reads it back as a volume of
    just those frames: correctly placed, but on a smaller grid than the image, which training would pair with the
    full image without any error. SimpleITK resamples in physical coordinates, as the SEG reader places it.
    """
    image = sitk.ReadImage(image_path)
    label = sitk.ReadImage(label_path)
    on_grid = sitk.Resample(label, image, sitk.Transform(), sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8)
    sitk.WriteImage(on_grid, out_path, True)


class ValidatedDICOMWebDatastore(AtomicIndex, DICOMWebDatastore):
    """Studies from a DICOMweb PACS (MONAI Label's datastore, local cache included), with what the app needs:

    - a label is checked against its series (shape, grid, declared values, not empty) *before* it is stored in the
      PACS as DICOM SEG, and refused with a 4xx otherwise;
    - the SEG's segments are named after the app's ``labels`` (MONAI Label names them by position in the request's
      ``label_info``, which misnames them when a label value is absent);
    - a label read from the PACS is put back on its image's voxel grid (see :func:`resample_label_to_image`);
    - the lists of series and of labeled series are kept ``cache_seconds`` (MONAI Label: 2 hours, so a new label
      left its series "unlabeled" for scoring and for the strategy), and forgotten when this server stores a label.
    """

    def __init__(
        self,
        client: Any,
        labels: Mapping[str, int],
        max_voxels: int,
        cache_seconds: int,
        **kwargs: Any,
    ) -> None:
        self.label_names = {value: name for name, value in labels.items()}
        self.max_voxels = max_voxels
        self._lists: TTLCache = TTLCache(maxsize=4, ttl=cache_seconds)
        super().__init__(client, **kwargs)
        self._watch_renames()

    def _cached(self, key: str, fetch: Callable[[DICOMWebDatastore], list[str]]) -> list[str]:
        value = self._lists.get(key)
        if value is None:
            value = self._lists[key] = fetch(self)  # with cache_seconds 0 it expires at once: keep our own reference
        return list(value)

    def list_images(self) -> list[str]:
        return self._cached("images", DICOMWebDatastore.list_images.__wrapped__)

    def get_labeled_images(self, label_tag: str | None = None, labels: list[str] | None = None) -> list[str]:
        return self._cached("labeled", DICOMWebDatastore.get_labeled_images.__wrapped__)

    def _require_series(self, image_id: object) -> str:
        image_id = check_id(image_id, "image id")
        if image_id not in self.list_images():
            raise InvalidInputError(404, f"image {image_id!r} is not a series of this PACS (or not in its filter)")
        return image_id

    def save_label(
        self, image_id: str, label_filename: str, label_tag: str, label_info: dict[str, Any], label_id: str = ""
    ) -> str:
        labels = {name: value for value, name in self.label_names.items()}
        with viewer_label_as_nifti(label_filename, labels, LABEL_EXTENSIONS) as label_filename:
            image_id = self._require_series(image_id)
            check_id(label_tag, "label tag")
            image_uri = self.get_image_uri(image_id)
            if label_filename.endswith(".bin"):
                with self._bin_to_nifti(label_filename, image_uri) as nifti:
                    return self._store_label(image_id, nifti, image_uri, label_tag, label_info)
            return self._store_label(image_id, label_filename, image_uri, label_tag, label_info)

    def _store_label(
        self, image_id: str, label_filename: str, image_uri: str, label_tag: str, label_info: dict[str, Any]
    ) -> str:
        """Checked against its series, then stored as DICOM SEG with the app's segment names."""
        data = check_label_file(label_filename, image_uri, image_id, self.label_names.keys(), self.max_voxels)
        present = sorted(int(v) for v in np.unique(data) if v)
        segments = [{"name": self.label_names[v], "model_name": f"{label_tag} label"} for v in present]
        try:
            return super().save_label(
                image_id, label_filename, label_tag, {**(label_info or {}), "label_info": segments}
            )
        finally:
            self._lists.clear()

    @contextmanager
    def _bin_to_nifti(self, label_filename: str, image_uri: str) -> Iterator[str]:
        """OHIF uploads the label as raw uint8 voxels of the image's grid; MONAI Label reshapes them unchecked."""
        voxels = int(np.prod(volume_header(image_uri, "image").shape))
        size = os.path.getsize(label_filename)
        if size != voxels:
            raise InvalidInputError(422, f"label.bin has {size} bytes, its image {voxels} voxels: they must match")
        converted = binary_to_image(image_uri, label_filename)
        try:
            yield converted
        finally:
            os.unlink(converted)

    def get_label_uri(self, label_id: str, label_tag: str, image_id: str = "") -> str:
        """A final label of ``image_id`` from the PACS SEG series ``label_id``, cached on the image's grid."""
        if label_tag != DefaultLabelTag.FINAL or not image_id:
            return super().get_label_uri(label_id, label_tag, image_id)
        cached = LocalDatastore.get_label_uri(self, image_id, label_tag)
        if cached and os.path.exists(cached):
            return cached
        seg_dir = os.path.join(self._datastore.label_path(label_tag), label_id)
        if not os.path.isdir(seg_dir) or not os.listdir(seg_dir):
            dicom_web_download_series(None, label_id, seg_dir, self._client, self._fetch_by_frame)
        seg_volume = dicom_seg_to_itk_image(seg_dir)
        on_grid = os.path.join(tempfile.mkdtemp(prefix="label-on-grid-"), f"{image_id}.nii.gz")
        try:
            resample_label_to_image(seg_volume, self.get_image_uri(image_id), on_grid)
            LocalDatastore.save_label(self, image_id, on_grid, label_tag, self._dicom_info(label_id))
        finally:
            if seg_volume and os.path.exists(seg_volume):
                os.unlink(seg_volume)
            shutil.rmtree(os.path.dirname(on_grid), ignore_errors=True)
            shutil.rmtree(seg_dir, ignore_errors=True)
        return LocalDatastore.get_label_uri(self, image_id, label_tag)
