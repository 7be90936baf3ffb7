"""How much an annotator changed the model's pre-label: Dice between the current model's segmentation of a study and
the final label submitted for it, and the volume that differs between the two. Near 1 for submission after
submission means the labels no longer teach the model much: the signal that labeling more studies has stopped paying
off. The corrected volume is what the annotator's correction cost, in the units of the study (mL): a study the model
already segments well costs little, however many studies were labeled."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np
import torch
from monai.metrics import compute_dice
from monai.transforms import LoadImage
from monailabel.datastore.dicom import DICOMWebDatastore
from monailabel.interfaces.datastore import Datastore, DefaultLabelTag

from ..infers import NoTrainedModelError, UncertaintyContrastiveInfer

__all__ = ["CORRECTED_ML_KEY", "PRELABEL_DICE_KEY", "corrected_ml", "label_agreement", "record_prelabel_agreement"]

logger = logging.getLogger(__name__)

PRELABEL_DICE_KEY = "prelabel_dice"
CORRECTED_ML_KEY = "corrected_ml"


def label_agreement(prediction: np.ndarray, label: np.ndarray, values: Iterable[int]) -> float | None:
    """Dice per label value, averaged over the values that either volume holds (a label both leave out is no
    agreement to count); None when neither holds any."""
    prediction, label = np.asarray(prediction), np.asarray(label)
    if prediction.shape != label.shape:
        raise ValueError(f"prediction {prediction.shape} and label {label.shape} must be on the same grid")
    present = [v for v in values if (prediction == v).any() or (label == v).any()]
    if not present:
        return None
    pred = torch.stack([torch.as_tensor(prediction == v) for v in present])[None].float()
    truth = torch.stack([torch.as_tensor(label == v) for v in present])[None].float()
    return float(compute_dice(pred, truth, include_background=True, ignore_empty=False).mean())


def corrected_ml(prediction: np.ndarray, label: np.ndarray, voxel_mm3: float) -> float:
    """The volume (mL) of the voxels whose value the annotator's label changed from the pre-label: painted, erased or
    relabeled, each voxel once."""
    prediction, label = np.asarray(prediction), np.asarray(label)
    if prediction.shape != label.shape:
        raise ValueError(f"prediction {prediction.shape} and label {label.shape} must be on the same grid")
    return float(np.count_nonzero(prediction != label) * voxel_mm3 / 1000.0)


def record_prelabel_agreement(
    infer_task: UncertaintyContrastiveInfer, datastore: Datastore, image_id: str
) -> float | None:
    """Segment the study with the model inference serves now and store its agreement with the study's final label
    (``prelabel_dice`` in the image info) and the volume the label changed (``corrected_ml``). Without a trained model
    there is no pre-label: nothing is stored."""
    try:
        _, data = infer_task({"image": datastore.get_image_uri(image_id), "skip_writer": True, "logging": "warning"})
    except NoTrainedModelError:
        return None
    final = DefaultLabelTag.FINAL.value
    if isinstance(datastore, DICOMWebDatastore):
        # With the image's id too: the copy on the series grid that the datastore kept at upload (a PACS label's own
        # id is its SEG series).
        label_path = datastore.get_label_uri(image_id, final, image_id)
    else:
        label_path = datastore.get_label_uri(image_id, final)
    label = LoadImage(image_only=True)(label_path)
    prediction, label_values = np.asarray(data["pred"]), np.asarray(label)
    dice = label_agreement(prediction, label_values, infer_task.labels.values())
    voxel_mm3 = float(np.abs(np.linalg.det(np.asarray(label.affine)[:3, :3])))
    changed = corrected_ml(prediction, label_values, voxel_mm3)
    datastore.update_image_info(image_id, {PRELABEL_DICE_KEY: dice, CORRECTED_ML_KEY: changed})
    logger.info("Pre-label agreement of %s: Dice %s, %.2f mL corrected", image_id, dice, changed)
    return dice
