"""Pre-label agreement on hand-made volumes and on a real model's segmentation, and the rounds a team's submissions
make, on a real local datastore."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from monailabel.datastore.local import LocalDatastore

from lib.activelearning.prelabel_agreement import (
    CORRECTED_ML_KEY,
    PRELABEL_DICE_KEY,
    corrected_ml,
    label_agreement,
    record_prelabel_agreement,
)
from lib.activelearning.rounds import TrainingRun, labeling_rounds, training_runs
from lib.config import load_config
from lib.infers import UncertaintyContrastiveInfer
from lib.networks import DualSubnetSegmenter
from lib.tools import demo_data
from lib.tools.weights import save_state_dict


def test_agreement_is_dice_averaged_over_the_labels_either_volume_holds() -> None:
    prediction = np.zeros((4, 4, 4), np.uint8)
    label = np.zeros_like(prediction)
    prediction[0, 0, :4] = 1  # 4 organ voxels, 2 of them in the label too
    label[0, 0, 2:4] = 1
    label[0, 0, :2] = 0
    label[3, 3, 3] = 2  # a lesion only the annotator drew
    # organ: 2 * 2 / (4 + 2) = 2/3; lesion: 0; label 3 in neither volume: not counted
    assert label_agreement(prediction, label, [1, 2, 3]) == pytest.approx((2 / 3 + 0.0) / 2)
    assert label_agreement(label, label, [1, 2]) == pytest.approx(1.0)
    assert label_agreement(np.zeros((2, 2, 2)), np.zeros((2, 2, 2)), [1, 2]) is None
    with pytest.raises(ValueError, match="same grid"):
        label_agreement(np.zeros((2, 2, 2)), np.zeros((2, 2, 3)), [1])


def test_corrected_volume_counts_each_changed_voxel_once_in_millilitres() -> None:
    prediction = np.zeros((4, 4, 4), np.uint8)
    label = prediction.copy()
    prediction[0, 0, :3] = 1  # the annotator erases 3 organ voxels ...
    label[1, 1, 1] = 2  # ... paints 1 lesion voxel ...
    prediction[2, 2, 2], label[2, 2, 2] = 1, 2  # ... and relabels 1 organ voxel as lesion: 5 voxels changed
    assert corrected_ml(prediction, label, voxel_mm3=8.0) == pytest.approx(5 * 8.0 / 1000)
    assert corrected_ml(label, label, voxel_mm3=8.0) == 0.0
    with pytest.raises(ValueError, match="same grid"):
        corrected_ml(np.zeros((2, 2, 2)), np.zeros((2, 2, 3)), 1.0)


def test_a_label_equal_to_the_models_own_segmentation_agrees_fully(tmp_path: Path) -> None:
    """The model's segmentation and the stored label are compared voxel for voxel on the study's grid (the demo
    studies are LAS: a flipped comparison would not give 1)."""
    demo_data.generate(tmp_path / "data", num=2, labeled=0, seed=4, shape=(20, 20, 16))
    datastore = LocalDatastore(str(tmp_path / "data"), auto_reload=False)
    config = load_config({"width": "2", "patch_size": "[16, 16, 16]"})
    network = DualSubnetSegmenter(in_channels=1, num_classes=config.num_classes, width=config.width)
    model = tmp_path / "model" / "m.pt"
    task = UncertaintyContrastiveInfer(
        path=[str(model)], network=network, config=config, labels=config.labels, description="test"
    )
    image_id = sorted(datastore.list_images())[0]
    assert record_prelabel_agreement(task, datastore, image_id) is None  # no model yet: no pre-label
    save_state_dict(network, model)
    segmentation, _ = task({"image": datastore.get_image_uri(image_id)})
    values = np.asarray(nib.load(segmentation).dataobj)
    assert len(np.unique(values)) > 1, "a uniform map would not test the grid"
    shutil.copy(segmentation, tmp_path / "seg.nii.gz")
    datastore.save_label(image_id, str(tmp_path / "seg.nii.gz"), "final", {})
    assert record_prelabel_agreement(task, datastore, image_id) == pytest.approx(1.0)
    assert datastore.get_image_info(image_id)[PRELABEL_DICE_KEY] == pytest.approx(1.0)
    assert datastore.get_image_info(image_id)[CORRECTED_ML_KEY] == 0.0
    # The same label flipped along x no longer agrees: the comparison sees the voxels' places.
    flipped = nib.load(tmp_path / "seg.nii.gz")
    nib.save(nib.Nifti1Image(values[::-1].copy(), flipped.affine), tmp_path / "flipped.nii.gz")
    datastore.save_label(image_id, str(tmp_path / "flipped.nii.gz"), "final", {})
    assert record_prelabel_agreement(task, datastore, image_id) < 0.99
    # Every voxel whose value the flip changed was corrected, at the study's voxel volume.
    voxel_mm3 = abs(np.linalg.det(flipped.affine[:3, :3]))
    changed = np.count_nonzero(values[::-1] != values) * voxel_mm3 / 1000
    assert datastore.get_image_info(image_id)[CORRECTED_ML_KEY] == pytest.approx(changed)


def _labeled_store(
    tmp_path: Path, submissions: list[tuple[float, float | None, float | None]], corrected: float = 1.5
) -> LocalDatastore:
    demo_data.generate(tmp_path / "data", num=len(submissions) + 1, labeled=0, seed=2, shape=(8, 8, 8))
    datastore = LocalDatastore(str(tmp_path / "data"), auto_reload=False)
    for image_id, (ts, dice, seconds) in zip(sorted(datastore.list_images()), submissions):
        truth = tmp_path / "data_groundtruth" / f"{image_id}.nii.gz"
        datastore.save_label(image_id, str(truth), "final", {})
        datastore.update_image_info(
            image_id,
            {
                "submitted_ts": ts,
                PRELABEL_DICE_KEY: dice,
                "seconds_from_handout": seconds,
                CORRECTED_ML_KEY: None if dice is None else corrected,
            },
        )
    return datastore


def test_rounds_split_submissions_at_each_training_start(tmp_path: Path) -> None:
    submissions = [(10, None, 60), (20, None, None), (110, 0.5, 100), (120, 0.7, 300), (210, 0.95, 40)]
    datastore = _labeled_store(tmp_path, submissions)
    runs = [TrainingRun(100.0, 0.61), TrainingRun(200.0, 0.78)]
    report = labeling_rounds(datastore, runs, threshold=0.9, window=2)
    rounds = report["rounds"]
    assert [r["submitted"] for r in rounds] == [2, 2, 1]
    assert [r["labeled"] for r in rounds] == [2, 4, 5]
    assert [r["validation_dice"] for r in rounds] == [0.61, 0.78, None]
    assert [r["trained"] for r in rounds] == [True, True, False]
    assert rounds[0]["prelabel_dice_mean"] is None and rounds[1]["prelabel_dice_mean"] == pytest.approx(0.6)
    assert rounds[0]["annotation_seconds_median"] == 60 and rounds[1]["annotation_seconds_median"] == 200
    # Effort: 1.5 mL corrected per submission with a pre-label (none before the first model).
    assert [r["corrected_ml"] for r in rounds] == [0.0, 3.0, 1.5]
    assert [r["corrected_ml_so_far"] for r in rounds] == [0.0, 3.0, 4.5]
    assert report["stop_signal"]["met"] is False  # 0.7 then 0.95: not both >= 0.9
    assert report["stop_signal"]["recent_prelabel_dice"] == [0.7, 0.95]


def test_the_stop_signal_says_so_once_the_last_submissions_all_agree(tmp_path: Path) -> None:
    datastore = _labeled_store(tmp_path, [(10, 0.5, None), (20, 0.93, None), (30, 0.97, None)])
    report = labeling_rounds(datastore, [], threshold=0.9, window=2)
    assert report["stop_signal"]["met"] is True
    assert "accepted nearly unchanged" in report["stop_signal"]["message"]
    assert labeling_rounds(datastore, [], threshold=0.9, window=3)["stop_signal"]["met"] is False


def test_training_runs_are_read_from_the_publishers_stats_files(tmp_path: Path) -> None:
    for run, (start, best) in {"train_01": (200, 0.8), "train_02": (100, -1)}.items():
        (tmp_path / run).mkdir()
        (tmp_path / run / f"stats_{start}.json").write_text(json.dumps({"start_ts": start, "best_metric": best}))
    assert training_runs(str(tmp_path)) == [TrainingRun(100.0, None), TrainingRun(200.0, 0.8)]


def test_each_labels_dice_of_the_published_model_is_read_per_run(tmp_path: Path) -> None:
    (tmp_path / "train_01").mkdir()
    metrics = {"val_mean_dice": 0.6, "val_white_matter_mean_dice": 0.9, "val_lesion_mean_dice": 0.3, "other": 1.0}
    stats = {"start_ts": 100, "best_metric": 0.6, "published_model_metrics": metrics}
    (tmp_path / "train_01" / "stats_100.json").write_text(json.dumps(stats))
    runs = training_runs(str(tmp_path))
    assert runs == [TrainingRun(100.0, 0.6, {"white_matter": 0.9, "lesion": 0.3})]
    report = labeling_rounds(_labeled_store(tmp_path / "store", []), runs, threshold=0.9, window=2)
    assert report["rounds"][0]["validation_dice_per_label"] == {"white_matter": 0.9, "lesion": 0.3}
