"""MONAI Label's local datastore with every upload checked before it is stored, and every write atomic."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from typing import Any

from filelock import FileLock
from monailabel.datastore.local import DataModel, ImageLabelModel, LocalDatastore

from ..atomic_write import atomic_copy
from ..monailabel_compat import AtomicIndex
from ..validation.errors import InvalidInputError, check_id
from ..validation.label_formats import NIFTI_EXTENSIONS, NRRD_EXTENSIONS, viewer_label_as_nifti
from ..validation.volumes import check_label_file, read_volume, remove_upload

__all__ = ["LABEL_EXTENSIONS", "ValidatedLocalDatastore"]

LABEL_EXTENSIONS = NIFTI_EXTENSIONS + NRRD_EXTENSIONS

logger = logging.getLogger(__name__)


class ValidatedLocalDatastore(AtomicIndex, LocalDatastore):
    """Refuses, with a 4xx and before anything changes, ids and tags that could leave the datastore, files that are
    no readable 3D NIfTI or are larger than ``max_voxels``, and labels that do not fit their image (shape, affine,
    declared label values, not empty). Images, labels and the datastore JSON are written to a temporary file and
    renamed, so a SIGKILL leaves the previous or the new version, never half a file.
    """

    def __init__(self, datastore_path: str, labels: Mapping[str, int], max_voxels: int, **kwargs: Any) -> None:
        self.labels = dict(labels)
        self.max_voxels = max_voxels
        super().__init__(datastore_path, **kwargs)
        self._watch_renames()

    def _require_image(self, image_id: object) -> str:
        image_id = check_id(image_id, "image id")
        if image_id not in self._datastore.objects:
            raise InvalidInputError(404, f"image {image_id!r} is not in the datastore")
        return image_id

    def add_image(self, image_id: str, image_filename: str, image_info: dict[str, Any]) -> str:
        try:
            file_id, ext = self._to_id(os.path.basename(image_filename))
            image_id = check_id(image_id or file_id, "image id")
            if image_id in self._datastore.objects:
                # Replacing it would leave its labels on another image's grid.
                raise InvalidInputError(409, f"image {image_id!r} is already in the datastore; remove it first")
            if ext not in (".nii.gz", ".nii"):
                raise InvalidInputError(422, f"image file must be .nii or .nii.gz, got {ext!r}")
            read_volume(image_filename, "image", self.max_voxels)
        except InvalidInputError:
            remove_upload(image_filename)
            raise
        name = self._filename(image_id, ext)
        with FileLock(self._lock_file):
            atomic_copy(image_filename, os.path.join(self._datastore.image_path(), name))
            info = {**(image_info or {}), "ts": int(time.time()), "name": name}
            self._datastore.objects[image_id] = ImageLabelModel(image=DataModel(info=info, ext=ext))
            self._update_datastore_file(lock=False)
        logger.info("Added image %s", image_id)
        return image_id

    def save_label(self, image_id: str, label_filename: str, label_tag: str, label_info: dict[str, Any]) -> str:
        with viewer_label_as_nifti(label_filename, self.labels, LABEL_EXTENSIONS) as label_filename:
            image_id = self._require_image(image_id)
            check_id(label_tag, "label tag")
            check_label_file(
                label_filename, self.get_image_uri(image_id), image_id, self.labels.values(), self.max_voxels
            )
            return self._store_label(image_id, label_filename, label_tag, label_info)

    def _store_label(self, image_id: str, label_filename: str, label_tag: str, label_info: dict[str, Any]) -> str:
        _, ext = self._to_id(os.path.basename(label_filename))
        label_dir = self._datastore.label_path(label_tag)
        name = self._filename(image_id, ext)
        with FileLock(self._lock_file):
            os.makedirs(label_dir, exist_ok=True)
            atomic_copy(label_filename, os.path.join(label_dir, name))
            info = {**(label_info or {}), "ts": int(time.time()), "name": name}
            self._datastore.objects[image_id].labels[label_tag] = DataModel(info=info, ext=ext)
            self._update_datastore_file(lock=False)
        logger.info("Saved label %s (%s)", image_id, label_tag)
        return image_id

    def remove_image(self, image_id: str) -> None:
        super().remove_image(self._require_image(image_id))

    def remove_label(self, label_id: str, label_tag: str) -> None:
        self._require_image(label_id)
        check_id(label_tag, "label tag")
        if self._datastore.label(label_id, label_tag) is None:
            raise InvalidInputError(404, f"image {label_id!r} has no label tagged {label_tag!r}")
        super().remove_label(label_id, label_tag)

    def update_image_info(self, image_id: str, info: dict[str, Any]) -> None:
        super().update_image_info(self._require_image(image_id), info)

    def update_label_info(self, label_id: str, label_tag: str, info: dict[str, Any]) -> None:
        self._require_image(label_id)
        if self._datastore.label(label_id, label_tag) is None:
            raise InvalidInputError(404, f"image {label_id!r} has no label tagged {label_tag!r}")
        super().update_label_info(label_id, label_tag, info)
