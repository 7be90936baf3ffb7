"""Scoring and the ``uncertainty`` strategy on a real local datastore, real NIfTI studies and a real model file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from monai.transforms import Compose
from monailabel.datastore.local import LocalDatastore

from lib.activelearning import LeaseBook, MostUncertain
from lib.activelearning.batch_selection import typical_batch
from lib.config import AppConfig, load_config
from lib.infers import EMBEDDING_KEY, WITH_SUBNETS, NoTrainedModelError, UncertaintyContrastiveInfer
from lib.networks import DualSubnetSegmenter
from lib.scoring import DISAGREEMENT_KEY, SCORE_KEY, SCORE_TS_KEY, StudyScoring
from lib.scoring.study_scores import SCORE_GRID_KEY
from lib.tools import demo_data
from lib.tools.weights import save_state_dict

TINY = {"width": "2", "patch_size": "[16, 16, 16]"}
CONFIG = load_config(TINY)


def _strategy(infer_task: UncertaintyContrastiveInfer, score_key: str) -> MostUncertain:
    return MostUncertain(infer_task, score_key, LeaseBook(lease_seconds=1800))


@pytest.fixture()
def datastore(tmp_path: Path) -> LocalDatastore:
    demo_data.generate(tmp_path / "data", num=4, labeled=1, seed=3, shape=(20, 20, 16))
    return LocalDatastore(str(tmp_path / "data"), auto_reload=False)


def _infer_task(tmp_path: Path, config: AppConfig) -> UncertaintyContrastiveInfer:
    network = DualSubnetSegmenter(in_channels=1, num_classes=config.num_classes, width=config.width)
    model_path = tmp_path / "model" / "uncertainty_contrastive.pt"
    return UncertaintyContrastiveInfer(
        path=[str(tmp_path / "model" / "pretrained.pt"), str(model_path)],
        network=network,
        config=config,
        labels=config.labels,
        description="test",
    )


@pytest.fixture()
def infer_task(tmp_path: Path) -> UncertaintyContrastiveInfer:
    return _infer_task(tmp_path, CONFIG)


def _publish(task: UncertaintyContrastiveInfer, mtime: float | None = None) -> None:
    path = save_state_dict(task.network, Path(task.path[-1]))
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def test_scoring_without_a_model_refuses_with_a_clear_message(datastore, infer_task) -> None:
    with pytest.raises(NoTrainedModelError, match="No trained model yet") as error:
        StudyScoring(infer_task)({}, datastore)
    assert error.value.status_code == 409


def test_scoring_stores_a_score_and_the_model_timestamp_for_each_unlabeled_study(datastore, infer_task) -> None:
    _publish(infer_task, mtime=1_000_000.0)
    summary = StudyScoring(infer_task)({}, datastore)
    unlabeled = datastore.get_unlabeled_images()
    assert summary["executed"] == len(unlabeled) == 3
    for image_id in unlabeled:
        info = datastore.get_image_info(image_id)
        assert 0.0 <= info[SCORE_KEY] <= 1.0 and 0.0 <= info[DISAGREEMENT_KEY] <= 1.0
        assert info[SCORE_TS_KEY] == 1_000_000.0
    assert SCORE_KEY not in datastore.get_image_info(datastore.get_labeled_images()[0])


def test_scoring_stores_each_studys_bottleneck_description(datastore, infer_task) -> None:
    """Both encoders' pooled deepest features, each half of unit length: what a diverse batch compares studies by."""
    _publish(infer_task)
    StudyScoring(infer_task)({}, datastore)
    for image_id in datastore.get_unlabeled_images():
        description = torch.tensor(datastore.get_image_info(image_id)[EMBEDDING_KEY])
        with torch.no_grad():
            deepest = infer_task.network.eval().vnet.encoder(torch.zeros(1, 1, 16, 16, 16))[-1]
        assert description.numel() == 2 * deepest.shape[1]
        for half in description.chunk(2):
            assert float(half.norm()) == pytest.approx(1.0, abs=1e-4)


def test_scoring_skips_studies_scored_by_the_same_model_and_redoes_them_for_a_new_one(datastore, infer_task) -> None:
    scoring = StudyScoring(infer_task)
    _publish(infer_task, mtime=1_000_000.0)
    scoring({}, datastore)
    assert scoring({}, datastore)["executed"] == 0
    _publish(infer_task, mtime=2_000_000.0)
    again = scoring({}, datastore)
    assert again["executed"] == 3 and again["skipped"] == 0


def test_score_all_also_scores_labeled_studies(datastore, infer_task) -> None:
    _publish(infer_task)
    assert StudyScoring(infer_task)({"score_all": True}, datastore)["executed"] == 4


def test_scoring_matches_the_mean_uncertainty_that_inference_reports(datastore, infer_task) -> None:
    """Scoring runs both subnets side by side; the averaged prediction, and so the entropy, must be inference's."""
    _publish(infer_task)
    StudyScoring(infer_task)({}, datastore)
    image_id = datastore.get_unlabeled_images()[0]
    _, result = infer_task({"image": datastore.get_image_uri(image_id)})
    assert result[SCORE_KEY] == pytest.approx(datastore.get_image_info(image_id)[SCORE_KEY], rel=1e-5)


def test_score_downsample_resamples_only_what_scoring_sees_to_the_coarser_grid(datastore, tmp_path: Path) -> None:
    coarse_task = _infer_task(tmp_path, CONFIG.model_copy(update={"score_downsample": 2}))
    image = {"image": datastore.get_image_uri(datastore.get_unlabeled_images()[0])}
    inferred = Compose(coarse_task.pre_transforms({}))(dict(image))["image"]
    scored = Compose(coarse_task.pre_transforms({WITH_SUBNETS: True}))(dict(image))["image"]
    default = Compose(_infer_task(tmp_path, CONFIG).pre_transforms({WITH_SUBNETS: True}))(dict(image))["image"]
    assert inferred.shape == default.shape  # inference keeps the full grid; the default scores on it
    np.testing.assert_allclose(scored.pixdim, 2 * np.asarray(CONFIG.spacing))
    for coarse, full in zip(scored.shape[1:], inferred.shape[1:]):
        assert abs(coarse - full / 2) <= 1
    _publish(coarse_task)
    StudyScoring(coarse_task)({}, datastore)
    for image_id in datastore.get_unlabeled_images():
        assert 0.0 <= datastore.get_image_info(image_id)[SCORE_KEY] <= 1.0


def _constant_subnets(network: DualSubnetSegmenter, class_a: int, class_b: int) -> None:
    """Each subnet predicts one class everywhere: its head's weights zeroed, a large bias on that class."""
    for subnet, cls in ((network.vnet, class_a), (network.resnet, class_b)):
        conv = subnet.head.conv
        torch.nn.init.zeros_(conv.weight)
        torch.nn.init.zeros_(conv.bias)
        with torch.no_grad():
            conv.bias[cls] = 10.0


@pytest.mark.parametrize(
    ("class_a", "class_b", "expected"),
    [(0, 0, 0.0), (1, 1, 0.0), (1, 2, 1.0), (0, 2, 1.0)],
    ids=["both background", "both organ", "organ vs lesion", "background vs lesion"],
)
def test_the_stored_disagreement_is_that_of_the_two_subnets_label_maps(
    datastore, infer_task, class_a: int, class_b: int, expected: float
) -> None:
    _constant_subnets(infer_task.network, class_a, class_b)
    _publish(infer_task)
    StudyScoring(infer_task)({}, datastore)
    for image_id in datastore.get_unlabeled_images():
        assert datastore.get_image_info(image_id)[DISAGREEMENT_KEY] == pytest.approx(expected)


def test_strategy_ranks_by_the_configured_score(datastore, infer_task) -> None:
    _publish(infer_task, mtime=1_000_000.0)
    ids = sorted(datastore.get_unlabeled_images())
    for image_id, (entropy, disagreement) in zip(ids, [(0.9, 0.1), (0.2, 0.8), (0.5, 0.5)]):
        values = {SCORE_KEY: entropy, DISAGREEMENT_KEY: disagreement, SCORE_TS_KEY: 1_000_000.0}
        datastore.update_image_info(image_id, values)
    by_disagreement = _strategy(infer_task, DISAGREEMENT_KEY)({}, datastore)
    assert (by_disagreement["id"], by_disagreement[DISAGREEMENT_KEY]) == (ids[1], 0.8)
    by_entropy = _strategy(infer_task, SCORE_KEY)({}, datastore)
    assert (by_entropy["id"], by_entropy[SCORE_KEY]) == (ids[0], 0.9)
    with pytest.raises(ValueError, match="score_key must be one of"):
        _strategy(infer_task, "entropy")


def test_strategy_picks_the_highest_current_score(datastore, infer_task) -> None:
    _publish(infer_task, mtime=1_000_000.0)
    scores = dict(zip(sorted(datastore.get_unlabeled_images()), [0.2, 0.7, 0.4]))
    for image_id, score in scores.items():
        datastore.update_image_info(image_id, {SCORE_KEY: score, SCORE_TS_KEY: 1_000_000.0})
    result = _strategy(infer_task, SCORE_KEY)({}, datastore)
    assert result["id"] == max(scores, key=scores.get)
    assert result[SCORE_KEY] == pytest.approx(0.7)


def test_strategy_ignores_stale_scores_of_an_older_model(datastore, infer_task) -> None:
    _publish(infer_task, mtime=2_000_000.0)
    ids = sorted(datastore.get_unlabeled_images())
    datastore.update_image_info(ids[0], {SCORE_KEY: 0.9, SCORE_TS_KEY: 1_000_000.0})  # stale but highest
    datastore.update_image_info(ids[1], {SCORE_KEY: 0.3, SCORE_TS_KEY: 2_000_000.0})
    assert _strategy(infer_task, SCORE_KEY)({}, datastore)["id"] == ids[1]


def test_scores_made_on_another_grid_are_made_again_and_not_ranked(tmp_path: Path, datastore, infer_task) -> None:
    """After a restart with another ``score_downsample``, the same model's scores are not current: they ranked the
    pool on another grid."""
    _publish(infer_task, mtime=1_000_000.0)
    assert StudyScoring(infer_task)({}, datastore)["executed"] == 3
    coarse_task = _infer_task(tmp_path, load_config({**TINY, "score_downsample": "2"}))
    coarse = StudyScoring(coarse_task)
    assert coarse({}, datastore)["executed"] == 3
    assert {datastore.get_image_info(i)[SCORE_GRID_KEY] for i in datastore.get_unlabeled_images()} == {2}
    assert coarse({}, datastore)["skipped"] == 3  # now current on that grid: nothing to redo
    # The full-grid strategy does not rank scores from the coarse grid (or one stored before grids were recorded,
    # which was made on the full grid).
    ids = sorted(datastore.get_unlabeled_images())
    datastore.update_image_info(ids[0], {SCORE_KEY: 0.9, SCORE_TS_KEY: 1_000_000.0, SCORE_GRID_KEY: 2})
    datastore.update_image_info(ids[1], {SCORE_KEY: 0.3, SCORE_TS_KEY: 1_000_000.0, SCORE_GRID_KEY: 1})
    datastore.update_image_info(ids[2], {SCORE_KEY: 0.5, SCORE_TS_KEY: 1_000_000.0, SCORE_GRID_KEY: 2})
    assert _strategy(infer_task, SCORE_KEY)({}, datastore)["id"] == ids[1]
    assert _strategy(coarse_task, SCORE_KEY)({}, datastore)["id"] == ids[0]


def test_a_score_stored_before_a_newer_score_key_existed_is_made_again(datastore, infer_task) -> None:
    """After an upgrade that adds a score key, the same model's older scores lack it: the strategy could not rank by
    it, so scoring makes them again instead of skipping them as current."""
    _publish(infer_task, mtime=1_000_000.0)
    scoring = StudyScoring(infer_task)
    assert scoring({}, datastore)["executed"] == 3
    # The index as a release before the key would have written it, read by the upgraded server at start-up.
    index = Path(datastore._datastore_config_path)
    stored = json.loads(index.read_text())
    old_study = sorted(datastore.get_unlabeled_images())[0]
    del stored["objects"][old_study]["image"]["info"]["class_disagreement"]
    index.write_text(json.dumps(stored))
    datastore = LocalDatastore(datastore._datastore_path)
    summary = scoring({}, datastore)
    assert (summary["executed"], summary["skipped"]) == (1, 2)
    assert 0.0 <= datastore.get_image_info(old_study)["class_disagreement"] <= 1.0
    assert _strategy(infer_task, "class_disagreement")({}, datastore).get("strategy_fallback") is None


def test_strategy_falls_back_to_random_and_says_so_without_current_scores(datastore, infer_task, caplog) -> None:
    strategy = _strategy(infer_task, SCORE_KEY)
    # One client skipping again and again: each time a random one of the studies it did not just hold.
    chosen = [strategy({"client_id": "a", "skip": True}, datastore) for _ in range(30)]
    assert {c["id"] for c in chosen} <= set(datastore.get_unlabeled_images()) and len({c["id"] for c in chosen}) > 1
    assert all(c["strategy_fallback"] == "random" for c in chosen)
    assert "no current scores" in caplog.text


def test_strategy_returns_nothing_when_every_study_is_labeled(tmp_path: Path, infer_task) -> None:
    demo_data.generate(tmp_path / "all", num=2, labeled=2, seed=1, shape=(16, 16, 16))
    assert _strategy(infer_task, SCORE_KEY)({}, LocalDatastore(str(tmp_path / "all"))) is None


def test_inference_returns_a_label_on_the_study_grid(datastore, infer_task) -> None:
    import nibabel as nib

    _publish(infer_task)
    image_path = datastore.get_image_uri(datastore.get_unlabeled_images()[0])
    label_path, result = infer_task({"image": image_path})
    image, label = nib.load(image_path), nib.load(label_path)
    assert label.shape == image.shape
    np.testing.assert_allclose(label.affine, image.affine, atol=1e-4)
    assert label.get_data_dtype() == np.uint8
    assert set(np.unique(np.asarray(label.dataobj))) <= {0, 1, 2}
    assert sum(result["label_voxels"].values()) == int((np.asarray(label.dataobj) > 0).sum())


def test_cold_start_hands_out_typical_studies_until_enough_are_labeled_then_goes_by_score(
    tmp_path: Path, datastore, infer_task
) -> None:
    _publish(infer_task, mtime=1_000_000.0)
    # While the cold start lasts the scorer describes the labeled study too: the strategy compares the pool with it.
    assert StudyScoring(infer_task, cold_start_labels=2)({}, datastore)["executed"] == 4
    labeled, unlabeled = datastore.get_labeled_images(), sorted(datastore.get_unlabeled_images())
    embeddings = {i: datastore.get_image_info(i)[EMBEDDING_KEY] for i in datastore.list_images()}
    strategy = MostUncertain(infer_task, SCORE_KEY, LeaseBook(lease_seconds=1800), cold_start_labels=2)
    assert "typical" in strategy.description and "least sure" in strategy.description
    result = strategy({"client_id": "a", "k": 2}, datastore)
    assert [b["id"] for b in result["batch"]] == typical_batch(unlabeled, 2, embeddings, covered=labeled)
    assert [b["pick"] for b in result["batch"]] == ["typical", "typical"]
    # A second label ends the cold start: the scorer leaves labeled studies alone, the strategy goes by score.
    first = result["batch"][0]["id"]
    datastore.save_label(first, str(tmp_path / "data_groundtruth" / f"{first}.nii.gz"), "final", {})
    assert StudyScoring(infer_task, cold_start_labels=2)({}, datastore)["total"] == 2
    by_score = strategy({"client_id": "b", "k": 1}, datastore)
    held_by_a = result["batch"][1]["id"]
    scores = {i: datastore.get_image_info(i)[SCORE_KEY] for i in datastore.get_unlabeled_images() if i != held_by_a}
    assert by_score["id"] == max(scores, key=scores.get) and "pick" not in by_score
