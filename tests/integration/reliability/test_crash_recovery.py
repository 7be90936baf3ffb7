"""Nothing is lost: SIGKILL in the middle of training, a restart, and a training run that fails on a corrupt label."""

from __future__ import annotations

import hashlib
import time

import pytest
import requests

from .conftest import LABELED, MODEL, HardenedServer, rest

SCORED = ("study_003", "study_004", "study_005")


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _scores(server: HardenedServer) -> dict[str, tuple[float, float]]:
    objects = server.objects()
    return {
        i: (objects[i]["image"]["info"].get("mean_uncertainty"), objects[i]["image"]["info"].get("mean_uncertainty_ts"))
        for i in SCORED
    }


def _final_labels(server: HardenedServer) -> dict[str, str]:
    folder = server.studies / "labels" / "final"
    return {p.name: _sha(p) for p in sorted(folder.glob("*.nii.gz"))}


def _wait_for_log(server: HardenedServer, offset: int, text: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in server.process.log.read_text(errors="replace")[offset:]:
        if time.monotonic() > deadline:
            pytest.fail(f"{text!r} not in the server log after {timeout:.0f} s:\n{server.process.log_tail()}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def killed_and_restarted(hardened_server: HardenedServer) -> dict:
    """Scores made (after the fixture's training run), then a long training run killed (SIGKILL, the whole process
    group) after its first epochs, and the server started again on the same app, studies and port. Returns what was
    there before the kill."""
    server = hardened_server
    # MONAI Label scores by itself after every training run, but it may not have started yet: score now (after it), so
    # that the scores exist whatever the timing (a fresh-clone CI run once found none after the wait alone).
    rest.run_scoring(server.url)
    rest.wait_for_datastore(
        server.url,
        lambda objects: all(objects[i]["image"]["info"].get("mean_uncertainty_ts") is not None for i in SCORED) or None,
        "scores for every scored study",
    )
    before = {"model": _sha(server.model_path), "labels": _final_labels(server), "scores": _scores(server)}
    assert all(ts is not None for _, ts in before["scores"].values()), before["scores"]

    offset = len(server.process.log.read_text(errors="replace"))
    response = requests.post(f"{server.url}/train/{MODEL}", json={"max_epochs": 500}, timeout=30)
    assert response.status_code == 200, response.text
    _wait_for_log(server, offset, "Epoch[2]")  # in the middle of training, before its first validation
    server.process.kill()
    before["restart_offset"] = len(server.process.log.read_text(errors="replace"))
    server.process.start()
    return before


def test_the_published_model_survives_sigkill_during_training_unchanged(hardened_server, killed_and_restarted):
    assert _sha(hardened_server.model_path) == killed_and_restarted["model"]


def test_the_server_serves_the_previous_model_after_the_restart(hardened_server, killed_and_restarted):
    response = requests.post(
        f"{hardened_server.url}/infer/{MODEL}", params={"image": "study_004", "output": "json"}, timeout=120
    )
    assert response.status_code == 200, response.text
    assert 0.0 <= response.json()["mean_uncertainty"] <= 1.0


def test_labels_submitted_before_the_crash_are_there_after_the_restart(hardened_server, killed_and_restarted):
    assert _final_labels(hardened_server) == killed_and_restarted["labels"]
    objects = hardened_server.objects()
    assert all("final" in objects[i]["labels"] for i in LABELED)


def test_scores_survive_the_restart_and_are_not_recomputed_for_the_same_model(hardened_server, killed_and_restarted):
    rest.wait_until_idle(hardened_server.url, "scoring")  # MONAI Label re-scores at every start
    assert _scores(hardened_server) == killed_and_restarted["scores"]
    log = hardened_server.process.log.read_text(errors="replace")[killed_and_restarted["restart_offset"] :]
    assert "mean_uncertainty: {'total': 3, 'skipped': 3, 'executed': 0" in log


def test_a_training_run_that_meets_a_corrupt_label_reports_error_and_keeps_the_model(
    hardened_server, killed_and_restarted
):
    """A label that was fine when uploaded and is corrupt on disk by the time training reads it (a disk fault, a
    copy by hand): the run ends in ERROR in GET /train/, and the published model stays as it was."""
    label = hardened_server.studies / "labels" / "final" / f"{LABELED[0]}.nii.gz"
    good = label.read_bytes()
    model = _sha(hardened_server.model_path)
    rest.wait_until_idle(hardened_server.url, "train")
    try:
        label.write_bytes(good[: len(good) // 3])
        response = requests.post(f"{hardened_server.url}/train/{MODEL}", json={"max_epochs": 2}, timeout=30)
        assert response.status_code == 200, response.text
        task = rest.wait_for_task(hardened_server.url, "train", timeout=300)
    finally:
        label.write_bytes(good)
    assert task["status"] == "ERROR"
    assert _sha(hardened_server.model_path) == model
