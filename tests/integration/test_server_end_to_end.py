"""The app over MONAI Label's REST API, in the order an annotator meets it: untrained, labeled, trained, scored."""

from __future__ import annotations

import re

import nibabel as nib
import numpy as np
import pytest
import requests
from monailabel.client import MONAILabelClient
from monailabel.client.client import MONAILabelClientException

from lib.config import STUDY_SCORES
from lib.tools import rest

MODEL = "uncertainty_contrastive"
LABELED = ("study_000", "study_001", "study_002")  # two to train on, one held out for validation


@pytest.fixture(scope="module")
def client(server, tmp_path_factory) -> MONAILabelClient:
    # A download folder of its own: MONAILabelClient saves a result under the server's temporary file name, and with
    # both in /tmp the server's clean-up of its copy can delete the client's.
    return MONAILabelClient(server.url, tmpdir=str(tmp_path_factory.mktemp("client")))


@pytest.fixture(scope="module")
def trained(server, client) -> dict:
    """Three uploaded labels and one finished two-epoch training run."""
    for image_id in LABELED:
        client.save_label(image_id, str(server.groundtruth / f"{image_id}.nii.gz"), tag="final")
    return rest.train(client, MODEL, {"max_epochs": 2})


def _image_infos(server) -> dict[str, dict]:
    objects = requests.get(f"{server.url}/datastore/", params={"output": "all"}, timeout=30).json()["objects"]
    return {image_id: obj["image"]["info"] for image_id, obj in objects.items()}


def _current_scores(server, key: str = "subnet_disagreement", timeout: float = 30.0) -> dict[str, float]:
    """Scores (``key``: the strategy's default, or ``mean_uncertainty``) of the unlabeled studies for the published
    model, as the server sees them.

    Scoring runs in a subprocess that writes the datastore file; the server picks the change up through MONAI
    Label's file watcher, a moment later.
    """
    model_ts = (server.app_dir / "model" / f"{MODEL}.pt").stat().st_mtime

    def current(objects: dict) -> dict[str, float] | None:
        infos = {i: o["image"]["info"] for i, o in objects.items() if i not in LABELED}
        if all(info.get("mean_uncertainty_ts") == pytest.approx(model_ts) for info in infos.values()):
            return {i: info[key] for i, info in infos.items()}
        return None

    return rest.wait_for_datastore(server.url, current, "current scores", timeout)


def test_info_lists_the_apps_models_trainer_scoring_and_strategies(client) -> None:
    info = client.info()
    assert set(info["models"]) == {"uncertainty_contrastive", "uncertainty_region"}
    assert info["labels"] == ["organ", "lesion"]
    assert info["models"]["uncertainty_contrastive"]["type"] == "segmentation"
    assert info["models"]["uncertainty_contrastive"]["labels"] == {"organ": 1, "lesion": 2}
    assert info["models"]["uncertainty_region"]["labels"] == {"uncertain": 1}
    assert set(info["trainers"]) == {MODEL}
    assert set(info["scoring"]) == {"mean_uncertainty"}
    assert {"uncertainty", "random", "first"} <= set(info["strategies"])


def test_a_first_start_without_a_model_says_so_in_one_line_and_fails_nothing(server) -> None:
    """No model yet is a normal state: MONAI Label's start-up scoring is not started for nothing."""
    log = server.log.read_text()
    assert "No trained model yet: nothing to score" in log
    assert "Traceback" not in log and "NoTrainedModelError" not in log


def test_infer_without_a_trained_model_is_refused_with_a_clear_message(server, client) -> None:
    if (server.app_dir / "model" / f"{MODEL}.pt").exists():
        pytest.fail("this test must run before training")
    with pytest.raises(MONAILabelClientException) as error:
        client.infer(MODEL, "study_005", {})
    assert "409" in error.value.msg and "No trained model yet" in error.value.msg


def test_scoring_without_a_trained_model_is_refused_with_a_clear_message(server) -> None:
    if (server.app_dir / "model" / f"{MODEL}.pt").exists():
        pytest.fail("this test must run before training")
    rest.wait_until_idle(server.url, "scoring")
    response = requests.post(f"{server.url}/scoring/mean_uncertainty", params={"run_sync": "true"}, timeout=60)
    assert response.status_code == 409
    assert "No trained model yet" in response.json()["detail"]


def test_uploaded_labels_count_as_completed(server, client, trained) -> None:
    datastore = client.info()["datastore"]
    assert datastore["completed"] == len(LABELED) and datastore["total"] == 6


def test_training_runs_to_completion_and_publishes_a_checkpoint(server, trained) -> None:
    assert trained["status"] == "DONE"
    assert (server.app_dir / "model" / f"{MODEL}.pt").is_file()
    stats = requests.get(f"{server.url}/info/", timeout=30).json()["train_stats"][MODEL]
    assert stats["total_epochs"] == 2 and stats["epoch"] == 2
    assert 0.0 <= stats["best_metric"] <= 1.0
    assert stats["eval"]["best_metric_epoch"] == 2  # validated after the last epoch although val_interval is 5


def test_a_training_request_without_a_dataset_loads_each_study_once(server, trained) -> None:
    """The request named no ``dataset`` (as MONAI Label's client, OHIF's Update Model and scripts send it): every
    study, labeled and unlabeled, was pre-processed once for the whole run, not once per iteration."""
    runs = re.findall(r"Study loads in this run: (\d+) for (\d+) studies \(dataset (\w+)\)", server.log.read_text())
    assert runs, "the train task logs its study loads"
    loads, studies, dataset = runs[0]
    assert dataset == "CacheDataset"
    assert int(studies) == 6 and int(loads) == 6


def test_scoring_stores_a_current_score_for_every_unlabeled_study(server, trained) -> None:
    task = rest.run_scoring(server.url)
    assert task["status"] == "DONE"
    for key in STUDY_SCORES:
        scores = _current_scores(server, key)
        assert len(scores) == 3
        assert all(0.0 <= score <= 1.0 for score in scores.values())
        assert key not in _image_infos(server)[LABELED[0]]


def test_uncertainty_strategy_returns_the_unlabeled_study_with_the_highest_score(server, client, trained) -> None:
    rest.run_scoring(server.url)
    unlabeled = _current_scores(server)
    sample = client.next_sample("uncertainty", {})
    assert sample["subnet_disagreement"] == pytest.approx(max(unlabeled.values()))
    assert unlabeled[sample["id"]] == sample["subnet_disagreement"]
    # What a viewer needs, not the scorer's bookkeeping (a 256-float study embedding, score stamps).
    assert not {"study_embedding", "mean_uncertainty_ts", "mean_uncertainty_grid"} & set(sample)
    assert "client_id" in sample and set(STUDY_SCORES) <= set(sample)


def test_infer_returns_a_label_with_the_image_shape_and_affine(server, client, trained) -> None:
    label_file, params = client.infer(MODEL, "study_003", {})
    image = nib.load(server.studies / "study_003.nii.gz")
    label = nib.load(label_file)
    assert label.shape == image.shape
    np.testing.assert_allclose(label.affine, image.affine, atol=1e-4)
    values = set(np.unique(np.asarray(label.dataobj)).tolist())
    assert values <= {0, 1, 2}
    assert 0.0 <= params["mean_uncertainty"] <= 1.0
    assert set(params["label_voxels"]) == {"organ", "lesion"}


def test_uncertainty_region_returns_a_binary_mask_whose_size_follows_the_threshold(server, client, trained) -> None:
    mask_file, params = client.infer("uncertainty_region", "study_003", {"uncertainty_threshold": 0.3})
    mask = np.asarray(nib.load(mask_file).dataobj)
    assert mask.shape == nib.load(server.studies / "study_003.nii.gz").shape
    assert set(np.unique(mask).tolist()) <= {0, 1}
    assert params["label_voxels"]["uncertain"] == int(mask.sum())
    _, stricter = client.infer("uncertainty_region", "study_003", {"uncertainty_threshold": 0.9})
    assert stricter["label_voxels"]["uncertain"] <= params["label_voxels"]["uncertain"]


def test_a_second_training_run_fine_tunes_the_previous_model(server, client, trained) -> None:
    restored = f"Restored all variables from {server.app_dir / 'model' / 'train_01' / 'model.pt'}"
    assert restored not in server.log.read_text()  # the first run started from scratch
    rest.train(client, MODEL, {"max_epochs": 1})
    assert restored in server.log.read_text()  # the training subprocess logs through the server's output
